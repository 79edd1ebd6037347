// What the technician view keeps on the device, keyed by the signed-in user, and how it goes away.
//
// Everything is bound to one user id (the token's `sub`, readable offline): the cached profile,
// job list, last contact with the server and positions waiting for the network under
// `dispatch.tech.<user>.*` in localStorage, each queued step of the offline queue
// (`dispatch.outbox`) with its `user`, each proof file in IndexedDB (proof-store.js) with its
// `user`. When someone else signs in on the device, whatever is keyed to another user is removed
// before anything is read or sent (claimDevice). Sign-out removes everything (clearDevice).
// Cache Storage holds only the app shell (sw.js); API answers found there are removed too. The
// session the device keeps (api.js keepOnDevice) goes with the sign-out itself (api.js logout).
import { tokenClaims } from "../shared/api.js";
import { clearFiles, dropFilesNotOf } from "./proof-store.js";

const PREFIX = "dispatch.tech.";
export const OUTBOX_KEY = "dispatch.outbox";
// Before storage was keyed by user: the last profile and jobs, whoever they belonged to, and
// the position-sharing switch (now `dispatch.tech.<user>.share-position`).
const LEGACY = [`${PREFIX}me`, `${PREFIX}jobs`];
const LEGACY_SHARE = "dispatch.share-position";

// The signed-in user's id from the token (not verified here: the server checks every call; this
// only picks whose data on the device may be used).
export function tokenUser() {
  const sub = tokenClaims()?.sub;
  return sub ? String(sub) : null;
}

// True when the token has expired (nothing can be sent with it).
export function tokenExpired() {
  const exp = Number(tokenClaims()?.exp);
  return Number.isFinite(exp) && exp * 1000 <= Date.now();
}

export const userKey = (user, name) => `${PREFIX}${user}.${name}`;

function readJson(key, fallback) {
  try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
}

// Make the device's storage the user's: drop every key, queued step and proof file keyed to
// someone else. Data from before keying (no user on it) is kept only when the last profile seen
// was this user's, so an update does not lose a technician's unsent work.
export async function claimDevice(user) {
  const legacyOwner = readJson(LEGACY[0], null)?.id;
  const adopt = legacyOwner !== undefined && String(legacyOwner) === user ? user : null;
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith(PREFIX) && !key.startsWith(userKey(user, ""))) localStorage.removeItem(key);
  }
  const queue = readJson(OUTBOX_KEY, []);
  const mine = (Array.isArray(queue) ? queue : [])
    .map((item) => (item && item.user === undefined && adopt ? { ...item, user } : item))
    .filter((item) => item && item.user === user);
  if (mine.length) localStorage.setItem(OUTBOX_KEY, JSON.stringify(mine));
  else localStorage.removeItem(OUTBOX_KEY);
  LEGACY.forEach((key) => localStorage.removeItem(key));
  localStorage.removeItem(LEGACY_SHARE);
  await dropFilesNotOf(user, adopt).catch((error) => console.warn("proof files:", error));
}

// Remove every API answer that found its way into Cache Storage, and any cache that is not the
// app shell's (the shell itself holds no user data and lets the sign-in page open offline).
async function clearCaches() {
  if (!globalThis.caches) return;
  for (const name of await caches.keys()) {
    if (!name.startsWith("dispatch-shell-")) { await caches.delete(name); continue; }
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const path = new URL(request.url).pathname;
      if (path.startsWith("/api/") || path === "/ws") await cache.delete(request);
    }
  }
}

// Sign-out: nothing of the jobs, the queue or the proof files stays on the device.
export async function clearDevice() {
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith(PREFIX) || key === OUTBOX_KEY || key === LEGACY_SHARE) localStorage.removeItem(key);
  }
  await Promise.all([
    clearFiles().catch((error) => console.warn("proof files:", error)),
    clearCaches().catch((error) => console.warn("caches:", error)),
  ]);
}
