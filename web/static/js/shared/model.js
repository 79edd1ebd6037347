// The live state of the board, the technician view and the fleet screen: stores, technicians,
// work orders and positions, updated idempotently (a snapshot is applied only when its version is
// newer than the one held).
import { yieldToMain } from "./chunks.js";

export const OPEN = new Set(["new", "assigned", "accepted", "en_route", "on_site"]);
// Statuses in which a job can still be assigned or reassigned.
export const MOVABLE = new Set(["new", "assigned", "accepted"]);
export const PRIORITY_RANK = { emergency: 0, high: 1, normal: 2, low: 3 };

// Run fn once on the next animation frame, or after 250 ms when frames do not come (a hidden
// tab gets no frames; its model must still be current when it is shown).
export function nextFrame(fn) {
  let done = false;
  const run = () => { if (!done) { done = true; fn(); } };
  requestAnimationFrame(run);
  setTimeout(run, 250);
}

export class Model {
  constructor() {
    this.stores = new Map();
    this.technicians = new Map();
    this.workOrders = new Map();
    this.positions = new Map();   // technician id (or unit id) -> newest fix
    this.alerts = new Map();
    this.proposals = new Map();   // id -> proposal (open ones, and the ones this tab acted on)
    this.listeners = new Set();
    this.changed = { workOrders: new Set(), technicians: new Set(), positions: new Set(),
      stores: false, alerts: false, proposals: new Set() };
    this.scheduled = false;
    this.inbox = [];      // snapshots and the events behind them, applied in order (applySnapshot)
    this.sliceMs = 8;
  }

  subscribe(fn) { this.listeners.add(fn); }

  // Listeners run once per animation frame with what changed since the last run.
  notify() {
    if (this.scheduled) return;
    this.scheduled = true;
    nextFrame(() => {
      this.scheduled = false;
      const changed = this.changed;
      this.changed = { workOrders: new Set(), technicians: new Set(), positions: new Set(),
        stores: false, alerts: false, proposals: new Set() };
      for (const fn of this.listeners) fn(changed);
    });
  }

  setStores(items) {
    for (const s of items) {
      const held = this.stores.get(s.id);
      if (held && sameFields(held, s)) continue; // a snapshot repeats every store
      this.stores.set(s.id, s);
      this.changed.stores = true;
    }
    this.notify();
  }

  // `live`: the snapshot comes from an event, delivered in seq order; an equal version is then
  // applied too (a duplicate is harmless, and an event may carry the version it was taken at).
  applyWorkOrder(wo, live = false) {
    if (!wo || !wo.id) return false;
    const held = this.workOrders.get(wo.id);
    const have = held ? (held.version ?? 0) : -1;
    const got = wo.version ?? 0;
    if (got < have || (got === have && (!live || sameOrder(held, wo)))) return false;
    this.workOrders.set(wo.id, wo);
    this.changed.workOrders.add(wo.id);
    this.notify();
    return true;
  }

  // A comment event carries the comment alone and the version it made: add it to the held copy
  // (so the version the board sends with its next change is current).
  applyComment({ work_order_id: id, version, comment }) {
    const held = this.workOrders.get(id);
    if (!held || !comment || (held.version ?? 0) >= (version ?? 0)) return false;
    this.workOrders.set(id, { ...held, version, comments: [...(held.comments || []), comment] });
    this.changed.workOrders.add(id);
    this.notify();
    return true;
  }

  applyTechnician(tech) {
    if (!tech || !tech.id) return false;
    const held = this.technicians.get(tech.id);
    if (held && (held.version ?? 0) > (tech.version ?? 0)) return false;
    if (tech.position) this.applyPositions([{ ...tech.position, technician_id: tech.id,
      unit_id: tech.unit_id }]);
    // A snapshot repeats every technician: an unchanged one does not redraw the board.
    if (held && sameTechnician(held, tech)) return false;
    const merged = { ...held, ...tech };
    this.technicians.set(tech.id, merged);
    this.changed.technicians.add(tech.id);
    this.notify();
    return true;
  }

  applyPositions(items) {
    for (const p of items) {
      const key = p.technician_id || p.unit_id;
      if (!key || typeof p.lat !== "number" || typeof p.lon !== "number") continue;
      const held = this.positions.get(key);
      if (held && held.at && p.at && (held.at > p.at
        || (held.at === p.at && held.freshness === p.freshness))) continue; // older, or the same
      this.positions.set(key, p);
      this.changed.positions.add(key);
    }
    this.notify();
  }

  // An alert snapshot (snapshot, event or REST answer): newer versions win; resolved ones leave.
  applyAlert(alert) {
    if (!alert || !alert.id) return false;
    const held = this.alerts.get(alert.id);
    if (held && (held.version ?? 0) > (alert.version ?? 0)) return false;
    if (held && sameFields(held, alert)) return false; // a snapshot repeats every alert
    this.alerts.set(alert.id, alert);
    this.changed.alerts = true;
    this.notify();
    return true;
  }

  // A proposal snapshot (from REST or an event): newer versions win.
  applyProposal(p) {
    if (!p || !p.id) return false;
    const held = this.proposals.get(p.id);
    if (held && (held.version ?? 0) > (p.version ?? 0)) return false;
    this.proposals.set(p.id, { ...held, ...p });
    this.changed.proposals.add(p.id);
    this.notify();
    return true;
  }

  // A snapshot (after the REST load: every store, technician and open job again) is applied in
  // slices of a few ms that yield between them, so that it never makes one long task; entries
  // equal to what is held change nothing. Events that arrive meanwhile wait behind it (they follow
  // it in seq order). Answers a promise of the end of the drain.
  applySnapshot(msg) {
    this.inbox.push({ snapshot: msg });
    return this.drain();
  }

  applyEvent(msg) {
    if (this.inbox.length) this.inbox.push({ event: msg });
    else this.applyEventNow(msg);
  }

  drain() {
    if (!this.draining) {
      this.draining = (async () => {
        await yieldToMain(); // not in the task that received (and parsed) the snapshot
        while (this.inbox.length) {
          const item = this.inbox[0];
          try {
            if (item.snapshot) await this.applySnapshotSliced(item.snapshot);
            else this.applyEventNow(item.event);
          } catch (error) {
            console.error(error); // one bad message must not hold up the ones behind it
          }
          this.inbox.shift();
        }
      })().finally(() => { this.draining = null; });
    }
    return this.draining;
  }

  async applySnapshotSliced(msg) {
    let deadline = performance.now() + this.sliceMs;
    let n = 0;
    const each = async (items, fn) => {
      for (const item of items) {
        fn(item);
        if (++n % 8 === 0 && performance.now() > deadline) {
          await yieldToMain();
          deadline = performance.now() + this.sliceMs;
        }
      }
    };
    if (msg.stores) await each(msg.stores, (s) => this.setStores([s]));
    await each(msg.technicians || [], (t) => this.applyTechnician(t));
    const open = new Set();
    await each(msg.work_orders || [], (wo) => { open.add(wo.id); this.applyWorkOrder(wo); });
    // Open orders we hold that the snapshot no longer lists closed while we were away: refresh
    // them on the next REST read; meanwhile they leave the open views.
    if (msg.work_orders) {
      await each([...this.workOrders.keys()], (id) => {
        const wo = this.workOrders.get(id);
        if (wo && OPEN.has(wo.status) && !open.has(id)) {
          this.workOrders.delete(id);
          this.changed.workOrders.add(id);
        }
      });
    }
    if (msg.alerts) {
      // Live alerts the snapshot no longer lists were resolved while we were away.
      const live = new Set(msg.alerts.map((a) => a.id));
      for (const [id, a] of this.alerts) {
        if (a.status !== "resolved" && !live.has(id)) { this.alerts.delete(id); this.changed.alerts = true; }
      }
    }
    await each(msg.alerts || [], (a) => this.applyAlert(a));
    await each(msg.proposals || [], (p) => this.applyProposal(p));
    this.notify();
  }

  applyEventNow(msg) {
    const d = msg.data || {};
    if (d.work_order) this.applyWorkOrder(d.work_order, true);
    else if (d.comment && d.work_order_id) this.applyComment(d);
    if (d.technician) this.applyTechnician(d.technician);
    if (d.store) this.setStores([d.store]);
    if (d.alert) this.applyAlert(d.alert);
    if (d.proposal) this.applyProposal({ ...d.proposal, last_event: msg.event });
  }
}

// Whether two snapshots of a record hold the same values (nested ones compared as JSON).
function sameFields(a, b) {
  const keys = Object.keys(b);
  if (keys.length !== Object.keys(a).length) return false;
  for (const k of keys) {
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (x === null || y === null || typeof x !== "object" || typeof y !== "object"
      || JSON.stringify(x) !== JSON.stringify(y)) return false;
  }
  return true;
}

function sameTechnician(held, t) {
  return (held.version ?? 0) === (t.version ?? 0) && held.status === t.status
    && held.active === t.active && held.unit_id === t.unit_id && held.name === t.name
    && held.home_store_id === t.home_store_id
    && (held.skills || []).join() === (t.skills || []).join();
}

function sameOrder(a, b) {
  return a.status === b.status && a.technician_id === b.technician_id
    && a.status_changed_at === b.status_changed_at && a.sequence === b.sequence
    && (a.comments || []).length === (b.comments || []).length;
}

export function technicianName(model, id) {
  const t = model.technicians.get(id);
  return t ? t.name : id;
}

// Freshness of a position fix: moving / stopped / stale (with its age) / offline.
export function freshness(fix, now = Date.now()) {
  if (!fix) return { look: "offline", label: "no position" };
  if (fix.freshness && fix.freshness !== "live") {
    // The server's word wins when it gives one.
    return { look: fix.freshness, label: fix.freshness + ageText(fix, now) };
  }
  const age = fix.at ? (now - Date.parse(fix.at)) / 1000 : 0;
  if (age > 30 * 60) return { look: "offline", label: `offline${ageText(fix, now)}` };
  if (age > 5 * 60) return { look: "stale", label: `stale${ageText(fix, now)}` };
  if ((fix.speed_kmh || 0) > 3) return { look: "moving", label: `moving ${Math.round(fix.speed_kmh)} km/h` };
  return { look: "stopped", label: "stopped" };
}

export function ageText(fix, now = Date.now()) {
  if (!fix || !fix.at) return "";
  const s = Math.max(0, Math.round((now - Date.parse(fix.at)) / 1000));
  if (s < 90) return ` · ${s}s ago`;
  if (s < 5400) return ` · ${Math.round(s / 60)} min ago`;
  return ` · ${Math.round(s / 3600)} h ago`;
}

// One formatter for all (toLocaleTimeString builds a new one per call: ~0.1 ms each, which
// added up to 100+ ms tasks when the queue re-rendered 300 rows).
const TIME = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
export function timeText(iso) {
  if (!iso) return "";
  return TIME.format(new Date(iso));
}

export function isLate(wo, now = Date.now()) {
  if (!OPEN.has(wo.status)) return false;
  const end = wo.time_window && Date.parse(wo.time_window.end);
  if (end && end < now && wo.status !== "on_site") return true;
  const eta = wo.planned_arrival && Date.parse(wo.planned_arrival);
  return Boolean(end && eta && eta > end);
}
