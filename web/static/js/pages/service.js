// Customers and jobs (customer service lands here): find a customer (GET /api/customers?q=: name,
// phone, address or order number), their page (customer.js: jobs, invoices, consent, editing,
// cancelling and comments), the open work orders read-only as the board's queue shows them
// (GET /api/work-orders), and, for those who may create work orders, booking a job for a
// customer or a walk-in (store, priority, time window, skills, minutes, description).
import { api, escapeHtml, fetchAll, newKey } from "../api.js";
import { can, canAny, permissionAttr } from "../me.js";
import { openScreen } from "../shell.js";
import { drawCustomer, loadCustomer } from "./customer.js";
import { label, say, setStatus, start, table, when } from "./ui.js";

const OPEN = "new,assigned,accepted,en_route,on_site";
const PRIORITIES = ["emergency", "high", "normal", "low"];
const root = document.getElementById("screen");
const state = { stores: new Map(), technicians: new Map(), orders: [], customers: [], q: "",
  customer: null, status: "", store: "", text: "" };

function customerCard() {
  const book = canAny("work_order:create", "emergency:create");
  return `<section class="card customers"><h2>Customers</h2>
    <form class="tools search" role="search"><input name="q" type="search" value="${escapeHtml(state.q)}"
      placeholder="Name, phone, address or order number" aria-label="Find a customer">
      <button type="submit">Find</button></form>
    ${table([
      { title: "Name", cell: (c) => `<button type="button" class="link pick" data-customer="${escapeHtml(c.id)}">${escapeHtml(c.name)}</button>` },
      { title: "Phone", cell: (c) => escapeHtml(c.phone) },
      { title: "Email", cell: (c) => escapeHtml(c.email) },
      { title: "Address", wrap: true, cell: (c) => escapeHtml(c.address) },
      { title: "Open jobs", num: true, cell: (c) => String(state.orders.filter((o) => o.customer_id === c.id).length) },
      ...(book ? [{ title: "", cell: (c) => `<button type="button" class="book" ${permissionAttr("work_order:create", "emergency:create")} data-customer="${escapeHtml(c.id)}">Book a job</button>` }] : []),
    ], state.customers, { empty: state.q ? "No customer matches." : "Type to find a customer.",
      rowAttrs: (c) => (c.id === state.customer?.id ? 'class="picked"' : "") })}
  </section>`;
}

function visibleOrders() {
  const text = state.text.trim().toLowerCase();
  return state.orders.filter((o) => (!state.customer || o.customer_id === state.customer.id)
    && (!state.status || o.status === state.status) && (!state.store || o.store_id === state.store)
    && (!text || `${o.id} ${o.description} ${o.address}`.toLowerCase().includes(text)));
}

function ordersCard() {
  const rows = visibleOrders();
  const stores = [...state.stores.values()].sort((a, b) => a.name.localeCompare(b.name));
  return `<section class="card wide orders"><h2>Open work orders <span class="count">${rows.length}</span></h2>
    <div class="tools">
      <input name="text" type="search" value="${escapeHtml(state.text)}" placeholder="Search id, text, address" aria-label="Search work orders">
      <select name="status" aria-label="Status"><option value="">All open</option>${OPEN.split(",").map((s) =>
        `<option value="${s}"${s === state.status ? " selected" : ""}>${label(s)}</option>`).join("")}</select>
      <select name="store" aria-label="Store"><option value="">All stores</option>${stores.map((s) =>
        `<option value="${escapeHtml(s.id)}"${s.id === state.store ? " selected" : ""}>${escapeHtml(s.name)}</option>`).join("")}</select>
      ${state.customer ? `<span class="tag">${escapeHtml(state.customer.name)} <button type="button" class="link clear-customer" aria-label="All customers">×</button></span>` : ""}
      <span class="spacer"></span><span class="muted">Read only: the board assigns.</span></div>
    ${table([
      { title: "Job", cell: (o) => escapeHtml(o.id) },
      { title: "Priority", cell: (o) => `<span class="badge prio-${escapeHtml(o.priority)}">${escapeHtml(o.priority)}</span>` },
      { title: "Status", cell: (o) => escapeHtml(label(o.status)) },
      { title: "Store", cell: (o) => escapeHtml(state.stores.get(o.store_id)?.name || o.store_id) },
      { title: "What", wrap: true, cell: (o) => escapeHtml(o.description) },
      { title: "Address", wrap: true, cell: (o) => escapeHtml(o.address) },
      { title: "Window", cell: (o) => (o.time_window ? `${when(o.time_window.start)} – ${when(o.time_window.end)}` : "any time") },
      { title: "Technician", cell: (o) => escapeHtml(state.technicians.get(o.technician_id)?.name || o.technician_id || "—") },
    ], rows.slice(0, 300), { empty: "No open work order matches." })}
  </section>`;
}

function bookCard() {
  if (!canAny("work_order:create", "emergency:create")) return "";
  const stores = [...state.stores.values()].sort((a, b) => a.name.localeCompare(b.name));
  const c = state.customer;
  const priorities = can("work_order:create") ? PRIORITIES : ["emergency"];
  return `<section class="card book-job"><h2>Book a job</h2>
    <form class="stack new-job">
      <label class="full">Customer <input name="customer" value="${escapeHtml(c ? c.name : "")}" ${c ? "readonly" : ""}
        placeholder="Walk-in: the customer's name (or pick one from the list)"></label>
      ${c ? "" : '<label>Phone <input name="phone" type="tel" placeholder="+1…"></label>'}
      <label>Store <select name="store_id" required>${stores.map((s) => `<option value="${escapeHtml(s.id)}"${s.id === (c?.home_store_id || "") ? " selected" : ""}>${escapeHtml(s.name)}</option>`).join("")}</select></label>
      <label>Priority <select name="priority">${priorities.map((p) => `<option${p === "normal" ? " selected" : ""}>${p}</option>`).join("")}</select></label>
      <label>Minutes <input name="minutes" type="number" min="5" max="720" value="60"></label>
      <label>From <input name="start" type="datetime-local"></label>
      <label>To <input name="end" type="datetime-local"></label>
      <label>Skills <input name="skills" placeholder="Plumbing, Electrical" maxlength="200"></label>
      <label class="full">What is wrong <input name="description" required maxlength="500"></label>
      <label class="full">Address <input name="address" value="${escapeHtml(c?.address || "")}" maxlength="300"></label>
      <div class="full"><button class="primary" type="submit" ${permissionAttr("work_order:create", "emergency:create")}>Book the job</button>
        ${c ? '<button type="button" class="link walk-in">Book for a walk-in instead</button>' : ""}</div>
    </form><p class="message" role="status"></p></section>`;
}

function customerPage() {
  return state.customer ? '<section class="card wide customer-page" aria-label="The customer"></section>' : "";
}

async function pick(customer) {
  state.customer = customer;
  if (customer) {
    await loadCustomer(customer, { stores: state.stores, technicians: state.technicians });
  }
  render();
}

function render() {
  root.innerHTML = customerCard() + customerPage() + bookCard() + ordersCard();
  drawCustomer(root.querySelector(".customer-page"));
  const search = root.querySelector("form.search");
  search.onsubmit = (e) => { e.preventDefault(); state.q = search.q.value.trim(); findCustomers().then(render); };
  root.querySelectorAll("button.pick, button.book").forEach((b) => {
    b.onclick = () => pick(state.customers.find((c) => c.id === b.dataset.customer) || null)
      .catch((error) => setStatus(`Error: ${error.message}`));
  });
  root.querySelector(".clear-customer")?.addEventListener("click", () => pick(null));
  root.querySelector(".walk-in")?.addEventListener("click", () => pick(null));
  const tools = root.querySelector(".orders .tools");
  tools.querySelector("[name=status]").onchange = (e) => { state.status = e.target.value; render(); };
  tools.querySelector("[name=store]").onchange = (e) => { state.store = e.target.value; render(); };
  const text = tools.querySelector("[name=text]");
  text.onchange = () => { state.text = text.value; render(); };
  const form = root.querySelector("form.new-job");
  if (form) form.onsubmit = (e) => { e.preventDefault(); book(form); };
}

async function findCustomers() {
  if (!state.q) { state.customers = []; return; }
  const page = await api(`/api/customers?${new URLSearchParams({ q: state.q, limit: "20" })}`);
  state.customers = page.items;
}

async function book(form) {
  const card = root.querySelector(".book-job");
  const store = state.stores.get(form.store_id.value);
  const c = state.customer;
  const body = { store_id: store.id, priority: form.priority.value, description: form.description.value.trim(),
    address: form.address.value.trim(), estimated_minutes: Number(form.minutes.value) || 60,
    location: c?.location || store.location };
  if (form.start.value && form.end.value) {
    body.time_window = { start: new Date(form.start.value).toISOString(), end: new Date(form.end.value).toISOString() };
  }
  const skills = form.skills.value.split(",").map((x) => x.trim()).filter(Boolean);
  if (skills.length) body.required_skills = skills;
  if (c) body.customer_id = c.id;
  else if (form.customer.value.trim()) {
    body.customer_name = form.customer.value.trim();
    if (form.phone?.value.trim()) body.customer_phone = form.phone.value.trim();
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const wo = await api("/api/work-orders", { method: "POST", body, headers: { "Idempotency-Key": newKey() } });
    state.orders.unshift(wo);
    if (c) await loadCustomer(c, { stores: state.stores, technicians: state.technicians });
    render();
    say(root.querySelector(".book-job"), `Booked ${wo.id} (${wo.priority}) at ${store.name}.`);
  } catch (error) {
    button.disabled = false;
    say(card, error.message, "error");
  }
}

start(async () => {
  await openScreen("/service");
  const [stores, technicians, orders] = await Promise.all([
    fetchAll("/api/stores"), fetchAll("/api/technicians", { active: "true" }),
    fetchAll("/api/work-orders", { status: OPEN }),
  ]);
  stores.forEach((s) => state.stores.set(s.id, s));
  technicians.forEach((t) => state.technicians.set(t.id, t));
  state.orders = orders;
  render();
  setStatus("");
});
