// "Who should take this?": the top technicians for one job (GET /api/work-orders/{id}/candidates)
// with ETA, added drive, lateness risk and the constraints that bind; one click assigns.
import { api, escapeHtml } from "../shared/api.js";
import { timeText } from "../shared/model.js";

const BINDING = {
  time_window: "tight window", shift_end: "near shift end", next_job_window: "next job's window tight",
  capacity: "route nearly full", skills: "has the skills",
};

export async function fetchCandidates(workOrderId, k = 5) {
  const r = await api(`/api/work-orders/${encodeURIComponent(workOrderId)}/candidates?k=${k}`);
  return r.items || [];
}

function minutes(seconds) {
  const m = Math.round(seconds / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

// One candidate as a list row; `assign` true (the user may assign) shows the Assign button.
function row(c, i, assign) {
  const reasons = [];
  if (c.currently_assigned) reasons.push("already on their route");
  if (c.lateness_seconds > 0) reasons.push(`${minutes(c.lateness_seconds)} late`);
  else reasons.push(`${minutes(c.slack_seconds)} to spare`);
  for (const b of c.binding || []) reasons.push(BINDING[b] || b.replace(/_/g, " "));
  return `<li class="cand" data-technician="${escapeHtml(c.technician_id)}">
    <span class="rank">${i + 1}</span>
    <div class="who"><b>${escapeHtml(c.name)}</b> <small>${escapeHtml(c.technician_id)}</small>
      <div class="nums"><span title="Estimated arrival">ETA <b>${timeText(c.eta)}</b></span>
      <span title="Added driving">+${c.added_drive_km.toFixed(1)} km · +${minutes(c.added_drive_seconds)}</span>
      <span class="risk risk-${escapeHtml(c.lateness_risk)}" title="Lateness risk">${escapeHtml(c.lateness_risk)} risk</span></div>
      <div class="reasons">${reasons.map(escapeHtml).join(" · ")}</div></div>
    ${assign && !c.currently_assigned ? `<button type="button" class="primary take" data-permission="work_order:assign" data-technician="${escapeHtml(c.technician_id)}">Assign</button>` : ""}
  </li>`;
}

// The list (or a loading / empty / error line) into `root`; onAssign(technicianId) per click.
export function renderCandidates(root, state, onAssign) {
  if (!state) { root.innerHTML = ""; return; }
  if (state.loading) { root.innerHTML = '<p class="muted">Finding technicians…</p>'; return; }
  if (state.error) { root.innerHTML = `<p class="message error">${escapeHtml(state.error)}</p>`; return; }
  const items = state.items || [];
  root.innerHTML = items.length
    ? `<ol class="candidates">${items.map((c, i) => row(c, i, Boolean(onAssign))).join("")}</ol>`
    : '<p class="muted">No technician can take this job now.</p>';
  root.querySelectorAll("button.take").forEach((b) => {
    b.onclick = () => { b.disabled = true; onAssign(b.dataset.technician); };
  });
}
