// The technician view without network: when the server was last heard from (kept on the phone
// under the user's own key, so an app reopened offline knows it) and a note saying that the view
// is offline, since when, and that what is shown and done waits for the network.
import { token } from "../shared/api.js";
import { timeText } from "../shared/model.js";

const ANSWERED = new Set(["catching-up", "loading", "live"]); // live.js states: the server answered
const EVERY_MS = 15_000; // while connected, how often the contact time is written down

function whenText(ms) {
  const at = new Date(ms);
  const today = new Date().toDateString() === at.toDateString();
  return today ? timeText(at.toISOString())
    : at.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
}

export class OfflineNote {
  // `element`: the note (hidden while connected); `key`: where the last contact time is kept.
  constructor(element, key) {
    this.element = element;
    this.key = key;
    this.state = null;
    this.timer = 0;
    this.stopped = false;
    // The app closed while connected: the contact lasted until then.
    addEventListener("pagehide", () => { if (ANSWERED.has(this.state)) this.heard(); });
  }

  // When the server was last heard from (ms since the epoch), or null when never on this device.
  since() {
    const at = Number(localStorage.getItem(this.key));
    return Number.isFinite(at) && at > 0 ? at : null;
  }

  heard() {
    // Not once the session has ended (signed out, refused): what it showed is gone with it.
    if (!this.stopped && token()) localStorage.setItem(this.key, String(Date.now()));
  }

  // The websocket's state changed (live.js onState).
  changed(state) {
    const had = ANSWERED.has(this.state);
    this.state = state;
    if (this.stopped) return;
    if (ANSWERED.has(state)) {
      this.heard();
      if (!this.timer) this.timer = setInterval(() => this.heard(), EVERY_MS);
      this.element.hidden = true;
      return;
    }
    clearInterval(this.timer);
    this.timer = 0;
    if (had) this.heard(); // lost just now
    if (state === "offline") this.show();
  }

  show() {
    const since = this.since();
    this.element.innerHTML = since
      ? `<strong>Offline since <time datetime="${new Date(since).toISOString()}">${whenText(since)}</time>.</strong>
        Your jobs as they were then. What you do is kept on this phone and sent when the network is back.`
      : "<strong>Offline.</strong> What you do is kept on this phone and sent when the network is back.";
    this.element.hidden = false;
  }

  // Sign-out: nothing more is written.
  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    this.element.hidden = true;
  }
}
