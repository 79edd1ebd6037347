// Drag and drop assignment: a job (a queue row, or a work-order pin on the map) dropped on a
// technician (a timeline row, a van on the map, the technician shown in the details panel) goes
// through the details panel's own assign call: with the version the client saw when the drag
// started, a 409 showing who changed the job, missing skills offering "Assign anyway". Native
// HTML5 drag and drop for the page's elements; on the map the drop point is hit-tested against
// the vans (drawn on a canvas). Keyboard users keep the details panel's form.
import { MOVABLE, technicianName } from "../shared/model.js";
import { escapeHtml } from "../shared/api.js";

const TYPE = "application/x-dispatch-work-order";

export class DragAssign {
  // sources: elements holding draggable [data-order] items; targets: elements holding
  // [data-drop-technician] drop zones; map: the BoardMap (vans are drop targets too).
  constructor({ model, details, map, sources, targets, onHold = () => {} }) {
    this.model = model;
    this.details = details;
    this.map = map;
    this.drag = null; // { id, version } of the job being dragged
    this.zone = null; // the highlighted drop zone element
    this.onHold = onHold; // onHold(true) at the start of a drag, onHold(false) at its end
    for (const el of sources) el.addEventListener("dragstart", (e) => this.start(e));
    document.addEventListener("dragend", () => this.finish());
    for (const el of targets) {
      el.addEventListener("dragover", (e) => this.over(e, e.target.closest("[data-drop-technician]")));
      el.addEventListener("dragleave", (e) => {
        if (this.zone && !this.zone.contains(e.relatedTarget)) this.highlight(null);
      });
      el.addEventListener("drop", (e) => this.drop(e, this.zoneTechnician(e.target)));
    }
    const mapEl = map.map.getContainer();
    mapEl.addEventListener("dragover", (e) => this.overMap(e));
    mapEl.addEventListener("dragleave", (e) => {
      if (!mapEl.contains(e.relatedTarget)) map.vans.setTarget(null);
    });
    mapEl.addEventListener("drop", (e) => this.drop(e, map.technicianAt(e.clientX, e.clientY)));
  }

  start(e) {
    const item = e.target.closest?.("[data-order][draggable=true]");
    const wo = item && this.model.workOrders.get(item.dataset.order);
    if (!wo || !MOVABLE.has(wo.status)) return;
    this.drag = { id: wo.id, version: wo.version };
    e.dataTransfer.setData(TYPE, wo.id);
    e.dataTransfer.setData("text/plain", wo.id);
    e.dataTransfer.effectAllowed = "move";
    document.body.classList.add("dragging-job");
    this.onHold(true);
  }

  zoneTechnician(target) {
    return target.closest?.("[data-drop-technician]")?.dataset.dropTechnician || null;
  }

  over(e, zone) {
    if (!this.drag || !zone) { this.highlight(null); return; }
    e.preventDefault(); // allows the drop
    e.dataTransfer.dropEffect = "move";
    this.highlight(zone);
  }

  overMap(e) {
    if (!this.drag) return;
    const tech = this.map.technicianAt(e.clientX, e.clientY);
    this.map.vans.setTarget(tech);
    if (tech) { e.preventDefault(); e.dataTransfer.dropEffect = "move"; }
  }

  highlight(zone) {
    if (zone === this.zone) return;
    this.zone?.classList.remove("drop-target");
    this.zone = zone;
    zone?.classList.add("drop-target");
  }

  finish() {
    this.onHold(false);
    this.highlight(null);
    this.map.vans.setTarget(null);
    document.body.classList.remove("dragging-job");
  }

  drop(e, technicianId) {
    const drag = this.drag;
    if (!drag || !technicianId) return;
    e.preventDefault();
    e.stopPropagation();
    this.drag = null;
    this.finish();
    this.assign(drag, technicianId);
  }

  // The details panel shows the job and does the call (same messages as its form).
  async assign({ id, version }, technicianId) {
    this.details.showOrder(id, { focus: false });
    const wo = this.model.workOrders.get(id);
    if (wo && wo.technician_id === technicianId && wo.version === version) {
      this.details.say(`Already assigned to ${escapeHtml(technicianName(this.model, technicianId))}.`);
      return;
    }
    await this.details.act(id, "assign", { technician_id: technicianId, version });
  }
}
