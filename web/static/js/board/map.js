// The Leaflet map: stores (canvas dots), work-order pins clustered at low zoom, technician vans
// on a canvas of their own (vans.js). Leaflet and MarkerCluster are the globals of /vendor/*.
// Map work is queued and done in slices of ~10 ms (chunks.js): the first render of thousands of
// stores, pins and vans never blocks the page in one long task, and a positions batch costs one
// pass over the moved vans plus one canvas redraw.
import config from "/config.js";
import { escapeHtml } from "../shared/api.js";
import { isLate, MOVABLE, OPEN } from "../shared/model.js";
import { Slicer } from "../shared/chunks.js";
import { VanLayer } from "./vans.js";

const L = window.L;
const DFW = [32.85, -96.95];
const CHECK_EVERY = 32; // items between two looks at the clock

export class BoardMap {
  constructor(element, model, { onSelectOrder, onSelectTechnician, draggablePins = false }) {
    this.model = model;
    this.onSelectOrder = onSelectOrder;
    this.onSelectTechnician = onSelectTechnician;
    this.draggablePins = draggablePins;
    this.fitted = false;
    // Pending map work, drained in slices.
    this.todo = { stores: false, orders: new Set(), vans: new Set() };
    this.visible = () => true;
    this.staged = new Map(); // id -> marker made, not yet in the cluster group
    this.unstaged = [];      // markers to take out of the cluster group
    this.clusterBusy = false;
    this.slicer = new Slicer((deadline) => this.work(deadline), { sliceMs: 10 });
    this.map = L.map(element, { zoomControl: true, maxZoom: 19, minZoom: 3 })
      .setView(DFW, 10);
    // Tiles come after the first fit to the stores (or after a second without stores): tiles
    // loaded for the default view and dropped at the fit cost a ~50 ms task at first load.
    this.tilesTimer = setTimeout(() => this.addTiles(), 1000);
    this.canvas = L.canvas({ padding: 0.3 });
    this.storeLayer = L.layerGroup().addTo(this.map);
    this.orderLayer = L.markerClusterGroup({
      maxClusterRadius: 45, showCoverageOnHover: false, zoomToBoundsOnClick: false,
      chunkedLoading: true, chunkInterval: 8, chunkDelay: 1,
      chunkProgress: (done, total) => this.addDone(done, total),
      iconCreateFunction: (c) => this.clusterIcon(c),
    }).addTo(this.map);
    this.orderLayer.on("clusterclick", (e) => this.clusterList(e.layer));
    this.holdPlacement();
    this.vans = new VanLayer(this.map, model, (id) => this.onSelectTechnician(id));
    this.vanCanvas = this.vans.canvas;
    this.orderMarkers = new Map();
    this.storeMarkers = new Map();
  }

  // Whether map work is still queued or under way (the benchmark waits for it).
  get busy() {
    return this.slicer.running || this.pending() || this.clusterBusy || this.todo.orders.size > 0
      || this.toPlace.size > 0;
  }

  // One slice: stores, then vans, then pins, until the deadline; answers whether work is left.
  work(deadline) {
    if (this.todo.stores && !this.fitted) {
      this.fit(); // a view change lays the page out: in a slice of its own
      return true;
    }
    if (this.todo.stores) this.todo.stores = !this.addStores(deadline);
    if (this.todo.vans.size && performance.now() < deadline) {
      drainSet(this.todo.vans, (key) => this.vans.update(key), deadline);
    }
    if (this.toPlace.size && performance.now() < deadline) this.place(deadline);
    if (this.todo.orders.size && performance.now() < deadline) this.addOrders(deadline);
    return this.pending();
  }

  // Work a slice can do now (pins wait while the cluster group is still adding).
  pending() {
    return this.todo.stores || this.todo.vans.size > 0 || this.toPlace.size > 0 || (!this.clusterBusy
      && (this.todo.orders.size > 0 || this.staged.size > 0 || this.unstaged.length > 0));
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
    this.todo.stores = true;
    this.slicer.run();
  }

  // Add the stores not on the map yet, until the deadline; answers whether all are there.
  addStores(deadline) {
    let n = 0;
    for (const s of this.model.stores.values()) {
      if (this.storeMarkers.has(s.id) || !s.location) continue;
      const m = L.circleMarker([s.location.lat, s.location.lon], {
        renderer: this.canvas, radius: 4, weight: 1, color: "#475569", fillColor: "#cbd5e1",
        fillOpacity: 1,
      }).bindTooltip(`${escapeHtml(s.name)} (${escapeHtml(s.code)})`);
      m.addTo(this.storeLayer);
      this.storeMarkers.set(s.id, m);
      if (++n % CHECK_EVERY === 0 && performance.now() > deadline) return false;
    }
    return true;
  }

  addTiles() {
    clearTimeout(this.tilesTimer);
    const element = this.map.getContainer();
    if (this.tiles !== undefined) return;
    this.tiles = null;
    if (!config.tileUrl) { element.classList.add("tiles-missing"); return; }
    this.tiles = L.tileLayer(config.tileUrl, {
      maxZoom: 19, attribution: "&copy; OpenStreetMap contributors",
    }).addTo(this.map);
    this.tiles.on("tileerror", () => element.classList.add("tiles-missing"));
  }

  fit() {
    if (this.fitted) return;
    const points = [...this.model.stores.values()].filter((s) => s.location)
      .map((s) => [s.location.lat, s.location.lon]);
    if (points.length) {
      this.map.fitBounds(L.latLngBounds(points).pad(0.08), { maxZoom: 13, animate: false });
      this.fitted = true;
      this.addTiles();
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

  // Redraw the given work orders (ids); the others stay as they are. `visible` (the queue's
  // store / region / skill filter) applies to all the pins drawn from now on.
  renderOrders(ids, visible) {
    this.visible = visible;
    for (const id of ids) this.todo.orders.add(id);
    this.slicer.run();
  }

  // Pins: queued ids become markers in slices (staged), then go to the cluster group in one
  // chunked add, so that cluster icons are refreshed and what is in view is put on the map once,
  // at its end. While such an add runs, removals wait: a removal meanwhile would miss a pin not
  // added yet, which would then come back.
  addOrders(deadline) {
    if (this.clusterBusy) return;
    let n = 0;
    for (const id of this.todo.orders) {
      this.todo.orders.delete(id);
      const wo = this.model.workOrders.get(id);
      const old = this.orderMarkers.get(id);
      if (old) {
        if (this.staged.get(id) === old) this.staged.delete(id);
        else this.unstaged.push(old);
        this.orderMarkers.delete(id);
      }
      if (wo && OPEN.has(wo.status) && wo.location && this.visible(wo)) {
        const m = L.marker([wo.location.lat, wo.location.lon], {
          icon: this.orderIcon(wo), orderId: id, priority: wo.priority, keyboard: false,
          title: `${wo.id} ${wo.priority} ${wo.status}`,
        });
        m.on("click", () => this.onSelectOrder(id));
        if (this.draggablePins && MOVABLE.has(wo.status)) m.on("add", () => pinDraggable(m, id));
        this.orderMarkers.set(id, m);
        this.staged.set(id, m);
      }
      if (++n % CHECK_EVERY === 0 && performance.now() > deadline) return;
    }
    if (this.unstaged.length) this.orderLayer.removeLayers(this.unstaged.splice(0));
    if (this.staged.size) {
      const add = [...this.staged.values()];
      this.staged.clear();
      this.clusterBusy = true; // until chunkProgress reports the end (at once for a small add)
      this.orderLayer.addLayers(add);
    }
  }

  // MarkerCluster reports the end of an add just before it refreshes the icons of the clusters
  // on the map and puts every cluster and pin in view on the map, all in that task (100+ ms for
  // the 2,000-store demo): what it puts on the map then is held back and placed in slices.
  addDone(processed, total) {
    if (processed < total) return;
    this.holding = true;
    queueMicrotask(() => { this.holding = false; }); // right after MarkerCluster's end of add
    this.clusterBusy = false;
    this.slicer.run();
  }

  // The cluster group's own layer group (what is on the map) defers additions while `holding`;
  // a layer removed meanwhile is forgotten, and one held back counts as there.
  holdPlacement() {
    const group = this.orderLayer._featureGroup;
    const add = group.addLayer.bind(group);
    const remove = group.removeLayer.bind(group);
    const has = group.hasLayer.bind(group);
    this.toPlace = new Set();
    this.holding = false;
    this.placeNow = add;
    group.addLayer = (layer) => {
      if (!this.holding) return add(layer);
      this.toPlace.add(layer);
      return group;
    };
    group.removeLayer = (layer) => { this.toPlace.delete(layer); return remove(layer); };
    group.hasLayer = (layer) => this.toPlace.has(layer) || has(layer);
    // A zoom animates what is on the map: everything held back goes there first.
    this.map.on("zoomstart", () => this.place(Infinity));
  }

  // Put held-back clusters and pins on the map until the deadline.
  place(deadline) {
    drainSet(this.toPlace, (layer) => this.placeNow(layer), deadline, 8);
  }

  // Technicians/vans that moved or changed (keys are technician ids or unit ids).
  renderVans(keys) {
    for (const key of keys) this.todo.vans.add(key);
    this.slicer.run();
  }

  // Freshness changes with time alone: refresh every van's look now and then.
  refreshFreshness() { this.renderVans(this.vans.keys()); }

  // The technician whose van is under a page point (clientX/Y), or null.
  technicianAt(clientX, clientY) {
    const box = this.map.getContainer().getBoundingClientRect();
    return this.vans.nearest(L.point(clientX - box.left, clientY - box.top));
  }

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

// Take items out of a set and hand them to fn until the deadline (checked every few items).
function drainSet(set, fn, deadline, every = CHECK_EVERY) {
  let n = 0;
  for (const item of set) {
    set.delete(item);
    fn(item);
    if (++n % every === 0 && performance.now() > deadline) return;
  }
}

// A pin's icon as a native drag source: its id goes with the drag; mousedown stays on the pin so
// that the map does not start panning (which would cancel the drag).
function pinDraggable(marker, id) {
  const el = marker.getElement();
  if (!el || el.draggable) return;
  el.draggable = true;
  el.dataset.order = id;
  L.DomEvent.on(el, "mousedown", L.DomEvent.stopPropagation);
}
