// One dispatch on the records screen: its info, trip ticket and invoices, and the actions the user
// may take on it (each shown only when `can(...)` holds the permission its endpoint declares in
// web/api/dispatch.py): edit date/time and unit, status steps, delete, add / remove invoices.
import { api, escapeHtml } from "../shared/api.js";
import { can, canAny, permissionAttr } from "../shared/me.js";
import { cents, label } from "./ui.js";
import { clearErrors, field, fullWhen, instant, localInput, showProblem } from "./records-fields.js";
import { EDITABLE, creatorName } from "./records-list.js";

// The lifecycle (domain/dispatch.py DISPATCH_TRANSITIONS) and each step's button.
const STEPS = {
  draft: [["scheduled", "Schedule"]],
  scheduled: [["dispatched", "Mark dispatched"], ["draft", "Back to draft"]],
  dispatched: [["completed", "Complete"]],
  completed: [["closed", "Close out"]],
  closed: [],
};

function mayDelete(state, d) {
  if (can("dispatch:delete")) return true;
  return can("dispatch:delete_own_draft") && d.created_by === state.me.id
    && (d.status === "draft" || d.display_status === "pending");
}

function facts(pairs) {
  return `<dl class="facts">${pairs.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

function editHtml(state, d) {
  if (!can("dispatch:edit") || !EDITABLE.has(d.status)) return "";
  if (!state.editing) {
    return `<button type="button" class="edit" ${permissionAttr("dispatch:edit")}>Edit date/time and unit</button>`;
  }
  const units = state.units.filter((u) => u.in_service !== false || u.id === d.unit);
  const unit = units.length
    ? `<select name="unit">${units.map((u) => `<option value="${escapeHtml(u.id)}"${u.id === d.unit ? " selected" : ""}>${escapeHtml(u.name || u.id)}</option>`).join("")}</select>`
    : `<input name="unit" value="${escapeHtml(d.unit)}">`;
  return `<form class="stack dispatch-form edit-form" aria-label="Edit dispatch">
    ${field("Date and time", "datetime", `<input type="datetime-local" name="datetime" required value="${escapeHtml(localInput(d.datetime))}">`)}
    ${field("Unit", "unit", unit)}
    <div class="full actions"><button type="submit" ${permissionAttr("dispatch:edit")}>Save</button>
      <button type="button" class="close cancel-edit">Cancel</button></div>
    <p class="message full" role="status"></p></form>`;
}

function actionsHtml(state, d) {
  const steps = can("dispatch:change_status") ? (STEPS[d.status] || []).map(([to, text]) =>
    `<button type="button" class="step" data-status="${to}" ${permissionAttr("dispatch:change_status")}>${escapeHtml(text)}</button>`).join("") : "";
  const del = mayDelete(state, d)
    ? `<button type="button" class="delete${state.confirmDelete ? " confirm" : ""}" ${permissionAttr("dispatch:delete", "dispatch:delete_own_draft")}>${state.confirmDelete ? "Really delete?" : "Delete"}</button>` : "";
  return steps || del ? `<div class="tools detail-actions">${steps}<span class="spacer"></span>${del}</div>` : "";
}

function invoicesHtml(state, d) {
  const remove = can("dispatch:remove_invoice") && d.status !== "closed";
  const rows = d.invoices.map((i) => `<tr><td>${escapeHtml(i.number)}</td>
    <td>${escapeHtml(i.sales_order_number || i.sales_order_id)}</td><td>${escapeHtml(i.customer_id || "—")}</td>
    <td class="num">${cents(i.amount_cents)}</td>
    <td>${i.processed ? '<span class="tag ok">processed</span>' : '<span class="tag warn">to process</span>'}</td>
    <td>${remove && !i.processed ? `<button type="button" class="remove-invoice" data-invoice="${escapeHtml(i.id)}" ${permissionAttr("dispatch:remove_invoice")}>Remove</button>` : ""}</td></tr>`).join("");
  const table = d.invoices.length ? `<div class="table-wrap"><table class="rows"><thead><tr><th>Invoice</th><th>Sales order</th>
    <th>Customer</th><th class="num">Amount</th><th>State</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`
    : '<p class="muted">No invoice yet: the dispatch shows as pending, and needs one before completion.</p>';
  return `<h3>Invoices <span class="count">${d.invoices.length}</span></h3>${table}${addInvoiceHtml(state, d)}`;
}

function addInvoiceHtml(state, d) {
  if (!can("dispatch:add_invoice") || d.status === "closed") return "";
  const loose = state.looseInvoices.map((i) => `<option value="${escapeHtml(i.id)}">${escapeHtml(`${i.number} · ${cents(i.amount_cents)}`)}</option>`).join("");
  const orders = state.salesOrders.map((o) => `<option value="${escapeHtml(o.id)}">${escapeHtml(o.number)}</option>`).join("");
  return `<form class="stack add-invoice" aria-label="Add an invoice">
    ${field("Existing invoice", "invoice_id", `<select name="invoice_id"><option value="">— or a new one below —</option>${loose}</select>`)}
    ${field("New invoice for sales order", "sales_order_id", `<select name="sales_order_id"><option value="">Choose a sales order</option>${orders}</select>`)}
    ${field("Amount (USD)", "amount_cents", '<input name="amount" inputmode="decimal" placeholder="0.00">')}
    <div class="full actions"><button type="submit" ${permissionAttr("dispatch:add_invoice")}>Add invoice</button></div>
    <p class="message full" role="status"></p></form>`;
}

export function detailHtml(state) {
  const d = state.detail;
  if (!d) return "";
  const status = d.display_status || d.status;
  const ticket = d.trip_ticket;
  const store = state.stores.get(d.store_id)?.name || d.store_id;
  return `<section class="card wide dispatch-detail" aria-label="Dispatch detail">
    <h2>Dispatch · trip ticket ${escapeHtml(ticket?.number || d.trip_ticket_id)} <span class="tag status-${escapeHtml(status)}">${escapeHtml(label(status))}</span>
      <span class="spacer"></span><button type="button" class="close close-detail">Close</button></h2>
    <p class="message detail-message" role="status"></p>
    ${facts([["Dispatch ID", `<code>${escapeHtml(d.dispatch_id)}</code>`], ["Date and time", escapeHtml(fullWhen(d.datetime))],
      ["Unit", escapeHtml(d.unit_name || d.unit)], ["Store", escapeHtml(store)], ["Status", escapeHtml(label(d.status))],
      ["Created by", escapeHtml(creatorName(d))], ["Date created", escapeHtml(fullWhen(d.date_created))]])}
    ${actionsHtml(state, d)}
    ${editHtml(state, d)}
    <h3>Trip ticket</h3>
    ${ticket ? facts([["Number", escapeHtml(ticket.number)], ["Description", escapeHtml(ticket.description || "—")],
      ["Customer", escapeHtml(ticket.customer_id || "—")], ["Work order", escapeHtml(ticket.work_order_id || "—")],
      ["Created", escapeHtml(fullWhen(ticket.created_at))]]) : '<p class="muted">The trip ticket is gone.</p>'}
    ${invoicesHtml(state, d)}
  </section>`;
}

function dollarsToCents(text) {
  const value = Number(String(text).replace(/[$,\s]/g, ""));
  return Number.isFinite(value) && value >= 0 ? Math.round(value * 100) : null;
}

// Bind the detail's actions; `on` holds render(), refresh(id, message), closeDetail(), deleted().
export function bindDetail(root, state, on) {
  const card = root.querySelector(".dispatch-detail");
  if (!card) return;
  const d = state.detail;
  const note = (text, kind = "error") => {
    const el = card.querySelector(".detail-message");
    el.className = `message detail-message ${kind}`;
    el.textContent = text;
  };
  const ifMatch = { "If-Match": `"${d.version}"` };
  card.querySelector(".close-detail").onclick = () => on.closeDetail();
  card.querySelector("button.edit")?.addEventListener("click", () => { state.editing = true; on.render(); });
  card.querySelector(".cancel-edit")?.addEventListener("click", () => { state.editing = false; on.render(); });
  const edit = card.querySelector("form.edit-form");
  edit?.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(edit);
    const data = new FormData(edit);
    const body = {};
    const at = instant(String(data.get("datetime") || ""));
    if (at && new Date(at).getTime() !== new Date(d.datetime).getTime()) body.datetime = at;
    if (String(data.get("unit")) !== d.unit) body.unit = String(data.get("unit"));
    if (!Object.keys(body).length) { showProblem(edit, { problem: { detail: "Nothing changed." } }); return; }
    try {
      await api(`/api/dispatch/${encodeURIComponent(d.id)}`, { method: "PATCH", body, headers: ifMatch });
      state.editing = false;
      await on.refresh(d.id, "Dispatch saved.");
    } catch (error) { showProblem(edit, error); }
  });
  card.querySelectorAll("button.step").forEach((b) => {
    b.onclick = async () => {
      b.disabled = true;
      try {
        await api(`/api/dispatch/${encodeURIComponent(d.id)}/status`, { method: "POST",
          body: { status: b.dataset.status }, headers: ifMatch });
        await on.refresh(d.id, `Status: ${label(b.dataset.status)}.`);
      } catch (error) { b.disabled = false; note(error.message); }
    };
  });
  card.querySelector("button.delete")?.addEventListener("click", async () => {
    if (!state.confirmDelete) { state.confirmDelete = true; on.render(); return; }
    try {
      await api(`/api/dispatch/${encodeURIComponent(d.id)}`, { method: "DELETE" });
      await on.deleted(d);
    } catch (error) { state.confirmDelete = false; on.render(); note(error.message); }
  });
  card.querySelectorAll("button.remove-invoice").forEach((b) => {
    b.onclick = async () => {
      try {
        await api(`/api/dispatch/${encodeURIComponent(d.id)}/invoices/${encodeURIComponent(b.dataset.invoice)}`, { method: "DELETE" });
        await on.refresh(d.id, "Invoice removed.");
      } catch (error) { note(error.message); }
    };
  });
  const add = card.querySelector("form.add-invoice");
  add?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(add);
    const invoiceId = String(data.get("invoice_id") || "");
    const order = String(data.get("sales_order_id") || "");
    let body;
    if (invoiceId) body = { invoice_id: invoiceId };
    else {
      const amount = dollarsToCents(data.get("amount") || "");
      if (!order) { showProblem(add, { problem: { field: "sales_order_id", detail: "Choose an invoice, or a sales order for a new one." } }); return; }
      if (amount === null || String(data.get("amount") || "").trim() === "") {
        showProblem(add, { problem: { field: "amount_cents", detail: "Give the amount, e.g. 120.50." } });
        return;
      }
      body = { sales_order_id: order, amount_cents: amount };
    }
    try {
      await api(`/api/dispatch/${encodeURIComponent(d.id)}/invoices`, { method: "POST", body });
      await on.refresh(d.id, "Invoice added.");
    } catch (error) { showProblem(add, error); }
  });
}

// What the add-invoice form offers for `d`: the store's unattached invoices and its sales orders.
export async function loadInvoiceChoices(state, d) {
  state.looseInvoices = [];
  state.salesOrders = [];
  if (!can("dispatch:add_invoice") || !canAny("billing:view", "dispatch:view")) return;
  const store = new URLSearchParams({ store_id: d.store_id, limit: "200" });
  const [invoices, orders] = await Promise.all([
    api(`/api/invoices?${store}&processed=false`), api(`/api/sales-orders?${store}`)]);
  state.looseInvoices = invoices.items.filter((i) => !i.dispatch_id);
  state.salesOrders = orders.items.filter((o) => o.status !== "cancelled");
}
