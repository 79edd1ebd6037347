// A store manager's numbers: open orders, late, technicians available (live, from the model) and
// the on-time rate today (GET /api/stores/{id}/today: completions since the store's midnight and
// how many were reached within their window; refreshed every 30 s and soon after a completion).
import { api, escapeHtml } from "../shared/api.js";
import { isLate, OPEN } from "../shared/model.js";

export function storeNumbers(model, storeId) {
  const orders = [...model.workOrders.values()].filter((wo) => wo.store_id === storeId);
  const open = orders.filter((wo) => OPEN.has(wo.status));
  const techs = [...model.technicians.values()].filter((t) => t.home_store_id === storeId);
  return {
    open: open.length,
    unassigned: open.filter((wo) => wo.status === "new").length,
    late: open.filter((wo) => isLate(wo)).length,
    available: techs.filter((t) => t.status === "available").length,
    technicians: techs.length,
  };
}

const today = new Map(); // store id -> { completed, on_time, on_time_rate }
let asked = 0;
let redraw = null;

async function refreshToday(ids) {
  asked = Date.now();
  const answers = await Promise.allSettled(ids.map((id) =>
    api(`/api/stores/${encodeURIComponent(id)}/today`)));
  answers.forEach((a, i) => { if (a.status === "fulfilled") today.set(ids[i], a.value); });
  redraw?.();
}

function onTime(id) {
  const t = today.get(id);
  if (!t) return `<div class="wide"><b>…</b><span>on time today</span></div>`;
  if (t.on_time_rate === null) return `<div class="wide"><b>—</b><span>on time today (none done)</span></div>`;
  const pct = Math.round(t.on_time_rate * 100);
  return `<div class="wide${pct < 80 ? " bad" : ""}" title="${t.on_time} of ${t.completed} jobs done today reached within their window"><b>${pct}%</b><span>on time today (${t.on_time}/${t.completed})</span></div>`;
}

export function renderKpis(root, model, user) {
  const ids = user.store_ids || [];
  redraw = () => renderKpis(root, model, user);
  const completedSeen = [...model.workOrders.values()].filter((wo) => wo.status === "completed"
    && ids.includes(wo.store_id)).length;
  if (ids.length && (Date.now() - asked > 30_000 || completedSeen !== renderKpis.completedSeen)) {
    renderKpis.completedSeen = completedSeen;
    refreshToday(ids);
  }
  root.hidden = !ids.length;
  root.innerHTML = ids.map((id) => {
    const s = model.stores.get(id);
    const n = storeNumbers(model, id);
    return `<section class="kpi-store" data-store="${escapeHtml(id)}">
      <h3>${escapeHtml(s ? s.name : id)}</h3>
      <div class="kpis">
        <div><b>${n.open}</b><span>open</span></div>
        <div><b>${n.unassigned}</b><span>unassigned</span></div>
        <div class="${n.late ? "bad" : ""}"><b>${n.late}</b><span>late</span></div>
        <div><b>${n.available}/${n.technicians}</b><span>techs available</span></div>
        ${onTime(id)}
      </div></section>`;
  }).join("");
}
