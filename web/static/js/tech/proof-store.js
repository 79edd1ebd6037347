// Proof files (signature PNG, photo JPEGs) kept on the phone until they are uploaded: IndexedDB,
// keyed by their SHA-256 (localStorage is far too small for images), each stored with the id of
// the user who took it (`{user, blob}`): only that user's files are ever read (storage.js
// removes the others when someone else signs in, and all of them at sign-out). Also the hash
// itself and the thumbnails' object URLs.
const DB_NAME = "dispatch-proof";
const STORE = "files";
let opening = null;
let owner = null; // the signed-in user: files are stored under and read for this id only
const memory = new Map(); // when IndexedDB is unavailable (some private modes): this page only

export function setOwner(user) {
  owner = user;
}

function openAt(version) {
  return new Promise((resolve, reject) => {
    if (!globalThis.indexedDB) { reject(new Error("no IndexedDB")); return; }
    // Without a version: the current one (a new database is created at 1).
    const request = version ? indexedDB.open(DB_NAME, version) : indexedDB.open(DB_NAME);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function database() {
  if (!opening) {
    opening = openAt().then((db) => {
      if (db.objectStoreNames.contains(STORE)) return db;
      const next = db.version + 1; // a database left without its store: add it
      db.close();
      return openAt(next);
    }).catch((error) => { console.warn("proof files stay in memory:", error); return null; });
  }
  return opening;
}

async function run(mode, work, fallback) {
  const db = await database();
  if (!db) return fallback();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("the phone's storage refused the file"));
  });
}

const record = (blob) => {
  if (!owner) throw new Error("nobody is signed in");
  return { user: owner, blob };
};
const read = (hash) => run("readonly", (s) => s.get(hash), () => memory.get(hash));

export const putFile = async (hash, blob) => {
  const value = record(blob);
  return run("readwrite", (s) => s.put(value, hash), () => memory.set(hash, value));
};
export async function getFile(hash) {
  const value = await read(hash);
  return value && owner && value.user === owner ? value.blob : undefined;
}
export const fileHashes = () => run("readonly", (s) => s.getAllKeys(), () => [...memory.keys()]);
export async function deleteFile(hash) {
  dropThumb(hash);
  return run("readwrite", (s) => s.delete(hash), () => memory.delete(hash));
}

// Remove every file that is not `user`'s; files stored before they carried a user (a bare Blob)
// become `adopt`'s when given, else are removed too.
export async function dropFilesNotOf(user, adopt = null) {
  owner = user;
  for (const hash of await fileHashes()) {
    const value = await read(hash);
    if (value instanceof Blob && adopt === user) {
      await run("readwrite", (s) => s.put({ user, blob: value }, hash), () => memory.set(hash, { user, blob: value }));
    } else if (!value || value.user !== user) {
      await deleteFile(hash);
    }
  }
}

// Sign-out: every file goes, then the database itself.
export async function clearFiles() {
  owner = null;
  urls.forEach((url) => URL.revokeObjectURL(url));
  urls.clear();
  memory.clear();
  const db = await database();
  opening = null;
  if (!db) return;
  await emptyStore(db);
  db.close();
  await new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(DB_NAME);
    // Blocked: another tab still holds it open; it is empty already and goes when that tab closes.
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

function emptyStore(db) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).clear();
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

// Ask the browser not to evict what is stored here under storage pressure (best effort).
export function keepStored() {
  try { navigator.storage?.persist?.().catch(() => {}); } catch { /* not offered */ }
}

// --- hashing --------------------------------------------------------------------------------

const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

export async function sha256Hex(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  if (globalThis.crypto?.subtle) return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
  return hex(sha256Fallback(bytes)); // SubtleCrypto exists only on https (or localhost)
}

// SHA-256 (FIPS 180-4) for pages served without TLS; constants derived from the first 64 primes.
let constants = null;
export function sha256Fallback(data) {
  if (!constants) {
    const primes = [];
    for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p)) primes.push(n);
    const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
    constants = { k: primes.map((p) => frac(Math.cbrt(p))), h: primes.slice(0, 8).map((p) => frac(Math.sqrt(p))) };
  }
  const { k } = constants;
  const h = [...constants.h];
  const length = Math.ceil((data.length + 9) / 64) * 64;
  const padded = new Uint8Array(length);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(length - 8, Math.floor(data.length / 2 ** 29));
  view.setUint32(length - 4, (data.length * 8) >>> 0);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  const w = new Uint32Array(64);
  for (let offset = 0; offset < length; offset += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(offset + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    [a, b, c, d, e, f, g, hh].forEach((v, i) => { h[i] = (h[i] + v) >>> 0; });
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  h.forEach((v, i) => outView.setUint32(i * 4, v));
  return out;
}

// --- thumbnails -----------------------------------------------------------------------------

const urls = new Map(); // hash -> object URL of the stored file

export async function thumbUrl(hash) {
  if (urls.has(hash)) return urls.get(hash);
  const blob = await getFile(hash).catch(() => null);
  if (!blob) return null;
  if (!urls.has(hash)) urls.set(hash, URL.createObjectURL(blob));
  return urls.get(hash);
}

export function dropThumb(hash) {
  const url = urls.get(hash);
  if (url) URL.revokeObjectURL(url);
  urls.delete(hash);
}

// Give every <img data-hash> under `root` that has no picture yet its stored file.
export function fillThumbs(root) {
  root.querySelectorAll("img[data-hash]:not([src])").forEach(async (img) => {
    const url = await thumbUrl(img.dataset.hash);
    if (url) img.src = url;
    else img.closest("[data-state]")?.classList.add("gone");
  });
}
