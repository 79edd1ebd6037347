// The technician's job cards: the day's route in order, with the next step's buttons.
import { escapeHtml } from "../shared/api.js";
import { OPEN, PRIORITY_RANK, timeText } from "../shared/model.js";

const STEP_LABEL = { accept: "Accept", decline: "Decline", en_route: "En route",
  on_site: "On site", complete: "Done", fail: "Could not finish" };

// The steps a technician may take from a status (the first is the main one).
export function nextSteps(status) {
  switch (status) {
    case "assigned": return ["accept", "decline"];
    case "accepted": return ["en_route", "decline"];
    case "en_route": return ["on_site", "fail"];
    case "on_site": return ["complete", "fail"];
    default: return [];
  }
}

export function ordered(workOrders) {
  return [...workOrders].filter((wo) => OPEN.has(wo.status) && wo.status !== "new")
    .sort((a, b) => (a.sequence ?? 1e9) - (b.sequence ?? 1e9)
      || (a.planned_arrival || "9").localeCompare(b.planned_arrival || "9")
      || PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority]
      || a.created_at.localeCompare(b.created_at));
}

function navLinks(wo) {
  const { lat, lon } = wo.location;
  const dest = encodeURIComponent(`${lat},${lon}`);
  return `<a class="nav" href="https://www.google.com/maps/dir/?api=1&destination=${dest}" target="_blank" rel="noopener">Navigate</a>`
    + `<a class="nav geo" href="geo:${lat},${lon}?q=${lat},${lon}">Open in maps app</a>`;
}

const FILE_STATE = { waiting: "waiting", sending: "uploading…", sent: "uploaded", refused: "refused" };

// Thumbnails of the proof files a queued step will send, each with its upload state; the
// pictures are filled in from the phone's storage after rendering (proof-store.js fillThumbs).
export function proofThumbs(pending) {
  const files = pending.flatMap((p) => p.uploads || []);
  if (!files.length) return "";
  return `<ul class="proof-thumbs queued-files">${files.map((f) => `<li class="proof-thumb" data-state="${escapeHtml(f.state)}">
    <img data-hash="${escapeHtml(f.hash)}" alt="${escapeHtml(f.kind)}">
    <span class="up-kind">${escapeHtml(f.kind)}</span>
    <span class="up-state">${FILE_STATE[f.state] || escapeHtml(f.state)}</span></li>`).join("")}</ul>`;
}

export function jobCard(wo, index, pending, fresh) {
  const win = wo.time_window ? `${timeText(wo.time_window.start)}–${timeText(wo.time_window.end)}` : "any time";
  const queued = pending.length
    ? `<p class="queued">${pending.map((p) => STEP_LABEL[p.body.step]).join(", ")} — waiting for network</p>${proofThumbs(pending)}` : "";
  const steps = pending.length ? [] : nextSteps(wo.status);
  const buttons = steps.map((s, i) => `<button type="button" class="${i === 0 ? "primary" : ""} step-${s}" data-step="${s}" data-permission="work_order:work">${STEP_LABEL[s]}</button>`).join("");
  return `<li class="card prio-${wo.priority}${fresh ? " fresh" : ""}" data-order="${escapeHtml(wo.id)}" data-status="${wo.status}">
    <div class="card-head"><span class="num">${index + 1}</span>
      <span class="badge prio-${wo.priority}">${wo.priority}</span>
      <span class="status st-${wo.status}">${wo.status.replace("_", " ")}</span></div>
    <h2>${escapeHtml(wo.description)}</h2>
    <p class="addr">${escapeHtml(wo.address || `${wo.location.lat}, ${wo.location.lon}`)}</p>
    <p class="meta">${escapeHtml(wo.id)} · window ${win} · ${wo.estimated_minutes} min${wo.planned_arrival ? ` · ETA ${timeText(wo.planned_arrival)}` : ""}</p>
    <p class="links">${navLinks(wo)}</p>
    ${queued}
    <div class="actions">${buttons}</div>
  </li>`;
}
