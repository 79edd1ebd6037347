// The technician view (mobile first): the day's jobs in order, pushed assignments, steps queued
// offline with idempotency keys, proof of work, position sharing over the websocket.
import { fetchAll, logout, requireLogin, escapeHtml } from "./api.js";
import { bindIndicator, Live } from "./live.js";
import { Model } from "./model.js";
import { Outbox } from "./outbox.js";
import { jobCard, ordered } from "./tech-jobs.js";
import { openProof, askReason } from "./tech-proof.js";
import { fillThumbs, keepStored } from "./proof-store.js";
import { PositionSharing } from "./tech-position.js";

const model = new Model();
const list = document.getElementById("jobs");
const banner = document.getElementById("banner");
const fresh = new Set();
let me = null;
window.dispatchTech = { model };

function render() {
  const jobs = ordered([...model.workOrders.values()].filter((wo) => wo.technician_id === me.technician_id));
  list.innerHTML = jobs.map((wo, i) => jobCard(wo, i, outbox.pendingFor(wo.id), fresh.has(wo.id))).join("")
    || '<li class="empty">No jobs for now. New assignments appear here.</li>';
  fillThumbs(list);
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

// Offline start: the last user and job list seen are kept on the phone.
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
  me = await cached("dispatch.tech.me", requireLogin);
  document.getElementById("who").textContent = me.display_name;
  document.getElementById("logout").onclick = logout;
  if (!me.technician_id) {
    list.innerHTML = `<li class="empty">${escapeHtml(me.username)} is not a technician. <a href="/">Open the board</a>.</li>`;
    return;
  }
  model.subscribe(render);
  const orders = await cached("dispatch.tech.jobs", () => fetchAll("/api/work-orders", {
    technician_id: me.technician_id, status: "assigned,accepted,en_route,on_site" }));
  orders.forEach((wo) => model.applyWorkOrder(wo));
  render();
  const live = new Live([`technician:${me.technician_id}`], {
    onState: bindIndicator(document.getElementById("connection")),
    onSnapshot: (msg) => (msg.work_orders || []).forEach((wo) => applyOrder(wo)),
    onEvent: (msg) => { if (msg.data?.work_order) applyOrder(msg.data.work_order, true); },
    onError: (msg) => console.warn("ws error", msg.code, msg.message),
  }).start();
  window.dispatchTech.live = live;
  new PositionSharing(document.getElementById("share"), live);
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
