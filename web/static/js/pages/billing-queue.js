// The work to process, oldest first (GET /api/billing/to-process): completed dispatches whose
// invoices wait, the other unprocessed invoices, and finished jobs with no invoice yet. Each
// waiting invoice has its "Process" button for those who hold billing:manage
// (POST /api/invoices/{id}/process).
import { api, escapeHtml } from "../shared/api.js";
import { can, permissionAttr } from "../shared/me.js";
import { cents, label, say, table, when } from "./ui.js";
import { storeName, storeOptions } from "./billing-money.js";

const PAGE = 25;

export function initial() {
  return { items: [], total: 0, store_id: "", message: null };
}

async function fetchPage(state, offset) {
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  if (state.queue.store_id) q.set("store_id", state.queue.store_id);
  return api(`/api/billing/to-process?${q}`);
}

export async function load(state) {
  const page = await fetchPage(state, 0);
  Object.assign(state.queue, { items: page.items, total: page.total });
}

function what(item) {
  if (item.kind === "dispatch") {
    return `Completed dispatch <small>${escapeHtml(item.number || "")} · ${escapeHtml(label(item.status))}</small>`;
  }
  if (item.kind === "invoice") {
    return `Invoice <small>${item.dispatch_id ? "on a dispatch" : "no dispatch"}</small>`;
  }
  return "Finished job";
}

function waiting(item, manage) {
  if (!item.invoices.length) return '<span class="tag warn">needs an invoice</span>';
  return item.invoices.map((i) => (manage
    ? `<button type="button" class="process" data-invoice="${escapeHtml(i.id)}" ${permissionAttr("billing:manage")}>Process ${escapeHtml(i.number)}</button>`
    : `<span class="tag warn">${escapeHtml(i.number)} · ${cents(i.amount_cents)}</span>`)).join("");
}

export function html(state) {
  const q = state.queue;
  const manage = can("billing:manage");
  return `<h2>To process <span class="count">${q.total}</span><span class="spacer"></span>
      <span class="muted">${manage ? "Oldest first." : "Read only: processing needs billing rights."}</span></h2>
    <form class="filters queue-filters" aria-label="Filter the queue">
      ${state.stores.size ? `<label>Store <select name="store_id">${storeOptions(state, q.store_id)}</select></label>` : ""}
    </form>
    <p class="message${q.message ? ` ${q.message.kind}` : ""}" role="status">${escapeHtml(q.message?.text || "")}</p>
    ${table([
      { title: "Since", cell: (i) => escapeHtml(when(i.since)) },
      { title: "What", cell: what },
      { title: "Customer", cell: (i) => escapeHtml(i.customer_name || i.customer_id || "—") },
      { title: "Store", cell: (i) => escapeHtml(storeName(state, i.store_id)) },
      { title: "Job", wrap: true, cell: (i) => escapeHtml(i.description || "—") },
      { title: "Amount", num: true, cell: (i) => (i.amount_cents === null ? "—" : cents(i.amount_cents)) },
      { title: "Waiting", wrap: true, cell: (i) => waiting(i, manage) },
    ], q.items, { empty: "Nothing to process: every finished job is billed.",
      rowAttrs: (i) => `data-kind="${escapeHtml(i.kind)}" data-id="${escapeHtml(i.id)}"` })}
    ${q.items.length < q.total ? '<button type="button" class="link more">Show more</button>' : ""}`;
}

export function bind(card, state, ctx) {
  const q = state.queue;
  q.message = null;
  const store = card.querySelector("select[name=store_id]");
  if (store) {
    store.onchange = () => {
      q.store_id = store.value;
      load(state).then(ctx.render, ctx.fail);
    };
  }
  card.querySelector("button.more")?.addEventListener("click", () => {
    fetchPage(state, q.items.length).then((page) => {
      q.items = [...q.items, ...page.items];
      q.total = page.total;
      ctx.render();
    }, ctx.fail);
  });
  card.querySelectorAll("button.process").forEach((button) => {
    button.onclick = () => process(card, state, ctx, button);
  });
}

async function process(card, state, ctx, button) {
  card.querySelectorAll("button.process").forEach((b) => { b.disabled = true; });
  try {
    const done = await api(`/api/invoices/${encodeURIComponent(button.dataset.invoice)}/process`, { method: "POST" });
    await ctx.changed();
    state.queue.message = { kind: "ok", text: `Invoice ${done.number} processed.` };
    ctx.render();
  } catch (error) {
    card.querySelectorAll("button.process").forEach((b) => { b.disabled = false; });
    say(card, error.message, "error");
  }
}
