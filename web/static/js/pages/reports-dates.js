// Dates of the report range: local calendar days as "YYYY-MM-DD" strings (the API's `from` and
// `to`), the presets counted back from the app's today, and the dates written for people.
export const PRESETS = [
  { id: "7d", label: "Last 7 days" },
  { id: "30d", label: "Last 30 days" },
  { id: "month", label: "This month" },
  { id: "12m", label: "Last 12 months" },
];

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const longDate = new Intl.DateTimeFormat(undefined, { timeZone: "UTC", month: "short", day: "numeric", year: "numeric" });

export function isDay(value) {
  return DAY.test(String(value || ""));
}

function parse(day) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

function iso(date) {
  return date.toISOString().slice(0, 10);
}

function addDays(day, days) {
  const date = parse(day);
  date.setUTCDate(date.getUTCDate() + days);
  return iso(date);
}

// [from, to] of preset `id` ending on `today` (inclusive on both ends).
export function presetRange(id, today) {
  const t = parse(today);
  if (id === "7d") return [addDays(today, -6), today];
  if (id === "30d") return [addDays(today, -29), today];
  if (id === "month") return [`${today.slice(0, 7)}-01`, today];
  if (id === "12m") return [iso(new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() - 11, 1))), today];
  throw new Error(`unknown preset ${id}`);
}

// The preset that gives exactly [from, to], if any.
export function presetOf(from, to, today) {
  if (!today || to !== today) return null;
  return PRESETS.find((p) => presetRange(p.id, today)[0] === from)?.id || null;
}

// "Nov 3, 2026" for "2026-11-03" (the text itself when it is not a day).
export function dayText(day) {
  return isDay(day) ? longDate.format(parse(day)) : String(day || "");
}

export function rangeText(from, to) {
  return from === to ? dayText(from) : `${dayText(from)} – ${dayText(to)}`;
}
