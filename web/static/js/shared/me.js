// Who is signed in and what they may do, asked of the server once (GET /api/auth/me). Every page
// shows an action only when `can(permission)` holds for the permission its endpoint requires
// (the `permissions=` of the route in web/api/*.py); no page decides from role names.
import { api, token } from "./api.js";

let loading = null;
let granted = new Set();
let current = null;

// The user (with `permissions`), fetched once per page.
export function loadMe() {
  if (!loading) {
    loading = api("/api/auth/me").then((user) => {
      current = user;
      granted = new Set(user.permissions || []);
      return user;
    }, (error) => {
      loading = null; // asked again next time (e.g. after signing in)
      throw error;
    });
  }
  return loading;
}

// The signed-in user; without a token, off to the sign-in page (the promise never settles).
export async function requireLogin() {
  if (!token()) { location.assign("/login"); return new Promise(() => {}); }
  return loadMe();
}

// Whether the user holds `permission` (false until loadMe() has answered).
export function can(permission) {
  return granted.has(permission);
}

// Whether the user holds any of `permissions` (an endpoint that takes either).
export function canAny(...permissions) {
  return permissions.some((p) => granted.has(p));
}

// `data-permission="…"` for an action's button: what its endpoint requires (any of them); the
// browser tests check every visible one against the user's permissions.
export function permissionAttr(...permissions) {
  return `data-permission="${permissions.join(" ")}"`;
}

// The screens, in the order a user lands on them (the first they may use). A new screen is a row
// here plus its page (web/static/<name>.html, js/pages/<name>.js, a route in web/pages.py).
export const AREAS = [
  // the live board, for those who dispatch or watch the dispatching (proposals) of their stores
  { path: "/", label: "Board", land: () => mayUseBoard() && canAny("work_order:assign", "proposal:view"),
    may: () => mayUseBoard() },
  { path: "/tech", label: "My jobs", land: () => mayUseTech(), may: () => mayUseTech() },
  { path: "/service", label: "Customers and jobs",
    land: () => mayUseService(), may: () => mayUseService() },
  { path: "/fleet", label: "Fleet", land: () => mayUseFleet(), may: () => mayUseFleet() },
  { path: "/billing", label: "Billing", land: () => can("billing:manage"), may: () => can("billing:view") },
  { path: "/records", label: "Dispatch records", land: () => can("dispatch:view"),
    may: () => can("dispatch:view") },
  { path: "/reports", label: "Reports", land: () => false, may: () => can("report:view") },
  { path: "/oncall", label: "On call", land: () => false, may: () => can("oncall:view") },
  { path: "/alert-rules", label: "Alert rules", land: () => false, may: () => can("alert_rule:manage") },
];

function mayUseBoard() { return can("board:view") && can("work_order:view") && can("resource:view"); }
function mayUseTech() { return can("work_order:work") && Boolean(current?.technician_id); }
function mayUseService() { return can("customer:manage") && can("work_order:view") && can("resource:view"); }
function mayUseFleet() { return can("unit:manage") && can("resource:view"); }

// Where the user starts: the first screen they land on, else the first they may use.
export function landing() {
  const area = AREAS.find((a) => a.land()) || AREAS.find((a) => a.may());
  return area ? area.path : null;
}

// The screens the user may open (for the top bar).
export function areas() {
  return AREAS.filter((a) => a.may());
}
