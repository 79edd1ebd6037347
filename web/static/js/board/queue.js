// The queue panel: work orders filtered (store, region, skill, status), searched and sorted
// (priority, window, age). Rendered at most once per frame by the board.
import { escapeHtml } from "../shared/api.js";
import { isLate, MOVABLE, OPEN, PRIORITY_RANK, timeText } from "../shared/model.js";

const MAX_ROWS = 300;

const SORTS = {
  priority: (a, b) => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority]
    || windowEnd(a) - windowEnd(b) || byText(a.created_at, b.created_at),
  window: (a, b) => windowEnd(a) - windowEnd(b)
    || PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority],
  age: (a, b) => byText(a.created_at, b.created_at),
};

// ISO timestamps sort as plain strings (localeCompare was half the sort of 3,000 jobs).
function byText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// A work order snapshot is replaced, never changed, when it updates: its parsed window end is
// kept (Date.parse in the comparator ran ~70,000 times per sort of 3,000 jobs).
const ENDS = new WeakMap();
function windowEnd(wo) {
  let end = ENDS.get(wo);
  if (end === undefined) {
    end = wo.time_window ? Date.parse(wo.time_window.end) : Number.MAX_SAFE_INTEGER;
    ENDS.set(wo, end);
  }
  return end;
}

export function ageOf(iso, now = Date.now()) {
  const min = Math.max(0, Math.round((now - Date.parse(iso)) / 60000));
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

export class Queue {
  constructor(root, model, onSelect) {
    this.root = root;
    this.model = model;
    this.onSelect = onSelect;
    this.form = root.querySelector("form.filters");
    this.list = root.querySelector(".queue-list");
    this.count = root.querySelector(".queue-count");
    this.selected = null;
    this.draggable = false; // rows of jobs that can be (re)assigned are drag sources (dnd.js)
    this.form.addEventListener("input", () => this.onChange?.());
    this.form.addEventListener("submit", (e) => e.preventDefault());
    this.list.addEventListener("click", (e) => {
      const row = e.target.closest("[data-order]");
      if (row) this.onSelect(row.dataset.order);
    });
  }

  filters() {
    const f = this.form;
    return {
      store: f.store.value, region: f.region.value, skill: f.skill.value,
      status: f.status.value, q: f.q.value.trim().toLowerCase(), sort: f.sort.value,
    };
  }

  // Whether a work order passes the store/region/skill filters (the map uses this too).
  visible(wo, f = this.filters()) {
    if (f.store && wo.store_id !== f.store) return false;
    if (f.region) {
      const store = this.model.stores.get(wo.store_id);
      if (!store || store.region !== f.region) return false;
    }
    if (f.skill && !(wo.required_skills || []).includes(f.skill)) return false;
    return true;
  }

  matches(wo, f) {
    if (!this.visible(wo, f)) return false;
    if (f.status === "unassigned") { if (wo.status !== "new") return false; }
    else if (f.status === "open") { if (!OPEN.has(wo.status)) return false; }
    else if (f.status === "late") { if (!isLate(wo)) return false; }
    else if (f.status && wo.status !== f.status) return false;
    if (f.q) {
      const text = `${wo.id} ${wo.description} ${wo.address} ${wo.store_id}`.toLowerCase();
      if (!text.includes(f.q)) return false;
    }
    return true;
  }

  // Whether a technician passes the store (home store) / region / skill filters (the timeline's
  // rows of technicians without jobs).
  technicianVisible(t, f = this.filters()) {
    if (f.store && t.home_store_id !== f.store) return false;
    if (f.region) {
      const store = this.model.stores.get(t.home_store_id);
      if (!store || store.region !== f.region) return false;
    }
    if (f.skill && !(t.skills || []).includes(f.skill)) return false;
    return true;
  }

  // Fill the store / region / skill pickers from the data the user may see.
  fillPickers() {
    const f = this.form;
    const stores = [...this.model.stores.values()].sort((a, b) => a.name.localeCompare(b.name));
    fill(f.store, stores.map((s) => [s.id, `${s.name} (${s.code})`]), "All stores");
    const regions = [...new Set(stores.map((s) => s.region))].sort();
    fill(f.region, regions.map((r) => [r, r]), "All regions");
    const skills = new Set();
    for (const wo of this.model.workOrders.values()) (wo.required_skills || []).forEach((s) => skills.add(s));
    for (const t of this.model.technicians.values()) (t.skills || []).forEach((s) => skills.add(s));
    fill(f.skill, [...skills].sort().map((s) => [s, s]), "All skills");
  }

  // While a job is dragged (dnd.js) the list stays as it is: rewriting it would drop the row
  // being dragged (which ends the drag) and move rows under the pointer. Rendered on release.
  hold(on) {
    this.held = on;
    if (!on && this.stale) { this.stale = false; this.render(); }
  }

  render() {
    if (this.held) { this.stale = true; return; }
    const f = this.filters();
    const rows = [...this.model.workOrders.values()].filter((wo) => this.matches(wo, f))
      .sort(SORTS[f.sort] || SORTS.priority);
    this.count.textContent = String(rows.length);
    const now = Date.now();
    const items = rows.slice(0, MAX_ROWS).map((wo) => {
      const store = this.model.stores.get(wo.store_id);
      const tech = wo.technician_id ? this.model.technicians.get(wo.technician_id) : null;
      const win = wo.time_window ? `${timeText(wo.time_window.start)}–${timeText(wo.time_window.end)}` : "any time";
      const late = isLate(wo, now) ? " late" : "";
      const sel = wo.id === this.selected ? " selected" : "";
      const drag = this.draggable && MOVABLE.has(wo.status) ? ' draggable="true"' : "";
      return [wo.id, `<li class="job prio-${wo.priority}${late}${sel}" data-order="${escapeHtml(wo.id)}"`
        + ` data-store="${escapeHtml(wo.store_id)}" tabindex="0"${drag}>`
        + `<span class="prio">${wo.priority}</span>`
        + `<span class="what">${escapeHtml(wo.description)}</span>`
        + `<span class="meta">${escapeHtml(wo.id)} · ${escapeHtml(store ? store.name : wo.store_id)}`
        + ` · ${win} · ${ageOf(wo.created_at, now)} old${tech ? ` · ${escapeHtml(tech.name)}` : ""}</span>`
        + `<span class="status st-${wo.status}">${wo.status.replace("_", " ")}</span></li>`];
    });
    if (rows.length > MAX_ROWS) items.push([" more", `<li class="more">… ${rows.length - MAX_ROWS} more: narrow the filters</li>`]);
    if (!items.length) items.push([" empty", `<li class="empty">No work orders match.</li>`]);
    this.rows = patchList(this.list, this.rows || new Map(), items);
  }
}

// Bring a list to `items` ([key, html] in order) keeping the elements of rows whose HTML did not
// change: a new row is laid out in full on its first frame (content-visibility has not skipped it
// yet), so rewriting 300 rows for one changed job cost 30-100 ms of layout. Answers the new
// key -> { html, el } map.
function patchList(list, old, items) {
  const next = new Map();
  const fresh = [];
  for (const [key, html] of items) {
    const had = old.get(key);
    if (had && had.html === html) { next.set(key, had); continue; }
    const row = { html, el: null };
    next.set(key, row);
    fresh.push(row);
  }
  if (fresh.length) {
    const tpl = document.createElement("template");
    tpl.innerHTML = fresh.map((r) => r.html).join("");
    let el = tpl.content.firstElementChild;
    for (const r of fresh) { r.el = el; el = el.nextElementSibling; }
  }
  for (const [key, row] of old) if (next.get(key) !== row) row.el.remove();
  let at = list.firstElementChild;
  for (const row of next.values()) {
    if (row.el === at) { at = at.nextElementSibling; continue; }
    list.insertBefore(row.el, at);
  }
  while (at) { const after = at.nextElementSibling; at.remove(); at = after; }
  return next;
}

const filled = new WeakMap(); // select -> the options' HTML it holds (or will hold)
const waiting = new WeakMap(); // select -> the options it gets when the user reaches it
const LAZY_OPTIONS = 150;

// A long list (2,000 stores) is filled when the user reaches the picker (focus, pointer): put in
// at load, its options cost 50-100 ms of parsing and layout in one task, and appended in slices
// each slice laid them all out again. Until then it holds "All" and the chosen one.
function fill(select, options, allLabel) {
  const parts = options
    .map(([v, label]) => `<option value="${escapeHtml(v)}">${escapeHtml(label)}</option>`);
  const html = `<option value="">${allLabel}</option>` + parts.join("");
  if (filled.get(select) === html) return; // no need to rebuild the same list
  filled.set(select, html);
  const value = select.value;
  if (parts.length <= LAZY_OPTIONS) {
    waiting.delete(select);
    select.innerHTML = html;
  } else {
    const at = value ? options.findIndex(([v]) => v === value) : -1;
    select.innerHTML = `<option value="">${allLabel}</option>${at >= 0 ? parts[at] : ""}`;
    waiting.set(select, html);
    if (!select.dataset.lazy) {
      select.dataset.lazy = "1";
      const now = () => {
        const full = waiting.get(select);
        if (!full) return;
        waiting.delete(select);
        const chosen = select.value;
        select.innerHTML = full;
        select.value = chosen;
      };
      select.addEventListener("focus", now);
      select.addEventListener("pointerdown", now);
    }
  }
  select.value = value;
}
