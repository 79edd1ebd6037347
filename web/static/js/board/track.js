// The selected technician on the map: the van's breadcrumb trail (the last two hours, from
// GET /api/technicians/{id}/track, then extended live from the positions stream) and the planned
// route (from where the van is now through the open jobs in order: started first, then by
// sequence; numbered), redrawn when the technician's jobs change.
import { api } from "../shared/api.js";
import { linkStylesheet } from "../shared/stylesheet.js";

const STARTED = new Set(["en_route", "on_site"]);
const OPEN = new Set(["assigned", "accepted", "en_route", "on_site"]);
const MAX_TRAIL = 2000;
// The technician's open jobs in the order they will be done.
export function routeOf(model, technicianId) {
  return [...model.workOrders.values()]
    .filter((wo) => wo.technician_id === technicianId && OPEN.has(wo.status) && wo.location)
    .sort((a, b) => (STARTED.has(b.status) - STARTED.has(a.status))
      || ((a.sequence ?? 1e9) - (b.sequence ?? 1e9))
      || String(a.planned_arrival || "").localeCompare(String(b.planned_arrival || ""))
      || a.id.localeCompare(b.id));
}

export class TrackView {
  constructor(map, model) {
    this.map = map; // a Leaflet map
    this.model = model;
    this.layer = L.layerGroup().addTo(map);
    this.id = null;
    this.trail = [];
    this.request = 0;
    linkStylesheet("/static/css/track.css");
    model.subscribe((changed) => this.onChange(changed));
  }

  // Show a technician's track (null hides it).
  async show(id) {
    if (id === this.id) return;
    this.id = id;
    this.trail = [];
    this.layer.clearLayers();
    const ask = ++this.request;
    if (!id) return;
    let track;
    try {
      track = await api(`/api/technicians/${encodeURIComponent(id)}/track?minutes=120&points=600`);
    } catch {
      track = { trail: [] }; // no trail (no permission or a network hiccup): the route still shows
    }
    if (ask !== this.request) return; // another technician was selected meanwhile
    this.trail = track.trail.map((p) => [p.lat, p.lon]);
    const points = this.draw();
    if (points.length > 1) { // frame it, clear of the details panel on the right
      this.map.fitBounds(L.latLngBounds(points), { paddingTopLeft: [40, 40],
        paddingBottomRight: [380, 40], maxZoom: 15, animate: false });
    }
  }

  hide() { this.show(null); }

  onChange(changed) {
    if (!this.id) return;
    let redraw = changed.workOrders.size > 0;
    if (changed.positions.has(this.id)) {
      const p = this.model.positions.get(this.id);
      const last = this.trail[this.trail.length - 1];
      if (p && (!last || last[0] !== p.lat || last[1] !== p.lon)) {
        this.trail.push([p.lat, p.lon]);
        if (this.trail.length > MAX_TRAIL) this.trail.splice(0, this.trail.length - MAX_TRAIL);
        redraw = true;
      }
    }
    if (redraw) this.draw();
  }

  // Draw the trail and the route; answers every point drawn.
  draw() {
    this.layer.clearLayers();
    const id = this.id;
    if (!id) return [];
    if (this.trail.length > 1) {
      L.polyline(this.trail, { color: "#475569", weight: 3, opacity: 0.7, interactive: false,
        className: "track-trail" }).addTo(this.layer);
    }
    const fix = this.model.positions.get(id);
    const here = fix ? [fix.lat, fix.lon] : this.trail[this.trail.length - 1];
    const stops = routeOf(this.model, id);
    const line = stops.map((wo) => [wo.location.lat, wo.location.lon]);
    if (here) line.unshift(here);
    if (line.length > 1) {
      L.polyline(line, { color: "#1d4ed8", weight: 3, opacity: 0.85, dashArray: "6 6",
        interactive: false, className: "track-route" }).addTo(this.layer);
    }
    stops.forEach((wo, i) => {
      L.marker([wo.location.lat, wo.location.lon], {
        interactive: false, keyboard: false, zIndexOffset: 1000,
        icon: L.divIcon({ className: `track-stop${STARTED.has(wo.status) ? " started" : ""}`,
          html: String(i + 1), iconSize: [18, 18] }),
      }).addTo(this.layer);
    });
    return [...this.trail, ...line];
  }
}
