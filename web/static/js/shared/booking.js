// Booking a job: the same form on the customer service screen (/service) and on the board (/); a
// job's changes are in job-edit.js. A booking names a known customer (found by name, phone,
// address or order number) or a walk-in, the store, priority, time window, skills, minutes and
// what is wrong; its place is
// the customer's saved address, a click on a map (the board's live map, or a small map in the
// form), or the address look-up when the server has a geocoder (GET /api/geocoder says so).
// Each action shows only with the permission its endpoint declares (me.js).
import config from "/config.js";
import { api, escapeHtml, newKey } from "./api.js";
import { can, permissionAttr } from "./me.js";

const L = window.L;
export const PRIORITIES = ["emergency", "high", "normal", "low"];
const BOOK = ["work_order:create", "emergency:create"];
const HOW = { customer: "the customer's saved address", store: "the store (no address saved yet)",
  map: "picked on the map", lookup: "found by the address look-up" };

let geocoder = null;
// Whether the server has an address look-up (asked once; only by those who may book).
export function geocoderConfigured() {
  if (!can("work_order:create")) return Promise.resolve(false);
  geocoder ??= api("/api/geocoder").then((g) => Boolean(g.configured), () => false);
  return geocoder;
}

// An instant as a datetime-local value (the browser's time zone), and back.
export function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function toIso(value) {
  return value ? new Date(value).toISOString() : null;
}

export function windowOf(form) {
  const start = toIso(form.start.value);
  const end = toIso(form.end.value);
  return start && end ? { start, end } : null;
}

export function skillsOf(text) {
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

function placeText(place) {
  return place ? `${place.lat.toFixed(5)}, ${place.lon.toFixed(5)} (${HOW[place.how]})` : "none yet";
}

// The form's values by name, to keep what was typed across a re-render.
export function valuesOf(form) {
  return form ? Object.fromEntries([...form.elements].filter((e) => e.name && e.type !== "submit")
    .map((e) => [e.name, e.value])) : {};
}

export function restore(form, values, skip = []) {
  for (const [name, value] of Object.entries(values)) {
    const el = form.elements[name];
    if (el && !skip.includes(name) && !el.readOnly) el.value = value;
  }
}

export class BookingForm {
  // root: the element the form lives in (it keeps a `.message`). options: stores() -> [store],
  // skills() -> [skill]; map: a Leaflet map whose next click picks the place (the board), else a
  // small map in the form; find: offer the customer search in the form; onBooked(job, store).
  constructor(root, { stores, skills = () => [], map = null, find = true, onBooked = () => {} }) {
    Object.assign(this, { root, stores, skills, map, find, onBooked });
    this.customer = null;
    this.place = null;
    this.found = [];
    this.layer = null;
    this.inline = null;
    this.lookup = false;
    this.closed = false;
    geocoderConfigured().then((on) => { this.lookup = on; this.root.querySelector(".geocode")?.toggleAttribute("hidden", !on); });
  }

  setCustomer(customer) {
    this.customer = customer;
    this.found = [];
    this.place = customer?.location ? { ...customer.location, how: "customer" } : null;
    this.render();
  }

  store(id) {
    return this.stores().find((s) => s.id === id) || null;
  }

  // Draw the form; `keep`: what was typed stays (not after a booking).
  render(keep = true) {
    const before = keep ? valuesOf(this.root.querySelector("form.new-job")) : {};
    const c = this.customer;
    const stores = [...this.stores()].sort((a, b) => a.name.localeCompare(b.name));
    const priorities = can("work_order:create") ? PRIORITIES : ["emergency"];
    const who = c ? `<label class="full">Customer <input name="customer" value="${escapeHtml(c.name)}" readonly></label>
        <p class="full muted customer-line">${escapeHtml([c.phone, c.address].filter(Boolean).join(" · "))}
          <button type="button" class="link walk-in">Book for a walk-in instead</button></p>`
      : `${this.find ? `<div class="full find-customer"><label>Find a customer <input name="find" type="search"
          placeholder="Name, phone, address or order number"></label>
          <button type="button" class="find" ${permissionAttr(...BOOK)}>Find</button>
          <ul class="found">${this.found.map((f) => `<li><button type="button" class="link pick-customer" data-customer="${escapeHtml(f.id)}">${escapeHtml(f.name)}</button>
            <span class="muted">${escapeHtml([f.phone, f.address].filter(Boolean).join(" · "))}</span></li>`).join("")}</ul></div>` : ""}
        <label>Customer <input name="customer" maxlength="200" placeholder="Walk-in: the customer's name"></label>
        <label>Phone <input name="phone" type="tel" maxlength="32" placeholder="+1…"></label>`;
    const home = c?.home_store_id || before.store_id || "";
    this.root.innerHTML = `<form class="stack new-job job-form" autocomplete="off">${who}
      <label>Store <select name="store_id" required>${stores.map((s) => `<option value="${escapeHtml(s.id)}"${s.id === home ? " selected" : ""}>${escapeHtml(s.name)}</option>`).join("")}</select></label>
      <label>Priority <select name="priority">${priorities.map((p) => `<option${p === "normal" ? " selected" : ""}>${p}</option>`).join("")}</select></label>
      <label>Minutes <input name="minutes" type="number" min="5" max="720" value="60"></label>
      <label>From <input name="start" type="datetime-local"></label>
      <label>To <input name="end" type="datetime-local"></label>
      <label>Skills <input name="skills" list="booking-skills" placeholder="plumbing, electrical" maxlength="200"></label>
      <datalist id="booking-skills">${this.skills().map((s) => `<option value="${escapeHtml(s)}">`).join("")}</datalist>
      <label class="full">What is wrong <input name="description" required maxlength="500"></label>
      <label class="full">Address <input name="address" value="${escapeHtml(c?.address || "")}" maxlength="300"></label>
      <div class="full place"><p class="place-line">Place: <span class="place-text"></span></p>
        <div class="row">${c?.location ? `<button type="button" class="link use-customer">Use the customer's address</button>` : ""}
          ${this.map ? `<button type="button" class="link pick-on-map">Pick the place on the map</button>` : '<span class="muted">Click the map to move the place.</span>'}</div>
        <div class="geocode"${this.lookup ? "" : " hidden"}><label>Look up an address <input name="lookup" type="search" maxlength="200"></label>
          <button type="button" class="look-up" ${permissionAttr("work_order:create")}>Look up</button><ul class="places"></ul></div>
        ${this.map ? "" : '<div class="pick-map-slot"></div>'}</div>
      <div class="full"><button class="primary" type="submit" ${permissionAttr(...BOOK)}>Book the job</button></div>
    </form><p class="message" role="status" hidden></p>`;
    const form = this.root.querySelector("form");
    restore(form, before, ["customer", "phone", "address", "store_id"]);
    this.wire(form);
    if (!this.place) this.setPlace(this.storePlace(form));
    else this.setPlace(this.place);
  }

  storePlace(form) {
    const loc = this.store(form.store_id.value)?.location;
    return loc ? { lat: loc.lat, lon: loc.lon, how: "store" } : null;
  }

  wire(form) {
    form.onsubmit = (e) => { e.preventDefault(); this.book(form); };
    form.store_id.onchange = () => { if (!this.place || this.place.how === "store") this.setPlace(this.storePlace(form)); };
    this.root.querySelector(".walk-in")?.addEventListener("click", () => this.setCustomer(null));
    this.root.querySelector(".use-customer")?.addEventListener("click", () => this.setPlace({ ...this.customer.location, how: "customer" }));
    this.root.querySelector(".pick-on-map")?.addEventListener("click", () => this.armMap());
    const find = this.root.querySelector("button.find");
    if (find) {
      const go = () => this.findCustomers(form.find.value.trim());
      find.onclick = go;
      form.find.onkeydown = (e) => { if (e.key === "Enter") { e.preventDefault(); go(); } };
    }
    this.root.querySelectorAll(".pick-customer").forEach((b) => {
      b.onclick = () => this.setCustomer(this.found.find((f) => f.id === b.dataset.customer) || null);
    });
    const look = this.root.querySelector(".look-up");
    look.onclick = () => this.lookUp(form);
    form.lookup.onkeydown = (e) => { if (e.key === "Enter") { e.preventDefault(); this.lookUp(form); } };
    this.mountInlineMap();
  }

  async findCustomers(q) {
    if (!q) return;
    try {
      this.found = (await api(`/api/customers?${new URLSearchParams({ q, limit: "10" })}`)).items;
      const typed = this.root.querySelector("[name=find]")?.value;
      this.render();
      this.root.querySelector("[name=find]").value = typed || q;
      if (!this.found.length) this.say("No customer matches: book for a walk-in below.", "warn");
    } catch (error) {
      this.say(error.message, "error");
    }
  }

  async lookUp(form) {
    const q = form.lookup.value.trim();
    const list = this.root.querySelector(".places");
    if (q.length < 3) { this.say("Type at least 3 characters of the address.", "warn"); return; }
    try {
      const found = await api(`/api/geocode?${new URLSearchParams({ q, limit: "5" })}`);
      list.innerHTML = found.items.map((p, i) => `<li><button type="button" class="link use-place" data-i="${i}">${escapeHtml(p.label)}</button></li>`).join("")
        + `<li class="muted attribution">${escapeHtml(found.attribution)}</li>`;
      list.querySelectorAll(".use-place").forEach((b) => {
        b.onclick = () => {
          const p = found.items[Number(b.dataset.i)];
          if (!form.address.value.trim()) form.address.value = p.label.slice(0, 300);
          this.setPlace({ ...p.location, how: "lookup" });
          list.innerHTML = "";
        };
      });
      if (!found.items.length) this.say("The look-up found no such address: pick the place on the map.", "warn");
    } catch (error) {
      this.say(`${error.message}`, "error");
    }
  }

  setPlace(place) {
    this.place = place;
    const text = this.root.querySelector(".place-text");
    if (text) text.textContent = placeText(place);
    const map = this.map || this.inline;
    if (!map || !place) return;
    this.layer ??= L.layerGroup().addTo(map);
    this.layer.clearLayers();
    L.circleMarker([place.lat, place.lon], { radius: 9, color: "#7c3aed", weight: 3, fillOpacity: 0.35 })
      .addTo(this.layer).bindTooltip("The new job");
    if (this.inline) this.inline.setView([place.lat, place.lon], Math.max(this.inline.getZoom(), 12), { animate: false });
  }

  // The board: the live map's next click picks the place.
  armMap() {
    const element = this.map.getContainer();
    element.classList.add("drawing");
    this.say("Click the map where the job is.", "info");
    this.map.once("click", (e) => {
      element.classList.remove("drawing");
      this.setPlace({ lat: e.latlng.lat, lon: e.latlng.lng, how: "map" });
      this.say("Place picked.", "ok");
    });
  }

  // The service screen: a small map in the form (made once, kept across re-renders), with the
  // stores for bearings.
  mountInlineMap() {
    const slot = this.root.querySelector(".pick-map-slot");
    if (!slot || !L) return;
    if (this.inline) {
      slot.replaceWith(this.inline.getContainer());
      this.inline.invalidateSize({ animate: false });
      return;
    }
    const el = document.createElement("div");
    el.className = "pick-map";
    el.setAttribute("aria-label", "Map: click to pick the place");
    slot.replaceWith(el);
    const at = this.place || this.stores()[0]?.location || { lat: 32.85, lon: -96.95 };
    this.inline = L.map(el, { zoomControl: true, attributionControl: false, zoomAnimation: false,
      fadeAnimation: false, markerZoomAnimation: false }).setView([at.lat, at.lon], 11);
    if (config.tileUrl) {
      L.tileLayer(config.tileUrl, { maxZoom: 19 }).addTo(this.inline)
        .on("tileerror", () => el.classList.add("tiles-missing"));
    } else {
      el.classList.add("tiles-missing");
    }
    const dots = L.canvas({ padding: 0.2 });
    for (const s of this.stores()) {
      if (s.location) L.circleMarker([s.location.lat, s.location.lon], { renderer: dots, radius: 3, color: "#64748b", weight: 1 }).addTo(this.inline);
    }
    this.inline.on("click", (e) => this.setPlace({ lat: e.latlng.lat, lon: e.latlng.lng, how: "map" }));
  }

  close() {
    this.closed = true;
    this.layer?.clearLayers();
    this.map?.getContainer().classList.remove("drawing");
  }

  say(text, kind = "ok") {
    const el = this.root.querySelector(".message");
    if (!el) return;
    el.hidden = false;
    el.className = `message ${kind}`;
    el.textContent = text;
  }

  // After the form's element was moved in the page: the small map measures itself again.
  refresh() {
    this.inline?.invalidateSize({ animate: false });
  }

  body(form) {
    const store = this.store(form.store_id.value);
    const place = this.place || store?.location;
    const body = { store_id: form.store_id.value, priority: form.priority.value,
      description: form.description.value.trim(), address: form.address.value.trim(),
      estimated_minutes: Number(form.minutes.value) || 60, location: { lat: place.lat, lon: place.lon } };
    const window = windowOf(form);
    if (window) body.time_window = window;
    const skills = skillsOf(form.skills.value);
    if (skills.length) body.required_skills = skills;
    if (this.customer) body.customer_id = this.customer.id;
    else if (form.customer.value.trim()) {
      body.customer_name = form.customer.value.trim();
      if (form.phone.value.trim()) body.customer_phone = form.phone.value.trim();
    }
    return body;
  }

  async book(form) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const store = this.store(form.store_id.value);
      const job = await api("/api/work-orders", { method: "POST", body: this.body(form),
        headers: { "Idempotency-Key": newKey() } });
      await this.onBooked(job, store);
      if (this.closed) return;
      this.place = this.customer?.location ? { ...this.customer.location, how: "customer" } : null;
      this.render(false);
      this.say(`Booked ${job.id} (${job.priority}) at ${store?.name || job.store_id}.`, "ok");
    } catch (error) {
      button.disabled = false;
      this.say(error.message, "error");
    }
  }
}
