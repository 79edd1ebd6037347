// The websocket client of docs/realtime-protocol.md: auth, subscribe with `since`, automatic
// reconnect with backoff, `event`s applied in seq order once, `positions` coalesced per frame.
import { token, logout } from "./api.js";
import { nextFrame } from "./model.js";

const RELOGIN = new Set([4003, 4004, 4005]); // token invalid, expired, revoked
const HEARTBEAT_TIMEOUT_MS = 40_000;

export class Live {
  // handlers: { onState(state, detail), onReady(msg), onSnapshot(msg), onEvent(msg),
  //             onPositions(items), onError(msg) }
  constructor(topics, handlers) {
    this.topics = topics;
    this.h = handlers;
    this.seq = null;          // last applied seq
    this.ws = null;
    this.attempt = 0;
    this.pending = new Map(); // vehicle key -> newest position, flushed once per frame
    this.frame = 0;
    this.watchdog = 0;
    this.stopped = false;
    this.state = "offline";
    addEventListener("online", () => this.reconnectSoon(0));
    // The device lost its network: say so now rather than after the socket times out.
    addEventListener("offline", () => {
      const ws = this.ws;
      this.ws = null; // its close event, whenever it comes, is ignored
      clearTimeout(this.watchdog);
      ws?.close();
      this.setState("offline", "no network");
    });
  }

  start() { this.connect(); return this; }

  setState(state, detail = "") {
    this.state = state;
    this.h.onState?.(state, detail);
  }

  url() {
    return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    if (navigator.onLine === false) { // the "online" event reconnects
      this.setState("offline", "no network");
      return;
    }
    this.setState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (error) {
      this.reconnectSoon();
      return;
    }
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: token() }));
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = (e) => this.closed(ws, e);
    ws.onerror = () => {};
  }

  closed(ws, e) {
    if (ws !== this.ws) return;
    clearTimeout(this.watchdog);
    this.ws = null;
    if (RELOGIN.has(e.code)) { logout({ revoke: false }); return; }
    this.setState("offline", e.code ? `closed ${e.code}` : "");
    this.reconnectSoon();
  }

  reconnectSoon(delay) {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    const wait = delay ?? Math.min(30_000, 500 * 2 ** Math.min(this.attempt++, 6))
      * (0.75 + Math.random() / 2);
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.state !== "connecting") {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  alive() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.ws?.close(4009, "heartbeat missed"),
      HEARTBEAT_TIMEOUT_MS);
  }

  applyEvent(msg) {
    if (this.seq !== null && msg.seq <= this.seq) return; // already applied
    this.h.onEvent?.(msg);
    this.seq = msg.seq;
    if (this.state !== "live") this.setState("live");
  }

  receive(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    this.alive();
    switch (msg.type) {
      case "ready":
        this.attempt = 0;
        this.setState("catching-up");
        this.h.onReady?.(msg);
        // batch: events that queued for this tab may come as one "events" message
        this.ws.send(JSON.stringify({ type: "subscribe", topics: this.topics, since: this.seq,
                                      batch: true }));
        break;
      case "subscribed":
        break;
      case "loading": // the server reads the snapshot as soon as it can: say so, keep waiting
        if (this.state === "catching-up") this.setState("loading", "loading the board…");
        break;
      case "snapshot":
        this.h.onSnapshot?.(msg);
        this.seq = msg.seq;
        this.setState("live");
        break;
      case "event":
        this.applyEvent(msg);
        break;
      case "events": // several events that queued for this tab, in seq order
        for (const item of msg.items || []) this.applyEvent(item);
        break;
      case "heartbeat":
        // No gap possible below the heartbeat's seq once every event was delivered (a board
        // that holds nothing yet waits for its snapshot: it is not live before it comes).
        if (this.state === "catching-up" || (this.state === "loading" && this.seq !== null)) {
          this.setState("live");
        }
        break;
      case "positions":
        this.queuePositions(msg.items || []);
        break;
      case "error":
        this.h.onError?.(msg);
        break;
      default:
        break;
    }
  }

  queuePositions(items) {
    for (const p of items) this.pending.set(p.unit_id || p.technician_id, p);
    if (!this.frame) {
      this.frame = 1;
      nextFrame(() => {
        this.frame = 0;
        const batch = [...this.pending.values()];
        this.pending.clear();
        this.h.onPositions?.(batch);
      });
    }
  }
}

// Connection indicator: an element whose data-state drives its look.
export function bindIndicator(element) {
  const labels = { live: "Live", "catching-up": "Catching up…", connecting: "Connecting…",
    loading: "Loading the board…", offline: "Offline" };
  return (state, detail) => {
    element.dataset.state = state;
    element.textContent = labels[state] || state;
    element.title = detail || labels[state] || state;
  };
}
