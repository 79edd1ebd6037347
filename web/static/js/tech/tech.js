// The technician view (mobile first): the day's jobs in order, pushed assignments, steps queued
// offline with idempotency keys, proof of work, position sharing over the websocket. What it keeps
// on the device is the signed-in user's (storage.js) and goes at sign-out. A technician's
// session is kept on the device (api.js keepOnDevice), so the app reopened without network opens
// on the jobs as last seen and the queue, and says it is offline and since when (offline.js).
import { fetchAll, keepOnDevice, logout, escapeHtml, token } from "../shared/api.js";
import { requireLogin } from "../shared/me.js";
import { bindIndicator, Live } from "../shared/live.js";
import { Model } from "../shared/model.js";
import { Outbox } from "./outbox.js";
import { jobCard, ordered } from "./jobs.js";
import { openProof, askReason } from "./proof.js";
import { fillThumbs, keepStored, setOwner } from "./proof-store.js";
import { OfflineNote } from "./offline.js";
import { PositionSharing } from "./position.js";
import { claimDevice, clearDevice, tokenExpired, tokenUser, userKey } from "./storage.js";

const model = new Model();
const list = document.getElementById("jobs");
const banner = document.getElementById("banner");
const fresh = new Set();
let me = null;
let user = null;      // whose device storage this is (the token's `sub`)
let leaving = false;  // signing out: nothing more is written to the device
let note = null;      // the offline note (offline.js)
let sharing = null;   // position sharing (position.js)
window.dispatchTech = { model };

function render() {
  const jobs = ordered([...model.workOrders.values()].filter((wo) => wo.technician_id === me.technician_id));
  list.innerHTML = jobs.map((wo, i) => jobCard(wo, i, outbox.pendingFor(wo.id), fresh.has(wo.id))).join("")
    || '<li class="empty">No jobs for now. New assignments appear here.</li>';
  fillThumbs(list);
  // The list as last seen is what the app shows when it next opens without network.
  if (!leaving && token()) localStorage.setItem(userKey(user, "jobs"), JSON.stringify(jobs));
  document.getElementById("job-count").textContent = String(jobs.length);
  const queued = outbox.items().length;
  const files = outbox.filesWaiting();
  document.getElementById("sync").textContent = queued
    ? `${queued} to sync${files ? ` · ${files} file${files > 1 ? "s" : ""} to upload` : ""}` : "";
}

function notifyAssignment(wo) {
  fresh.add(wo.id);
  setTimeout(() => { fresh.delete(wo.id); render(); }, 8000);
  banner.textContent = `New job: ${wo.description} (${wo.priority})`;
  banner.hidden = false;
  setTimeout(() => { banner.hidden = true; }, 6000);
  try { navigator.vibrate?.([200, 100, 200]); } catch { /* not allowed */ }
  beep();
}

let audio = null;
function beep() {
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.4);
  } catch { /* no audio */ }
}

function applyOrder(wo, live = false) {
  const before = model.workOrders.get(wo.id);
  const mineNow = wo.technician_id === me.technician_id && wo.status === "assigned";
  const wasMine = before && before.technician_id === me.technician_id && before.status !== "new";
  if (model.applyWorkOrder(wo, live) && mineNow && !wasMine) notifyAssignment(wo);
}

const outbox = new Outbox({
  onApplied: (wo) => { model.applyWorkOrder(wo); render(); },
  onRejected: (item, error) => {
    banner.textContent = `${item.body.step.replace("_", " ")} on ${item.id} was refused: ${error.message}`;
    banner.hidden = false;
    render();
  },
  onChange: () => render(),
});

list.addEventListener("click", async (e) => {
  const button = e.target.closest("button[data-step]");
  if (!button) return;
  const id = button.closest("[data-order]").dataset.order;
  const step = button.dataset.step;
  let body = { step };
  let uploads = [];
  if (step === "decline" || step === "fail") {
    const reason = await askReason(step === "decline" ? "Why decline this job?" : "What stopped the job?");
    if (!reason) return;
    body.reason = reason;
  } else if (step === "complete") {
    const captured = await openProof(model.workOrders.get(id));
    if (!captured) return;
    body.proof = captured.proof;
    uploads = captured.uploads;
  }
  outbox.add(id, body, uploads);
  render();
});

// Sign-out: send what is queued first; what cannot be sent (offline) is discarded only after the
// technician confirms, with the count in view. Then nothing of the jobs, the queue or the proof
// files stays on the device.
const DRAIN_MS = 20_000; // a sign-out never hangs on a request that does not answer
let signingOut = false;

async function signOut() {
  if (signingOut) return;
  signingOut = true;
  const button = document.getElementById("logout");
  button.disabled = true;
  button.textContent = "Signing out…";
  const left = () => ({ steps: outbox.items().length, files: outbox.filesWaiting() });
  let waiting;
  try {
    waiting = tokenExpired() ? left() // nothing can be sent with it
      : await Promise.race([outbox.drain(), new Promise((r) => setTimeout(() => r(left()), DRAIN_MS))]);
  } catch (error) {
    console.error("sign-out: the queue could not be sent:", error);
    waiting = left();
  }
  if (waiting.steps && !(await confirmDiscard(waiting))) {
    signingOut = false;
    button.disabled = false;
    button.textContent = "Sign out";
    if (me) render();
    return;
  }
  leaving = true;
  outbox.close();
  note?.stop();
  sharing?.stop();
  list.innerHTML = "";
  await clearDevice().catch((error) => console.error("sign-out: clearing the device:", error));
  logout();
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function confirmDiscard({ steps, files }) {
  const d = document.getElementById("dialog");
  const what = plural(steps, "step") + (files ? ` and ${plural(files, "proof file")}` : "");
  const why = navigator.onLine === false ? "This phone has no network" : "They could not be sent";
  d.innerHTML = `<form method="dialog" class="signout">
    <h2>Unsent work on this phone</h2>
    <p class="unsent"><strong>${what}</strong> not sent yet. ${why}; signing out now deletes
      ${steps === 1 && !files ? "it" : "them"} from this phone for good.</p>
    <p class="hint">To keep them, stay signed in until the phone is back online and nothing is
      left to sync.</p>
    <div class="row"><button value="cancel" autofocus>Stay signed in</button>
    <button class="danger" value="discard">Sign out and discard</button></div></form>`;
  d.returnValue = "";
  d.onclose = null;
  d.showModal();
  return new Promise((resolve) => {
    d.addEventListener("close", () => resolve(d.returnValue === "discard"), { once: true });
  });
}

document.getElementById("logout").onclick = signOut;

// Offline start: the user's profile and job list last seen are kept on the phone, under their id.
async function cached(key, load) {
  try {
    const value = await load();
    localStorage.setItem(key, JSON.stringify(value));
    return value;
  } catch (error) {
    const held = localStorage.getItem(key);
    if (held && !error.status) return JSON.parse(held);
    throw error;
  }
}

async function main() {
  if (!token()) await requireLogin(); // to the sign-in page
  // Whose device storage this is: the token says (also offline). Another user's data goes first.
  user = tokenUser() ?? String((await requireLogin()).id);
  setOwner(user);
  await claimDevice(user);
  outbox.user = user;
  me = await cached(userKey(user, "me"), requireLogin);
  if (String(me.id) !== user) throw new Error("this session belongs to another user; sign out");
  document.getElementById("who").textContent = me.display_name;
  if (!me.technician_id) {
    list.innerHTML = `<li class="empty">${escapeHtml(me.username)} is not a technician. <a href="/">Open the board</a>.</li>`;
    return;
  }
  // A technician's session stays on the device (not a board user's: this view alone keeps one);
  // what it showed goes with it when it ends without a sign-out (revoked, expired).
  if ((me.permissions || []).includes("work_order:work")) {
    keepOnDevice({ forget: ["me", "jobs", "online-at"].map((name) => userKey(user, name)) });
  }
  note = new OfflineNote(document.getElementById("offline"), userKey(user, "online-at"));
  const indicator = bindIndicator(document.getElementById("connection"));
  model.subscribe(render);
  const orders = await cached(userKey(user, "jobs"), () => fetchAll("/api/work-orders", {
    technician_id: me.technician_id, status: "assigned,accepted,en_route,on_site" }));
  orders.forEach((wo) => model.applyWorkOrder(wo));
  render();
  const live = new Live([`technician:${me.technician_id}`], {
    onState: (state, detail) => {
      indicator(state, detail);
      note.changed(state);
      if (state === "live") sharing?.sendHeld();
    },
    onSnapshot: (msg) => (msg.work_orders || []).forEach((wo) => applyOrder(wo)),
    onEvent: (msg) => { if (msg.data?.work_order) applyOrder(msg.data.work_order, true); },
    onError: (msg) => console.warn("ws error", msg.code, msg.message),
  }).start();
  window.dispatchTech.live = live;
  sharing = new PositionSharing(document.getElementById("share"), live,
    userKey(user, "share-position"), userKey(user, "positions"));
  keepStored();
  outbox.sweep().finally(() => outbox.flush());
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  }
}

main().catch((error) => {
  console.error(error);
  list.innerHTML = `<li class="empty">Could not load your jobs: ${escapeHtml(error?.message || error)}</li>`;
});
