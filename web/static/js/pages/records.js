// Dispatch records (billing clerks land here; anyone with dispatch:view may open it): the dispatch
// list (GET /api/dispatch) and the invoices (GET /api/invoices), with "Mark processed" for those
// who may manage billing. The full records screen (filters, detail, create / edit / delete) grows
// from here.
import { api, escapeHtml } from "../api.js";
import { can, canAny, permissionAttr } from "../me.js";
import { openScreen } from "../shell.js";
import { cents, label, say, setStatus, start, table, when } from "./ui.js";

const PAGE = 50;
const STATUSES = ["draft", "scheduled", "dispatched", "completed", "closed"];

const root = document.getElementById("screen");
const state = { dispatches: [], dispatchTotal: 0, status: "", invoices: [], invoiceTotal: 0,
  processed: "false", stores: new Map() };

function dispatchCard() {
  const rows = state.dispatches;
  return `<section class="card wide dispatches"><h2>Dispatches <span class="count">${state.dispatchTotal}</span></h2>
    <div class="tools"><label>Status <select name="status"><option value="">Any</option>${STATUSES.map((s) =>
      `<option value="${s}"${s === state.status ? " selected" : ""}>${label(s)}</option>`).join("")}</select></label>
      <span class="spacer"></span><span class="muted">${rows.length} of ${state.dispatchTotal}</span></div>
    ${table([
      { title: "Dispatch", cell: (d) => escapeHtml(d.dispatch_id) },
      { title: "Trip ticket", cell: (d) => escapeHtml(d.trip_ticket_id) },
      { title: "Date and time", cell: (d) => when(d.datetime) },
      { title: "Unit", cell: (d) => escapeHtml(d.unit) },
      { title: "Invoices", num: true, cell: (d) => String(d.invoice_count) },
      { title: "Status", cell: (d) => `<span class="tag">${escapeHtml(label(d.display_status || d.status))}</span>` },
      { title: "Created by", cell: (d) => escapeHtml(d.created_by) },
    ], rows, { empty: "No dispatch matches." })}
    ${rows.length < state.dispatchTotal ? '<button type="button" class="more-dispatches">Show more</button>' : ""}
  </section>`;
}

function invoiceCard() {
  const mayProcess = can("billing:manage");
  const rows = state.invoices;
  return `<section class="card wide invoices"><h2>Invoices <span class="count">${state.invoiceTotal}</span></h2>
    <div class="tools"><label>Show <select name="processed">
      <option value="false"${state.processed === "false" ? " selected" : ""}>To process</option>
      <option value="true"${state.processed === "true" ? " selected" : ""}>Processed</option>
      <option value=""${state.processed === "" ? " selected" : ""}>All</option></select></label>
      <span class="spacer"></span><span class="muted">${mayProcess ? "" : "Read only: processing needs billing rights."}</span></div>
    <p class="message" role="status"></p>
    ${table([
      { title: "Invoice", cell: (i) => escapeHtml(i.number) },
      { title: "Sales order", cell: (i) => escapeHtml(i.sales_order_id) },
      { title: "Store", cell: (i) => escapeHtml(state.stores.get(i.store_id)?.name || i.store_id) },
      { title: "Customer", cell: (i) => escapeHtml(i.customer_id || "—") },
      { title: "Amount", num: true, cell: (i) => cents(i.amount_cents) },
      { title: "Created", cell: (i) => when(i.created_at) },
      { title: "Dispatch", cell: (i) => escapeHtml(i.dispatch_id || "—") },
      { title: "State", cell: (i) => (i.processed ? '<span class="tag ok">processed</span>'
        : mayProcess ? `<button type="button" class="process" ${permissionAttr("billing:manage")} data-invoice="${escapeHtml(i.id)}">Mark processed</button>`
          : '<span class="tag warn">to process</span>') },
    ], rows, { empty: "No invoice here." })}
    ${rows.length < state.invoiceTotal ? '<button type="button" class="more-invoices">Show more</button>' : ""}
  </section>`;
}

function render() {
  root.innerHTML = (can("dispatch:view") ? dispatchCard() : "")
    + (canAny("billing:view", "dispatch:view") ? invoiceCard() : "");
  const status = root.querySelector("select[name=status]");
  if (status) status.onchange = () => { state.status = status.value; loadDispatches().then(render); };
  const processed = root.querySelector("select[name=processed]");
  if (processed) processed.onchange = () => { state.processed = processed.value; loadInvoices().then(render); };
  root.querySelector(".more-dispatches")?.addEventListener("click", () => loadDispatches(true).then(render));
  root.querySelector(".more-invoices")?.addEventListener("click", () => loadInvoices(true).then(render));
  root.querySelectorAll("button.process").forEach((b) => { b.onclick = () => processInvoice(b); });
}

async function loadDispatches(more = false) {
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(more ? state.dispatches.length : 0) });
  if (state.status) q.set("status", state.status);
  const page = await api(`/api/dispatch?${q}`);
  state.dispatches = more ? [...state.dispatches, ...page.items] : page.items;
  state.dispatchTotal = page.total;
}

async function loadInvoices(more = false) {
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(more ? state.invoices.length : 0) });
  if (state.processed) q.set("processed", state.processed);
  const page = await api(`/api/invoices?${q}`);
  state.invoices = more ? [...state.invoices, ...page.items] : page.items;
  state.invoiceTotal = page.total;
}

async function processInvoice(button) {
  button.disabled = true;
  const card = root.querySelector(".invoices");
  try {
    const done = await api(`/api/invoices/${encodeURIComponent(button.dataset.invoice)}/process`, { method: "POST" });
    state.invoices = state.invoices.map((i) => (i.id === done.id ? done : i));
    render();
    say(root.querySelector(".invoices"), `Invoice ${done.number} processed.`);
  } catch (error) {
    button.disabled = false;
    say(card, error.message, "error");
  }
}

start(async () => {
  await openScreen("/records");
  const [stores] = await Promise.all([
    can("resource:view") ? api("/api/stores?limit=500") : Promise.resolve({ items: [] }),
    can("dispatch:view") ? loadDispatches() : null,
    canAny("billing:view", "dispatch:view") ? loadInvoices() : null,
  ]);
  stores.items.forEach((s) => state.stores.set(s.id, s));
  render();
  setStatus("");
});
