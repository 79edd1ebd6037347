// What each customer owes (GET /api/billing/balances): over their processed invoices, billed, paid
// and the balance, the largest first, with the totals of every customer shown; a customer's
// invoices are one click away (the Invoices tab, filtered to them).
import { api, escapeHtml } from "../shared/api.js";
import { cents, table } from "./ui.js";
import { options, storeOptions } from "./billing-money.js";

const PAGE = 25;
const SHOW = [["true", "Customers who owe"], ["", "Every billed customer"]];

export function initial() {
  return { items: [], total: 0, totals: null, owing: "true", store_id: "", q: "" };
}

function query(s, offset) {
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  for (const key of ["owing", "store_id", "q"]) if (s[key]) q.set(key, s[key]);
  return q;
}

export async function load(state) {
  const s = state.balances;
  const page = await api(`/api/billing/balances?${query(s, 0)}`);
  Object.assign(s, { items: page.items, total: page.total, totals: page.totals });
}

export function html(state) {
  const s = state.balances;
  const t = s.totals || { billed_cents: 0, paid_cents: 0, balance_cents: 0 };
  return `<h2>Customer balances <span class="count">${s.total}</span></h2>
    <dl class="totals"><div><dt>Billed</dt><dd class="billed">${cents(t.billed_cents)}</dd></div>
      <div><dt>Paid</dt><dd class="paid">${cents(t.paid_cents)}</dd></div>
      <div><dt>Owed</dt><dd class="owed">${cents(t.balance_cents)}</dd></div></dl>
    <form class="filters balance-filters" aria-label="Filter the balances">
      <label>Show <select name="owing">${options(SHOW, s.owing)}</select></label>
      ${state.stores.size ? `<label>Store <select name="store_id">${storeOptions(state, s.store_id)}</select></label>` : ""}
      <label>Customer <input type="search" name="q" value="${escapeHtml(s.q)}" placeholder="name"></label>
    </form>
    <p class="note">Billed counts processed invoices; the balance is what is billed less what is paid.</p>
    ${table([
      { title: "Customer", cell: (b) => escapeHtml(b.customer_name || b.customer_id) },
      { title: "Invoices", num: true, cell: (b) => String(b.invoice_count) },
      { title: "Open", num: true, cell: (b) => String(b.open_invoices) },
      { title: "Billed", num: true, cell: (b) => cents(b.billed_cents) },
      { title: "Paid", num: true, cell: (b) => cents(b.paid_cents) },
      { title: "Balance", num: true, cell: (b) => `<strong class="balance">${cents(b.balance_cents)}</strong>` },
      { title: "", cell: (b) => `<button type="button" class="link customer-invoices" data-customer="${escapeHtml(b.customer_id)}">Invoices</button>` },
    ], s.items, { empty: "No customer owes anything here.", rowAttrs: (b) => `data-customer="${escapeHtml(b.customer_id)}"` })}
    ${s.items.length < s.total ? '<button type="button" class="link more">Show more</button>' : ""}`;
}

export function bind(card, state, ctx) {
  const s = state.balances;
  const reload = () => load(state).then(ctx.render, ctx.fail);
  card.querySelectorAll(".balance-filters select").forEach((select) => {
    select.onchange = () => { s[select.name] = select.value; reload(); };
  });
  const search = card.querySelector(".balance-filters input[name=q]");
  search.onchange = () => { s.q = search.value.trim(); reload(); };
  card.querySelector(".balance-filters").onsubmit = (e) => { e.preventDefault(); search.onchange(); };
  card.querySelector("button.more")?.addEventListener("click", () => {
    api(`/api/billing/balances?${query(s, s.items.length)}`).then((page) => {
      s.items = [...s.items, ...page.items];
      Object.assign(s, { total: page.total, totals: page.totals });
      ctx.render();
    }, ctx.fail);
  });
  card.querySelectorAll("button.customer-invoices").forEach((b) => {
    b.onclick = () => {
      const who = s.items.find((x) => x.customer_id === b.dataset.customer);
      ctx.open("invoices", (st) => Object.assign(st.invoices, {
        customer_id: b.dataset.customer, customer_label: who?.customer_name || "", status: "",
        processed: "true", paying: null, viewing: null, q: "" })).catch(ctx.fail);
    };
  });
}
