// Share the phone's position over the websocket (`position` messages) when the van has no
// tracker: the technician switches it on; at most one message every 5 s.
//
// Without a connection the fixes are held on the phone (localStorage, the signed-in user's own
// key: they survive closing the app), one every 30 s and at most HELD_MAX of them (the oldest go
// first), and sent in order, before any newer one, once the socket is live again, paced under the
// server's message limit. Each carries its device time, which the server keys the breadcrumb on,
// so a fix sent twice (a socket that closed right after a send) is stored once.
const EVERY_MS = 5000;
const HELD_EVERY_MS = 30_000;
const HELD_MAX = 720; // six hours of breadcrumbs
const SEND_PER_SECOND = 10; // the server allows 20 messages a second per session

export class PositionSharing {
  // `key`: where the switch is remembered; `heldKey`: where fixes wait for the network (both the
  // signed-in user's own keys, storage.js).
  constructor(toggle, live, key, heldKey) {
    this.toggle = toggle;
    this.key = key;
    this.heldKey = heldKey;
    this.live = live;
    this.watch = null;
    this.lastSent = 0;
    this.lastHeld = 0;
    this.sending = null;
    this.stopped = false;
    if (!navigator.geolocation) { toggle.closest("label").hidden = true; return; }
    toggle.checked = localStorage.getItem(key) === "1";
    toggle.addEventListener("change", () => this.set(toggle.checked));
    if (toggle.checked) this.set(true);
  }

  set(on) {
    if (this.stopped) return;
    localStorage.setItem(this.key, on ? "1" : "0");
    if (this.watch !== null) { navigator.geolocation.clearWatch(this.watch); this.watch = null; }
    if (!on) return;
    this.watch = navigator.geolocation.watchPosition((p) => this.send(p), () => {},
      { enableHighAccuracy: true, maximumAge: 10_000, timeout: 30_000 });
  }

  // Sign-out: no more fixes are taken, sent or kept.
  stop() {
    this.stopped = true;
    if (this.watch !== null) navigator.geolocation.clearWatch(this.watch);
    this.watch = null;
  }

  held() {
    try {
      const items = JSON.parse(localStorage.getItem(this.heldKey) || "[]");
      return Array.isArray(items) ? items : [];
    } catch {
      return [];
    }
  }

  keep(items) {
    if (this.stopped) return;
    if (items.length) localStorage.setItem(this.heldKey, JSON.stringify(items));
    else localStorage.removeItem(this.heldKey);
  }

  send(p) {
    if (this.stopped) return;
    const now = Date.now();
    const c = p.coords;
    const message = {
      type: "position", lat: c.latitude, lon: c.longitude,
      accuracy_m: c.accuracy ?? null,
      speed_kmh: Number.isFinite(c.speed) ? c.speed * 3.6 : null,
      bearing: Number.isFinite(c.heading) ? c.heading : null,
      device_time: new Date(p.timestamp || now).toISOString(),
    };
    if (!this.held().length) { // else this one waits behind the held ones
      if (now - this.lastSent < EVERY_MS) return;
      if (this.live.send(message)) { this.lastSent = now; return; }
    }
    const held = this.held();
    const last = held.length ? Date.parse(held[held.length - 1].device_time) || 0 : 0;
    if (now - Math.max(this.lastHeld, last) < HELD_EVERY_MS) return; // reopened: the last one counts
    this.lastHeld = now;
    this.keep([...held, message].slice(-HELD_MAX));
    if (this.live.state === "live") this.sendHeld();
  }

  // Send the held fixes, oldest first, while the socket takes them; answers when done or when it
  // stops taking them (the rest waits for the next time it is live).
  sendHeld() {
    if (!this.sending) {
      this.sending = this.drain().finally(() => { this.sending = null; });
    }
    return this.sending;
  }

  async drain() {
    for (;;) {
      const [first] = this.held();
      if (!first || this.stopped || !this.live.send(first)) return;
      this.lastSent = Date.now();
      const rest = this.held();
      if (rest[0]?.device_time === first.device_time) rest.shift();
      this.keep(rest);
      await new Promise((resolve) => { setTimeout(resolve, 1000 / SEND_PER_SECOND); });
    }
  }
}
