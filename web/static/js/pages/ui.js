// Small pieces the role screens share: formatting (money is integer cents), a table from columns
// and rows, the load status line, and a status message.
import { escapeHtml } from "../shared/api.js";

const money = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD" });

export function cents(value) {
  return typeof value === "number" ? money.format(value / 100) : "—";
}

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function label(value) {
  return String(value ?? "").replace(/_/g, " ");
}

// columns: [{ title, cell(row) -> html, num?, wrap? }]; rows: objects. Cells are HTML: escape!
export function table(columns, rows, { empty = "Nothing to show.", rowAttrs = () => "" } = {}) {
  if (!rows.length) return `<p class="muted">${escapeHtml(empty)}</p>`;
  const cls = (c) => [c.num ? "num" : "", c.wrap ? "wrap" : ""].filter(Boolean).join(" ");
  return `<div class="table-wrap"><table class="rows"><thead><tr>${columns.map((c) =>
    `<th class="${cls(c)}">${escapeHtml(c.title)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) =>
    `<tr ${rowAttrs(r)}>${columns.map((c) => `<td class="${cls(c)}">${c.cell(r)}</td>`).join("")}</tr>`).join("")}
    </tbody></table></div>`;
}

export function setStatus(text) {
  const el = document.getElementById("load-status");
  if (el) el.textContent = text;
}

export function say(root, text, kind = "ok") {
  const el = root.querySelector(".message");
  if (!el) return;
  el.className = `message ${kind}`;
  el.textContent = text;
}

// Run a screen's main(); an error says so in the top bar (and the console).
export function start(main) {
  main().catch((error) => {
    console.error(error);
    setStatus(`Error: ${error?.message || error}`);
  });
}
