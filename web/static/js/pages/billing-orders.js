// Sales orders (GET /api/sales-orders): open, cancelled or all, by store and number. For those who
// hold billing:manage: a new one for a customer (POST /api/sales-orders, its total typed in
// dollars), and cancelling an open one (DELETE /api/sales-orders/{id}, asked twice): a cancelled
// sales order stays on record and can no longer be invoiced.
import { api, escapeHtml } from "../shared/api.js";
import { can, permissionAttr } from "../shared/me.js";
import { cents, label, say, table, when } from "./ui.js";
import { clearErrors, field, showProblem } from "./records-fields.js";
import { dollarsToCents, options, storeName, storeOptions } from "./billing-money.js";

const PAGE = 25;
const STATUSES = [["open", "Open"], ["cancelled", "Cancelled"], ["", "All"]];

export function initial() {
  return { items: [], total: 0, status: "open", store_id: "", q: "", creating: false,
    found: [], confirm: null, message: null };
}

function query(s, offset) {
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  for (const key of ["status", "store_id", "q"]) if (s[key]) q.set(key, s[key]);
  return q;
}

export async function load(state, ctx) {
  const s = state.orders;
  const page = await api(`/api/sales-orders?${query(s, 0)}`);
  Object.assign(s, { items: page.items, total: page.total });
  await ctx.customerNames(page.items.map((o) => o.customer_id));
}

function createForm(state) {
  const s = state.orders;
  const found = s.found.map((c) => [c.id, `${c.name}${c.phone ? ` · ${c.phone}` : ""}`]);
  return `<section class="panel new-order"><h3>New sales order<span class="spacer"></span>
      <button type="button" class="close">Close</button></h3>
    <form class="stack order-form" aria-label="New sales order" novalidate>
      ${field("Store", "store_id", `<select name="store_id"><option value="">Choose a store</option>${storeOptions(state, s.new_store || "", { all: null })}</select>`)}
      ${field("Find the customer", "customer_q", `<input type="search" name="customer_q" value="${escapeHtml(s.customer_q || "")}" placeholder="name, phone or e-mail">`)}
      ${field("Customer", "customer_id", `<select name="customer_id"><option value="">${found.length ? "Choose the customer" : "Find the customer first"}</option>${options(found, s.new_customer || "")}</select>`)}
      ${field("Total (USD)", "total_cents", `<input name="total" inputmode="decimal" placeholder="0.00" value="${escapeHtml(s.new_total || "")}">`)}
      ${field("Number (optional)", "number", `<input name="number" maxlength="64" placeholder="generated when empty" value="${escapeHtml(s.new_number || "")}">`)}
      <div class="full actions"><button type="submit" class="primary" ${permissionAttr("billing:manage")}>Create sales order</button></div>
      <p class="message full" role="status"></p></form></section>`;
}

function cancelButton(s, o) {
  const sure = s.confirm === o.id;
  return `<button type="button" class="cancel-order${sure ? " confirm" : ""}" data-order="${escapeHtml(o.id)}" ${permissionAttr("billing:manage")}>${sure ? "Really cancel?" : "Cancel"}</button>`;
}

export function html(state) {
  const s = state.orders;
  const manage = can("billing:manage");
  return `<h2>Sales orders <span class="count">${s.total}</span><span class="spacer"></span>
      ${manage && !s.creating ? `<button type="button" class="new-order" ${permissionAttr("billing:manage")}>New sales order</button>` : ""}</h2>
    <form class="filters order-filters" aria-label="Filter the sales orders">
      <label>Show <select name="status">${options(STATUSES, s.status)}</select></label>
      ${state.stores.size ? `<label>Store <select name="store_id">${storeOptions(state, s.store_id)}</select></label>` : ""}
      <label>Number <input type="search" name="q" value="${escapeHtml(s.q)}" placeholder="SO-…"></label>
    </form>
    <p class="message${s.message ? ` ${s.message.kind}` : ""}" role="status">${escapeHtml(s.message?.text || "")}</p>
    ${manage && s.creating ? createForm(state) : ""}
    ${table([
      { title: "Sales order", cell: (o) => escapeHtml(o.number) },
      { title: "Customer", cell: (o) => escapeHtml(state.customers.get(o.customer_id) || o.customer_id) },
      { title: "Store", cell: (o) => escapeHtml(storeName(state, o.store_id)) },
      { title: "Created", cell: (o) => escapeHtml(when(o.created_at)) },
      { title: "Total", num: true, cell: (o) => cents(o.total_cents) },
      { title: "Invoices", num: true, cell: (o) => String(o.invoice_count) },
      { title: "Status", cell: (o) => `<span class="tag${o.status === "open" ? " ok" : ""}">${escapeHtml(label(o.status))}</span>` },
      ...(manage ? [{ title: "", cell: (o) => (o.status === "open" ? cancelButton(s, o) : "") }] : []),
    ], s.items, { empty: "No sales order here.", rowAttrs: (o) => `data-order="${escapeHtml(o.id)}"` })}
    ${s.items.length < s.total ? '<button type="button" class="link more">Show more</button>' : ""}`;
}

export function bind(card, state, ctx) {
  const s = state.orders;
  s.message = null;
  const reload = () => load(state, ctx).then(ctx.render, ctx.fail);
  card.querySelectorAll(".order-filters select").forEach((select) => {
    select.onchange = () => { s[select.name] = select.value; reload(); };
  });
  const search = card.querySelector(".order-filters input[name=q]");
  search.onchange = () => { s.q = search.value.trim(); reload(); };
  card.querySelector(".order-filters").onsubmit = (e) => { e.preventDefault(); search.onchange(); };
  card.querySelector("button.more")?.addEventListener("click", () => {
    api(`/api/sales-orders?${query(s, s.items.length)}`).then(async (page) => {
      await ctx.customerNames(page.items.map((o) => o.customer_id));
      s.items = [...s.items, ...page.items];
      s.total = page.total;
      ctx.render();
    }, ctx.fail);
  });
  card.querySelector("button.new-order")?.addEventListener("click", () => {
    Object.assign(s, { creating: true, found: [], customer_q: "", new_store: "", new_customer: "",
      new_total: "", new_number: "" });
    ctx.render();
  });
  card.querySelector(".new-order button.close")?.addEventListener("click", () => { s.creating = false; ctx.render(); });
  card.querySelectorAll("button.cancel-order").forEach((b) => { b.onclick = () => cancel(card, state, ctx, b); });
  const form = card.querySelector("form.order-form");
  if (!form) return;
  const find = form.querySelector("input[name=customer_q]");
  find.onchange = () => findCustomers(form, state, ctx);
  form.onsubmit = (e) => { e.preventDefault(); create(form, state, ctx); };
}

async function findCustomers(form, state, ctx) {
  const s = state.orders;
  const data = new FormData(form);
  Object.assign(s, { customer_q: String(data.get("customer_q") || "").trim(), new_store: String(data.get("store_id") || ""),
    new_total: String(data.get("total") || ""), new_number: String(data.get("number") || "") });
  if (!s.customer_q) return;
  const q = new URLSearchParams({ q: s.customer_q, active: "true", limit: "50" });
  if (s.new_store) q.set("store_id", s.new_store);
  try {
    s.found = (await api(`/api/customers?${q}`)).items;
    s.new_customer = s.found.length === 1 ? s.found[0].id : "";
    ctx.render();
    const again = document.querySelector("form.order-form");
    if (again && !s.found.length) showProblem(again, { problem: { field: "customer_q", detail: "No customer found: try part of the name or the phone." } });
  } catch (error) { showProblem(form, error); }
}

async function create(form, state, ctx) {
  clearErrors(form);
  const data = new FormData(form);
  const total = dollarsToCents(data.get("total") || "0");
  const body = { store_id: String(data.get("store_id") || ""), customer_id: String(data.get("customer_id") || "") };
  const missing = [];
  if (!body.store_id) missing.push({ field: "store_id", message: "Choose the store." });
  if (!body.customer_id) missing.push({ field: "customer_id", message: "Find and choose the customer." });
  if (total.error) missing.push({ field: "total_cents", message: total.error });
  if (missing.length) { showProblem(form, { problem: { errors: missing } }); return; }
  body.total_cents = total.cents;
  const number = String(data.get("number") || "").trim();
  if (number) body.number = number;
  try {
    const made = await api("/api/sales-orders", { method: "POST", body });
    state.orders.creating = false;
    await ctx.changed();
    state.orders.message = { kind: "ok", text: `Sales order ${made.number} created.` };
    ctx.render();
  } catch (error) { showProblem(form, error); }
}

async function cancel(card, state, ctx, button) {
  const s = state.orders;
  if (s.confirm !== button.dataset.order) { s.confirm = button.dataset.order; ctx.render(); return; }
  button.disabled = true;
  try {
    await api(`/api/sales-orders/${encodeURIComponent(button.dataset.order)}`, { method: "DELETE" });
    const order = s.items.find((o) => o.id === button.dataset.order);
    s.confirm = null;
    await ctx.changed();
    s.message = { kind: "ok", text: `Sales order ${order?.number || ""} cancelled: it can no longer be invoiced.` };
    ctx.render();
  } catch (error) {
    button.disabled = false;
    say(card, error.message, "error");
  }
}
