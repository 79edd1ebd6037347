// On call (those with oncall:view; nobody lands here): who an escalation reaches now, level by
// level, for a store or for system alerts (GET /api/oncall/now); the weekly rota and the overrides
// not over yet. Admins (oncall:manage) add and remove shifts and overrides (POST/DELETE
// /api/oncall/shifts, /api/oncall/overrides; the person must have a phone and may acknowledge)
// and set each person's alert e-mail and quiet hours (PUT /api/oncall/contacts/{id}).
import { api, escapeHtml, fetchAll } from "../shared/api.js";
import { can, permissionAttr } from "../shared/me.js";
import { openScreen } from "../shared/shell.js";
import { say, setStatus, start, table, when } from "./ui.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const LEVELS = { 1: "1 · store", 2: "2 · operations", 3: "3 · admins" };
const root = document.getElementById("screen");
const state = { stores: [], shifts: [], overrides: [], people: [], contacts: [], now: null, store: "" };
window.dispatchOncall = { state }; // for tests and the curious

const storeName = (id) => state.stores.find((s) => s.id === id)?.name || id;
const stores = (ids) => (ids.length ? ids.map(storeName).join(", ") : "every store");
const person = (r) => escapeHtml(r.display_name || r.username || r.user_id);

function storeOptions(selected = "", blank = "") {
  return `${blank ? `<option value="">${escapeHtml(blank)}</option>` : ""}${state.stores.map((s) =>
    `<option value="${escapeHtml(s.id)}"${s.id === selected ? " selected" : ""}>${escapeHtml(s.name)}</option>`).join("")}`;
}

function peopleOptions(blank = "") {
  return `${blank ? `<option value="">${escapeHtml(blank)}</option>` : ""}${state.people.map((p) =>
    `<option value="${escapeHtml(p.id)}">${escapeHtml(p.display_name || p.username)} (${escapeHtml(p.phone)})</option>`).join("")}`;
}

const levelOptions = () => Object.entries(LEVELS).map(([v, t]) => `<option value="${v}">${t}</option>`).join("");

function nowCard() {
  const items = state.now?.items || [];
  return `<section class="card wide oncall-now" aria-labelledby="now-title">
    <h2 id="now-title">On call now</h2>
    <div class="tools"><label>For <select name="store">${storeOptions(state.store, "System alerts (no store)")}</select></label>
      <span class="muted">${state.now ? escapeHtml(when(state.now.at)) : ""}</span></div>
    ${table([
      { title: "Level", cell: (r) => LEVELS[r.level] },
      { title: "Who", cell: (r) => (r.people.length ? r.people.map((p) => `${person(p)} <small class="muted">${escapeHtml(p.phone)}</small>`).join("<br>")
        : (r.fallback_numbers.length ? `<span class="muted">fallback numbers:</span> ${escapeHtml(r.fallback_numbers.join(", "))}`
          : '<span class="muted">the level\'s usual people, by text</span>')), wrap: true },
      { title: "From", cell: (r) => `<span class="tag ${r.source === "none" ? "warn" : "ok"}">${escapeHtml(r.source === "none" ? "nobody on the rota" : r.source)}</span>` },
    ], items, { empty: "Nothing to show." })}
  </section>`;
}

function shiftsCard(manage) {
  return `<section class="card wide oncall-shifts" aria-labelledby="shifts-title">
    <h2 id="shifts-title">Rota <span class="count">${state.shifts.length}</span></h2>
    <p class="note">Weekly shifts in each store's local time; an end before the start runs into the next morning.</p>
    ${table([
      { title: "Level", cell: (r) => LEVELS[r.level] },
      { title: "Who", cell: person },
      { title: "Days", cell: (r) => escapeHtml(r.weekdays.join(" ")) },
      { title: "Hours", cell: (r) => escapeHtml(r.starts === r.ends ? "all day" : `${r.starts}–${r.ends}`) },
      { title: "Stores", cell: (r) => escapeHtml(stores(r.store_ids)), wrap: true },
      { title: "Note", cell: (r) => escapeHtml(r.note || ""), wrap: true },
      ...(manage ? [{ title: "", cell: (r) => `<button type="button" class="remove" data-kind="shifts" data-id="${escapeHtml(r.id)}" ${permissionAttr("oncall:manage")}>Remove</button>` }] : []),
    ], state.shifts, { empty: "No shift yet: escalations reach each level's usual people by text." })}
    ${manage ? `<form class="stack add-shift" aria-label="Add a shift">
      <label>Level <select name="level">${levelOptions()}</select></label>
      <label>Who <select name="user_id" required>${peopleOptions()}</select></label>
      <label>From <input type="time" name="starts" value="08:00" required></label>
      <label>To <input type="time" name="ends" value="18:00" required></label>
      <fieldset class="full days"><legend>Days</legend>${DAYS.map((d) =>
        `<label><input type="checkbox" name="weekdays" value="${d}"${d === "sat" || d === "sun" ? "" : " checked"}> ${d}</label>`).join(" ")}</fieldset>
      <label>Stores (none: every store) <select name="store_ids" multiple size="4">${storeOptions()}</select></label>
      <label>Note <input name="note" maxlength="500"></label>
      <div class="full"><button type="submit" class="primary" ${permissionAttr("oncall:manage")}>Add shift</button></div>
    </form>` : ""}
  </section>`;
}

function overridesCard(manage) {
  return `<section class="card wide oncall-overrides" aria-labelledby="overrides-title">
    <h2 id="overrides-title">Overrides <span class="count">${state.overrides.length}</span></h2>
    <p class="note">A person covering a level for a while: for the whole level, or in place of one person.</p>
    ${table([
      { title: "Level", cell: (r) => LEVELS[r.level] },
      { title: "Who", cell: person },
      { title: "Instead of", cell: (r) => escapeHtml(r.replaces_username || "everyone") },
      { title: "From", cell: (r) => escapeHtml(when(r.starts_at)) },
      { title: "Until", cell: (r) => escapeHtml(when(r.ends_at)) },
      { title: "Stores", cell: (r) => escapeHtml(stores(r.store_ids)), wrap: true },
      { title: "Note", cell: (r) => escapeHtml(r.note || ""), wrap: true },
      ...(manage ? [{ title: "", cell: (r) => `<button type="button" class="remove" data-kind="overrides" data-id="${escapeHtml(r.id)}" ${permissionAttr("oncall:manage")}>Remove</button>` }] : []),
    ], state.overrides, { empty: "No override." })}
    ${manage ? `<form class="stack add-override" aria-label="Add an override">
      <label>Level <select name="level">${levelOptions()}</select></label>
      <label>Who <select name="user_id" required>${peopleOptions()}</select></label>
      <label>Instead of <select name="replaces_user_id">${peopleOptions("everyone on the level")}</select></label>
      <label>From <input type="datetime-local" name="starts_at" required></label>
      <label>Until <input type="datetime-local" name="ends_at" required></label>
      <label>Stores (none: every store) <select name="store_ids" multiple size="4">${storeOptions()}</select></label>
      <label>Note <input name="note" maxlength="500"></label>
      <div class="full"><button type="submit" class="primary" ${permissionAttr("oncall:manage")}>Add override</button></div>
    </form>` : ""}
  </section>`;
}

// Admins: each person's e-mail for alert mail and quiet hours (warnings wait them out).
function contactsCard() {
  const quiet = (c) => (c.quiet_starts ? `${c.quiet_starts}–${c.quiet_ends}${c.timezone ? ` ${c.timezone}` : ""}` : "—");
  return `<section class="card wide oncall-contacts" aria-labelledby="contacts-title">
    <h2 id="contacts-title">Contact and quiet hours</h2>
    <p class="note">Alerts that are not critical wait until a person's quiet hours are over; critical ones never do.</p>
    ${table([
      { title: "Who", cell: person },
      { title: "E-mail", cell: (c) => escapeHtml(c.email || "—") },
      { title: "Quiet hours", cell: (c) => escapeHtml(quiet(c)) },
    ], state.contacts, { empty: "Nobody with a phone yet." })}
    <form class="stack set-contact" aria-label="Set contact and quiet hours">
      <label>Who <select name="user_id" required>${peopleOptions()}</select></label>
      <label>E-mail <input type="email" name="email" maxlength="254"></label>
      <label>Quiet from <input type="time" name="quiet_starts"></label>
      <label>Until <input type="time" name="quiet_ends"></label>
      <label>Time zone (empty: the store's) <input name="timezone" maxlength="64" placeholder="America/Chicago"></label>
      <div class="full"><button type="submit" class="primary" ${permissionAttr("oncall:manage")}>Save</button></div>
    </form>
  </section>`;
}

async function setContact(form) {
  const f = form.elements;
  try {
    await api(`/api/oncall/contacts/${encodeURIComponent(f.user_id.value)}`, { method: "PUT", body: {
      email: f.email.value.trim(), quiet_starts: f.quiet_starts.value || null,
      quiet_ends: f.quiet_ends.value || null, timezone: f.timezone.value.trim() } });
    await reload();
    render(["Contact saved."]);
  } catch (error) {
    say(root, error.message, "error");
  }
}

function render(message) {
  const manage = can("oncall:manage");
  root.innerHTML = `${nowCard()}<p class="message wide" role="status"></p>${shiftsCard(manage)}${overridesCard(manage)}${manage ? contactsCard() : ""}`;
  root.querySelector("select[name=store]").onchange = async (e) => { state.store = e.target.value; await loadNow(); render(); };
  root.querySelectorAll("button.remove").forEach((b) => { b.onclick = () => remove(b.dataset.kind, b.dataset.id); });
  root.querySelector("form.add-shift")?.addEventListener("submit", (e) => { e.preventDefault(); addShift(e.target); });
  root.querySelector("form.add-override")?.addEventListener("submit", (e) => { e.preventDefault(); addOverride(e.target); });
  root.querySelector("form.set-contact")?.addEventListener("submit", (e) => { e.preventDefault(); setContact(e.target); });
  if (message) say(root, ...message);
}

const picked = (select) => [...select.selectedOptions].map((o) => o.value).filter(Boolean);
const instant = (value) => new Date(value).toISOString(); // the browser's local time, as an instant

async function send(what, path, body) {
  try {
    await api(path, { method: "POST", body });
    await reload();
    render([`${what} added.`]);
  } catch (error) {
    say(root, error.message, "error");
  }
}

function addShift(form) {
  const f = form.elements;
  return send("Shift", "/api/oncall/shifts", {
    level: Number(f.level.value), user_id: f.user_id.value, starts: f.starts.value, ends: f.ends.value,
    weekdays: [...form.querySelectorAll("input[name=weekdays]:checked")].map((i) => i.value),
    store_ids: picked(f.store_ids), note: f.note.value });
}

function addOverride(form) {
  const f = form.elements;
  if (!f.starts_at.value || !f.ends_at.value) return say(root, "Say from when until when.", "error");
  return send("Override", "/api/oncall/overrides", {
    level: Number(f.level.value), user_id: f.user_id.value, replaces_user_id: f.replaces_user_id.value || null,
    starts_at: instant(f.starts_at.value), ends_at: instant(f.ends_at.value), store_ids: picked(f.store_ids),
    note: f.note.value });
}

async function remove(kind, id) {
  try {
    await api(`/api/oncall/${kind}/${encodeURIComponent(id)}`, { method: "DELETE" });
    await reload();
    render([kind === "shifts" ? "Shift removed." : "Override removed."]);
  } catch (error) {
    say(root, error.message, "error");
  }
}

async function loadNow() {
  state.now = await api(`/api/oncall/now${state.store ? `?store_id=${encodeURIComponent(state.store)}` : ""}`);
}

async function reload() {
  [state.shifts, state.overrides] = await Promise.all([fetchAll("/api/oncall/shifts"), fetchAll("/api/oncall/overrides")]);
  if (can("oncall:manage")) state.contacts = await fetchAll("/api/oncall/contacts");
  await loadNow();
}

start(async () => {
  const me = await openScreen("/oncall");
  state.stores = (await fetchAll("/api/stores")).sort((a, b) => String(a.name).localeCompare(String(b.name)));
  if (Array.isArray(me.store_ids) && me.store_ids.length) state.store = me.store_ids[0];
  if (can("oncall:manage")) state.people = await fetchAll("/api/oncall/people");
  await reload();
  render();
  setStatus("");
});
