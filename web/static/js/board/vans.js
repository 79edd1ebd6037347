// Technician vans on a canvas of their own: a square coloured by status with a white rim, a
// heading triangle, and the freshness look (moving: a green halo, no animation; stale: faded with
// a dashed rim; offline: grey and faint). No DOM node and no Leaflet layer per van: a positions
// batch only updates an entry per van and asks for one redraw on the next animation frame, which
// stamps each van as one pre-drawn image (a sprite per look and heading, made once). In headless
// Chromium without a GPU, 2,000 vans drawn as batched paths took 50-230 ms to rasterise, as
// sprites 10-40 ms. The canvas lets the mouse through (the store dots below keep their tooltips);
// clicks, hovers and drops find the van by hit testing against the last drawn positions.
import { escapeHtml } from "../shared/api.js";
import { freshness } from "../shared/model.js";

const L = window.L;
const COLOUR = { available: "#16a34a", en_route: "#7c3aed", on_site: "#7c3aed",
  unavailable: "#475569" };
const GREY = "#94a3b8";
const HALF = 7;     // half the square's side, px
const REACH = 14;   // px from the centre that still counts as the van
const R = 20;       // half the sprite's side, px
const PAD = 0.15;   // canvas margin around the view (a pan shows vans before the redraw)
const ALPHA = { offline: 0.35, stale: 0.55 };
const STEPS = 24;   // heading directions drawn (15 degrees apart)

const sprites = new Map(); // look key -> canvas

// The van's image for a look: { colour, fresh, step (heading index, -1: none), target }.
function sprite(look, dpr) {
  const key = `${look.colour}|${look.fresh}|${look.step}|${look.target ? 1 : 0}|${dpr}`;
  let c = sprites.get(key);
  if (c) return c;
  c = document.createElement("canvas");
  c.width = c.height = Math.ceil(2 * R * dpr);
  const ctx = c.getContext("2d");
  ctx.scale(dpr, dpr);
  ctx.globalAlpha = ALPHA[look.fresh] || 1;
  if (look.target) {
    ctx.beginPath();
    ctx.arc(R, R, REACH + 2, 0, Math.PI * 2);
    ctx.fillStyle = "rgba(37,99,235,.25)";
    ctx.fill();
    ctx.lineWidth = 3;
    ctx.strokeStyle = "#2563eb";
    ctx.stroke();
  } else if (look.fresh === "moving") {
    ctx.beginPath();
    ctx.arc(R, R, HALF + 4, 0, Math.PI * 2);
    ctx.fillStyle = "rgba(22,163,74,.3)";
    ctx.fill();
  }
  if (look.step >= 0) {
    const a = (look.step * 2 * Math.PI) / STEPS;
    const dx = Math.sin(a);
    const dy = -Math.cos(a);
    ctx.beginPath();
    ctx.moveTo(R + dx * (HALF + 9), R + dy * (HALF + 9));
    ctx.lineTo(R + dx * (HALF + 1) - dy * 4, R + dy * (HALF + 1) + dx * 4);
    ctx.lineTo(R + dx * (HALF + 1) + dy * 4, R + dy * (HALF + 1) - dx * 4);
    ctx.closePath();
    ctx.fillStyle = "#0f172a";
    ctx.fill();
  }
  ctx.fillStyle = look.colour;
  ctx.fillRect(R - HALF, R - HALF, HALF * 2, HALF * 2);
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#fff";
  if (look.fresh === "stale") ctx.setLineDash([3, 2]);
  ctx.strokeRect(R - HALF, R - HALF, HALF * 2, HALF * 2);
  sprites.set(key, c);
  return c;
}

const VanCanvas = L.Layer.extend({
  initialize(vans) { this.vans = vans; this.frame = 0; },

  onAdd(map) {
    if (!map.getPane("vans")) {
      const pane = map.createPane("vans");
      pane.style.zIndex = 450; // above the stores' canvas and the overlays, below the pins
      pane.style.pointerEvents = "none";
    }
    this.canvas = L.DomUtil.create("canvas", "van-canvas leaflet-zoom-hide", map.getPane("vans"));
    this.ctx = this.canvas.getContext("2d");
    map.on("moveend zoomend resize viewreset", this._reset, this);
    this._reset();
  },

  onRemove(map) {
    map.off("moveend zoomend resize viewreset", this._reset, this);
    L.DomUtil.remove(this.canvas);
  },

  // Size and place the canvas over the view (plus margins), then redraw.
  _reset() {
    const map = this._map;
    const size = map.getSize();
    const pad = size.multiplyBy(PAD).round();
    this.origin = map.containerPointToLayerPoint(pad.multiplyBy(-1)).round();
    L.DomUtil.setPosition(this.canvas, this.origin);
    const w = size.x + 2 * pad.x;
    const h = size.y + 2 * pad.y;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
    }
    this.dpr = dpr;
    this._redraw();
  },

  requestRedraw() {
    if (this.frame || !this._map) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this._redraw(); });
  },

  // Stamp every van in view; remember where each was drawn (layer point), for hit tests.
  _redraw() {
    if (!this._map) return;
    const map = this._map;
    const ctx = this.ctx;
    const w = this.canvas.width / this.dpr;
    const h = this.canvas.height / this.dpr;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    for (const v of this.vans.entries.values()) {
      const p = map.latLngToLayerPoint([v.lat, v.lon]);
      v.x = p.x;
      v.y = p.y;
      const x = Math.round(p.x - this.origin.x);
      const y = Math.round(p.y - this.origin.y);
      if (x < -R || y < -R || x > w + R || y > h + R) continue;
      ctx.drawImage(sprite(v.look, this.dpr), x - R, y - R, 2 * R, 2 * R);
    }
  },
});

export class VanLayer {
  constructor(map, model, onSelect) {
    this.map = map;
    this.model = model;
    this.entries = new Map(); // technician id (or unit id) -> { lat, lon, look, x, y }
    this.target = null;       // the van highlighted as a drop target
    this.canvas = new VanCanvas(this).addTo(map);
    this.tip = L.tooltip({ direction: "top", offset: [0, -12] });
    this.hovered = null;
    map.on("click", (e) => {
      const id = this.nearest(e.containerPoint);
      if (id) onSelect(id);
    });
    map.on("mousemove", (e) => this.hover(this.nearest(e.containerPoint)));
    map.on("mouseout", () => this.hover(null));
  }

  hover(id) {
    if (id === this.hovered) return;
    this.hovered = id;
    this.map.getContainer().classList.toggle("over-van", Boolean(id));
    if (!id) { this.map.closeTooltip(this.tip); return; }
    const v = this.entries.get(id);
    this.tip.setLatLng([v.lat, v.lon]).setContent(this.label(id));
    this.map.openTooltip(this.tip);
  }

  label(id) {
    const tech = this.model.technicians.get(id);
    const f = freshness(this.model.positions.get(id));
    return `${escapeHtml(tech?.name || id)} · ${escapeHtml(tech?.status || "")} · ${escapeHtml(f.label)}`;
  }

  // One technician / van that moved or changed (key: technician id or unit id).
  update(key) {
    const fix = this.model.positions.get(key);
    const tech = this.model.technicians.get(key)
      || (fix && this.model.technicians.get(fix.technician_id));
    const id = tech ? tech.id : key;
    const pos = this.model.positions.get(id) || fix;
    if (!pos) {
      if (this.entries.delete(id)) this.canvas.requestRedraw();
      return;
    }
    const fresh = freshness(pos).look;
    const look = { fresh, target: id === this.target,
      colour: fresh === "offline" ? GREY : (COLOUR[tech?.status] || GREY),
      step: Number.isFinite(pos.bearing)
        ? ((Math.round(pos.bearing / (360 / STEPS)) % STEPS) + STEPS) % STEPS : -1 };
    const held = this.entries.get(id);
    if (held) Object.assign(held, { lat: pos.lat, lon: pos.lon, look });
    else this.entries.set(id, { lat: pos.lat, lon: pos.lon, look, x: NaN, y: NaN });
    this.canvas.requestRedraw();
  }

  keys() { return [...this.entries.keys()]; }

  // The technician whose van is nearest a container point, within `px` pixels (or null).
  nearest(point, px = REACH) {
    const p = this.map.containerPointToLayerPoint(point);
    let best = null;
    let bestD = px * px;
    for (const [id, v] of this.entries) {
      const d = (v.x - p.x) ** 2 + (v.y - p.y) ** 2;
      if (d <= bestD) { bestD = d; best = id; }
    }
    return best;
  }

  // Highlight one van as the drop target (null: none).
  setTarget(id) {
    if (id === this.target) return;
    const before = this.target;
    this.target = id;
    if (before) this.update(before);
    if (id) this.update(id);
  }
}
