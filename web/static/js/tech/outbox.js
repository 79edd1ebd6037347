// The technician's actions, queued in localStorage (kept when the app is closed, like the proof
// files in IndexedDB) with an Idempotency-Key and the device time, sent in order when the network
// allows; a retry whose first attempt did land is recognised (the work order already shows the
// step) and not applied twice.
//
// A completion carries its proof files (`uploads`: hash, type, kind, state); their bytes wait in
// IndexedDB (proof-store.js). They are uploaded first, one by one (PUT by content hash, so a
// repeat is harmless), then the step that names them is sent; the files are removed from the
// phone once the item is settled.
//
// Each item carries the id of the user who queued it (`user`); the queue shows and sends only the
// signed-in user's items (storage.js removes the others when someone else signs in).
import { api, ApiError, logout, newKey, token } from "../shared/api.js";
import { deleteFile, fileHashes, getFile } from "./proof-store.js";
import { OUTBOX_KEY as KEY } from "./storage.js";

export const RESULT = { accept: "accepted", en_route: "en_route", on_site: "on_site",
  complete: "completed", fail: "failed", decline: "new" };
const RETRY = "retry";
// A request the network never answers (a phone between cells) would hold the queue for as long
// as the browser waits on it, minutes: a step is given up after 15 s, a proof file (a photo over
// a slow link) after 5 minutes, and sent again at the next flush (its Idempotency-Key and the
// upload's content hash make a repeat harmless).
const STEP_TIMEOUT_MS = 15_000;
const UPLOAD_TIMEOUT_MS = 300_000;

export class Outbox {
  constructor({ onApplied, onRejected, onChange }) {
    this.onApplied = onApplied;
    this.onRejected = onRejected;
    this.onChange = onChange;
    this.user = null;     // set once the signed-in user is known: nothing is read or sent before
    this.running = null;  // the flush in progress
    this.closed = false;  // signing out: nothing more is sent or saved
    addEventListener("online", () => this.flush());
    setInterval(() => this.flush(), 15_000);
  }

  items() {
    if (!this.user) return [];
    try {
      const all = JSON.parse(localStorage.getItem(KEY) || "[]");
      return Array.isArray(all) ? all.filter((i) => i && i.user === this.user) : [];
    } catch {
      return [];
    }
  }

  save(items) {
    if (this.closed) return;
    if (items.length) localStorage.setItem(KEY, JSON.stringify(items));
    else localStorage.removeItem(KEY);
    this.onChange?.(items);
  }

  // Queue a step on a work order (with the proof files it names, already in IndexedDB); it is
  // sent now if possible.
  add(workOrderId, body, uploads = []) {
    if (!this.user || this.closed) throw new Error("nobody is signed in");
    const item = { key: newKey(), user: this.user, id: workOrderId,
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

  // Send what is queued, in order, until the queue is empty or the network fails; answers when
  // done (a flush already running is joined, not doubled). Two tabs of the app (the home-screen
  // app and a browser tab) take turns: the queue is read afresh under a lock they share.
  flush() {
    if (!this.running) {
      const send = () => this.sendAll();
      const turn = navigator.locks ? navigator.locks.request("dispatch.outbox", send) : send();
      this.running = turn.finally(() => { this.running = null; });
    }
    return this.running;
  }

  async sendAll() {
    for (;;) {
      if (this.closed) return;
      const [item] = this.items();
      if (!item) return;
      const done = await this.send(item);
      if (!done || this.closed) return; // offline: keep it, try later
      this.save(this.items().filter((i) => i.key !== item.key));
      await this.forget(item);
    }
  }

  // Before sign-out: wait for a flush in progress, try once more, and answer what is still
  // waiting ({ steps, files }).
  async drain() {
    await this.running;
    if (this.items().length) await this.flush();
    return { steps: this.items().length, files: this.filesWaiting() };
  }

  // Sign-out: stop sending and saving (the queue is about to be removed).
  close() {
    this.closed = true;
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
        ? await fetch(path, { method: "PUT", body: blob, signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
                              headers: { ...auth, "Content-Type": file.type } })
        : await fetch(path, { headers: auth, signal: AbortSignal.timeout(STEP_TIMEOUT_MS) }); // gone from the phone: maybe it was sent already
    } catch {
      return RETRY; // network down
    }
    if (response.ok) return true;
    if (response.status === 401) { logout({ revoke: false }); return RETRY; }
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
      const wo = await api(path, { method: "POST", body: item.body, timeoutMs: STEP_TIMEOUT_MS,
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
