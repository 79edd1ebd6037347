// Service worker of the technician view: the app shell is cached so /tech opens offline.
// Pages and assets: network first, the cache when offline. The API is never cached.
// Proof photos and signatures wait in IndexedDB (proof-store.js), not here. Nothing of a user's
// is cached: only the shell below (sign-out, in tech-storage.js, also removes any API answer).
const CACHE = "dispatch-shell-v4";
const SHELL = [
  "/tech", "/login", "/config.js", "/manifest.webmanifest", "/static/icon.svg",
  "/static/css/app.css", "/static/css/tech.css", "/static/css/proof.css",
  "/static/js/api.js", "/static/js/live.js", "/static/js/model.js", "/static/js/queue.js",
  "/static/js/outbox.js", "/static/js/signature.js", "/static/js/tech.js",
  "/static/js/tech-jobs.js", "/static/js/tech-proof.js", "/static/js/tech-position.js",
  "/static/js/proof-store.js", "/static/js/tech-storage.js", "/static/js/login.js",
  "/static/js/me.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin
    || url.pathname.startsWith("/api/") || url.pathname === "/ws") return;
  event.respondWith(fetch(event.request).then((response) => {
    if (response.ok && SHELL.includes(url.pathname)) {
      const copy = response.clone();
      caches.open(CACHE).then((c) => c.put(event.request, copy));
    }
    return response;
  }).catch(() => caches.match(event.request, { ignoreSearch: true })));
});
