// Today's timeline (Gantt) per technician: planned jobs (planned arrival, else chained by
// sequence, for estimated_minutes), travel between them, actual progress from the technician's
// steps (driving since en_route_at, on site since on_site_at), today's completed jobs as they
// happened (drive, then on site until finished_at; green), late in red, a "now" line.
// Plain DOM, no library.
import { escapeHtml } from "../shared/api.js";
import { isLate, OPEN, timeText } from "../shared/model.js";

const HOUR = 3600_000;
const MAX_ROWS = 150;
const TRAVEL_GUESS = 20 * 60_000; // between chained jobs without a planned arrival

const when = (iso) => { const t = iso ? Date.parse(iso) : NaN; return Number.isNaN(t) ? null : t; };
// What they are doing now comes first in their row.
const started = (wo) => (wo.status === "on_site" ? 2 : wo.status === "en_route" ? 1 : 0);
// A finished job was late when the technician arrived after its window closed.
const lateArrival = (wo, arrived) => { const end = when(wo.time_window?.end); return end !== null && arrived > end; };

// Positions travel as data attributes and are set through the CSSOM: the content security policy
// refuses inline style attributes in markup.
const place = (root) => {
  for (const el of root.querySelectorAll("[data-left], [data-width]")) {
    if (el.dataset.left) el.style.left = el.dataset.left;
    if (el.dataset.width) el.style.width = el.dataset.width;
  }
};

// Where "today" starts for the board: local midnight, or eight hours back when midnight was more
// recent than that (a night shift's evening work is still today's).
export function workdayStart(now) {
  const midnight = new Date(now); midnight.setHours(0, 0, 0, 0);
  return Math.min(midnight.getTime(), now - 8 * HOUR);
}

export class Timeline {
  constructor(root, model, { onSelectOrder, onSelectTechnician, filter, technicianFilter,
    canDrop = false }) {
    this.root = root;
    this.model = model;
    this.onSelectOrder = onSelectOrder;
    this.onSelectTechnician = onSelectTechnician;
    this.filter = filter || (() => true);
    this.technicianFilter = technicianFilter || (() => true);
    this.canDrop = canDrop;
    this.last = 0;
    this.timer = 0;
    root.addEventListener("click", (e) => {
      const bar = e.target.closest("[data-order]");
      if (bar) { this.onSelectOrder(bar.dataset.order); return; }
      const who = e.target.closest("[data-technician]");
      if (who) this.onSelectTechnician(who.dataset.technician);
    });
  }

  get visible() { return !this.root.hidden; }

  toggle(show = this.root.hidden) {
    this.root.hidden = !show;
    document.body.classList.toggle("with-timeline", show);
    window.dispatchEvent(new Event("resize")); // Leaflet re-measures the map
    if (show) this.render();
  }

  // At most once a second while work orders or technicians change.
  refresh(changed) {
    if (!this.visible || !(changed.workOrders.size || changed.technicians.size)) return;
    const wait = 1000 - (Date.now() - this.last);
    if (wait <= 0) this.render();
    else if (!this.timer) this.timer = setTimeout(() => { this.timer = 0; this.render(); }, wait);
  }

  // The planned blocks of one technician's open jobs, in route order.
  plan(jobs, now) {
    let cursor = now;
    return jobs.map((wo) => {
      let start = wo.planned_arrival ? Date.parse(wo.planned_arrival) : cursor + TRAVEL_GUESS;
      const arrived = when(wo.on_site_at) ?? (wo.status === "on_site" ? when(wo.status_changed_at) : null);
      if (wo.status === "on_site" && arrived !== null) start = arrived;
      const end = start + (wo.estimated_minutes || 60) * 60_000;
      // Driving now: the travel bar starts when they set off.
      const travelFrom = wo.status === "en_route" ? (when(wo.en_route_at) ?? cursor) : cursor;
      cursor = Math.max(end, now);
      return { wo, start, end, travelFrom };
    });
  }

  // While a job is dragged over the rows they stay as they are (re-rendered on release).
  hold(on) {
    this.held = on;
    if (!on && this.stale) { this.stale = false; if (this.visible) this.render(); }
  }

  render() {
    if (this.held) { this.stale = true; return; }
    this.last = Date.now();
    const now = Date.now();
    const byTech = new Map();
    const doneByTech = new Map(); // today's completed jobs: what actually happened
    const since = workdayStart(now);
    for (const wo of this.model.workOrders.values()) {
      if (!wo.technician_id || !this.filter(wo)) continue;
      const done = wo.status === "completed" && Date.parse(wo.status_changed_at) >= since;
      if (!done && !OPEN.has(wo.status)) continue;
      const into = done ? doneByTech : byTech;
      if (!into.has(wo.technician_id)) into.set(wo.technician_id, []);
      into.get(wo.technician_id).push(wo);
      if (!byTech.has(wo.technician_id)) byTech.set(wo.technician_id, []);
    }
    const rows = [...byTech.entries()].map(([id, jobs]) => {
      jobs.sort((a, b) => started(b) - started(a) || (a.sequence ?? 999) - (b.sequence ?? 999)
        || (a.planned_arrival || "").localeCompare(b.planned_arrival || ""));
      const done = (doneByTech.get(id) || []).map((wo) => {
        // What happened: on site from arrival to finish, the drive before it (device times);
        // a job finished without those steps recorded is drawn for its estimate.
        const end = when(wo.finished_at) ?? Date.parse(wo.status_changed_at);
        const start = when(wo.on_site_at) ?? end - (wo.estimated_minutes || 60) * 60_000;
        return { wo, start, end, travelFrom: when(wo.en_route_at) ?? start, actual: true };
      });
      return { id, tech: this.model.technicians.get(id), blocks: [...done, ...this.plan(jobs, now)] };
    }).sort((a, b) => (a.tech?.name || a.id).localeCompare(b.tech?.name || b.id));
    // Then the technicians without open jobs (as filtered): somewhere to drop a job (dnd.js).
    if (rows.length < MAX_ROWS) {
      const free = [];
      for (const t of this.model.technicians.values()) {
        if (byTech.has(t.id) || t.active === false || !this.technicianFilter(t)) continue;
        free.push({ id: t.id, tech: t, blocks: [] });
      }
      free.sort((a, b) => (a.tech.name || a.id).localeCompare(b.tech.name || b.id));
      rows.push(...free);
    }
    let from = now - 2 * HOUR;
    let to = now + 6 * HOUR;
    for (const r of rows) for (const b of r.blocks) { from = Math.min(from, b.start); to = Math.max(to, b.end); }
    // The working day around now, not the calendar day: at 23:30 the night's windows ahead and at
    // 00:30 the evening's work behind stay on the chart.
    from = Math.max(since, Math.floor(from / HOUR) * HOUR);
    to = Math.min(now + 16 * HOUR, Math.ceil(to / HOUR) * HOUR);
    const span = to - from;
    const x = (t) => `${(Math.min(Math.max(t, from), to) - from) / span * 100}%`;
    const w = (a, b) => `${Math.max(0, Math.min(b, to) - Math.max(a, from)) / span * 100}%`;
    const hours = [];
    for (let t = from; t <= to; t += HOUR) hours.push(`<span class="tick" data-left="${x(t)}">${new Date(t).getHours()}:00</span>`);
    const shown = rows.slice(0, MAX_ROWS);
    const body = shown.map((r) => {
      const blocks = r.blocks.map(({ wo, start, end, travelFrom, actual }) => {
        const late = actual ? lateArrival(wo, start) : isLate(wo, now);
        let progress = "";
        if (wo.status === "on_site") progress = `<i class="done" data-width="${Math.min(100, Math.max(0, (now - start) / (end - start) * 100))}%"></i>`;
        if (wo.status === "completed") progress = '<i class="done" data-width="100%"></i>';
        const travel = wo.status === "on_site" || start <= travelFrom ? ""
          : `<span class="travel${wo.status === "en_route" ? " driving" : ""}" data-left="${x(travelFrom)}" data-width="${w(travelFrom, start)}"></span>`;
        const title = `${wo.id} · ${wo.priority} · ${wo.status.replace("_", " ")} · ${timeText(new Date(start).toISOString())}–${timeText(new Date(end).toISOString())}${late ? " · LATE" : ""}`;
        return `${travel}<span class="block st-${wo.status} prio-${wo.priority}${late ? " late" : ""}" data-order="${escapeHtml(wo.id)}" title="${escapeHtml(title)}" data-left="${x(start)}" data-width="${w(start, end)}">${progress}<em>${escapeHtml(wo.id)}</em></span>`;
      }).join("");
      return `<div class="tl-row${r.blocks.length ? "" : " free"}" data-drop-technician="${escapeHtml(r.id)}"><button type="button" class="tl-name link" data-technician="${escapeHtml(r.id)}" title="${escapeHtml(r.tech?.status || "")}">${escapeHtml(r.tech?.name || r.id)}</button><div class="tl-track">${blocks}</div></div>`;
    }).join("");
    this.root.innerHTML = `<header><h2>Today <span class="count">${rows.length}</span></h2>
      ${this.canDrop ? '<span class="tl-hint muted">Drag a job onto a technician to assign it</span>' : ""}
      <span class="tl-legend"><i class="block st-assigned"></i>planned <i class="block st-en_route"></i>en route <i class="block st-on_site"></i>on site <i class="block st-completed"></i>done <i class="block late"></i>late <i class="travel"></i>travel</span>
      <button type="button" class="close" aria-label="Close timeline">×</button></header>
      <div class="tl-grid"><div class="tl-row tl-axis"><span class="tl-name"></span><div class="tl-track">${hours.join("")}<span class="now" data-left="${x(now)}"></span></div></div>
      ${body || '<p class="muted">No assigned jobs in view.</p>'}
      ${rows.length > MAX_ROWS ? `<p class="muted">… ${rows.length - MAX_ROWS} more technicians: filter by store or region.</p>` : ""}
      <div class="now-line" data-left="calc(160px + (100% - 160px) * ${(now - from) / span})"></div></div>`;
    place(this.root);
    this.root.querySelector(".close").onclick = () => this.toggle(false);
  }
}
