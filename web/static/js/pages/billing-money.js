// Money and dates on the billing screen. Amounts travel and are stored as integer cents; people
// type dollars ("1,250.5", "$25"), read exactly from the text (no floating point on the way).
import { escapeHtml } from "../shared/api.js";

const DOLLARS = /^(\d+)(?:\.(\d{0,2}))?$/;

// { cents } for a typed amount in dollars, or { error } in words.
export function dollarsToCents(text) {
  let clean = String(text ?? "").replace(/[$,\s]/g, "");
  if (clean.startsWith(".")) clean = `0${clean}`;
  if (!clean) return { error: "Type the amount in dollars, e.g. 25.00." };
  const match = DOLLARS.exec(clean);
  if (!match) return { error: "Type the amount in dollars and cents, e.g. 25.00 (at most two decimals)." };
  const cents = Number(match[1]) * 100 + Number((match[2] || "").padEnd(2, "0"));
  if (!Number.isSafeInteger(cents)) return { error: "That amount is too large." };
  return { cents };
}

// "1250.50" for 125050 cents (the value of an amount field).
export function centsToDollars(cents) {
  const n = Math.max(0, Number(cents) || 0);
  return `${Math.floor(n / 100)}.${String(n % 100).padStart(2, "0")}`;
}

const pad = (n) => String(n).padStart(2, "0");

// Today in the browser's zone, as a date field's value.
export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// When a payment dated `value` (YYYY-MM-DD) was received: nothing for today (the server's now),
// else noon of that day in the browser's zone.
export function receivedAt(value) {
  if (!value || value === today()) return undefined;
  const d = new Date(`${value}T12:00`);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

// <option>s of the stores the user sees, "All stores" first.
export function storeOptions(state, selected, { all = "All stores" } = {}) {
  const stores = [...state.stores.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  return `${all === null ? "" : `<option value="">${escapeHtml(all)}</option>`}${stores.map((s) =>
    `<option value="${escapeHtml(s.id)}"${s.id === selected ? " selected" : ""}>${escapeHtml(s.name)}</option>`).join("")}`;
}

export function storeName(state, id) {
  return state.stores.get(id)?.name || id || "—";
}

// <option>s of a fixed list of [value, text] pairs.
export function options(pairs, selected) {
  return pairs.map(([value, text]) =>
    `<option value="${escapeHtml(value)}"${value === selected ? " selected" : ""}>${escapeHtml(text)}</option>`).join("");
}

// The payment status of an invoice, as a tag.
export function paymentTag(status) {
  const words = { unpaid: "unpaid", partly_paid: "partly paid", paid: "paid" };
  return `<span class="tag pay-${escapeHtml(status)}">${escapeHtml(words[status] || status)}</span>`;
}
