// The dispatch table of the records screen (Dispatch Module spec): filters (date range, unit,
// customer through its invoices, created by, store, status), sortable columns, pages, and the
// "New dispatch" form for those who may create one. State lives in records.js; this module draws
// and binds.
import { api, escapeHtml } from "../shared/api.js";
import { can, permissionAttr } from "../shared/me.js";
import { label, when } from "./ui.js";
import { field, instant, localInput } from "./records-fields.js";

export const STATUSES = ["draft", "scheduled", "dispatched", "completed", "closed"];
export const EDITABLE = new Set(["draft", "scheduled", "dispatched"]);
export const NIL_USER = "00000000-0000-0000-0000-000000000000";

const COLUMNS = [
  { title: "Trip ticket" },
  { title: "Date and time", sort: "datetime" },
  { title: "Unit", sort: "unit" },
  { title: "Invoices", num: true },
  { title: "Status" },
  { title: "Created by" },
  { title: "Created", sort: "date_created" },
  { title: "" },
];

export function creatorName(d) {
  if (d.created_by_name) return d.created_by_name;
  return d.created_by === NIL_USER ? "System" : "Unknown user";
}

function options(list, selected, anyLabel) {
  return `<option value="">${escapeHtml(anyLabel)}</option>${list.map(([value, text]) =>
    `<option value="${escapeHtml(value)}"${value === selected ? " selected" : ""}>${escapeHtml(text)}</option>`).join("")}`;
}

function filtersHtml(state) {
  const f = state.filters;
  const units = state.units.map((u) => [u.id, u.name || u.id]);
  const stores = [...state.stores.values()].map((s) => [s.id, s.name || s.id]);
  const creators = [...state.creators.entries()].filter(([id]) => id !== state.me.id);
  return `<form class="search filters" aria-label="Filter dispatches">
    <label>From <input type="date" name="date_from" value="${escapeHtml(f.date_from)}"></label>
    <label>To <input type="date" name="date_to" value="${escapeHtml(f.date_to)}"></label>
    <label>Unit ${units.length ? `<select name="unit">${options(units, f.unit, "Any unit")}</select>`
      : `<input name="unit" value="${escapeHtml(f.unit)}" placeholder="unit id">`}</label>
    <label>Customer <input name="customer" list="customer-options" value="${escapeHtml(f.customer_label)}" placeholder="name…" autocomplete="off">
      <datalist id="customer-options">${state.customerOptions.map((c) =>
        `<option value="${escapeHtml(c.label)}"></option>`).join("")}</datalist></label>
    <label>Created by <select name="created_by">${options([[state.me.id, `Me (${state.me.display_name || state.me.username})`],
      ...creators], f.created_by, "Anyone")}</select></label>
    ${stores.length > 1 ? `<label>Store <select name="store_id">${options(stores, f.store_id, "Any store")}</select></label>` : ""}
    <label>Status <select name="status">${options(STATUSES.map((s) => [s, label(s)]), f.status, "Any")}</select></label>
    <button type="submit">Filter</button>
    <p class="message filter-message" role="status"></p>
  </form>`;
}

function headHtml(state) {
  const key = state.sort.replace(/^-/, "");
  const desc = state.sort.startsWith("-");
  return `<thead><tr>${COLUMNS.map((c) => {
    const cls = c.num ? ' class="num"' : "";
    if (!c.sort) return `<th${cls}>${escapeHtml(c.title)}</th>`;
    const on = key === c.sort;
    const aria = on ? ` aria-sort="${desc ? "descending" : "ascending"}"` : "";
    return `<th${cls}${aria}><button type="button" class="link sort" data-sort="${c.sort}">${escapeHtml(c.title)}${on ? (desc ? " ▼" : " ▲") : ""}</button></th>`;
  }).join("")}</tr></thead>`;
}

function rowHtml(state, d) {
  const picked = state.detail?.id === d.id ? ' class="picked"' : "";
  const status = d.display_status || d.status;
  const edit = can("dispatch:edit") && EDITABLE.has(d.status)
    ? `<button type="button" class="link edit-row" ${permissionAttr("dispatch:edit")} data-id="${escapeHtml(d.id)}">Edit</button>` : "";
  return `<tr data-id="${escapeHtml(d.id)}"${picked}>
    <td><button type="button" class="link open" data-id="${escapeHtml(d.id)}">${escapeHtml(d.trip_ticket_number || d.trip_ticket_id)}</button></td>
    <td>${escapeHtml(when(d.datetime))}</td>
    <td>${escapeHtml(d.unit_name || d.unit)}</td>
    <td class="num">${d.invoice_count}</td>
    <td><span class="tag status-${escapeHtml(status)}">${escapeHtml(label(status))}</span></td>
    <td>${escapeHtml(creatorName(d))}</td>
    <td>${escapeHtml(when(d.date_created))}</td>
    <td><button type="button" class="link open" data-id="${escapeHtml(d.id)}">View</button> ${edit}</td></tr>`;
}

function createHtml(state) {
  if (!state.creating) return "";
  const tickets = state.tickets.map((t) => [t.id, t.number + (t.description ? ` · ${t.description}` : "")]);
  const units = state.units.filter((u) => u.in_service !== false).map((u) => [u.id, u.name || u.id]);
  return `<form class="stack dispatch-form create" aria-label="New dispatch">
    ${field("Trip ticket", "trip_ticket_id", `<select name="trip_ticket_id" required>${options(tickets, "", "Choose a free trip ticket")}</select>`)}
    ${field("Date and time", "datetime", `<input type="datetime-local" name="datetime" required value="${escapeHtml(localInput(state.createAt))}">`)}
    ${field("Unit", "unit", `<select name="unit" required>${options(units, "", "Choose a unit")}</select>`)}
    <div class="full actions"><button type="submit" ${permissionAttr("dispatch:create")}>Create dispatch</button>
      <button type="button" class="close cancel-create">Cancel</button></div>
    <p class="message full" role="status"></p>
  </form>`;
}

export function listHtml(state) {
  const rows = state.dispatches;
  const first = rows.length ? state.offset + 1 : 0;
  const last = state.offset + rows.length;
  const create = can("dispatch:create") && !state.creating
    ? `<button type="button" class="new-dispatch" ${permissionAttr("dispatch:create")}>New dispatch</button>` : "";
  return `<section class="card wide dispatches"><h2>Dispatches <span class="count">${state.total}</span>
      <span class="spacer"></span>${create}</h2>
    ${createHtml(state)}
    ${filtersHtml(state)}
    ${rows.length ? `<div class="table-wrap"><table class="rows">${headHtml(state)}<tbody>${rows.map((d) =>
      rowHtml(state, d)).join("")}</tbody></table></div>` : '<p class="muted">No dispatch matches.</p>'}
    <div class="pager"><span class="muted">${first}–${last} of ${state.total}</span>
      <button type="button" class="link page-prev"${state.offset > 0 ? "" : " disabled"}>Previous</button>
      <button type="button" class="link page-next"${last < state.total ? "" : " disabled"}>Next</button></div>
  </section>`;
}

// The list's query string from the state's filters, sort and page.
export function listQuery(state, limit) {
  const f = state.filters;
  const q = new URLSearchParams({ limit: String(limit), offset: String(state.offset), sort: state.sort });
  if (f.date_from) q.set("date_from", instant(f.date_from));
  if (f.date_to) q.set("date_to", instant(f.date_to, { endOfDay: true }));
  for (const name of ["unit", "customer_id", "created_by", "store_id", "status"]) {
    if (f[name]) q.set(name, f[name]);
  }
  return q;
}

// Customer suggestions for the filter (names through GET /api/customers?q=).
export async function suggestCustomers(state, text) {
  if (!can("resource:view") || text.trim().length < 2) return [];
  const page = await api(`/api/customers?${new URLSearchParams({ q: text.trim(), limit: "20" })}`);
  return page.items.map((c) => ({ id: c.id, label: `${c.name} (${c.id})` }));
}

// Bind the list's controls; `on` holds reload(), open(id, {edit}), create(form).
export function bindList(root, state, on) {
  const card = root.querySelector(".dispatches");
  const form = card.querySelector("form.filters");
  const customer = form.querySelector("input[name=customer]");
  let typing = 0;
  customer.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(async () => {
      state.customerOptions = await suggestCustomers(state, customer.value);
      form.querySelector("#customer-options").innerHTML = state.customerOptions.map((c) =>
        `<option value="${escapeHtml(c.label)}"></option>`).join("");
    }, 250);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const typed = String(data.get("customer") || "").trim();
    const match = state.customerOptions.find((c) => c.label === typed)
      || (typed === state.filters.customer_label ? { id: state.filters.customer_id, label: typed } : null);
    if (typed && !match) {
      const message = form.querySelector(".filter-message");
      message.className = "message filter-message error";
      message.textContent = "Pick a customer from the suggestions (type two letters or more).";
      return;
    }
    for (const name of ["date_from", "date_to", "unit", "created_by", "store_id", "status"]) {
      state.filters[name] = String(data.get(name) || "");
    }
    state.filters.customer_id = typed ? match.id : "";
    state.filters.customer_label = typed;
    state.offset = 0;
    on.reload();
  });
  card.querySelectorAll("button.sort").forEach((b) => {
    b.onclick = () => {
      const key = b.dataset.sort;
      state.sort = state.sort === key ? `-${key}` : key;
      state.offset = 0;
      on.reload();
    };
  });
  card.querySelector(".page-prev").onclick = () => { state.offset = Math.max(0, state.offset - on.pageSize); on.reload(); };
  card.querySelector(".page-next").onclick = () => { state.offset += on.pageSize; on.reload(); };
  card.querySelectorAll("button.open").forEach((b) => { b.onclick = () => on.open(b.dataset.id); });
  card.querySelectorAll("button.edit-row").forEach((b) => { b.onclick = () => on.open(b.dataset.id, { edit: true }); });
  card.querySelector(".new-dispatch")?.addEventListener("click", () => on.startCreate());
  card.querySelector(".cancel-create")?.addEventListener("click", () => { state.creating = false; on.render(); });
  const create = card.querySelector("form.create");
  if (create) {
    create.addEventListener("submit", (event) => { event.preventDefault(); on.create(create); });
  }
}
