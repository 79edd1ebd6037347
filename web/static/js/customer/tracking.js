// The customer's tracking page: polls the public /api/track/<token> (no login) and shows the
// job's status, the technician's first name, the ETA, the van while on the way, the updates.
// A 404 (expired or unknown link) clears everything shown.
import config from "/config.js";

const token = decodeURIComponent(location.pathname.split("/").pop() || "");
const $ = (id) => document.getElementById(id);
let map = null;
let vanMarker = null;
let homeMarker = null;
let timer = null;
let stopped = false;

function showMap(view) {
  const home = [view.destination.lat, view.destination.lon];
  if (map === null) {
    map = L.map($("map"), { zoomControl: true, attributionControl: false }).setView(home, 14);
    if (config.tileUrl) L.tileLayer(config.tileUrl, { maxZoom: 19 }).addTo(map);
    homeMarker = L.circleMarker(home, { radius: 9, color: "#0b5cad", fillOpacity: 0.8 })
      .addTo(map).bindTooltip("Your address");
  }
  homeMarker.setLatLng(home);
  if (view.van) {
    const at = [view.van.lat, view.van.lon];
    if (vanMarker === null) {
      vanMarker = L.circleMarker(at, { radius: 8, color: "#16794a", fillOpacity: 0.9 })
        .addTo(map).bindTooltip("The van");
      map.fitBounds(L.latLngBounds([home, at]).pad(0.3), { maxZoom: 15 });
    }
    vanMarker.setLatLng(at);
  } else if (vanMarker !== null) {
    vanMarker.remove();
    vanMarker = null;
  }
}

function render(view) {
  const status = $("status");
  status.textContent = view.status_text;
  status.dataset.status = view.status;
  $("technician").textContent = view.technician || "Not assigned yet";
  $("eta").textContent = view.eta_text || "\u2013";
  $("window").textContent = view.window_text;
  const list = $("messages");
  const items = view.messages.map((m) => {
    const li = document.createElement("li");
    li.dataset.kind = m.kind;
    const when = document.createElement("time");
    when.dateTime = m.at;
    when.textContent = m.at_text; // the store's local time, like the texts
    li.append(when, document.createTextNode(m.text));
    return li;
  });
  list.replaceChildren(...items);
  showMap(view);
}

function gone() {
  stopped = true;
  for (const id of ["status", "technician", "eta", "window"]) $(id).textContent = "";
  $("status").dataset.status = "gone";
  $("messages").replaceChildren();
  if (map !== null) { map.remove(); map = null; }
  $("map").hidden = true;
  $("gone").hidden = false;
}

// A request the network never answers (a phone between cells) would stop the page for as long
// as the browser waits for it, minutes: it is given up after this long and asked again.
const REQUEST_TIMEOUT_MS = 10_000;

async function poll() {
  let delay = 1000;
  try {
    const response = await fetch(`/api/track/${encodeURIComponent(token)}`,
                                 { cache: "no-store", credentials: "omit",
                                   signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (response.status === 404) { gone(); return; }
    if (response.ok) {
      const view = await response.json();
      render(view);
      delay = view.poll_seconds * 1000;
    } else {
      delay = 5000;
    }
  } catch (error) {
    delay = 5000; // offline, or no answer in time: try again a little later
  }
  schedule(document.hidden ? Math.max(delay, 15000) : delay);
}

function schedule(delay) {
  clearTimeout(timer);
  if (!stopped) timer = setTimeout(poll, delay);
}

document.addEventListener("visibilitychange", () => { if (!document.hidden) schedule(0); });
poll();
