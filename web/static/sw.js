// Service worker of the technician view: the app shell is cached so /tech opens without network.
// Served by web/pages.py with two constants written above this line: VERSION (a hash of every
// shell file's contents) and SHELL (every path /tech and /login need, found from the pages and
// the modules' imports: web/tech_shell.py). A deploy that changes a file changes VERSION, so the
// browser installs this worker again: it caches that version's files under their own name and
// deletes the caches of older versions once it takes over.
//
// Shell paths: the network first (what is deployed now), the cache when there is no network, the
// server fails, or it does not answer within a few seconds (a weak signal). Anything else, the
// API above all, is not touched. Nothing of a user's is cached here: proof photos and signatures
// wait in IndexedDB (js/tech/proof-store.js); sign-out (js/tech/storage.js) also removes any API
// answer.
const PREFIX = "dispatch-shell-";
const CACHE = `${PREFIX}${VERSION}`;
const PATHS = new Set(SHELL);
const NETWORK_WAIT_MS = 4000;

self.addEventListener("install", (event) => {
  // "reload": the files as served now, never a copy from the HTTP cache of an older version.
  event.waitUntil(caches.open(CACHE)
    .then((c) => c.addAll(SHELL.map((path) => new Request(path, { cache: "reload" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE)
      .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function fromCache(request) {
  const cache = await caches.open(CACHE);
  return cache.match(request, { ignoreSearch: true });
}

async function networkFirst(request) {
  const network = fetch(request);
  network.catch(() => {}); // answered from the cache: its failure is no error
  const late = new Promise((resolve) => { setTimeout(() => resolve(null), NETWORK_WAIT_MS); });
  try {
    const response = await Promise.race([network, late]);
    if (response && response.status < 500) return response;
  } catch { /* no network: the cache below */ }
  const cached = await fromCache(request);
  return cached || network; // not cached: whatever the network answers, when it does
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !PATHS.has(url.pathname)) return;
  event.respondWith(networkFirst(event.request));
});
