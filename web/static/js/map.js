// The Leaflet map: stores (canvas dots), work-order pins clustered at low zoom, technician vans
// with heading and freshness. Leaflet and MarkerCluster are the globals of /vendor/*.
import config from "/config.js";
import { escapeHtml } from "./api.js";
import { freshness, isLate, OPEN } from "./model.js";

const L = window.L;
const DFW = [32.85, -96.95];

export class BoardMap {
  constructor(element, model, { onSelectOrder, onSelectTechnician }) {
    this.model = model;
    this.onSelectOrder = onSelectOrder;
    this.onSelectTechnician = onSelectTechnician;
    this.map = L.map(element, { zoomControl: true, maxZoom: 19, minZoom: 3 })
      .setView(DFW, 10);
    if (config.tileUrl) {
      this.tiles = L.tileLayer(config.tileUrl, {
        maxZoom: 19, attribution: "&copy; OpenStreetMap contributors",
      }).addTo(this.map);
      this.tiles.on("tileerror", () => element.classList.add("tiles-missing"));
    } else {
      element.classList.add("tiles-missing");
    }
    this.canvas = L.canvas({ padding: 0.3 });
    this.storeLayer = L.layerGroup().addTo(this.map);
    this.orderLayer = L.markerClusterGroup({
      maxClusterRadius: 45, showCoverageOnHover: false, zoomToBoundsOnClick: false,
      chunkedLoading: true, iconCreateFunction: (c) => this.clusterIcon(c),
    }).addTo(this.map);
    this.orderLayer.on("clusterclick", (e) => this.clusterList(e.layer));
    this.vanLayer = L.layerGroup().addTo(this.map);
    this.orderMarkers = new Map();
    this.storeMarkers = new Map();
    this.vanMarkers = new Map();
    this.fitted = false;
  }

  clusterIcon(cluster) {
    const children = cluster.getAllChildMarkers();
    const urgent = children.some((m) => m.options.priority === "emergency") ? " urgent" : "";
    return L.divIcon({ html: `<span>${children.length}</span>`, className: `wo-cluster${urgent}`,
      iconSize: [34, 34] });
  }

  // A cluster lists what it holds (up to 25), each entry opens that job.
  clusterList(cluster) {
    const children = cluster.getAllChildMarkers();
    const rows = children.slice(0, 25).map((m) => {
      const wo = this.model.workOrders.get(m.options.orderId);
      return wo ? `<li><button data-order="${escapeHtml(wo.id)}" class="link prio-${wo.priority}">`
        + `${escapeHtml(wo.id)} · ${wo.priority} · ${escapeHtml(wo.status)}</button></li>` : "";
    }).join("");
    const more = children.length > 25 ? `<li>… ${children.length - 25} more</li>` : "";
    const html = `<div class="cluster-list"><strong>${children.length} jobs</strong>`
      + `<ul>${rows}${more}</ul><button class="zoom">Zoom in</button></div>`;
    const popup = L.popup({ maxHeight: 260 }).setLatLng(cluster.getLatLng()).setContent(html)
      .openOn(this.map);
    const el = popup.getElement();
    el.querySelector(".zoom").onclick = () => { this.map.closePopup(); cluster.zoomToBounds(); };
    el.querySelectorAll("[data-order]").forEach((b) => {
      b.onclick = () => { this.map.closePopup(); this.onSelectOrder(b.dataset.order); };
    });
  }

  renderStores() {
    for (const s of this.model.stores.values()) {
      if (this.storeMarkers.has(s.id) || !s.location) continue;
      const m = L.circleMarker([s.location.lat, s.location.lon], {
        renderer: this.canvas, radius: 4, weight: 1, color: "#475569", fillColor: "#cbd5e1",
        fillOpacity: 1,
      }).bindTooltip(`${escapeHtml(s.name)} (${escapeHtml(s.code)})`);
      m.addTo(this.storeLayer);
      this.storeMarkers.set(s.id, m);
    }
    this.fit();
  }

  fit() {
    if (this.fitted) return;
    const points = [...this.model.stores.values()].filter((s) => s.location)
      .map((s) => [s.location.lat, s.location.lon]);
    if (points.length) {
      this.map.fitBounds(L.latLngBounds(points).pad(0.08), { maxZoom: 13 });
      this.fitted = true;
    }
  }

  orderIcon(wo) {
    const late = isLate(wo) ? " late" : "";
    const assigned = wo.technician_id ? " assigned" : "";
    return L.divIcon({
      className: `wo-pin prio-${wo.priority}${late}${assigned}`,
      html: `<span>${wo.priority === "emergency" ? "!" : ""}</span>`,
      iconSize: [18, 24], iconAnchor: [9, 24],
    });
  }

  // Redraw the given work orders (ids); the others stay as they are.
  renderOrders(ids, visible) {
    const add = [];
    const remove = [];
    for (const id of ids) {
      const wo = this.model.workOrders.get(id);
      const old = this.orderMarkers.get(id);
      if (old) { remove.push(old); this.orderMarkers.delete(id); }
      if (!wo || !OPEN.has(wo.status) || !visible(wo) || !wo.location) continue;
      const m = L.marker([wo.location.lat, wo.location.lon], {
        icon: this.orderIcon(wo), orderId: id, priority: wo.priority, keyboard: false,
        title: `${wo.id} ${wo.priority} ${wo.status}`,
      });
      m.on("click", () => this.onSelectOrder(id));
      this.orderMarkers.set(id, m);
      add.push(m);
    }
    if (remove.length) this.orderLayer.removeLayers(remove);
    if (add.length) this.orderLayer.addLayers(add);
  }

  vanIcon(tech, fix) {
    const f = freshness(fix);
    const bearing = Number.isFinite(fix?.bearing) ? fix.bearing : null;
    const arrow = bearing === null ? "" :
      `<i class="heading" style="transform:rotate(${Math.round(bearing)}deg)"></i>`;
    return L.divIcon({
      className: `van status-${tech?.status || "unknown"} fresh-${f.look}`,
      html: `${arrow}<b></b>`, iconSize: [22, 22], iconAnchor: [11, 11],
    });
  }

  // Technicians/vans that moved or changed (keys are technician ids or unit ids).
  renderVans(keys) {
    for (const key of keys) {
      const fix = this.model.positions.get(key);
      const tech = this.model.technicians.get(key)
        || (fix && this.model.technicians.get(fix.technician_id));
      const id = tech ? tech.id : key;
      const pos = this.model.positions.get(id) || fix;
      let m = this.vanMarkers.get(id);
      if (!pos) { if (m) { m.remove(); this.vanMarkers.delete(id); } continue; }
      const sig = `${tech?.status}|${freshness(pos).look}|${Math.round((pos.bearing || 0) / 10)}`;
      if (!m) {
        m = L.marker([pos.lat, pos.lon], { icon: this.vanIcon(tech, pos), zIndexOffset: 500,
          keyboard: false });
        m.on("click", () => this.onSelectTechnician(id));
        m.bindTooltip("");
        m.addTo(this.vanLayer);
        this.vanMarkers.set(id, m);
      } else {
        m.setLatLng([pos.lat, pos.lon]);
      }
      if (m.options.sig !== sig) { m.setIcon(this.vanIcon(tech, pos)); m.options.sig = sig; }
      m.setTooltipContent(`${escapeHtml(tech?.name || id)} · ${escapeHtml(tech?.status || "")}`
        + ` · ${escapeHtml(freshness(pos).label)}`);
    }
  }

  // Freshness changes with time alone: refresh every van's look now and then.
  refreshFreshness() { this.renderVans([...this.vanMarkers.keys()]); }

  // Centre a job left of the details panel (which covers the map's right side on wide screens).
  focus(location, zoom = 12) {
    if (!location) return;
    const z = Math.max(zoom, this.map.getZoom());
    const size = this.map.getSize();
    const shift = size.x > 800 ? 190 : 0;
    const point = this.map.project([location.lat, location.lon], z).add([shift, 0]);
    this.map.setView(this.map.unproject(point, z), z);
  }

  boundsMessage() {
    const b = this.map.getBounds();
    return { type: "bounds", south: b.getSouth(), west: b.getWest(), north: b.getNorth(),
      east: b.getEast() };
  }
}
