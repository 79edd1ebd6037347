// The customer's page on /service: how to reach them (contact preferences and the consent
// history, GET/POST /api/customers/{id}/consents), their jobs open and past with technicians and
// times (GET /api/work-orders?customer_id=), their sales orders, invoices and balance (integer
// cents), and one job at a time: edit and reschedule (PATCH with If-Match), cancel with a reason,
// and its comments, internal (the default) or customer-visible (shown on the tracking page).
import { api, escapeHtml, fetchAll, newKey } from "../shared/api.js";
import { can, permissionAttr } from "../shared/me.js";
import { cancelForm, editForm, mayCancel, mayEdit, wireJobForms } from "../shared/job-edit.js";
import { cents, label, say, table, when } from "./ui.js";

const OPEN = new Set(["new", "assigned", "accepted", "en_route", "on_site"]);
const SOURCES = ["phone_call", "in_person", "web_form", "written"];
const view = { id: null, customer: null, jobs: [], orders: [], invoices: [], consents: null,
  job: null, el: null, lookups: { stores: new Map(), technicians: new Map() } };

// Load (or reload) a customer's page; `lookups`: the stores and technicians by id.
export async function loadCustomer(customer, lookups) {
  view.lookups = lookups;
  if (view.id !== customer.id) view.job = null;
  view.id = customer.id;
  view.customer = customer;
  const enc = encodeURIComponent(customer.id);
  const [jobs, orders, invoices, consents] = await Promise.all([
    fetchAll("/api/work-orders", { customer_id: customer.id, sort: "-created_at" }),
    fetchAll("/api/sales-orders", { customer_id: customer.id }).catch(() => []),
    fetchAll("/api/invoices", { customer_id: customer.id }).catch(() => []),
    api(`/api/customers/${enc}/consents`).catch(() => null),
  ]);
  Object.assign(view, { jobs, orders, invoices, consents });
  if (view.job) view.job = jobs.find((j) => j.id === view.job.id) || null;
}

export function customerJobs() {
  return view.jobs;
}

// Draw the page into `el` (a section the service screen renders while a customer is picked).
export function drawCustomer(el) {
  view.el = el;
  if (!el || !view.customer) return;
  el.innerHTML = header() + `<div class="customer-grid">${contact()}${money()}</div>` + jobs() + jobPanel();
  wire(el);
}

function header() {
  const c = view.customer;
  const store = view.lookups.stores.get(c.home_store_id);
  return `<h2>${escapeHtml(c.name)} <span class="muted">${escapeHtml(c.id)}</span></h2>
    <p class="customer-facts"><span>${escapeHtml(c.phone || "no phone")}</span> · <span>${escapeHtml(c.email || "no email")}</span>
      · <span>${escapeHtml(c.address || "no address")}</span>${store ? ` · <span>${escapeHtml(store.name)}</span>` : ""}</p>`;
}

function contact() {
  const history = view.consents;
  const sms = history ? history.sms_opt_in : view.customer.sms_opt_in;
  const form = can("customer:manage") ? `<form class="stack consent">
      <label>Texts <select name="granted"><option value="true">Opt in</option><option value="false">Opt out</option></select></label>
      <label>How <select name="source">${SOURCES.map((s) => `<option value="${s}">${label(s)}</option>`).join("")}</select></label>
      <label class="full">Note <input name="note" maxlength="300" placeholder="What the customer said"></label>
      <div class="full"><button type="submit" ${permissionAttr("customer:manage")}>Record consent</button></div>
    </form>` : "";
  return `<section class="panel contact"><h3>Contact preferences</h3>
    <p>Web tracking link: <strong>always</strong> · Text messages (SMS): <strong class="sms-state">${sms ? "opted in" : "not opted in"}</strong></p>
    <h4>Consent history</h4>
    ${table([
      { title: "When", cell: (r) => escapeHtml(when(r.at)) },
      { title: "Texts", cell: (r) => (r.granted ? '<span class="tag ok">opt in</span>' : '<span class="tag bad">opt out</span>') },
      { title: "How", cell: (r) => escapeHtml(label(r.source)) },
      { title: "By", cell: (r) => escapeHtml(r.recorded_by) },
      { title: "Note", wrap: true, cell: (r) => escapeHtml(r.note) },
    ], history ? history.items : [], { empty: "No consent recorded." })}
    ${form}<p class="message consent-message" role="status"></p></section>`;
}

function money() {
  // The balance is what billing counts: processed invoices less the payments against them (an
  // invoice not processed yet is not owed); amounts are integer cents from the server.
  const ordered = view.orders.reduce((s, o) => s + (o.total_cents || 0), 0);
  const invoiced = view.invoices.reduce((s, i) => s + (i.amount_cents || 0), 0);
  const owed = view.invoices.filter((i) => i.processed)
    .reduce((s, i) => s + (i.balance_cents ?? i.amount_cents ?? 0), 0);
  const pending = view.invoices.filter((i) => !i.processed).reduce((s, i) => s + (i.amount_cents || 0), 0);
  return `<section class="panel money"><h3>Invoices and balance</h3>
    <dl class="totals"><div><dt>Ordered</dt><dd>${cents(ordered)}</dd></div>
      <div><dt>Invoiced</dt><dd>${cents(invoiced)}</dd></div>
      <div><dt>Balance owed</dt><dd class="balance">${cents(owed)}</dd></div>
      <div><dt>Not yet processed</dt><dd>${cents(pending)}</dd></div></dl>
    ${table([
      { title: "Invoice", cell: (i) => escapeHtml(i.number) },
      { title: "Date", cell: (i) => escapeHtml(when(i.created_at)) },
      { title: "Amount", num: true, cell: (i) => cents(i.amount_cents) },
      { title: "Balance", num: true, cell: (i) => (i.processed ? cents(i.balance_cents ?? i.amount_cents) : "") },
      { title: "", cell: (i) => (i.processed ? '<span class="tag ok">processed</span>' : '<span class="tag warn">open</span>') },
    ], view.invoices, { empty: "No invoice." })}
    ${table([
      { title: "Sales order", cell: (o) => escapeHtml(o.number) },
      { title: "Status", cell: (o) => escapeHtml(label(o.status)) },
      { title: "Total", num: true, cell: (o) => cents(o.total_cents) },
    ], view.orders, { empty: "No sales order." })}</section>`;
}

function times(o) {
  const parts = [["booked", o.created_at], ["set off", o.en_route_at], ["arrived", o.on_site_at], ["finished", o.finished_at]];
  return parts.filter(([, at]) => at).map(([what, at]) => `${what} ${escapeHtml(when(at))}`).join("<br>");
}

function shortId(id) {
  return id.length > 12 ? id.slice(0, 8) : id;
}

// A job that could not be finished and its follow-up point at each other (each opens the job).
function chain(o) {
  const link = (id) => `<button type="button" class="link open-job" data-job="${escapeHtml(id)}">${escapeHtml(shortId(id))}</button>`;
  const parts = [];
  if (o.follow_up_of) parts.push(`follow-up of ${link(o.follow_up_of)}`);
  if (o.follow_ups?.length) parts.push(`followed up by ${o.follow_ups.map(link).join(", ")}`);
  return parts.length ? `<br><span class="chain">${parts.join(" · ")}</span>` : "";
}

function jobTable(rows, empty) {
  return table([
    { title: "Job", cell: (o) => `<button type="button" class="link open-job" data-job="${escapeHtml(o.id)}">${escapeHtml(shortId(o.id))}</button>` },
    { title: "Status", cell: (o) => `${escapeHtml(label(o.status))}${o.status_reason ? `<br><span class="muted">${escapeHtml(o.status_reason)}</span>` : ""}${chain(o)}` },
    { title: "What", wrap: true, cell: (o) => escapeHtml(o.description) },
    { title: "Window", cell: (o) => (o.time_window ? `${escapeHtml(when(o.time_window.start))} – ${escapeHtml(when(o.time_window.end))}` : "any time") },
    { title: "Technician", cell: (o) => escapeHtml(view.lookups.technicians.get(o.technician_id)?.name || o.technician_id || "—") },
    { title: "Times", cell: times },
  ], rows, { empty, rowAttrs: (o) => `data-job-row="${escapeHtml(o.id)}"${o.id === view.job?.id ? ' class="picked"' : ""}` });
}

function jobs() {
  const open = view.jobs.filter((o) => OPEN.has(o.status));
  const past = view.jobs.filter((o) => !OPEN.has(o.status));
  return `<section class="panel jobs open-jobs"><h3>Open jobs <span class="count">${open.length}</span></h3>${jobTable(open, "No open job.")}</section>
    <section class="panel jobs past-jobs"><h3>Past jobs <span class="count">${past.length}</span></h3>${jobTable(past, "No past job.")}</section>`;
}

function jobPanel() {
  const o = view.job;
  if (!o) return "";
  const edit = mayEdit(o) ? editForm(o) : "";
  const cancel = mayCancel(o) ? cancelForm(o) : "";
  const comment = can("work_order:comment") ? `<form class="stack add-comment">
      <label class="full">Comment <textarea name="text" required maxlength="2000" rows="2"></textarea></label>
      <label>Who may read it <select name="visibility"><option value="internal" selected>Internal (our people only)</option>
        <option value="customer">Customer-visible (tracking page)</option></select></label>
      <div><button type="submit" ${permissionAttr("work_order:comment")}>Add comment</button></div></form>` : "";
  const comments = (o.comments || []).map((c) => `<li class="comment ${c.visibility === "customer" ? "customer" : "internal"}" data-visibility="${escapeHtml(c.visibility || "internal")}">
      <span class="tag ${c.visibility === "customer" ? "ok" : ""}">${c.visibility === "customer" ? "customer-visible" : "internal"}</span>
      <strong>${escapeHtml(c.author)}</strong> <span class="muted">${escapeHtml(when(c.at))}</span><p>${escapeHtml(c.text)}</p></li>`).join("");
  return `<section class="panel job-panel" data-job="${escapeHtml(o.id)}"><h3>Job ${escapeHtml(o.id)} · ${escapeHtml(label(o.status))}
      <button type="button" class="link close-job" aria-label="Close the job">×</button></h3>
    ${o.tracking_url ? `<p>Customer's tracking page: <a class="tracking-link" href="${escapeHtml(o.tracking_url)}" target="_blank" rel="noopener">${escapeHtml(o.tracking_url)}</a></p>` : ""}
    <div class="customer-grid">${edit}${cancel}</div>
    <h4>Comments</h4><ul class="comments">${comments || '<li class="muted">No comment yet.</li>'}</ul>${comment}
    <p class="message job-message" role="status"></p></section>`;
}

async function openJob(id) {
  view.job = await api(`/api/work-orders/${encodeURIComponent(id)}`);
  drawCustomer(view.el);
  view.el.querySelector(".job-panel")?.scrollIntoView({ block: "nearest" });
}

function replaceJob(job) {
  view.jobs = view.jobs.map((j) => (j.id === job.id ? job : j));
  view.job = job;
}

async function act(form, work, done) {
  const panel = view.el.querySelector(".job-panel");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const text = await work();
    drawCustomer(view.el);
    say(view.el.querySelector(".job-panel") || view.el, done || text);
  } catch (error) {
    button.disabled = false;
    say(panel, error.message, "error");
  }
}

function wire(el) {
  el.querySelectorAll("button.open-job").forEach((b) => { b.onclick = () => openJob(b.dataset.job).catch((e) => say(el, e.message, "error")); });
  el.querySelector(".close-job")?.addEventListener("click", () => { view.job = null; drawCustomer(el); });
  const consent = el.querySelector("form.consent");
  if (consent) consent.onsubmit = (e) => { e.preventDefault(); recordConsent(consent); };
  const panel = el.querySelector(".job-panel");
  if (panel) {
    wireJobForms(panel, view.job, {
      done: (job, text) => { replaceJob(job); drawCustomer(el); say(el.querySelector(".job-panel") || el, text); },
      failed: (error) => say(panel, error.message, "error"),
    });
  }
  const comment = el.querySelector("form.add-comment");
  if (comment) comment.onsubmit = (e) => { e.preventDefault(); act(comment, () => addComment(comment)); };
}

async function addComment(form) {
  const o = view.job;
  const visibility = form.visibility.value;
  await api(`/api/work-orders/${encodeURIComponent(o.id)}/comments`, { method: "POST",
    body: { text: form.text.value.trim(), visibility }, headers: { "Idempotency-Key": newKey() } });
  replaceJob(await api(`/api/work-orders/${encodeURIComponent(o.id)}`));
  return visibility === "customer" ? "Comment added; the customer sees it on the tracking page." : "Internal comment added.";
}

async function recordConsent(form) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api(`/api/customers/${encodeURIComponent(view.id)}/consents`, { method: "POST",
      body: { granted: form.granted.value === "true", source: form.source.value, note: form.note.value.trim() } });
    view.consents = await api(`/api/customers/${encodeURIComponent(view.id)}/consents`);
    drawCustomer(view.el);
    say(view.el.querySelector(".contact"), "Consent recorded.");
  } catch (error) {
    button.disabled = false;
    say(form.closest(".contact"), error.message, "error");
  }
}
