// Customers and jobs (customer service lands here): find a customer (GET /api/customers?q=: name,
// phone, address or order number), their page (customer.js: jobs, invoices, consent, editing,
// cancelling and comments), the open work orders read-only as the board's queue shows them
// (GET /api/work-orders), and, for those who may create work orders, booking a job for a
// customer or a walk-in with the board's own booking form (booking.js; the place from the
// customer's saved address, a click on the form's small map, or the address look-up).
import { api, escapeHtml, fetchAll } from "../shared/api.js";
import { canAny, permissionAttr } from "../shared/me.js";
import { openScreen } from "../shared/shell.js";
import { BookingForm } from "../shared/booking.js";
import { drawCustomer, loadCustomer } from "./customer.js";
import { label, setStatus, start, table, when } from "./ui.js";

const OPEN = "new,assigned,accepted,en_route,on_site";
const root = document.getElementById("screen");
const state = { stores: new Map(), technicians: new Map(), orders: [], customers: [], q: "",
  customer: null, status: "", store: "", text: "" };
let booking = null; // the booking form (its card stays in the page across renders)

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

function customerPage() {
  return state.customer ? '<section class="card wide customer-page" aria-label="The customer"></section>' : "";
}

async function pick(customer) {
  state.customer = customer;
  if (customer) {
    await loadCustomer(customer, { stores: state.stores, technicians: state.technicians });
  }
  booking?.setCustomer(customer);
  render();
}

// The booking card: made once, then moved into each render (what was typed stays).
function bookingCard() {
  if (!canAny("work_order:create", "emergency:create")) return null;
  if (!booking) {
    const card = document.createElement("section");
    card.className = "card book-job";
    card.innerHTML = '<h2>Book a job</h2><div class="book-form"></div>';
    booking = new BookingForm(card.querySelector(".book-form"), {
      stores: () => [...state.stores.values()], find: false,
      skills: () => [...new Set([...state.technicians.values()].flatMap((t) => t.skills || []))].sort(),
      onBooked: async (job) => {
        state.orders.unshift(job);
        if (booking.customer) await loadCustomer(booking.customer, { stores: state.stores, technicians: state.technicians });
        render();
      },
    });
    booking.card = card;
    root.append(card);
    booking.render();
  }
  return booking.card;
}

function render() {
  const card = bookingCard();
  card?.remove();
  root.innerHTML = customerCard() + customerPage() + '<div class="book-slot"></div>' + ordersCard();
  if (card) { root.querySelector(".book-slot").replaceWith(card); booking.refresh(); }
  drawCustomer(root.querySelector(".customer-page"));
  const search = root.querySelector("form.search");
  search.onsubmit = (e) => { e.preventDefault(); state.q = search.q.value.trim(); findCustomers().then(render); };
  root.querySelectorAll("button.pick, button.book").forEach((b) => {
    b.onclick = () => pick(state.customers.find((c) => c.id === b.dataset.customer) || null)
      .catch((error) => setStatus(`Error: ${error.message}`));
  });
  root.querySelector(".clear-customer")?.addEventListener("click", () => pick(null));
  const tools = root.querySelector(".orders .tools");
  tools.querySelector("[name=status]").onchange = (e) => { state.status = e.target.value; render(); };
  tools.querySelector("[name=store]").onchange = (e) => { state.store = e.target.value; render(); };
  const text = tools.querySelector("[name=text]");
  text.onchange = () => { state.text = text.value; render(); };
}

async function findCustomers() {
  if (!state.q) { state.customers = []; return; }
  const page = await api(`/api/customers?${new URLSearchParams({ q: state.q, limit: "20" })}`);
  state.customers = page.items;
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
