// Fleet (fleet managers land here): every unit (van) with its technician, GeoTab device and how
// fresh its tracker is, live from the board stream (snapshot, then positions); for those who may
// manage units, taking a van out of service and back (PATCH /api/units/{id}).
import { api, escapeHtml, fetchAll } from "../shared/api.js";
import { can, permissionAttr } from "../shared/me.js";
import { openScreen } from "../shared/shell.js";
import { bindIndicator, Live } from "../shared/live.js";
import { ageText, freshness, Model } from "../shared/model.js";
import { say, setStatus, start, table } from "./ui.js";

const LOOKS = ["moving", "stopped", "stale", "offline"];
const root = document.getElementById("screen");
const model = new Model();
const state = { units: [], filter: "" };
window.dispatchFleet = { model, state }; // for tests and the curious

// The newest fix of each unit: its technician's, else one reported by the unit itself.
function fixes() {
  const byUnit = new Map();
  for (const t of model.technicians.values()) {
    if (t.unit_id && model.positions.has(t.id)) byUnit.set(t.unit_id, model.positions.get(t.id));
  }
  for (const p of model.positions.values()) {
    if (p.unit_id && !byUnit.has(p.unit_id)) byUnit.set(p.unit_id, p);
  }
  return byUnit;
}

function render() {
  const now = Date.now();
  const byUnit = fixes();
  const driver = new Map([...model.technicians.values()].filter((t) => t.unit_id).map((t) => [t.unit_id, t]));
  const rows = state.units.map((u) => {
    const fix = byUnit.get(u.id);
    const look = !u.geotab_device_id && !fix ? "none" : freshness(fix, now).look;
    return { u, fix, look, tech: driver.get(u.id) };
  });
  const counts = Object.fromEntries(LOOKS.map((l) => [l, rows.filter((r) => r.look === l).length]));
  const shown = rows.filter((r) => !state.filter || r.look === state.filter
    || (state.filter === "out" && !r.u.in_service));
  const manage = can("unit:manage");
  root.innerHTML = `<section class="card wide units"><h2>Units <span class="count">${state.units.length}</span></h2>
    <div class="tools"><label>Show <select name="filter">
      <option value="">All units</option>${LOOKS.map((l) => `<option value="${l}"${l === state.filter ? " selected" : ""}>${l} (${counts[l]})</option>`).join("")}
      <option value="out"${state.filter === "out" ? " selected" : ""}>out of service</option></select></label>
      <span class="spacer"></span><span class="muted">Trackers: ${LOOKS.map((l) => `<span class="tag ${l}">${counts[l]} ${l}</span>`).join(" ")}</span></div>
    <p class="message" role="status"></p>
    ${table([
      { title: "Unit", cell: (r) => `${escapeHtml(r.u.name)} <small class="muted">${escapeHtml(r.u.id)}</small>` },
      { title: "Plate", cell: (r) => escapeHtml(r.u.plate || "—") },
      { title: "Model", cell: (r) => escapeHtml(r.u.model || "—") },
      { title: "Home store", cell: (r) => escapeHtml(model.stores.get(r.u.home_store_id)?.name || r.u.home_store_id) },
      { title: "Technician", cell: (r) => escapeHtml(r.tech ? `${r.tech.name} · ${r.tech.status}` : "—") },
      { title: "GeoTab device", cell: (r) => escapeHtml(r.u.geotab_device_id || "none") },
      { title: "Tracker", cell: (r) => (r.look === "none" ? '<span class="tag">no tracker</span>'
        : `<span class="tag ${r.look}">${escapeHtml(r.fix ? r.look : "no position yet")}</span>`) },
      { title: "Last fix", cell: (r) => (r.fix?.at ? escapeHtml(ageText(r.fix, now).replace(/^ · /, "")) : "—") },
      { title: "In service", cell: (r) => (r.u.in_service ? "yes" : '<span class="tag bad">out</span>') },
      ...(manage ? [{ title: "", cell: (r) => `<button type="button" class="service" ${permissionAttr("unit:manage")} data-unit="${escapeHtml(r.u.id)}">${r.u.in_service ? "Take out of service" : "Return to service"}</button>` }] : []),
    ], shown, { empty: "No unit here." })}
  </section>`;
  root.querySelector("select[name=filter]").onchange = (e) => { state.filter = e.target.value; render(); };
  root.querySelectorAll("button.service").forEach((b) => { b.onclick = () => toggleService(b); });
}

async function toggleService(button) {
  const unit = state.units.find((u) => u.id === button.dataset.unit);
  button.disabled = true;
  try {
    const updated = await api(`/api/units/${encodeURIComponent(unit.id)}`, {
      method: "PATCH", body: { in_service: !unit.in_service }, headers: { "If-Match": `"${unit.version}"` } });
    state.units = state.units.map((u) => (u.id === updated.id ? updated : u));
    render();
    say(root, `${updated.name} is ${updated.in_service ? "back in service" : "out of service"}.`);
  } catch (error) {
    render();
    say(root, error.message, "error");
  }
}

start(async () => {
  await openScreen("/fleet");
  const [stores, technicians, units] = await Promise.all([
    fetchAll("/api/stores"), fetchAll("/api/technicians", { active: "true" }), fetchAll("/api/units"),
  ]);
  model.setStores(stores);
  technicians.forEach((t) => model.applyTechnician(t));
  state.units = units.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  render();
  setStatus("");
  let timer = 0; // positions stream in: redraw at most once a second
  model.subscribe((changed) => {
    if (!changed.positions.size && !changed.technicians.size) return;
    if (!timer) timer = setTimeout(() => { timer = 0; render(); }, 1000);
  });
  if (can("board:view")) {
    new Live(["board"], {
      onState: bindIndicator(document.getElementById("connection")),
      onSnapshot: (msg) => model.applySnapshot(msg),
      onEvent: (msg) => model.applyEvent(msg),
      onPositions: (items) => model.applyPositions(items),
      onError: (msg) => console.warn("ws error", msg.code, msg.message),
    }).start();
  } else {
    document.getElementById("connection").hidden = true; // no live stream: the REST view only
  }
  setInterval(render, 30_000); // ages
});
