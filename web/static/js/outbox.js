// The technician's actions, queued in localStorage with an Idempotency-Key and the device time,
// sent in order when the network allows; a retry whose first attempt did land is recognised
// (the work order already shows the step) and not applied twice.
import { api, ApiError, newKey } from "./api.js";

const KEY = "dispatch.outbox";
export const RESULT = { accept: "accepted", en_route: "en_route", on_site: "on_site",
  complete: "completed", fail: "failed", decline: "new" };

export class Outbox {
  constructor({ onApplied, onRejected, onChange }) {
    this.onApplied = onApplied;
    this.onRejected = onRejected;
    this.onChange = onChange;
    this.busy = false;
    addEventListener("online", () => this.flush());
    setInterval(() => this.flush(), 15_000);
  }

  items() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch { return []; }
  }

  save(items) {
    localStorage.setItem(KEY, JSON.stringify(items));
    this.onChange?.(items);
  }

  // Queue a step on a work order; it is sent now if possible.
  add(workOrderId, body) {
    const item = { key: newKey(), id: workOrderId,
      body: { ...body, device_time: new Date().toISOString() }, queued_at: Date.now() };
    this.save([...this.items(), item]);
    this.flush();
    return item;
  }

  pendingFor(id) {
    return this.items().filter((i) => i.id === id);
  }

  async flush() {
    if (this.busy) return;
    this.busy = true;
    try {
      for (;;) {
        const [item] = this.items();
        if (!item) break;
        const done = await this.send(item);
        if (!done) break; // offline: keep it, try later
        this.save(this.items().filter((i) => i.key !== item.key));
      }
    } finally {
      this.busy = false;
    }
  }

  // true when the item is settled (applied, already applied, or refused for good).
  async send(item) {
    const path = `/api/work-orders/${encodeURIComponent(item.id)}/status`;
    try {
      const wo = await api(path, { method: "POST", body: item.body,
        headers: { "Idempotency-Key": item.key } });
      this.onApplied?.(wo, item);
      return true;
    } catch (error) {
      if (!(error instanceof ApiError)) return false; // network down
      if (error.status >= 500 || error.status === 429) return false;
      if (error.status === 409) {
        // Did an earlier attempt land? Then the work order already shows the step.
        const current = error.problem.current || await api(`/api/work-orders/${encodeURIComponent(item.id)}`).catch(() => null);
        if (current && current.status === RESULT[item.body.step]) {
          this.onApplied?.(current, item);
          return true;
        }
      }
      this.onRejected?.(item, error);
      return true;
    }
  }
}
