// REST access and the session: JSON calls with problem documents as errors.
//
// A page's session is its tab's (sessionStorage): closing the tab ends it. The technician view
// also keeps its session on the device (keepOnDevice, localStorage), so that the app reopened
// without network still opens on the day's jobs: the record holds the token, whose user it is
// (`sub`) and when it ends (`ends_at`: the server's word, expires_in at sign-in, never later
// than the token's expiry), plus the keys of what the session showed (`forget`: the cached
// profile and jobs). A kept session past its end is not used. It ends at sign-out, when the
// server refuses the token (revoked, expired: the next time the device is online), and when
// anyone signs in on the device; the keys in `forget` go with it, while work not sent yet stays,
// keyed to its user (tech/storage.js). Other pages never keep a session (tech/tech.js decides).
const TOKEN_KEY = "dispatch.token";
const ENDS_KEY = "dispatch.token.ends";
const DEVICE_KEY = "dispatch.session";

// The claims of a token (not verified here: the server checks every call; the page only reads
// whose it is and when it ends).
export function tokenClaims(value = token()) {
  if (!value) return null;
  try {
    const part = value.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")));
  } catch {
    return null;
  }
}

function claimedEnd(value) {
  const exp = Number(tokenClaims(value)?.exp);
  return Number.isFinite(exp) ? exp * 1000 : 0;
}

function readKept() {
  try {
    const kept = JSON.parse(localStorage.getItem(DEVICE_KEY));
    return kept && typeof kept.token === "string" ? kept : null;
  } catch {
    return null;
  }
}

function endKept() {
  const kept = readKept();
  localStorage.removeItem(DEVICE_KEY);
  for (const key of Array.isArray(kept?.forget) ? kept.forget : []) localStorage.removeItem(String(key));
}

// The session this device keeps (a technician's), while it lasts: { token, user, name, ends_at }.
export function keptSession() {
  const kept = readKept();
  if (kept && !(Number(kept.ends_at) > Date.now())) endKept(); // over: the sign-in page next
  return kept && Number(kept.ends_at) > Date.now() ? kept : null;
}

// This tab's token, else the one the device keeps.
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || keptSession()?.token || null;
}

// Whether this tab signed in itself (rather than reopening the device's session).
export function tabToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

// After a sign-in: the tab's session; `expiresIn` (seconds, the login answer's) says when it ends.
// A new sign-in ends whatever session the device kept (someone else's, or an older one).
export function setToken(value, { expiresIn } = {}) {
  if (value) {
    sessionStorage.setItem(TOKEN_KEY, value);
    // Counted on this device's clock from the server's answer, so a clock set wrong does not
    // move the end; without it, the token's own expiry.
    const ends = Number.isFinite(expiresIn) ? Date.now() + expiresIn * 1000 : claimedEnd(value);
    sessionStorage.setItem(ENDS_KEY, String(ends));
    if (readKept() && readKept().token !== value) endKept();
  } else {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ENDS_KEY);
    endKept();
  }
}

// Keep the current session on the device, so the app opens after a restart without network
// (the technician view only). `forget`: localStorage keys to remove when the session ends.
export function keepOnDevice({ forget = [] } = {}) {
  const value = token();
  const claims = tokenClaims(value);
  if (!value || !claims?.sub) return;
  const ends = readKept()?.token === value ? Number(readKept().ends_at)
    : Number(sessionStorage.getItem(ENDS_KEY)) || claimedEnd(value);
  if (!(ends > Date.now())) return;
  localStorage.setItem(DEVICE_KEY, JSON.stringify({ token: value, user: String(claims.sub),
    name: claims.name || "", ends_at: ends, forget }));
}

// Sign out: the server ends the token (every process within seconds), then the page forgets it.
// `revoke: false` when the server already refused the token (nothing left to end). Once only: a
// refused call or a closed socket arriving while the page leaves must not start a second
// navigation (it would abort the first).
let leaving = false;
export function logout({ revoke = true } = {}) {
  if (leaving) return;
  leaving = true;
  const t = token();
  if (t && revoke) {
    fetch("/api/auth/logout", { method: "POST", keepalive: true,
      headers: { Authorization: `Bearer ${t}` } }).catch(() => {});
  }
  setToken(null);
  location.assign("/login");
}

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

// `timeoutMs`: give the request up when no answer has come by then (it throws a TimeoutError, not
// an ApiError: to the caller, like a network that is down); without it the browser waits as long
// as the connection looks open.
export async function api(path, { method = "GET", body, headers = {}, auth = true,
                                  timeoutMs } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (auth) {
    const t = token();
    if (!t) { logout({ revoke: false }); throw new ApiError(401, { detail: "not logged in" }); }
    h.Authorization = `Bearer ${t}`;
  }
  const response = await fetch(path, {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
    signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
  });
  let data = null;
  const type = response.headers.get("content-type") || "";
  if (response.status !== 204 && type.includes("json")) data = await response.json();
  if (!response.ok) {
    if (response.status === 401 && auth) logout({ revoke: false });
    throw new ApiError(response.status, data);
  }
  return data;
}

// Every page of a list (limit 500 a page), up to `max` items.
export async function fetchAll(path, params = {}, max = 5000) {
  const items = [];
  let offset = 0;
  for (;;) {
    const q = new URLSearchParams({ ...params, limit: "500", offset: String(offset) });
    const page = await api(`${path}?${q}`);
    items.push(...page.items);
    offset += page.items.length;
    if (!page.items.length || offset >= page.total || offset >= max) return items;
  }
}

// GET that answers null when the endpoint does not exist (yet): the caller hides its control.
export async function optional(path) {
  try {
    return await api(path);
  } catch (error) {
    if (error.status === 404 || error.status === 405) return null;
    throw error;
  }
}

// Who is signed in and what they may do: me.js.

export function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
