// The records screen's form helpers: local date and time <-> ISO instants, and rule errors in words
// next to the field they concern. Problem bodies (RFC 9457) name the field in `field` (a domain
// rule, e.g. 409 unit_double_booked) or in `errors[].field` (validation, e.g. "body.unit").
import { escapeHtml } from "../shared/api.js";

const WORDS = {
  unit_double_booked: "This unit already has a dispatch at that date and time: pick another unit or time.",
  trip_ticket_in_use: "Another dispatch already uses this trip ticket.",
  invalid_unit: "This unit does not exist or is outside your stores.",
  invoice_already_linked: "Another dispatch already holds this invoice.",
  invoice_already_attached: "This invoice is already on this dispatch.",
};

const pad = (n) => String(n).padStart(2, "0");

// "2026-12-09T10:30" (the browser's time zone) for an ISO instant.
export function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// The ISO instant of a datetime-local or date value (a date: its first or last moment).
export function instant(value, { endOfDay = false } = {}) {
  if (!value) return "";
  const local = value.length === 10 ? `${value}T${endOfDay ? "23:59:59.999" : "00:00"}` : value;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

// A full date and time in the user's locale.
export function fullWhen(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit" });
}

// A labelled input (html) with its error slot: errors land in `.field-error[data-field=name]`.
export function field(title, name, control) {
  return `<label>${escapeHtml(title)} ${control}<small class="field-error" data-field="${escapeHtml(name)}" role="alert" hidden></small></label>`;
}

export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((slot) => { slot.hidden = true; slot.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const message = form.querySelector(".message");
  if (message) { message.textContent = ""; message.className = "message"; }
}

function sentence(text) {
  const s = String(text || "").trim();
  return s ? s.charAt(0).toUpperCase() + s.slice(1) : "";
}

// Show `error` (an ApiError) in `form`: beside each field it names, the rest in its message line.
export function showProblem(form, error) {
  clearErrors(form);
  const problem = error?.problem || {};
  const items = Array.isArray(problem.errors) && problem.errors.length
    ? problem.errors.map((e) => ({ field: e.field, text: e.message }))
    : [{ field: problem.field, text: WORDS[problem.code] || problem.detail || error?.message }];
  const rest = [];
  for (const item of items) {
    const name = String(item.field || "").split(".").pop();
    const slot = name ? form.querySelector(`.field-error[data-field="${CSS.escape(name)}"]`) : null;
    if (!slot) { rest.push(sentence(item.text)); continue; }
    slot.textContent = sentence(item.text);
    slot.hidden = false;
    slot.parentElement.querySelector("input, select")?.setAttribute("aria-invalid", "true");
  }
  const message = form.querySelector(".message");
  if (message && rest.length) { message.className = "message error"; message.textContent = rest.join(" "); }
}
