// Alerts panel (placeholder): lists open alerts from the live snapshot and alert events. There is
// no REST alerts endpoint yet, so acknowledging is not offered.
import { escapeHtml } from "./api.js";

export class Alerts {
  constructor(root) {
    this.root = root;
    this.list = root.querySelector("ul");
    this.count = root.querySelector(".alert-count");
  }

  render(model) {
    const open = [...model.alerts.values()].filter((a) => !a.acknowledged_at && a.status !== "closed");
    this.count.textContent = String(open.length);
    this.root.classList.toggle("has-alerts", open.length > 0);
    this.list.innerHTML = open.slice(0, 50).map((a) => `<li class="sev-${escapeHtml(a.severity || "info")}">`
      + `${escapeHtml(a.title || a.message || a.kind || a.id)}</li>`).join("")
      || '<li class="empty">No open alerts.</li>';
  }

  flash() {
    this.root.classList.remove("flash");
    void this.root.offsetWidth;
    this.root.classList.add("flash");
  }
}
