// Share the phone's position over the websocket (`position` messages) when the van has no
// tracker: the technician switches it on; at most one message every 5 s.
const EVERY_MS = 5000;

export class PositionSharing {
  // `key`: where the switch is remembered (the signed-in user's own key, tech-storage.js).
  constructor(toggle, live, key) {
    this.toggle = toggle;
    this.key = key;
    this.live = live;
    this.watch = null;
    this.lastSent = 0;
    if (!navigator.geolocation) { toggle.closest("label").hidden = true; return; }
    toggle.checked = localStorage.getItem(key) === "1";
    toggle.addEventListener("change", () => this.set(toggle.checked));
    if (toggle.checked) this.set(true);
  }

  set(on) {
    localStorage.setItem(this.key, on ? "1" : "0");
    if (this.watch !== null) { navigator.geolocation.clearWatch(this.watch); this.watch = null; }
    if (!on) return;
    this.watch = navigator.geolocation.watchPosition((p) => this.send(p), () => {},
      { enableHighAccuracy: true, maximumAge: 10_000, timeout: 30_000 });
  }

  send(p) {
    const now = Date.now();
    if (now - this.lastSent < EVERY_MS) return;
    const c = p.coords;
    const sent = this.live.send({
      type: "position", lat: c.latitude, lon: c.longitude,
      accuracy_m: c.accuracy ?? null,
      speed_kmh: Number.isFinite(c.speed) ? c.speed * 3.6 : null,
      bearing: Number.isFinite(c.heading) ? c.heading : null,
      device_time: new Date(p.timestamp || now).toISOString(),
    });
    if (sent) this.lastSent = now;
  }
}
