// Billing (billing clerks land here; anyone with billing:view may look): the work to process
// (billing-queue.js), invoices with what is paid and left and their payments (billing-invoices.js),
// sales orders (billing-orders.js) and what each customer owes (billing-balances.js), one tab each
// (the tab is in the URL's #). Processing, recording payments and managing sales orders are shown
// only to those holding billing:manage. Money is integer cents, shown as dollars.
import { api, escapeHtml, fetchAll } from "../shared/api.js";
import { can } from "../shared/me.js";
import { openScreen } from "../shared/shell.js";
import { linkStylesheet } from "../shared/stylesheet.js";
import { setStatus, start } from "./ui.js";
import * as queue from "./billing-queue.js";
import * as invoices from "./billing-invoices.js";
import * as orders from "./billing-orders.js";
import * as balances from "./billing-balances.js";

const TABS = [
  { id: "to-process", label: "To process", view: queue },
  { id: "invoices", label: "Invoices", view: invoices },
  { id: "sales-orders", label: "Sales orders", view: orders },
  { id: "balances", label: "Customer balances", view: balances },
];

const root = document.getElementById("screen");
const state = {
  me: null, tab: "to-process", stores: new Map(), customers: new Map(), stale: new Set(TABS.map((t) => t.id)),
  queue: queue.initial(), invoices: invoices.initial(), orders: orders.initial(), balances: balances.initial(),
};
window.dispatchBilling = { state }; // for tests and the curious

function tabFromHash() {
  const id = location.hash.slice(1);
  return TABS.some((t) => t.id === id) ? id : "to-process";
}

function render() {
  const scroll = window.scrollY;
  const tab = TABS.find((t) => t.id === state.tab);
  root.innerHTML = `<nav class="tabs card wide" aria-label="Billing">${TABS.map((t) =>
    `<a href="#${t.id}" id="tab-${t.id}" aria-selected="${t.id === state.tab}"${t.id === state.tab ? ' aria-current="page"' : ""}>${escapeHtml(t.label)}</a>`).join("")}</nav>
    <section class="card wide billing-tab ${tab.id}" aria-labelledby="tab-${tab.id}">${tab.view.html(state)}</section>`;
  tab.view.bind(root.querySelector(".billing-tab"), state, ctx);
  window.scrollTo(0, scroll);
}

function fail(error) {
  console.error(error);
  setStatus(`Error: ${error?.message || error}`);
}

// Names of customers by id (asked once each; shown where a list gives only the id).
async function customerNames(ids) {
  if (!can("resource:view")) return;
  const missing = [...new Set(ids)].filter((id) => id && !state.customers.has(id));
  await Promise.all(missing.map((id) => api(`/api/customers/${encodeURIComponent(id)}`)
    .then((c) => state.customers.set(id, c.name), () => state.customers.set(id, id))));
}

// What the views may ask of the screen.
const ctx = {
  render,
  fail,
  customerNames,
  // After a change: the current tab reloaded, the others read again when next opened.
  async changed() {
    TABS.forEach((t) => state.stale.add(t.id));
    await show(state.tab);
  },
  // Another tab, e.g. the invoices of one customer from the balances.
  async open(id, prepare = () => {}) {
    prepare(state);
    state.stale.add(id);
    if (location.hash.slice(1) !== id) history.pushState(null, "", `#${id}`);
    await show(id);
  },
};

async function show(id) {
  state.tab = id;
  const tab = TABS.find((t) => t.id === id);
  if (state.stale.has(id)) {
    await tab.view.load(state, ctx);
    state.stale.delete(id);
  }
  render();
}

window.addEventListener("hashchange", () => show(tabFromHash()).catch(fail));

start(async () => {
  linkStylesheet("/static/css/billing.css");
  state.me = await openScreen("/billing");
  if (can("resource:view")) {
    (await fetchAll("/api/stores", {}, 5000)).forEach((s) => state.stores.set(s.id, s));
  }
  await show(tabFromHash());
  setStatus("");
});
