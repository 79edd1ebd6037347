// One job's changes, the same on the board's job panel and on the customer's page (/service): edit
// (priority, minutes, window, skills, what is wrong, address, and on the board a new place picked on
// the live map), reschedule (the window alone) with PATCH and If-Match (the version seen), cancel
// with a reason. Shown only with work_order:edit / work_order:cancel, and only while the job's
// status allows it.
import { api, escapeHtml } from "./api.js";
import { can, permissionAttr } from "./me.js";
import { localInput, PRIORITIES, restore, skillsOf, valuesOf, windowOf } from "./booking.js";

export const EDITABLE = new Set(["new", "assigned", "accepted", "en_route", "on_site"]);
export const CANCELLABLE = new Set(["new", "assigned", "accepted", "en_route"]);

export function mayEdit(job) {
  return can("work_order:edit") && EDITABLE.has(job.status);
}

export function mayCancel(job) {
  return can("work_order:cancel") && CANCELLABLE.has(job.status);
}

export function editForm(job, { pickable = false } = {}) {
  return `<form class="stack job-form edit-job"><h4 class="full">Edit or reschedule</h4>
    <label>Priority <select name="priority">${PRIORITIES.map((p) => `<option${p === job.priority ? " selected" : ""}>${p}</option>`).join("")}</select></label>
    <label>Minutes <input name="minutes" type="number" min="1" max="1440" value="${job.estimated_minutes}"></label>
    <label>From <input name="start" type="datetime-local" value="${localInput(job.time_window?.start)}"></label>
    <label>To <input name="end" type="datetime-local" value="${localInput(job.time_window?.end)}"></label>
    <label>Skills <input name="skills" maxlength="200" value="${escapeHtml((job.required_skills || []).join(", "))}"></label>
    <label class="full">What is wrong <input name="description" required maxlength="500" value="${escapeHtml(job.description)}"></label>
    <label class="full">Address <input name="address" maxlength="300" value="${escapeHtml(job.address || "")}"></label>
    ${pickable ? `<p class="full place-line">Place: <span class="place-text">${job.location.lat.toFixed(5)}, ${job.location.lon.toFixed(5)}</span>
      <input type="hidden" name="lat"><input type="hidden" name="lon">
      <button type="button" class="link pick-on-map">Pick a new place on the map</button></p>` : ""}
    <div class="full"><button class="primary" type="submit" ${permissionAttr("work_order:edit")}>Save changes</button></div></form>`;
}

export function rescheduleForm(job) {
  return `<form class="stack job-form reschedule-job"><h4 class="full">Reschedule</h4>
    <label>From <input name="start" type="datetime-local" required value="${localInput(job.time_window?.start)}"></label>
    <label>To <input name="end" type="datetime-local" required value="${localInput(job.time_window?.end)}"></label>
    <div class="full"><button class="primary" type="submit" ${permissionAttr("work_order:edit")}>Reschedule</button></div></form>`;
}

export function cancelForm() {
  return `<form class="stack job-form cancel-job"><h4 class="full">Cancel the job</h4>
    <label class="full">Reason <input name="reason" required maxlength="500" placeholder="Why the job is cancelled"></label>
    <div class="full"><button class="danger" type="submit" ${permissionAttr("work_order:cancel")}>Cancel the job</button></div></form>`;
}

async function patch(job, body) {
  return api(`/api/work-orders/${encodeURIComponent(job.id)}`, { method: "PATCH", body,
    headers: { "If-Match": `"${job.version}"` } });
}

// Each answers the job as it is now and a sentence saying what happened.
export async function saveEdit(form, job) {
  const body = { priority: form.priority.value, description: form.description.value.trim(),
    estimated_minutes: Number(form.minutes.value) || job.estimated_minutes,
    address: form.address.value.trim(), required_skills: skillsOf(form.skills.value) };
  const window = windowOf(form);
  if (window) body.time_window = window;
  if (form.lat?.value && form.lon?.value) body.location = { lat: Number(form.lat.value), lon: Number(form.lon.value) };
  const saved = await patch(job, body);
  return [saved, saved.time_window ? `Saved: ${new Date(saved.time_window.start).toLocaleString()} – ${new Date(saved.time_window.end).toLocaleString()}.` : "Saved."];
}

export async function saveReschedule(form, job) {
  const window = windowOf(form);
  if (!window) throw new Error("give the new window's start and end");
  const saved = await patch(job, { time_window: window });
  return [saved, `Rescheduled: ${new Date(window.start).toLocaleString()} – ${new Date(window.end).toLocaleString()}.`];
}

export async function cancelJob(form, job) {
  const saved = await api(`/api/work-orders/${encodeURIComponent(job.id)}/cancel`, { method: "POST",
    body: { reason: form.reason.value.trim(), version: job.version } });
  return [saved, `Cancelled: ${saved.status_reason}`];
}

// Wire a job's forms inside `root`: `done(job, text)` after a change, `failed(error)` otherwise;
// `pick(callback)` (optional) arms a map click for the edit form's new place.
export function wireJobForms(root, job, { done, failed, pick = null }) {
  const forms = [["form.edit-job", saveEdit], ["form.reschedule-job", saveReschedule], ["form.cancel-job", cancelJob]];
  for (const [selector, work] of forms) {
    const form = root.querySelector(selector);
    if (!form) continue;
    form.onsubmit = async (e) => {
      e.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const [saved, text] = await work(form, job);
        done(saved, text);
      } catch (error) {
        button.disabled = false;
        failed(error);
      }
    };
  }
  const edit = root.querySelector("form.edit-job");
  const picker = edit?.querySelector(".pick-on-map");
  if (picker && pick) {
    picker.onclick = () => pick((lat, lon) => {
      edit.lat.value = String(lat);
      edit.lon.value = String(lon);
      edit.querySelector(".place-text").textContent = pickedText(lat, lon);
    });
  }
}

// Put back what was typed (`formValues` before a re-render), a new place picked included.
export function restoreForms(root, values) {
  for (const [selector, kept] of Object.entries(values || {})) {
    const form = root.querySelector(selector);
    if (!form) continue;
    restore(form, kept);
    if (form.lat?.value && form.lon?.value) {
      form.querySelector(".place-text").textContent = pickedText(Number(form.lat.value), Number(form.lon.value));
    }
  }
}

function pickedText(lat, lon) {
  return `${lat.toFixed(5)}, ${lon.toFixed(5)} (picked on the map; saved with the changes)`;
}

export function formValues(root) {
  return Object.fromEntries([...root.querySelectorAll("form.job-form")]
    .map((f) => [`form.${[...f.classList].find((c) => c.endsWith("-job"))}`, valuesOf(f)]));
}

