// Emergency coordinator tools: pick technicians (list and/or a rectangle drawn on the map) →
// mark them unavailable → the re-plan opens in the proposal panel (confirm in one step, undo);
// a new emergency job, created and answered with its candidates at once.
import { api, escapeHtml } from "../shared/api.js";

const L = window.L;

export class Emergency {
  constructor(root, model, boardMap, { plans, details, canMark = false, canCreate = false }) {
    this.root = root;
    this.canMark = canMark; // emergency:bulk: mark technicians or an area unavailable
    this.canCreate = canCreate; // emergency:create: a new emergency job
    this.model = model;
    this.boardMap = boardMap;
    this.plans = plans;
    this.details = details;
    this.selected = new Set();
    this.layer = L.layerGroup().addTo(boardMap.map);
    this.drawing = null;
  }

  close() {
    this.root.hidden = true;
    this.stopDrawing();
    this.layer.clearLayers();
  }

  open(tab = this.canMark ? "unavailable" : "job") {
    if (tab === "unavailable" && !this.canMark) tab = "job";
    this.plans.close();
    this.root.hidden = false;
    this.tab = tab;
    this.root.innerHTML = `<header><h2>Emergency</h2><button class="close" aria-label="Close">×</button></header>
      <div class="tabs" role="tablist">
        ${this.canMark ? `<button type="button" role="tab" data-tab="unavailable" data-permission="emergency:bulk" aria-selected="${tab === "unavailable"}">Mark unavailable</button>` : ""}
        ${this.canCreate ? `<button type="button" role="tab" data-tab="job" data-permission="emergency:create" aria-selected="${tab === "job"}">New emergency job</button>` : ""}</div>
      <div class="tab-body"></div><p class="message result" role="status" hidden></p>`;
    this.root.querySelector(".close").onclick = () => this.close();
    this.root.querySelectorAll("[data-tab]").forEach((b) => { b.onclick = () => this.open(b.dataset.tab); });
    if (tab === "unavailable") this.renderUnavailable(); else this.renderJob();
  }

  say(text, kind) {
    const el = this.root.querySelector(".message.result");
    el.hidden = false;
    el.className = `message result ${kind}`;
    el.textContent = text;
  }

  technicians() {
    return [...this.model.technicians.values()].filter((t) => t.active !== false)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  renderUnavailable() {
    const body = this.root.querySelector(".tab-body");
    const techs = this.technicians();
    body.innerHTML = `<div class="row"><button type="button" class="draw" data-permission="emergency:bulk">Draw an area</button>
        <button type="button" class="link clear">Clear</button><span class="picked muted"></span></div>
      <ul class="tech-picks">${techs.map((t) => `<li><label><input type="checkbox" value="${escapeHtml(t.id)}" ${this.selected.has(t.id) ? "checked" : ""}>
        ${escapeHtml(t.name)} <small>${escapeHtml(t.id)} · ${escapeHtml(t.status || "")}</small></label></li>`).join("")}</ul>
      <label>Reason <input name="reason" value="emergency" maxlength="200"></label>
      <button type="button" class="primary mark" data-permission="emergency:bulk">Mark unavailable</button>`;
    body.querySelectorAll(".tech-picks input").forEach((c) => {
      c.onchange = () => { if (c.checked) this.selected.add(c.value); else this.selected.delete(c.value); this.count(); };
    });
    body.querySelector(".draw").onclick = () => this.startDrawing();
    body.querySelector(".clear").onclick = () => { this.selected.clear(); this.layer.clearLayers(); this.renderUnavailable(); };
    body.querySelector(".mark").onclick = () => this.mark(body.querySelector("[name=reason]").value);
    this.count();
  }

  count() {
    const el = this.root.querySelector(".picked");
    if (el) el.textContent = `${this.selected.size} selected`;
    const mark = this.root.querySelector(".mark");
    if (mark) mark.disabled = this.selected.size === 0;
  }

  // Press, drag and release on the map: everyone whose van (or home store) is inside is picked.
  startDrawing() {
    const map = this.boardMap.map;
    this.stopDrawing();
    map.dragging.disable();
    map.getContainer().classList.add("drawing");
    this.root.classList.add("see-through"); // the panel lets the drag reach the map
    let start = null;
    let rect = null;
    const down = (e) => { start = e.latlng; rect = L.rectangle([start, start], { color: "#dc2626", weight: 2 }).addTo(this.layer); };
    const move = (e) => { if (start) rect.setBounds([start, e.latlng]); };
    const up = (e) => {
      if (!start) return;
      const bounds = L.latLngBounds(start, e.latlng);
      this.stopDrawing();
      this.pickArea(bounds);
    };
    map.on("mousedown", down).on("mousemove", move).on("mouseup", up);
    this.drawing = { down, move, up };
  }

  stopDrawing() {
    if (!this.drawing) return;
    const map = this.boardMap.map;
    map.off("mousedown", this.drawing.down).off("mousemove", this.drawing.move).off("mouseup", this.drawing.up);
    map.dragging.enable();
    map.getContainer().classList.remove("drawing");
    this.root.classList.remove("see-through");
    this.drawing = null;
  }

  pickArea(bounds) {
    for (const t of this.technicians()) {
      const fix = this.model.positions.get(t.id);
      const home = this.model.stores.get(t.home_store_id)?.location;
      const at = fix ? [fix.lat, fix.lon] : home ? [home.lat, home.lon] : null;
      if (at && bounds.contains(at)) this.selected.add(t.id);
    }
    this.renderUnavailable();
  }

  async mark(reason) {
    const ids = [...this.selected];
    this.root.querySelector(".mark").disabled = true;
    this.say(`Marking ${ids.length} unavailable and re-planning their jobs…`, "info");
    try {
      const p = await api("/api/emergency/unavailable", { method: "POST",
        body: { technician_ids: ids, reason: reason || "emergency", time_limit_seconds: 2 } });
      this.selected.clear();
      this.close();
      const names = (p.marked_unavailable || []).map((id) => this.model.technicians.get(id)?.name || id);
      this.plans.show(p, `Marked unavailable: ${names.join(", ") || "nobody"}. Review the re-plan and confirm it.`);
    } catch (error) {
      this.say(`Could not mark: ${error.message}`, "error");
      this.root.querySelector(".mark").disabled = false;
    }
  }

  renderJob() {
    const body = this.root.querySelector(".tab-body");
    const stores = [...this.model.stores.values()].sort((a, b) => a.name.localeCompare(b.name));
    const skills = [...new Set([...this.model.technicians.values()].flatMap((t) => t.skills || []))].sort();
    body.innerHTML = `<form class="emergency-job" autocomplete="off">
      <label>Store <select name="store_id" required>${stores.map((s) => `<option value="${escapeHtml(s.id)}">${escapeHtml(s.name)}</option>`).join("")}</select></label>
      <label>What happened <input name="description" required maxlength="400" placeholder="e.g. Freezer leaking, aisle 4"></label>
      <label>Address <input name="address" maxlength="300"></label>
      <div class="grid2"><label>Latitude <input name="lat" type="number" step="any" required></label>
        <label>Longitude <input name="lon" type="number" step="any" required></label></div>
      <button type="button" class="link pick">Pick the place on the map</button>
      <label>Skill <select name="skill"><option value="">any</option>${skills.map((s) => `<option>${escapeHtml(s)}</option>`).join("")}</select></label>
      <label>Minutes <input name="estimated_minutes" type="number" min="1" max="1440" value="60"></label>
      <button class="primary" type="submit" data-permission="emergency:create">Create and find technicians</button></form>`;
    const form = body.querySelector("form");
    const atStore = () => {
      const loc = this.model.stores.get(form.store_id.value)?.location;
      if (loc) { form.lat.value = loc.lat.toFixed(5); form.lon.value = loc.lon.toFixed(5); }
    };
    form.store_id.onchange = atStore;
    atStore();
    body.querySelector(".pick").onclick = () => {
      const map = this.boardMap.map;
      map.getContainer().classList.add("drawing");
      map.once("click", (e) => {
        map.getContainer().classList.remove("drawing");
        form.lat.value = e.latlng.lat.toFixed(5);
        form.lon.value = e.latlng.lng.toFixed(5);
      });
    };
    form.onsubmit = (e) => { e.preventDefault(); this.createJob(form); };
  }

  async createJob(form) {
    form.querySelector("button[type=submit]").disabled = true;
    const body = { store_id: form.store_id.value, priority: "emergency",
      description: form.description.value.trim(), address: form.address.value.trim(),
      location: { lat: Number(form.lat.value), lon: Number(form.lon.value) },
      required_skills: form.skill.value ? [form.skill.value] : [],
      estimated_minutes: Number(form.estimated_minutes.value) || 60, k: 5 };
    try {
      const r = await api("/api/emergency/jobs", { method: "POST", body });
      this.model.applyWorkOrder(r.work_order);
      this.close();
      this.details.showOrder(r.work_order.id,
        { candidates: { version: r.work_order.version, items: r.candidates } });
    } catch (error) {
      this.say(`Could not create the job: ${error.message}`, "error");
      form.querySelector("button[type=submit]").disabled = false;
    }
  }
}
