// REST access: the token in sessionStorage, JSON calls with problem documents as errors.
const TOKEN_KEY = "dispatch.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// Sign out: the server ends the token (every process within seconds), then the page forgets it.
// `revoke: false` when the server already refused the token (nothing left to end).
export function logout({ revoke = true } = {}) {
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

export async function api(path, { method = "GET", body, headers = {}, auth = true } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (auth) {
    const t = token();
    if (!t) { logout({ revoke: false }); throw new ApiError(401, { detail: "not logged in" }); }
    h.Authorization = `Bearer ${t}`;
  }
  const response = await fetch(path, {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
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
