// Re-plan: ask for a proposal (a store, a region or everything, with a time limit), read it as a
// diff (moves listed and drawn on the map, unassigned jobs with reasons, KPIs before/after),
// confirm all or some, reject, undo. Other dispatchers' decisions arrive as Proposal* events.
import { api, escapeHtml } from "../shared/api.js";
import { technicianName, timeText } from "../shared/model.js";

const L = window.L;
const KPIS = [["jobs_served", "Jobs served", 0], ["jobs_moved", "Jobs moved", 0],
  ["drive_km", "Drive km", 1], ["lateness_minutes", "Late min", 0]];
const LOWER_IS_BETTER = new Set(["drive_km", "lateness_minutes"]);
const DONE = { confirmed: "Confirmed", partially_confirmed: "Partly confirmed", rejected: "Rejected",
  expired: "Expired", undone: "Undone" };

export class Plans {
  constructor(root, model, boardMap, { canRequest = false, canDecide = false, onSelectOrder }) {
    this.root = root;
    this.model = model;
    this.boardMap = boardMap;
    this.canRequest = canRequest; // proposal:request: ask for a plan
    this.canDecide = canDecide; // proposal:decide: confirm, reject, undo
    this.onSelectOrder = onSelectOrder;
    this.current = null;       // proposal id shown
    this.mine = new Set();     // ids this tab decided (so others' decisions can be told apart)
    this.unchecked = new Set();
    this.note = "";
    this.layer = L.layerGroup().addTo(boardMap.map);
  }

  close() {
    this.root.hidden = true;
    this.current = null;
    this.layer.clearLayers();
  }

  // The request form, with the open proposals anyone made.
  open() {
    this.current = null;
    this.layer.clearLayers();
    this.root.hidden = false;
    const stores = [...this.model.stores.values()].sort((a, b) => a.name.localeCompare(b.name));
    const regions = [...new Set(stores.map((s) => s.region).filter(Boolean))].sort();
    const open = [...this.model.proposals.values()].filter((p) => p.status === "proposed"
      && Date.parse(p.expires_at) > Date.now());
    this.root.innerHTML = `<header><h2>Re-plan</h2><button class="close" aria-label="Close">×</button></header>
      <form class="plan-form">
        <label>Scope <select name="kind">
          <option value="store">A store</option><option value="region">A region</option>
          <option value="all">Everything</option></select></label>
        <label class="pick-store">Store <select name="store_id">${stores.map((s) => `<option value="${escapeHtml(s.id)}">${escapeHtml(s.name)}</option>`).join("")}</select></label>
        <label class="pick-region" hidden>Region <select name="region">${regions.map((r) => `<option>${escapeHtml(r)}</option>`).join("")}</select></label>
        <label>Time limit (s) <input name="time_limit_seconds" type="number" min="1" max="60" step="1" value="5"></label>
        <label class="check"><input name="allow_lateness" type="checkbox"> allow late arrivals</label>
        <button class="primary" type="submit" data-permission="proposal:request">Make a plan</button>
      </form>
      <p class="plan-status" role="status"></p>
      ${open.length ? `<h3>Open proposals</h3><ul class="open-proposals">${open.map((p) => `<li><button type="button" class="link" data-proposal="${escapeHtml(p.id)}">${escapeHtml(p.scope)} · ${p.moves.length} moves · until ${timeText(p.expires_at)}</button></li>`).join("")}</ul>` : ""}`;
    const form = this.root.querySelector("form");
    form.kind.onchange = () => {
      this.root.querySelector(".pick-store").hidden = form.kind.value !== "store";
      this.root.querySelector(".pick-region").hidden = form.kind.value !== "region";
    };
    form.onsubmit = (e) => { e.preventDefault(); this.request(form); };
    this.root.querySelector(".close").onclick = () => this.close();
    this.root.querySelectorAll("[data-proposal]").forEach((b) => {
      b.onclick = () => this.show(this.model.proposals.get(b.dataset.proposal));
    });
  }

  async request(form) {
    const kind = form.kind.value;
    const scope = kind === "all" ? { all: true } : kind === "store" ? { store_id: form.store_id.value }
      : { region: form.region.value };
    const status = this.root.querySelector(".plan-status");
    form.querySelector("button").disabled = true;
    status.textContent = "Planning…";
    try {
      const p = await api("/api/proposals", { method: "POST", body: {
        scope, time_limit_seconds: Number(form.time_limit_seconds.value) || 5,
        allow_lateness: form.allow_lateness.checked } });
      this.show(p);
    } catch (error) {
      status.textContent = `Could not plan: ${error.message}`;
      form.querySelector("button").disabled = false;
    }
  }

  // Show a proposal (a fresh answer or one from the model).
  show(p, note = "") {
    if (!p) return;
    this.model.applyProposal(p);
    this.current = p.id;
    this.unchecked = new Set();
    this.note = note;
    this.render();
  }

  // Called by the board on each model change.
  refresh(changed) {
    if (!this.current || !changed.proposals.has(this.current)) {
      if (this.current && changed.positions.size === 0 && changed.workOrders.size) this.draw();
      return;
    }
    const p = this.model.proposals.get(this.current);
    if (p && !this.mine.has(p.id) && p.status !== "proposed" && !this.note) {
      this.note = `${DONE[p.status] || p.status} by someone else${p.last_event ? "" : ""}.`;
    }
    this.render();
  }

  render() {
    const p = this.model.proposals.get(this.current);
    if (!p) return;
    this.root.hidden = false;
    const open = p.status === "proposed" && Date.parse(p.expires_at) > Date.now();
    const confirmed = new Set(p.confirmed_moves || []);
    const name = (id) => (id ? escapeHtml(technicianName(this.model, id)) : '<i class="nobody">unassigned</i>');
    const moves = p.moves.map((m) => {
      const wo = this.model.workOrders.get(m.work_order_id);
      const checked = !this.unchecked.has(m.work_order_id);
      return `<li class="move${confirmed.has(m.work_order_id) ? " done" : ""}" data-order="${escapeHtml(m.work_order_id)}">
        ${open && this.canDecide ? `<input type="checkbox" aria-label="Include ${escapeHtml(m.work_order_id)}" ${checked ? "checked" : ""}>` : `<span class="tick">${confirmed.has(m.work_order_id) ? "✓" : ""}</span>`}
        <div><div class="mv-head"><button type="button" class="link job">${escapeHtml(m.work_order_id)}</button>
          ${wo ? `<span class="badge prio-${wo.priority}">${wo.priority}</span>` : ""}</div>
          <div class="from-to">${name(m.from_technician_id)} → <b>${name(m.to_technician_id)}</b>${m.eta ? ` · ETA ${timeText(m.eta)}` : ""}</div>
          <div class="reasons">${(m.reasons || []).map(escapeHtml).join(" · ")}</div></div></li>`;
    }).join("");
    const unassigned = p.unassigned.map((u) => `<li data-order="${escapeHtml(u.work_order_id)}">
      <button type="button" class="link job">${escapeHtml(u.work_order_id)}</button>
      <span class="code">${escapeHtml(u.reason_code.replace(/_/g, " "))}</span>
      <div class="reasons">${escapeHtml(u.reason)}</div></li>`).join("");
    const kpis = KPIS.map(([k, label, digits]) => {
      const a = p.kpis_before?.[k] ?? 0;
      const b = p.kpis_after?.[k] ?? 0;
      const better = LOWER_IS_BETTER.has(k) ? b < a : b > a;
      const worse = LOWER_IS_BETTER.has(k) ? b > a : b < a;
      return `<tr><th>${label}</th><td>${a.toFixed(digits)}</td><td class="${better ? "better" : worse ? "worse" : ""}">${b.toFixed(digits)}</td></tr>`;
    }).join("");
    const chosen = p.moves.filter((m) => !this.unchecked.has(m.work_order_id)).length;
    const undoable = this.canDecide && ["confirmed", "partially_confirmed"].includes(p.status);
    this.root.innerHTML = `<header><h2>Proposal</h2><button class="close" aria-label="Close">×</button></header>
      <p class="plan-meta"><span class="pstatus ps-${p.status}" data-status="${p.status}">${escapeHtml(DONE[p.status] || (open ? "Proposed" : "Expired"))}</span>
        ${escapeHtml(p.scope)} · ${p.moves.length} moves · ${p.unassigned.length} left out${open ? ` · until ${timeText(p.expires_at)}` : ""}
        ${p.solve ? `<small>· solved in ${p.solve.seconds?.toFixed?.(1) ?? "?"} s</small>` : ""}</p>
      ${this.note ? `<p class="message warn note">${escapeHtml(this.note)}</p>` : ""}
      <table class="kpi-diff"><thead><tr><th></th><th>Before</th><th>After</th></tr></thead><tbody>${kpis}</tbody></table>
      <h3>Moves (${p.moves.length})${open && this.canDecide && p.moves.length ? ' <button type="button" class="link all">all</button> <button type="button" class="link none">none</button>' : ""}</h3>
      <ul class="moves">${moves || '<li class="muted">No job changes technician.</li>'}</ul>
      ${p.unassigned.length ? `<h3>Left unassigned (${p.unassigned.length})</h3><ul class="unassigned">${unassigned}</ul>` : ""}
      <div class="row actions">
        ${open && this.canDecide ? `<button type="button" class="primary confirm-some" data-permission="proposal:decide" ${chosen ? "" : "disabled"}>Confirm ${chosen === p.moves.length ? "all" : chosen} </button>
          <button type="button" class="reject" data-permission="proposal:decide">Reject</button>` : ""}
        ${undoable ? '<button type="button" class="undo" data-permission="proposal:decide">Undo</button>' : ""}
        ${this.canRequest ? '<button type="button" class="back" data-permission="proposal:request">New plan</button>' : ""}</div>
      <p class="message result" role="status" hidden></p>`;
    const result = this.root.querySelector(".message.result");
    this.root.querySelector(".plan-meta").after(result); // shown under the status line
    this.wire(p);
    this.draw();
  }

  wire(p) {
    const q = (s) => this.root.querySelector(s);
    q(".close").onclick = () => this.close();
    if (q(".back")) q(".back").onclick = () => this.open();
    this.root.querySelectorAll("li[data-order] .job").forEach((b) => {
      b.onclick = () => this.onSelectOrder(b.closest("[data-order]").dataset.order);
    });
    this.root.querySelectorAll(".move input[type=checkbox]").forEach((c) => {
      c.onchange = () => {
        const id = c.closest("[data-order]").dataset.order;
        if (c.checked) this.unchecked.delete(id); else this.unchecked.add(id);
        this.render();
      };
    });
    if (q(".all")) q(".all").onclick = () => { this.unchecked.clear(); this.render(); };
    if (q(".none")) q(".none").onclick = () => { p.moves.forEach((m) => this.unchecked.add(m.work_order_id)); this.render(); };
    if (q(".confirm-some")) q(".confirm-some").onclick = () => {
      const ids = p.moves.map((m) => m.work_order_id).filter((id) => !this.unchecked.has(id));
      this.decide(p, "confirm", { work_order_ids: ids.length === p.moves.length ? null : ids });
    };
    if (q(".reject")) q(".reject").onclick = () => this.decide(p, "reject", { reason: "rejected on the board" });
    if (q(".undo")) q(".undo").onclick = () => this.decide(p, "undo", undefined);
  }

  async decide(p, action, body) {
    this.root.querySelectorAll(".actions button").forEach((b) => { b.disabled = true; });
    this.mine.add(p.id);
    try {
      const answer = await api(`/api/proposals/${encodeURIComponent(p.id)}/${action}`,
        { method: "POST", body: body === undefined ? {} : body });
      this.note = "";
      this.model.applyProposal(answer);
      this.render();
      this.say(action === "confirm" ? "Confirmed: the technicians get their new jobs."
        : action === "undo" ? "Undone: the previous plan is back." : "Rejected.", "ok");
    } catch (error) {
      const pr = error.problem || {};
      if (pr.code === "proposal_stale" || pr.code === "proposal_expired") {
        this.model.applyProposal({ ...p, status: "expired", version: (p.version ?? 0) + 1 });
      }
      this.render();
      const ids = [...(pr.work_order_ids || []), ...(pr.technician_ids || [])];
      this.say(`${error.message}${ids.length ? ` (${ids.join(", ")})` : ""}`, "error");
    }
  }

  say(text, kind) {
    this.root.scrollTop = 0; // the new status is at the top
    const el = this.root.querySelector(".message.result");
    el.hidden = false;
    el.className = `message result ${kind}`;
    el.textContent = text;
  }

  // Where a technician is: the van's position, else the home store.
  where(techId) {
    const fix = this.model.positions.get(techId);
    if (fix) return [fix.lat, fix.lon];
    const store = this.model.stores.get(this.model.technicians.get(techId)?.home_store_id);
    return store?.location ? [store.location.lat, store.location.lon] : null;
  }

  // Moves on the map: dashed grey from the old technician to the job, a line from the job to
  // the new technician (green when chosen, grey when left out); left-out jobs ringed in red.
  draw() {
    this.layer.clearLayers();
    const p = this.model.proposals.get(this.current);
    if (!p) return;
    const bounds = [];
    for (const m of p.moves) {
      const wo = this.model.workOrders.get(m.work_order_id);
      if (!wo?.location) continue;
      const job = [wo.location.lat, wo.location.lon];
      const chosen = !this.unchecked.has(m.work_order_id);
      const from = m.from_technician_id && this.where(m.from_technician_id);
      const to = m.to_technician_id && this.where(m.to_technician_id);
      if (from) L.polyline([from, job], { color: "#64748b", weight: 2, dashArray: "4 6", interactive: false }).addTo(this.layer);
      if (to) {
        L.polyline([job, to], { color: chosen ? "#16a34a" : "#94a3b8", weight: chosen ? 4 : 2, opacity: 0.85, className: "move-line" })
          .bindTooltip(`${escapeHtml(m.work_order_id)}: ${escapeHtml(technicianName(this.model, m.from_technician_id) || "unassigned")} → ${escapeHtml(technicianName(this.model, m.to_technician_id))}`)
          .addTo(this.layer);
        L.circleMarker(to, { radius: 7, color: "#16a34a", weight: 2, fillOpacity: 0.2, interactive: false }).addTo(this.layer);
        bounds.push(to);
      }
      L.circleMarker(job, { radius: 6, color: "#0f172a", weight: 2, fillColor: "#fde047", fillOpacity: 1, interactive: false }).addTo(this.layer);
      bounds.push(job);
      if (from) bounds.push(from);
    }
    for (const u of p.unassigned) {
      const wo = this.model.workOrders.get(u.work_order_id);
      if (wo?.location) L.circleMarker([wo.location.lat, wo.location.lon], { radius: 9, color: "#dc2626", weight: 2, fill: false, interactive: false }).addTo(this.layer);
    }
    if (bounds.length && !this.fittedFor?.has?.(p.id)) {
      this.fittedFor = new Set([p.id]);
      this.boardMap.map.fitBounds(L.latLngBounds(bounds).pad(0.2), { maxZoom: 13, paddingTopLeft: [420, 0] });
    }
  }
}
