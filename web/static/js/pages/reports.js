// Reports (anyone with report:view): revenue, response time & SLA, technicians and call volume
// from GET /api/reports/{kind}, for a date range (with presets), a grouping and a store. The page's
// URL keeps what is shown (/reports?r=sla&from=…&to=…&group=…&store_id=…) so it can be bookmarked
// or shared; the chart is uPlot (reports-chart.js), the table is exactly the answer's items with a
// total row, and "Export CSV" downloads the same query as CSV (Accept: text/csv).
import { ApiError, api, escapeHtml, fetchAll, logout, token } from "../shared/api.js";
import { can, permissionAttr } from "../shared/me.js";
import { openScreen } from "../shared/shell.js";
import { setStatus, start } from "./ui.js";
import { cellText, column, FORMAT, GROUP_LABELS, KINDS, REPORTS } from "./reports-kinds.js";
import { clearChart, drawChart } from "./reports-chart.js";
import { dayText, isDay, PRESETS, presetOf, presetRange, rangeText } from "./reports-dates.js";

const root = document.getElementById("screen");
const state = {
  me: null, stores: new Map(),
  query: { r: "revenue", from: "", to: "", group: "", store_id: "" },
  answer: null, problem: null, today: null, seq: 0,
};
window.dispatchReports = { state }; // for tests and the curious

function fromUrl() {
  const p = new URLSearchParams(location.search);
  const r = KINDS.includes(p.get("r")) ? p.get("r") : "revenue";
  const group = REPORTS[r].groups.includes(p.get("group")) ? p.get("group") : "";
  return { r, from: p.get("from") || "", to: p.get("to") || "", group, store_id: p.get("store_id") || "" };
}

function params(q) {
  const p = new URLSearchParams();
  for (const name of ["from", "to", "group", "store_id"]) if (q[name]) p.set(name, q[name]);
  return p;
}

const apiUrl = (q) => `/api/reports/${q.r}?${params(q)}`;
const pageUrl = (q) => `/reports?${new URLSearchParams({ r: q.r, ...Object.fromEntries(params(q)) })}`;

function skeleton() {
  const mine = Array.isArray(state.me.store_ids);
  const stores = [...state.stores.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  root.innerHTML = `<section class="card wide report" aria-labelledby="report-title">
    <div class="report-tabs" role="tablist" aria-label="Reports">${KINDS.map((k) =>
      `<button type="button" role="tab" class="tab" data-report="${k}">${escapeHtml(REPORTS[k].title)}</button>`).join("")}</div>
    <form class="report-filters" aria-label="What to report">
      <label>From <input type="date" name="from" required></label>
      <label>To <input type="date" name="to" required></label>
      <div class="presets" role="group" aria-label="Date presets">${PRESETS.map((p) =>
        `<button type="button" class="preset" data-preset="${p.id}" aria-pressed="false">${escapeHtml(p.label)}</button>`).join("")}</div>
      <label>Group by <select name="group"></select></label>
      <label>Store <select name="store_id"><option value="">${mine ? "All my stores" : "All stores"}</option>${stores.map((s) =>
        `<option value="${escapeHtml(s.id)}">${escapeHtml(s.name || s.id)}</option>`).join("")}</select></label>
      <span class="spacer"></span>
      <button type="button" class="export primary" ${permissionAttr("report:view")} disabled>Export CSV</button>
    </form>
    <p class="message report-message" role="status"></p>
    <h2 id="report-title" class="report-title"></h2>
    <dl class="report-summary"></dl>
    <div class="report-chart"></div>
    <div class="report-table"></div>
  </section>`;
  const form = root.querySelector("form.report-filters");
  form.addEventListener("submit", (event) => event.preventDefault());
  root.querySelectorAll("button.tab").forEach((b) => { b.onclick = () => pickReport(b.dataset.report); });
  root.querySelectorAll("button.preset").forEach((b) => { b.onclick = () => pickPreset(b.dataset.preset); });
  for (const name of ["from", "to"]) {
    form.elements[name].addEventListener("change", () => {
      const { from, to } = form.elements;
      if (!isDay(from.value) || !isDay(to.value)) return;
      change({ from: from.value, to: to.value });
    });
  }
  form.elements.group.addEventListener("change", (e) => change({ group: e.target.value }));
  form.elements.store_id.addEventListener("change", (e) => change({ store_id: e.target.value }));
  root.querySelector("button.export").onclick = exportCsv;
}

// The controls show state.query (and the answer's dates once it came).
function syncControls() {
  const q = state.query;
  root.querySelectorAll("button.tab").forEach((b) => {
    b.setAttribute("aria-selected", String(b.dataset.report === q.r));
  });
  const form = root.querySelector("form.report-filters");
  form.elements.from.value = isDay(q.from) ? q.from : "";
  form.elements.to.value = isDay(q.to) ? q.to : "";
  const groups = REPORTS[q.r].groups;
  const group = q.group || groups[0];
  form.elements.group.innerHTML = groups.map((g) =>
    `<option value="${g}"${g === group ? " selected" : ""}>${escapeHtml(GROUP_LABELS[g])}</option>`).join("");
  form.elements.group.disabled = groups.length < 2;
  const store = form.elements.store_id;
  if (q.store_id && ![...store.options].some((o) => o.value === q.store_id)) {
    store.add(new Option(q.store_id, q.store_id)); // a store of the URL the list does not have
  }
  store.value = q.store_id;
  const preset = presetOf(q.from, q.to, state.today);
  root.querySelectorAll("button.preset").forEach((b) => {
    b.setAttribute("aria-pressed", String(b.dataset.preset === preset));
  });
}

function say(text, kind = "") {
  const el = root.querySelector(".report-message");
  el.className = `message report-message ${kind}`.trim();
  el.textContent = text;
}

function change(patch) {
  Object.assign(state.query, patch);
  load({ push: true });
}

function pickReport(kind) {
  if (kind === state.query.r) return;
  const group = REPORTS[kind].groups.includes(state.query.group) ? state.query.group : "";
  change({ r: kind, group });
}

async function pickPreset(id) {
  try {
    if (!state.today) { // learn today on the app's calendar: the API's default range ends then
      const q = state.query;
      state.today = (await api(apiUrl({ r: q.r, group: q.group, store_id: q.store_id }))).to;
    }
    const [from, to] = presetRange(id, state.today);
    const patch = { from, to };
    if (id === "12m" && state.query.group === "day" && REPORTS[state.query.r].groups.includes("month")) {
      patch.group = "month"; // a year of days is 365 bars: months read better
    }
    change(patch);
  } catch (error) { showProblem(error); }
}

async function load({ push = false } = {}) {
  const q = { ...state.query };
  if (push) history.pushState(null, "", pageUrl(q));
  syncControls();
  const seq = ++state.seq;
  const section = root.querySelector("section.report");
  section.setAttribute("aria-busy", "true");
  root.querySelector("button.export").disabled = true;
  setStatus("Loading…");
  try {
    const answer = await api(apiUrl(q));
    if (seq !== state.seq) return;
    if (!q.from && !q.to) state.today = answer.to;
    state.answer = answer;
    state.problem = null;
    state.query = { r: q.r, from: answer.from, to: answer.to, group: answer.group, store_id: answer.store_id || "" };
    history.replaceState(null, "", pageUrl(state.query));
    syncControls();
    say("");
    renderAnswer();
  } catch (error) {
    if (seq !== state.seq) return;
    state.answer = null;
    renderAnswer();
    showProblem(error);
  } finally {
    if (seq === state.seq) {
      section.removeAttribute("aria-busy");
      setStatus("");
    }
  }
}

// A refused query in words: 422 (the dates, the grouping or the store asked), 403 (a store that
// is not the user's), anything else as it came.
function showProblem(error) {
  if (!(error instanceof ApiError)) console.error(error);
  const problem = error?.problem || {};
  const said = problem.detail || error?.message || String(error);
  const fields = (problem.errors || []).filter((e) => e.message && !said.includes(e.message))
    .map((e) => `${e.field ? `${e.field}: ` : ""}${e.message}`);
  const detail = [said, ...fields].join(" · ");
  const lead = error?.status === 422 ? "This report cannot be made for that choice: "
    : error?.status === 403 ? "You may not see this report: " : "The report could not be loaded: ";
  state.problem = lead + detail;
  say(state.problem, "error");
}

function storeName(id) {
  if (!id) return Array.isArray(state.me.store_ids) ? "All my stores" : "All stores";
  return state.stores.get(id)?.name || id;
}

function renderAnswer() {
  const a = state.answer;
  const title = root.querySelector(".report-title");
  const summary = root.querySelector(".report-summary");
  const chart = root.querySelector(".report-chart");
  const tableEl = root.querySelector(".report-table");
  if (!a) {
    title.textContent = REPORTS[state.query.r].title;
    summary.innerHTML = "";
    clearChart();
    chart.replaceChildren();
    tableEl.innerHTML = "";
    return;
  }
  const kind = REPORTS[a.report];
  title.textContent = `${kind.title} by ${GROUP_LABELS[a.group].toLowerCase()} · ${rangeText(a.from, a.to)} · ${storeName(a.store_id)}`;
  root.querySelector("button.export").disabled = false;
  if (isEmpty(a)) {
    summary.innerHTML = "";
    clearChart();
    chart.replaceChildren();
    tableEl.innerHTML = `<p class="report-empty">${escapeHtml(`${kind.empty} from ${dayText(a.from)} to ${dayText(a.to)} in ${a.store_id ? storeName(a.store_id) : storeName("").toLowerCase()}.`)}</p>`;
    root.querySelector("button.export").disabled = true; // no row to export
    return;
  }
  summary.innerHTML = kind.summary.map((field) => {
    const col = column(a.report, field);
    return `<div><dt>${escapeHtml(col.title)}</dt><dd>${escapeHtml(cellText(col, a.total[field], state.stores))}</dd></div>`;
  }).join("");
  tableEl.innerHTML = tableHtml(a);
  drawChart(chart, { kind: a.report, group: a.group, items: a.items, groupLabel: GROUP_LABELS[a.group] });
}

// Nothing happened in the range: no item, or (time groups list every period) only zeros.
function isEmpty(a) {
  const fields = REPORTS[a.report].columns.filter((c) => c.kind !== "store").map((c) => c.field);
  return !a.items.some((item) => fields.some((f) => typeof item[f] === "number" && item[f] !== 0));
}

function tableHtml(a) {
  const columns = REPORTS[a.report].columns;
  const cls = (c) => (c.kind === "text" || c.kind === "store" ? "" : ' class="num"');
  const head = `<th>${escapeHtml(GROUP_LABELS[a.group])}</th>${columns.map((c) => `<th${cls(c)}>${escapeHtml(c.title)}</th>`).join("")}`;
  const rows = a.items.map((item) => `<tr data-key="${escapeHtml(item.key)}"><td>${escapeHtml(FORMAT.text(item.label))}</td>${columns.map((c) =>
    `<td${cls(c)}>${escapeHtml(cellText(c, item[c.field], state.stores))}</td>`).join("")}</tr>`).join("");
  const total = `<tr><th scope="row">Total</th>${columns.map((c) =>
    `<td${cls(c)}>${escapeHtml(c.field in a.total ? cellText(c, a.total[c.field], state.stores) : "")}</td>`).join("")}</tr>`;
  return `<div class="table-wrap"><table class="rows report-rows"><thead><tr>${head}</tr></thead>
    <tbody>${rows}</tbody><tfoot>${total}</tfoot></table></div>`;
}

function filename(response, a) {
  const match = /filename="?([^";]+)"?/.exec(response.headers.get("content-disposition") || "");
  return match ? match[1] : `${a.report}-${a.from}-${a.to}-${a.group}.csv`;
}

// The rows shown, as CSV: the same query with Accept: text/csv, saved through a Blob link.
async function exportCsv() {
  const a = state.answer;
  if (!a) return;
  const button = root.querySelector("button.export");
  button.disabled = true;
  try {
    const q = { r: a.report, from: a.from, to: a.to, group: a.group, store_id: a.store_id || "" };
    const response = await fetch(apiUrl(q), { headers: { Accept: "text/csv", Authorization: `Bearer ${token()}` } });
    if (!response.ok) {
      const type = response.headers.get("content-type") || "";
      const problem = type.includes("json") ? await response.json() : null;
      if (response.status === 401) logout({ revoke: false });
      throw new ApiError(response.status, problem);
    }
    const blob = await response.blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filename(response, a);
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    say(`Exported ${a.items.length} ${a.items.length === 1 ? "row" : "rows"} as ${link.download}.`, "ok");
  } catch (error) {
    showProblem(error);
  } finally {
    button.disabled = !state.answer;
  }
}

window.addEventListener("popstate", () => {
  state.query = fromUrl();
  load();
});

start(async () => {
  state.me = await openScreen("/reports");
  const stores = can("resource:view") ? await fetchAll("/api/stores", {}, 5000) : [];
  stores.forEach((s) => state.stores.set(s.id, s));
  state.query = fromUrl();
  skeleton();
  await load();
});

