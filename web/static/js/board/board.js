// The dispatcher / store-manager board: loads what the user may see over REST, then stays live
// over the websocket (snapshot or replay from the last seq, events, positions per frame). Each
// action shows only when the user holds the permission its endpoint requires (me.js).
import { fetchAll } from "../shared/api.js";
import { can, canAny } from "../shared/me.js";
import { openScreen } from "../shared/shell.js";
import { bindIndicator, Live } from "../shared/live.js";
import { BoardMap } from "./map.js";
import { Model } from "../shared/model.js";
import { Queue } from "./queue.js";
import { Details } from "./details.js";
import { renderKpis } from "./kpi.js";
import { Alerts } from "./alerts.js";
import { Plans } from "./proposals.js";
import { Emergency } from "./emergency.js";
import { NewJob } from "./new-job.js";
import { Timeline, workdayStart } from "./timeline.js";
import { DragAssign } from "./dnd.js";
import { TrackView } from "./track.js";

const model = new Model();
window.dispatchBoard = { model }; // for tests and the curious

async function main() {
  const user = await openScreen("/");
  const scoped = Array.isArray(user.store_ids);
  document.body.classList.toggle("store-view", scoped);
  const canAssign = can("work_order:assign"); // assign, unassign, drag and drop

  let track = null; // the selected technician's trail and route, once the map exists
  const details = new Details(document.getElementById("details"), model, {
    canAssign, canAskCandidates: canAny("proposal:view", "work_order:assign"),
    canReadAudit: can("audit:view"), onFocus: (loc) => map.focus(loc), onTechnician: (id) => track?.show(id),
    pickOnMap: (done) => pickOnMap(map.map, done),
  });
  const queue = new Queue(document.getElementById("queue"), model, (id) => select(id));
  queue.draggable = canAssign;
  const map = new BoardMap(document.getElementById("map"), model, {
    onSelectOrder: (id) => select(id),
    onSelectTechnician: (id) => details.showTechnician(id),
    draggablePins: canAssign,
  });
  track = new TrackView(map.map, model);
  const alerts = new Alerts(document.getElementById("alerts"));
  const canPlan = can("proposal:request");
  const plans = new Plans(document.getElementById("plan"), model, map, {
    canRequest: canPlan, canDecide: can("proposal:decide"), onSelectOrder: (id) => select(id),
  });
  const emergency = new Emergency(document.getElementById("emergency"), model, map, {
    plans, details, canMark: can("emergency:bulk"), canCreate: can("emergency:create") });
  const timeline = new Timeline(document.getElementById("timeline"), model, {
    onSelectOrder: (id) => select(id), onSelectTechnician: (id) => details.showTechnician(id),
    filter: (wo) => queue.visible(wo), technicianFilter: (t) => queue.technicianVisible(t),
    canDrop: canAssign,
  });
  if (canAssign) {
    new DragAssign({ model, details, map,
      sources: [document.querySelector("#queue .queue-list"), map.map.getContainer()],
      targets: [document.getElementById("timeline"), document.getElementById("details")],
      onHold: (on) => { queue.hold(on); timeline.hold(on); } });
  }
  const newJob = new NewJob(document.getElementById("booking"), model, map,
    { details, others: [plans, emergency] });
  const bookButton = document.getElementById("open-booking");
  bookButton.hidden = !can("work_order:create");
  bookButton.onclick = () => newJob.open();
  const planButton = document.getElementById("open-plan");
  planButton.hidden = !canPlan;
  planButton.onclick = () => { emergency.close(); newJob.close(); plans.open(); };
  const emergencyButton = document.getElementById("open-emergency");
  emergencyButton.hidden = !canAny("emergency:bulk", "emergency:create");
  emergencyButton.onclick = () => { newJob.close(); emergency.open(); };
  document.getElementById("open-timeline").onclick = () => timeline.toggle();
  Object.assign(window.dispatchBoard, { plans, emergency, timeline, map, newJob });
  function select(id) {
    queue.selected = id;
    details.showOrder(id);
    queue.render();
  }

  let fullRedraw = true;
  queue.onChange = () => { fullRedraw = true; model.notify(); if (timeline.visible) timeline.render(); };
  model.subscribe((changed) => {
    if (changed.stores) queue.fillPickers();
    const f = queue.filters();
    // The queue first (the first thing a dispatcher reads); the map's work is queued and done in
    // slices (map.js). Positions alone do not touch the queue (re-rendering 300 rows 4 times a
    // second was the long task while vans streamed).
    const queueChanged = fullRedraw || changed.workOrders.size || changed.technicians.size
      || changed.stores;
    if (queueChanged) queue.render();
    if (changed.stores) map.renderStores();
    const vans = new Set([...changed.positions, ...changed.technicians]);
    if (vans.size) map.renderVans(vans);
    if (fullRedraw) {
      map.renderOrders(new Set([...model.workOrders.keys(), ...map.orderMarkers.keys()]),
        (wo) => queue.visible(wo, f));
      fullRedraw = false;
    } else if (changed.workOrders.size) {
      map.renderOrders(changed.workOrders, (wo) => queue.visible(wo, f));
    }
    details.refresh(changed);
    plans.refresh(changed);
    timeline.refresh(changed);
    if (scoped) renderKpis(document.getElementById("kpis"), model, user);
    if (changed.alerts) alerts.render(model);
  });

  const status = document.getElementById("load-status");
  try {
    const since = new Date(workdayStart(Date.now()));
    const [stores, technicians, orders, done] = await Promise.all([
      fetchAll("/api/stores"),
      fetchAll("/api/technicians", { active: "true" }),
      fetchAll("/api/work-orders", { status: "new,assigned,accepted,en_route,on_site" }),
      // today's finished work, for the timeline's actual progress
      fetchAll("/api/work-orders", { status: "completed", changed_from: since.toISOString() }),
    ]);
    done.forEach((wo) => model.applyWorkOrder(wo));
    model.setStores(stores);
    technicians.forEach((t) => model.applyTechnician(t));
    orders.forEach((wo) => model.applyWorkOrder(wo));
    queue.fillPickers();
    status.textContent = "";
  } catch (error) {
    status.textContent = `Could not load the board: ${error.message}`;
  }

  const topics = ["board"];
  if (can("alert:view") && !scoped) topics.push("alerts");
  const live = new Live(topics, {
    onState: bindIndicator(document.getElementById("connection")),
    onSnapshot: (msg) => model.applySnapshot(msg),
    onEvent: (msg) => { model.applyEvent(msg); if (/^Alert/.test(msg.event)) alerts.flash(msg); },
    onPositions: (items) => model.applyPositions(items),
    onError: (msg) => console.warn("ws error", msg.code, msg.message),
  }).start();
  window.dispatchBoard.live = live;
  let boundsTimer = 0;
  map.map.on("moveend", () => {
    clearTimeout(boundsTimer);
    boundsTimer = setTimeout(() => live.send(map.boundsMessage()), 300);
  });
  setInterval(() => { map.refreshFreshness(); queue.render(); }, 30_000);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") details.close(); });
}

// The map's next click (crosshair meanwhile) hands its point to `done(lat, lon)`.
function pickOnMap(leaflet, done) {
  const element = leaflet.getContainer();
  element.classList.add("drawing");
  leaflet.once("click", (e) => {
    element.classList.remove("drawing");
    done(e.latlng.lat, e.latlng.lng);
  });
}

main().catch((error) => {
  console.error(error);
  document.getElementById("load-status").textContent = `Error: ${error?.message || error}`;
});
