// Dispatch records (dispatchers, billing clerks and managers; anyone with dispatch:view): the
// dispatch table with its filters, sorting and pages (records-list.js), one dispatch's detail with
// its trip ticket, invoices and the actions the user may take (records-detail.js), and the invoices
// to process with "Mark processed" for those who may manage billing.
import { api, escapeHtml, fetchAll } from "../shared/api.js";
import { can, canAny, permissionAttr } from "../shared/me.js";
import { openScreen } from "../shared/shell.js";
import { linkStylesheet } from "../shared/stylesheet.js";
import { cents, say, setStatus, start, table, when } from "./ui.js";
import { showProblem } from "./records-fields.js";
import { bindList, listHtml, listQuery } from "./records-list.js";
import { bindDetail, detailHtml, loadInvoiceChoices } from "./records-detail.js";

const PAGE = 25;

const root = document.getElementById("screen");
const state = {
  me: null, units: [], stores: new Map(), creators: new Map(), customerOptions: [],
  filters: { date_from: "", date_to: "", unit: "", customer_id: "", customer_label: "",
    created_by: "", store_id: "", status: "" },
  sort: "-datetime", offset: 0, dispatches: [], total: 0,
  creating: false, tickets: [], createAt: null,
  detail: null, editing: false, confirmDelete: false, looseInvoices: [], salesOrders: [],
  invoices: [], invoiceTotal: 0, processed: "false",
};

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
  const scroll = window.scrollY;
  root.innerHTML = (can("dispatch:view") ? detailHtml(state) + listHtml(state) : "")
    + (canAny("billing:view", "dispatch:view") ? invoiceCard() : "");
  if (can("dispatch:view")) {
    bindList(root, state, { reload, open, render, startCreate, create, pageSize: PAGE });
    bindDetail(root, state, { render, refresh, closeDetail, deleted });
  }
  const processed = root.querySelector("select[name=processed]");
  if (processed) processed.onchange = () => { state.processed = processed.value; loadInvoices().then(render); };
  root.querySelector(".more-invoices")?.addEventListener("click", () => loadInvoices(true).then(render));
  root.querySelectorAll("button.process").forEach((b) => { b.onclick = () => processInvoice(b); });
  window.scrollTo(0, scroll);
}

function fail(error) {
  console.error(error);
  setStatus(`Error: ${error?.message || error}`);
}

async function loadDispatches() {
  const page = await api(`/api/dispatch?${listQuery(state, PAGE)}`);
  state.dispatches = page.items;
  state.total = page.total;
  page.items.forEach((d) => { if (d.created_by_name) state.creators.set(d.created_by, d.created_by_name); });
}

function reload() {
  loadDispatches().then(render, fail);
}

async function open(id, { edit = false } = {}) {
  try {
    const d = await api(`/api/dispatch/${encodeURIComponent(id)}`);
    await loadInvoiceChoices(state, d);
    Object.assign(state, { detail: d, editing: edit, confirmDelete: false, creating: false });
    render();
    root.querySelector(".dispatch-detail")?.scrollIntoView({ block: "start" });
  } catch (error) { fail(error); }
}

async function refresh(id, message) {
  await Promise.all([open(id, { edit: false }), loadDispatches()]);
  render();
  const note = root.querySelector(".dispatch-detail .detail-message");
  if (note) { note.className = "message detail-message ok"; note.textContent = message; }
}

function closeDetail() {
  Object.assign(state, { detail: null, editing: false, confirmDelete: false });
  render();
}

async function deleted(d) {
  Object.assign(state, { detail: null, editing: false, confirmDelete: false });
  await loadDispatches();
  render();
  const message = root.querySelector(".filter-message");
  if (message) { message.className = "message filter-message ok"; message.textContent = `Dispatch for trip ticket ${d.trip_ticket?.number || d.trip_ticket_id} deleted.`; }
}

async function startCreate() {
  try {
    const page = await api("/api/trip-tickets?unused=true&limit=200");
    state.tickets = page.items;
    state.createAt = new Date(Date.now() + 24 * 3600 * 1000).toISOString();
    state.creating = true;
    state.detail = null;
    render();
  } catch (error) { fail(error); }
}

async function create(form) {
  const data = new FormData(form);
  const local = String(data.get("datetime") || "");
  const body = { trip_ticket_id: String(data.get("trip_ticket_id") || ""),
    datetime: local ? new Date(local).toISOString() : "", unit: String(data.get("unit") || "") };
  const missing = Object.entries(body).filter(([, v]) => !v).map(([k]) => ({ field: k, message: "required" }));
  if (missing.length) { showProblem(form, { problem: { errors: missing } }); return; }
  try {
    const made = await api("/api/dispatch", { method: "POST", body });
    state.creating = false;
    await refresh(made.id, "Dispatch created.");
  } catch (error) { showProblem(form, error); }
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
  linkStylesheet("/static/css/records.css");
  state.me = await openScreen("/records");
  const [stores, units] = await Promise.all([
    can("resource:view") ? api("/api/stores?limit=500") : Promise.resolve({ items: [] }),
    can("resource:view") ? fetchAll("/api/units", {}, 2000) : Promise.resolve([]),
    can("dispatch:view") ? loadDispatches() : null,
    canAny("billing:view", "dispatch:view") ? loadInvoices() : null,
  ]);
  stores.items.forEach((s) => state.stores.set(s.id, s));
  state.units = [...units].sort((a, b) => String(a.name || a.id).localeCompare(String(b.name || b.id)));
  render();
  setStatus("");
});
