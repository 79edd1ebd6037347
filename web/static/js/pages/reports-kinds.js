// The four reports of /reports as GET /api/reports/{kind} answers them: their groupings (the first
// is the API's default), the table's columns (exactly the fields of an item, in the API's order)
// and how each value is written (money from integer cents, rates as percentages, null as "—").
import { cents } from "./ui.js";

const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export const NONE = "—";

// How a value of each column kind is written in the table (and the summary).
export const FORMAT = {
  text: (v) => (v === null || v === undefined || v === "" ? NONE : String(v)),
  count: (v) => (typeof v === "number" ? whole.format(v) : NONE),
  money: (v) => (typeof v === "number" ? cents(v) : NONE),
  rate: (v) => (typeof v === "number" ? `${oneDecimal.format(v * 100)}%` : NONE),
  minutes: (v) => (typeof v === "number" ? oneDecimal.format(v) : NONE),
};

export const GROUP_LABELS = {
  day: "Day", week: "Week", month: "Month", hour: "Hour of day", weekday: "Weekday",
  store: "Store", customer: "Customer", service_line: "Service line", technician: "Technician",
};

// Groups whose items are periods (ordered by key; the chart's x axis is time or a cycle).
export const TIME_GROUPS = new Set(["day", "week", "month", "hour", "weekday"]);

export const CHANNELS = [
  { field: "phone", title: "Phone" },
  { field: "partner", title: "Partner" },
  { field: "webhook", title: "Webhook" },
  { field: "emergency", title: "Emergency" },
];

// columns: { field, title, kind } after the first column (the item's label, titled by the group).
export const REPORTS = {
  revenue: {
    title: "Revenue",
    groups: ["day", "week", "month", "store", "customer", "service_line"],
    columns: [
      { field: "invoices", title: "Invoices", kind: "count" },
      { field: "revenue_cents", title: "Revenue", kind: "money" },
    ],
    summary: ["revenue_cents", "invoices"],
    empty: "No invoice was processed",
  },
  sla: {
    title: "Response time & SLA",
    groups: ["day", "week", "month", "store"],
    columns: [
      { field: "jobs", title: "Jobs", kind: "count" },
      { field: "assigned", title: "Assigned", kind: "count" },
      { field: "arrived", title: "Arrived", kind: "count" },
      { field: "avg_minutes_to_assign", title: "Avg min to assign", kind: "minutes" },
      { field: "avg_minutes_to_arrive", title: "Avg min to arrive", kind: "minutes" },
      { field: "with_window", title: "With window", kind: "count" },
      { field: "on_time", title: "On time", kind: "count" },
      { field: "on_time_rate", title: "On-time rate", kind: "rate" },
      { field: "emergencies", title: "Emergencies", kind: "count" },
      { field: "emergency_avg_minutes_to_site", title: "Emergency avg min to site", kind: "minutes" },
    ],
    summary: ["jobs", "on_time_rate", "avg_minutes_to_assign", "avg_minutes_to_arrive"],
    empty: "No job was booked",
  },
  technicians: {
    title: "Technicians",
    groups: ["technician"],
    columns: [
      { field: "store_id", title: "Store", kind: "store" },
      { field: "jobs_completed", title: "Completed", kind: "count" },
      { field: "jobs_failed", title: "Failed", kind: "count" },
      { field: "on_time", title: "On time", kind: "count" },
      { field: "with_window", title: "With window", kind: "count" },
      { field: "on_time_rate", title: "On-time rate", kind: "rate" },
      { field: "first_time_completions", title: "First-time fixes", kind: "count" },
      { field: "first_time_rate", title: "First-time rate", kind: "rate" },
      { field: "drive_minutes", title: "Drive min", kind: "minutes" },
      { field: "on_site_minutes", title: "On-site min", kind: "minutes" },
      { field: "declined", title: "Declined", kind: "count" },
    ],
    summary: ["jobs_completed", "first_time_rate", "on_time_rate", "declined"],
    empty: "No technician finished a job",
  },
  volume: {
    title: "Call volume",
    groups: ["hour", "weekday", "day", "week", "month", "store"],
    columns: [
      ...CHANNELS.map((c) => ({ ...c, kind: "count" })),
      { field: "total", title: "Total", kind: "count" },
    ],
    summary: ["total", "phone", "partner", "webhook", "emergency"],
    empty: "No job was booked",
  },
};

export const KINDS = Object.keys(REPORTS);

// The column of `field` in report `kind` (for the summary's titles and formats).
export function column(kind, field) {
  return REPORTS[kind].columns.find((c) => c.field === field);
}

// A cell's text: `stores` names a technician's store (a store the user may not see keeps its id).
export function cellText(col, value, stores) {
  if (col.kind === "store") return value ? (stores.get(value)?.name || String(value)) : NONE;
  return FORMAT[col.kind](value);
}
