// Alerts panel: the live alerts (open first, newest first; then the acknowledged ones), fed by the
// snapshot and Alert* events. Severity colour, age, subject (click opens the job or technician),
// escalation level, and "Acknowledge" (POST with the version seen; a 409 shows who was first).
// A severity filter, and "Acknowledge all" for the open ones shown (one call, up to 500: a flood
// after an outage is cleared at once; those someone else changed are skipped and reported).
import { api, escapeHtml } from "../shared/api.js";
import { can, loadMe } from "../shared/me.js";
import { technicianName } from "../shared/model.js";
import { linkStylesheet } from "../shared/stylesheet.js";

const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };
const LEVELS = { 1: "store", 2: "operations", 3: "admins" };
export function ageText(iso, now = Date.now()) {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

// Live alerts in display order: open before acknowledged, then newest first, then severity.
export function ordered(alerts) {
  return [...alerts].filter((a) => a.status !== "resolved").sort((a, b) =>
    (a.status === "open" ? 0 : 1) - (b.status === "open" ? 0 : 1)
    || Date.parse(b.raised_at) - Date.parse(a.raised_at)
    || (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3));
}

export class Alerts {
  constructor(root) {
    this.root = root;
    this.list = root.querySelector("ul");
    this.count = root.querySelector(".alert-count");
    this.model = null;
    this.canAck = false;
    this.notes = new Map(); // alert id -> message after a failed acknowledgement
    this.severity = ""; // "" = every severity
    this.tools = document.createElement("div");
    this.tools.className = "alert-tools";
    this.tools.innerHTML = `<select class="alert-filter" aria-label="Alert severity">
      <option value="">All</option><option value="critical">Critical</option>
      <option value="warning">Warnings</option><option value="info">Info</option></select>
      <button type="button" class="ack-all" data-permission="alert:ack" hidden>Acknowledge all</button>
      <span class="bulk-note" aria-live="polite"></span>`;
    this.list.before(this.tools);
    this.tools.querySelector(".alert-filter").onchange = (e) => {
      this.severity = e.target.value;
      if (this.model) this.render(this.model);
    };
    this.tools.querySelector(".ack-all").onclick = (e) => this.acknowledgeShown(e.target);
    linkStylesheet("/static/css/alerts.css");
    loadMe().then(() => {
      this.canAck = can("alert:ack"); // acknowledge (one or all) and resolve
      if (this.model) this.render(this.model);
    }).catch(() => {});
    this.list.addEventListener("click", (e) => this.onClick(e));
    setInterval(() => { if (this.model) this.render(this.model); }, 30_000); // ages
  }

  render(model) {
    this.model = model;
    const live = ordered(model.alerts.values());
    const open = live.filter((a) => a.status === "open");
    this.count.textContent = String(open.length);
    this.count.title = `${open.length} open, ${live.length - open.length} acknowledged`;
    this.root.classList.toggle("has-alerts", open.length > 0);
    const shown = live.filter((a) => !this.severity || a.severity === this.severity);
    this.shownOpen = shown.filter((a) => a.status === "open").slice(0, 500);
    const all = this.tools.querySelector(".ack-all");
    all.hidden = !this.canAck || this.shownOpen.length < 2;
    if (!all.disabled) all.textContent = `Acknowledge all ${this.shownOpen.length}`;
    this.list.innerHTML = shown.slice(0, 100).map((a) => this.item(a)).join("")
      || '<li class="empty">No open alerts.</li>';
  }

  async acknowledgeShown(button) {
    const items = (this.shownOpen || []).map((a) => ({ id: a.id, version: a.version }));
    if (!items.length) return;
    const note = this.tools.querySelector(".bulk-note");
    button.disabled = true;
    button.textContent = "Acknowledging…";
    try {
      const done = await api("/api/alerts/acknowledge", { method: "POST", body: { items } });
      for (const a of done.acknowledged) this.model.applyAlert(a);
      note.textContent = `${done.acknowledged.length} acknowledged`
        + (done.skipped.length ? `, ${done.skipped.length} skipped (changed by someone else)` : "");
    } catch (error) {
      note.textContent = `Could not acknowledge: ${error.message}`;
    } finally {
      button.disabled = false;
      this.render(this.model);
    }
  }

  item(a) {
    const m = this.model;
    const store = a.store_id ? (m.stores.get(a.store_id)?.name || a.store_id) : "system";
    const subject = [];
    if (a.work_order_id) {
      const wo = m.workOrders.get(a.work_order_id);
      const label = wo ? wo.description : `job ${a.work_order_id.slice(0, 8)}`;
      subject.push(`<button type="button" class="link" data-order="${escapeHtml(a.work_order_id)}">`
        + `${escapeHtml(label)}</button>`);
    }
    if (a.technician_id) {
      subject.push(`<button type="button" class="link" data-technician="${escapeHtml(a.technician_id)}">`
        + `${escapeHtml(technicianName(m, a.technician_id))}</button>`);
    }
    const level = a.escalation_level > 0
      ? ` · <span class="level" title="escalation level">L${a.escalation_level} ${LEVELS[a.escalation_level] || ""}</span>`
      : "";
    const acked = a.status === "acknowledged"
      ? `<span>acknowledged ${escapeHtml(ageText(a.acknowledged_at))} ago</span>` : "";
    const button = a.status === "open" && this.canAck
      ? `<button type="button" class="ack" data-permission="alert:ack" data-ack="${escapeHtml(a.id)}">Acknowledge</button>` : "";
    const note = this.notes.get(a.id);
    return `<li class="alert sev-${escapeHtml(a.severity)} status-${escapeHtml(a.status)}" data-id="${escapeHtml(a.id)}">`
      + `<div class="alert-head"><span class="sev">${escapeHtml(a.severity)}</span>`
      + `<strong>${escapeHtml(a.title)}</strong></div>`
      + (a.message ? `<div class="alert-msg">${escapeHtml(a.message)}</div>` : "")
      + `<div class="alert-meta"><span class="age" title="${escapeHtml(a.raised_at)}">${escapeHtml(ageText(a.raised_at))} ago</span>`
      + ` · ${escapeHtml(store)}${level}${subject.length ? " · " + subject.join(" · ") : ""}</div>`
      + `<div class="alert-actions">${button}${acked}`
      + (note ? `<span class="alert-note">${escapeHtml(note)}</span>` : "") + `</div></li>`;
  }

  async onClick(e) {
    const board = window.dispatchBoard || {};
    const target = e.target.closest("button");
    if (!target) return;
    if (target.dataset.order) { board.timeline?.onSelectOrder?.(target.dataset.order); return; }
    if (target.dataset.technician) {
      board.timeline?.onSelectTechnician?.(target.dataset.technician);
      return;
    }
    if (target.dataset.ack) await this.acknowledge(target.dataset.ack, target);
  }

  async acknowledge(id, button) {
    const alert = this.model?.alerts.get(id);
    if (!alert) return;
    button.disabled = true;
    button.textContent = "Acknowledging…";
    try {
      const updated = await api(`/api/alerts/${encodeURIComponent(id)}/acknowledge`,
        { method: "POST", body: { version: alert.version } });
      this.notes.delete(id);
      this.model.applyAlert(updated);
    } catch (error) {
      const current = error.problem?.current;
      if (current) this.model.applyAlert(current);
      this.notes.set(id, error.status === 409
        ? (current?.status === "acknowledged" ? "Someone else acknowledged it first." : error.message)
        : `Could not acknowledge: ${error.message}`);
      this.render(this.model);
    }
  }

  flash(msg) {
    if (msg && !["AlertRaised", "AlertEscalated"].includes(msg.event)) return;
    this.root.classList.remove("flash");
    void this.root.offsetWidth;
    this.root.classList.add("flash");
  }
}
