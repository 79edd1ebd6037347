// The technician's actions, queued in localStorage with an Idempotency-Key and the device time,
// sent in order when the network allows; a retry whose first attempt did land is recognised
// (the work order already shows the step) and not applied twice.
//
// A completion carries its proof files (`uploads`: hash, type, kind, state); their bytes wait in
// IndexedDB (proof-store.js). They are uploaded first, one by one (PUT by content hash, so a
// repeat is harmless), then the step that names them is sent; the files are removed from the
// phone once the item is settled.
import { api, ApiError, logout, newKey, token } from "./api.js";
import { deleteFile, fileHashes, getFile } from "./proof-store.js";

const KEY = "dispatch.outbox";
export const RESULT = { accept: "accepted", en_route: "en_route", on_site: "on_site",
  complete: "completed", fail: "failed", decline: "new" };
const RETRY = "retry";

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

  // Queue a step on a work order (with the proof files it names, already in IndexedDB); it is
  // sent now if possible.
  add(workOrderId, body, uploads = []) {
    const item = { key: newKey(), id: workOrderId,
      body: { ...body, device_time: new Date().toISOString() }, queued_at: Date.now() };
    if (uploads.length) item.uploads = uploads.map((u) => ({ ...u, state: "waiting" }));
    this.save([...this.items(), item]);
    this.flush();
    return item;
  }

  pendingFor(id) {
    return this.items().filter((i) => i.id === id);
  }

  // Files still to upload, over every queued item.
  filesWaiting() {
    return this.items().flatMap((i) => i.uploads || []).filter((u) => u.state !== "sent").length;
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
        await this.forget(item);
      }
    } finally {
      this.busy = false;
    }
  }

  // Files on the phone that no queued item needs any more (after a crash, or a refused item).
  async sweep() {
    const wanted = new Set(this.items().flatMap((i) => (i.uploads || []).map((u) => u.hash)));
    for (const hash of await fileHashes().catch(() => [])) {
      if (!wanted.has(hash)) await deleteFile(hash).catch(() => {});
    }
  }

  async forget(item) {
    const still = new Set(this.items().flatMap((i) => (i.uploads || []).map((u) => u.hash)));
    for (const u of item.uploads || []) {
      if (!still.has(u.hash)) await deleteFile(u.hash).catch(() => {});
    }
  }

  mark(key, hash, state) {
    this.save(this.items().map((i) => (i.key !== key ? i : {
      ...i, uploads: i.uploads.map((u) => (u.hash === hash ? { ...u, state } : u)) })));
  }

  // PUT one proof file: true when the server holds it, RETRY when it should be tried later,
  // an ApiError when it was refused for good.
  async upload(item, file) {
    const path = `/api/work-orders/${encodeURIComponent(item.id)}/attachments/sha256-${file.hash}`;
    const auth = { Authorization: `Bearer ${token()}` };
    const blob = await getFile(file.hash).catch(() => null);
    let response;
    try {
      response = blob
        ? await fetch(path, { method: "PUT", body: blob, headers: { ...auth, "Content-Type": file.type } })
        : await fetch(path, { headers: auth }); // gone from the phone: maybe it was sent already
    } catch {
      return RETRY; // network down
    }
    if (response.ok) return true;
    if (response.status === 401) { logout(); return RETRY; }
    if (response.status >= 500 || response.status === 429) return RETRY;
    const problem = await response.json().catch(() => null);
    if (!blob) return new ApiError(410, { detail: `the ${file.kind} is no longer on this phone` });
    return new ApiError(response.status, problem);
  }

  // true when the item is settled (applied, already applied, or refused for good).
  async send(item) {
    for (const file of item.uploads || []) {
      if (file.state === "sent") continue;
      this.mark(item.key, file.hash, "sending");
      const result = await this.upload(item, file);
      if (result === RETRY) { this.mark(item.key, file.hash, "waiting"); return false; }
      if (result instanceof ApiError) {
        this.mark(item.key, file.hash, "refused");
        this.onRejected?.(item, result);
        return true;
      }
      this.mark(item.key, file.hash, "sent");
    }
    const path = `/api/work-orders/${encodeURIComponent(item.id)}/status`;
    try {
      const wo = await api(path, { method: "POST", body: item.body,
        headers: { "Idempotency-Key": item.key } });
      this.onApplied?.(wo, item);
      return true;
    } catch (error) {
      if (!(error instanceof ApiError)) return false; // network down
      if (error.status >= 500 || error.status === 429 || error.status === 401) return false;
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
