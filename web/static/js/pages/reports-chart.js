// The chart of a report, drawn by uPlot (the global `uPlot` of /vendor/uplot/uPlot.iife.js, loaded
// by reports.html before the modules). The x axis is the items in the table's order, one slot per
// item, labelled with the item's label (a period for time groups, a store, customer or technician
// otherwise): revenue in dollars, SLA jobs with the on-time rate as a line on a second axis (0-100 %),
// technicians' completed and failed jobs side by side, call volume stacked by channel.
import { CHANNELS, FORMAT, TIME_GROUPS } from "./reports-kinds.js";

const HEIGHT = 320;
const COLORS = {
  accent: "#2563eb", ok: "#16a34a", bad: "#dc2626", muted: "#94a3b8",
  phone: "#2563eb", partner: "#7c3aed", webhook: "#0891b2", emergency: "#dc2626",
};
const compactMoney = new Intl.NumberFormat(undefined, {
  style: "currency", currency: "USD", notation: "compact", maximumFractionDigits: 1 });
const compactCount = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

let plot = null;
let observer = null;

function fade(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// Bars (a zero is given as null: no bar, rather than a line on the axis that reads as a value).
function bars(color, { align = 0, size = 0.7, width = 1 } = {}) {
  return {
    stroke: color, fill: fade(color, 0.75), width, points: { show: false },
    paths: uPlot.paths.bars({ size: [size, 64], align }),
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// A period's short name under its bar (the table has the long label): "Nov 3", "W45", "Nov 2026".
function axisLabel(group, item) {
  const key = String(item.key);
  if (group === "day" && /^\d{4}-\d{2}-\d{2}$/.test(key)) return `${MONTHS[Number(key.slice(5, 7)) - 1]} ${Number(key.slice(8))}`;
  if (group === "week" && /^\d{4}-W\d{2}$/.test(key)) return `W${Number(key.slice(6))}`;
  if (group === "month" && /^\d{4}-\d{2}$/.test(key)) return `${MONTHS[Number(key.slice(5)) - 1]} ${key.slice(0, 4)}`;
  return String(item.label ?? key);
}

// Labels that fit below the bars: level when they fit their slot, else (names) slanted, and only
// every n-th when even that would overlap; long names shortened.
const CHAR_PX = 7; // about a character of the axis font (12px)
const SLANT = 35;

function xAxis(labels, category) {
  const shown = labels.map((l) => (l.length > 18 ? `${l.slice(0, 17)}…` : l));
  const widest = Math.max(1, ...shown.map((l) => l.length)) * CHAR_PX + 14;
  const slot = (u) => u.bbox.width / devicePixelRatio / Math.max(1, labels.length);
  const slanted = (u) => category && slot(u) < widest;
  return {
    scale: "x", grid: { show: false },
    rotate: (u) => (slanted(u) ? SLANT : 0),
    size: (u, values) => {
      if (!values || !u.axes[0]._rotate) return 40;
      const longest = Math.max(1, ...values.map((v) => String(v).length)) * CHAR_PX;
      return Math.ceil(longest * Math.sin(SLANT * Math.PI / 180)) + 30;
    },
    splits: (u) => {
      const need = slanted(u) ? 16 : widest;
      const step = Math.max(1, Math.ceil(need / Math.max(1, slot(u))));
      return labels.map((_, i) => i).filter((i) => i % step === 0);
    },
    values: (u, splits) => splits.map((i) => shown[i] ?? ""),
  };
}

// A round top for a count or money axis (1, 1.2, 1.5, 2 … 8 times a power of ten) above `max`.
function roundTop(max) {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  const step = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((m) => m * power >= max);
  return step * power;
}

function yAxis(format, { scale = "y", side = 3, grid = true } = {}) {
  return { scale, side, size: 64, grid: { show: grid, stroke: "#e2e8f0", width: 1 },
    values: (u, splits) => splits.map((v) => format(v)) };
}

const fromZero = (u, min, max) => [0, roundTop(max * 1.04)];

// The series (after x) and axes of one report.
function design(kind, items, category) {
  const value = (field, kindOfValue) => (u, v, s, i) => (i == null ? "—" : FORMAT[kindOfValue](items[i][field]));
  if (kind === "revenue") {
    return {
      data: [items.map((r) => r.revenue_cents / 100 || null)],
      series: [{ label: "Revenue", ...bars(COLORS.accent), value: value("revenue_cents", "money") }],
      axes: [yAxis((v) => compactMoney.format(v))],
    };
  }
  if (kind === "sla") {
    const rate = { label: "On-time rate", scale: "rate", stroke: COLORS.ok, width: 2,
      points: { show: true, size: 7, fill: COLORS.ok }, spanGaps: !category, value: value("on_time_rate", "rate") };
    if (category) rate.paths = () => null; // categories are not a sequence: points only
    return {
      data: [items.map((r) => r.jobs || null), items.map((r) => r.on_time_rate)],
      series: [{ label: "Jobs", ...bars(COLORS.accent), value: value("jobs", "count") }, rate],
      axes: [yAxis((v) => compactCount.format(v)),
        yAxis((v) => `${Math.round(v * 100)}%`, { scale: "rate", side: 1, grid: false })],
      scales: { rate: { range: [0, 1] } },
    };
  }
  if (kind === "technicians") {
    return {
      data: [items.map((r) => r.jobs_completed || null), items.map((r) => r.jobs_failed || null)],
      series: [
        { label: "Completed", ...bars(COLORS.ok, { align: -1, size: 0.8 }), value: value("jobs_completed", "count") },
        { label: "Failed", ...bars(COLORS.bad, { align: 1, size: 0.8 }), value: value("jobs_failed", "count") },
      ],
      axes: [yAxis((v) => compactCount.format(v))],
    };
  }
  // volume: stacked by overdrawing, the tallest (every channel) first and phone last, at the bottom
  const stacked = [...CHANNELS].reverse().map((_, n) => {
    const below = CHANNELS.slice(0, CHANNELS.length - n);
    return items.map((r) => below.reduce((sum, c) => sum + (r[c.field] || 0), 0) || null);
  });
  return {
    data: stacked,
    series: [...CHANNELS].reverse().map((c) => ({
      label: c.title, ...bars(COLORS[c.field], { width: 0 }), value: value(c.field, "count") })),
    axes: [yAxis((v) => compactCount.format(v))],
  };
}

export function clearChart() {
  observer?.disconnect();
  observer = null;
  plot?.destroy();
  plot = null;
}

// Draw the report's items in `el` (replacing the chart that was there).
export function drawChart(el, { kind, group, items, groupLabel = "" }) {
  clearChart();
  el.replaceChildren();
  if (!items.length || typeof uPlot !== "function") return;
  const category = !TIME_GROUPS.has(group);
  const labels = items.map((r) => String(r.label ?? r.key));
  const ticks = items.map((r) => axisLabel(group, r));
  const d = design(kind, items, category);
  const width = Math.max(280, el.clientWidth);
  const opts = {
    width, height: HEIGHT,
    scales: { x: { time: false, range: () => [-0.5, items.length - 0.5] },
      y: { range: fromZero }, ...d.scales },
    series: [{ label: groupLabel, value: (u, v) => (v == null ? "" : labels[v] ?? "") }, ...d.series],
    axes: [xAxis(ticks, category), ...d.axes],
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    legend: { live: true },
  };
  plot = new uPlot(opts, [items.map((_, i) => i), ...d.data], el);
  observer = new ResizeObserver(() => {
    const w = Math.max(280, el.clientWidth);
    if (plot && Math.abs(plot.width - w) > 1) plot.setSize({ width: w, height: HEIGHT });
  });
  observer.observe(el);
}
