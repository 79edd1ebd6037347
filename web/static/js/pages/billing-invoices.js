// Invoices with what is paid and left (GET /api/invoices), filtered by payment status, processing,
// store, customer and number. For those who hold billing:manage: process one, and record a payment
// against a processed one (POST /api/invoices/{id}/payments: the amount typed in dollars and sent
// as cents, the method, a reference and the day it came in; refusals said beside their field).
// Anyone here may list an invoice's payments (GET /api/invoices/{id}/payments).
import { api, escapeHtml } from "../shared/api.js";
import { can, permissionAttr } from "../shared/me.js";
import { cents, label, say, table, when } from "./ui.js";
import { clearErrors, field, showProblem } from "./records-fields.js";
import {
  centsToDollars, dollarsToCents, options, paymentTag, receivedAt, storeName, storeOptions, today,
} from "./billing-money.js";

const PAGE = 25;
const STATUSES = [["", "Any payment"], ["unpaid", "Unpaid"], ["partly_paid", "Partly paid"], ["paid", "Paid"]];
const PROCESSED = [["", "Processed or not"], ["true", "Processed"], ["false", "To process"]];
const METHODS = [["card", "Card"], ["cash", "Cash"], ["check", "Check"], ["transfer", "Bank transfer"], ["other", "Other"]];

export function initial() {
  return { items: [], total: 0, status: "", processed: "", store_id: "", customer_id: "",
    customer_label: "", q: "", paying: null, payKey: "", viewing: null, payments: [], message: null };
}

function query(s, offset) {
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset), sort: "-created_at" });
  for (const key of ["status", "processed", "store_id", "customer_id", "q"]) if (s[key]) q.set(key, s[key]);
  return q;
}

export async function load(state) {
  const s = state.invoices;
  const page = await api(`/api/invoices?${query(s, 0)}`);
  Object.assign(s, { items: page.items, total: page.total });
  if (s.viewing) s.payments = (await api(`/api/invoices/${encodeURIComponent(s.viewing)}/payments?limit=200`)).items;
}

function newKey() {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function actions(i, manage) {
  const out = [];
  if (manage && !i.processed) {
    out.push(`<button type="button" class="process" data-invoice="${escapeHtml(i.id)}" ${permissionAttr("billing:manage")}>Process</button>`);
  }
  if (manage && i.processed && i.balance_cents > 0) {
    out.push(`<button type="button" class="pay" data-invoice="${escapeHtml(i.id)}" ${permissionAttr("billing:manage")}>Record payment</button>`);
  }
  if (i.paid_cents > 0) out.push(`<button type="button" class="link payments" data-invoice="${escapeHtml(i.id)}">Payments</button>`);
  return out.join(" ");
}

function paymentForm(i) {
  return `<section class="panel paying"><h3>Record a payment for ${escapeHtml(i.number)}<span class="spacer"></span>
      <button type="button" class="close">Close</button></h3>
    <p class="summary">Amount ${cents(i.amount_cents)} · paid ${cents(i.paid_cents)} · balance <strong>${cents(i.balance_cents)}</strong>
      <span class="muted">(partial payments add up; never more than the balance)</span></p>
    <form class="stack payment-form" aria-label="Record a payment" novalidate>
      ${field("Amount (USD)", "amount_cents", `<input name="amount" inputmode="decimal" autocomplete="off" value="${centsToDollars(i.balance_cents)}">`)}
      ${field("Method", "method", `<select name="method">${options(METHODS, "card")}</select>`)}
      ${field("Reference", "reference", '<input name="reference" maxlength="128" placeholder="check number, card slip, transfer id">')}
      ${field("Received on", "received_at", `<input type="date" name="received" value="${today()}">`)}
      <div class="full actions"><button type="submit" class="primary" ${permissionAttr("billing:manage")}>Record payment</button></div>
      <p class="message full" role="status"></p></form></section>`;
}

function paymentsPanel(s, i) {
  return `<section class="panel payments-list"><h3>Payments of ${escapeHtml(i?.number || s.viewing)}<span class="spacer"></span>
      <button type="button" class="close">Close</button></h3>
    ${table([
      { title: "Received", cell: (p) => escapeHtml(when(p.received_at)) },
      { title: "Amount", num: true, cell: (p) => cents(p.amount_cents) },
      { title: "Method", cell: (p) => escapeHtml(label(p.method)) },
      { title: "Reference", wrap: true, cell: (p) => escapeHtml(p.reference || "—") },
      { title: "Recorded by", cell: (p) => escapeHtml(p.recorded_by_name || p.recorded_by) },
    ], s.payments, { empty: "No payment yet." })}</section>`;
}

export function html(state) {
  const s = state.invoices;
  const manage = can("billing:manage");
  const paying = s.items.find((i) => i.id === s.paying);
  const viewing = s.items.find((i) => i.id === s.viewing);
  return `<h2>Invoices <span class="count">${s.total}</span><span class="spacer"></span>
      <span class="muted">${manage ? "" : "Read only: processing and payments need billing rights."}</span></h2>
    <form class="filters invoice-filters" aria-label="Filter the invoices">
      <label>Payment <select name="status">${options(STATUSES, s.status)}</select></label>
      <label>Processing <select name="processed">${options(PROCESSED, s.processed)}</select></label>
      ${state.stores.size ? `<label>Store <select name="store_id">${storeOptions(state, s.store_id)}</select></label>` : ""}
      <label>Number <input type="search" name="q" value="${escapeHtml(s.q)}" placeholder="INV-…"></label>
      ${s.customer_id ? `<span class="filter-chip">Customer: <strong>${escapeHtml(s.customer_label || s.customer_id)}</strong>
        <button type="button" class="link all-customers">all customers</button></span>` : ""}
    </form>
    <p class="message${s.message ? ` ${s.message.kind}` : ""}" role="status">${escapeHtml(s.message?.text || "")}</p>
    ${paying && manage ? paymentForm(paying) : ""}
    ${s.viewing ? paymentsPanel(s, viewing) : ""}
    ${table([
      { title: "Invoice", cell: (i) => `${escapeHtml(i.number)} <small>${escapeHtml(i.service_line)}</small>` },
      { title: "Customer", cell: (i) => escapeHtml(i.customer_name || i.customer_id || "—") },
      { title: "Store", cell: (i) => escapeHtml(storeName(state, i.store_id)) },
      { title: "Amount", num: true, cell: (i) => cents(i.amount_cents) },
      { title: "Paid", num: true, cell: (i) => `<span class="paid">${cents(i.paid_cents)}</span>` },
      { title: "Balance", num: true, cell: (i) => `<span class="balance">${cents(i.balance_cents)}</span>` },
      { title: "Payment", cell: (i) => `<span class="pay-status">${paymentTag(i.payment_status)}</span>` },
      { title: "Processed", cell: (i) => (i.processed
        ? `${escapeHtml(when(i.processed_at))} <small>${escapeHtml(i.processed_by_name || "")}</small>`
        : '<span class="tag warn">to process</span>') },
      { title: "", cell: (i) => actions(i, manage) },
    ], s.items, { empty: "No invoice here.", rowAttrs: (i) => `data-invoice="${escapeHtml(i.id)}"` })}
    ${s.items.length < s.total ? '<button type="button" class="link more">Show more</button>' : ""}`;
}

export function bind(card, state, ctx) {
  const s = state.invoices;
  s.message = null;
  const reload = () => load(state).then(ctx.render, ctx.fail);
  card.querySelectorAll(".invoice-filters select").forEach((select) => {
    select.onchange = () => { s[select.name] = select.value; reload(); };
  });
  const search = card.querySelector(".invoice-filters input[name=q]");
  search.onchange = () => { s.q = search.value.trim(); reload(); };
  card.querySelector(".invoice-filters").onsubmit = (e) => { e.preventDefault(); search.onchange(); };
  card.querySelector("button.all-customers")?.addEventListener("click", () => {
    Object.assign(s, { customer_id: "", customer_label: "" });
    reload();
  });
  card.querySelector("button.more")?.addEventListener("click", () => {
    api(`/api/invoices?${query(s, s.items.length)}`).then((page) => {
      s.items = [...s.items, ...page.items];
      s.total = page.total;
      ctx.render();
    }, ctx.fail);
  });
  card.querySelectorAll("button.pay").forEach((b) => {
    b.onclick = () => {
      // one key for this payment: a retry after a lost answer is recorded once
      Object.assign(s, { paying: b.dataset.invoice, viewing: null, payKey: newKey() });
      ctx.render();
      document.querySelector(".payment-form input[name=amount]")?.focus();
    };
  });
  card.querySelectorAll("button.payments").forEach((b) => {
    b.onclick = () => { Object.assign(s, { viewing: b.dataset.invoice, paying: null }); reload(); };
  });
  card.querySelectorAll(".panel button.close").forEach((b) => {
    b.onclick = () => { Object.assign(s, { paying: null, viewing: null }); ctx.render(); };
  });
  card.querySelectorAll("button.process").forEach((b) => { b.onclick = () => process(card, state, ctx, b); });
  const form = card.querySelector("form.payment-form");
  if (form) form.onsubmit = (e) => { e.preventDefault(); record(form, state, ctx); };
}

async function process(card, state, ctx, button) {
  button.disabled = true;
  try {
    const done = await api(`/api/invoices/${encodeURIComponent(button.dataset.invoice)}/process`, { method: "POST" });
    await ctx.changed();
    state.invoices.message = { kind: "ok", text: `Invoice ${done.number} processed: it may take payments now.` };
    ctx.render();
  } catch (error) {
    button.disabled = false;
    say(card, error.message, "error");
  }
}

async function record(form, state, ctx) {
  clearErrors(form);
  const data = new FormData(form);
  const amount = dollarsToCents(data.get("amount"));
  if (amount.error || amount.cents <= 0) {
    showProblem(form, { problem: { field: "amount_cents", detail: amount.error || "A payment must be more than $0.00." } });
    return;
  }
  const body = { amount_cents: amount.cents, method: String(data.get("method")),
    reference: String(data.get("reference") || "").trim() };
  const received = receivedAt(String(data.get("received") || ""));
  if (received === "") {
    showProblem(form, { problem: { field: "received_at", detail: "Pick the day the money came in." } });
    return;
  }
  if (received) body.received_at = received;
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const paid = await api(`/api/invoices/${encodeURIComponent(state.invoices.paying)}/payments`, {
      method: "POST", body, headers: { "Idempotency-Key": state.invoices.payKey } });
    state.invoices.paying = null;
    await ctx.changed();
    state.invoices.message = { kind: "ok", text: `Payment of ${cents(paid.amount_cents)} recorded for ${paid.invoice.number}: `
      + (paid.invoice.balance_cents > 0 ? `${cents(paid.invoice.balance_cents)} left.` : "paid in full.") };
    ctx.render();
  } catch (error) {
    submit.disabled = false;
    showProblem(form, error);
  }
}
