// The details panel: a job with "assign to…" (with the version the client saw; a 409 shows who
// changed it), unassign, and edit / reschedule / cancel with a reason (job-edit.js, the same forms
// as the customer's page); or a technician with their jobs. Actions show only when the user may
// take them (the board passes what me.js says).
import { api, escapeHtml, token } from "../shared/api.js";
import { permissionAttr } from "../shared/me.js";
import { cancelForm, editForm, formValues, mayCancel, mayEdit, rescheduleForm, restoreForms,
  wireJobForms } from "../shared/job-edit.js";
import { renderProofThumbnails } from "./proof-view.js";
import { freshness, isLate, OPEN, technicianName, timeText } from "../shared/model.js";
import { fetchCandidates, renderCandidates } from "./candidates.js";

// The technician's steps as they happened (device times): set off, arrived, finished.
function progressText(wo) {
  const steps = [["set off", wo.en_route_at], ["arrived", wo.on_site_at], [wo.status === "failed" ? "failed" : "done", wo.finished_at]]
    .filter(([, at]) => at).map(([label, at]) => `${label} ${timeText(at)}`);
  return steps.length ? `<dt>Progress</dt><dd class="progress-steps">${steps.join(" · ")}</dd>` : "";
}

// A job that could not be finished and its follow-up point at each other.
function chainText(model, wo) {
  const link = (id) => `<button type="button" class="link" data-order="${escapeHtml(id)}">${escapeHtml(id.slice(0, 8))}</button>`;
  const after = wo.follow_ups?.length ? wo.follow_ups
    : [...model.workOrders.values()].filter((o) => o.follow_up_of === wo.id).map((o) => o.id);
  const parts = [];
  if (wo.status === "failed" && wo.status_reason) parts.push(`could not finish: ${escapeHtml(wo.status_reason)}`);
  if (wo.follow_up_of) parts.push(`follow-up of ${link(wo.follow_up_of)}`);
  if (after.length) parts.push(`followed up by ${after.map(link).join(", ")}`);
  return parts.length ? `<dt>Chain</dt><dd class="chain">${parts.join(" · ")}</dd>` : "";
}

export class Details {
  constructor(root, model, { canAssign, canAskCandidates = canAssign, canReadAudit = false, onFocus,
    onTechnician, pickOnMap = null }) {
    this.root = root;
    this.model = model;
    this.canAssign = canAssign; // work_order:assign: assign, reassign, unassign
    this.canAskCandidates = canAskCandidates; // the candidates endpoint (proposal:view or assign)
    this.canReadAudit = canReadAudit; // audit:view: who changed a job first
    this.onFocus = onFocus;
    this.onTechnician = onTechnician; // (id | null): the technician shown, for the map's track
    this.pickOnMap = pickOnMap; // (done(lat, lon)): the live map's next click
    this.editing = null; // { id, mode: "edit" | "reschedule" | "cancel", version seen }
    this.current = null; // { kind: "order" | "person", id }
    this.candidates = null; // { id, version, loading, items, error } of the job shown
  }

  close() {
    this.current = null;
    this.editing = null;
    this.onTechnician?.(null);
    delete this.root.dataset.dropTechnician;
    this.root.hidden = true;
    this.root.innerHTML = "";
  }

  showOrder(id, { candidates = null, focus = true } = {}) {
    this.current = { kind: "order", id };
    this.onTechnician?.(null);
    this.candidates = candidates ? { id, ...candidates } : null;
    this.render();
    const wo = this.model.workOrders.get(id);
    if (wo && focus) this.onFocus?.(wo.location);
  }

  showTechnician(id) {
    this.current = { kind: "person", id };
    this.onTechnician?.(id);
    this.render();
  }

  // Re-render when what is shown changed (called by the board on each model change).
  refresh(changed) {
    if (!this.current) return;
    if (this.current.kind === "order" && changed.workOrders.has(this.current.id)) this.render(true);
    if (this.current.kind === "person" && (changed.technicians.has(this.current.id)
      || changed.workOrders.size)) this.render(true);
  }

  render(keepMessage = false) {
    const message = keepMessage ? this.root.querySelector(".message")?.outerHTML || "" : "";
    const choice = this.root.querySelector("select[name=technician]")?.value;
    if (this.editing && this.editing.id !== this.current?.id) this.editing = null;
    const typed = this.editing ? formValues(this.root) : null; // kept across live updates
    this.root.hidden = false;
    // A technician shown here is a drop zone for a dragged job (dnd.js).
    if (this.current.kind === "person") this.root.dataset.dropTechnician = this.current.id;
    else delete this.root.dataset.dropTechnician;
    if (this.current.kind === "order") this.renderOrder(message);
    else this.renderTechnician();
    const select = this.root.querySelector("select[name=technician]");
    if (select && choice) select.value = choice;
    if (typed) restoreForms(this.root, typed);
    this.root.querySelector(".close").onclick = () => this.close();
  }

  // Edit, reschedule, cancel: the buttons, or the form chosen (with the version seen on opening).
  changeSection(wo) {
    if (this.editing?.id === wo.id) {
      const { mode, version } = this.editing;
      const form = mode === "edit" ? editForm(wo, { pickable: Boolean(this.pickOnMap) })
        : mode === "reschedule" ? rescheduleForm(wo) : cancelForm(wo);
      const moved = wo.version !== version ? `<p class="message warn">This job changed since you opened the form (version ${version}, now ${wo.version}): saving will be refused. Go back and open it again.</p>` : "";
      return `<section class="job-change">${moved}${form}<button type="button" class="link back">Back</button></section>`;
    }
    const buttons = [
      mayEdit(wo) ? `<button type="button" class="change" data-mode="edit" ${permissionAttr("work_order:edit")}>Edit</button>` : "",
      mayEdit(wo) ? `<button type="button" class="change" data-mode="reschedule" ${permissionAttr("work_order:edit")}>Reschedule</button>` : "",
      mayCancel(wo) ? `<button type="button" class="change" data-mode="cancel" ${permissionAttr("work_order:cancel")}>Cancel with a reason</button>` : "",
    ].join("");
    return buttons ? `<div class="row job-actions">${buttons}</div>` : "";
  }

  wireChanges(wo) {
    this.root.querySelectorAll(".job-actions .change").forEach((b) => {
      b.onclick = () => { this.editing = { id: wo.id, mode: b.dataset.mode, version: wo.version }; this.render(); };
    });
    const section = this.root.querySelector(".job-change");
    if (!section) return;
    section.querySelector(".back").onclick = () => { this.editing = null; this.render(); };
    wireJobForms(section, { ...wo, version: this.editing.version }, {
      pick: this.pickOnMap,
      done: (saved, text) => {
        this.editing = null;
        this.model.applyWorkOrder(saved);
        this.render();
        this.say(escapeHtml(text), "ok");
      },
      failed: (error) => {
        const current = error.problem?.current;
        if (error.status === 409 && current) {
          this.editing = null;
          this.model.applyWorkOrder(current);
          this.render();
          this.say(`Someone changed this job first: it is now <b>${escapeHtml(current.status)}</b>, version ${current.version}. Check and try again.`, "warn");
        } else {
          this.say(escapeHtml(error.message), "error");
        }
      },
    });
  }

  renderOrder(message) {
    const wo = this.model.workOrders.get(this.current.id);
    if (!wo) {
      this.root.innerHTML = `<header><h2>${escapeHtml(this.current.id)}</h2><button class="close" aria-label="Close">×</button></header><p>Not visible any more.</p>`;
      return;
    }
    const store = this.model.stores.get(wo.store_id);
    const win = wo.time_window ? `${timeText(wo.time_window.start)}–${timeText(wo.time_window.end)}` : "any time";
    const tech = wo.technician_id ? escapeHtml(technicianName(this.model, wo.technician_id)) : "—";
    const movable = ["new", "assigned", "accepted"].includes(wo.status);
    const canChange = this.canAssign && movable;
    const canAsk = this.canAskCandidates && movable;
    this.root.innerHTML = `
      <header><h2><span class="badge prio-${wo.priority}">${wo.priority}</span> ${escapeHtml(wo.id)}</h2>
        <button class="close" aria-label="Close">×</button></header>
      <p class="what">${escapeHtml(wo.description)}</p>
      <dl>
        <dt>Status</dt><dd class="status st-${wo.status}">${wo.status.replace("_", " ")}${isLate(wo) ? ' <b class="late-tag">late</b>' : ""}</dd>
        <dt>Technician</dt><dd class="assigned-to">${tech}</dd>
        <dt>Store</dt><dd>${escapeHtml(store ? store.name : wo.store_id)}</dd>
        <dt>Address</dt><dd>${escapeHtml(wo.address || "")}</dd>
        <dt>Window</dt><dd>${win}</dd>
        <dt>Skills</dt><dd>${escapeHtml((wo.required_skills || []).join(", ") || "—")}</dd>
        <dt>Estimate</dt><dd>${wo.estimated_minutes} min</dd>
        ${wo.planned_arrival ? `<dt>ETA</dt><dd>${timeText(wo.planned_arrival)}</dd>` : ""}
        ${progressText(wo)}
        ${chainText(this.model, wo)}
        <dt>Version</dt><dd>${wo.version}</dd>
      </dl>
      ${canChange ? `<form class="assign">
        <label>Assign to… <select name="technician" required>${this.technicianOptions(wo)}</select></label>
        <div class="row"><button class="primary" type="submit" ${permissionAttr("work_order:assign")}>${wo.technician_id ? "Reassign" : "Assign"}</button>
        ${wo.technician_id ? `<button type="button" class="unassign" ${permissionAttr("work_order:assign")}>Unassign</button>` : ""}</div>
      </form>` : ""}
      ${this.changeSection(wo)}
      ${wo.proof ? this.proofSection(wo.proof) : ""}
      ${canAsk ? `<section class="who-takes"><div class="row"><button type="button" class="ask" ${permissionAttr("proposal:view", "work_order:assign")}>Who should take this?</button></div><div class="cands"></div></section>` : ""}
      ${message}`;
    if (wo.proof) renderProofThumbnails(this.root.querySelector(".proof .thumbs"), wo, token());
    this.root.querySelectorAll(".chain [data-order]").forEach((b) => { b.onclick = () => this.showOrder(b.dataset.order); });
    if (canAsk) this.wireCandidates(wo);
    this.wireChanges(wo);
    const form = this.root.querySelector("form.assign");
    if (form) {
      const seen = wo.version;
      form.onsubmit = (e) => {
        e.preventDefault();
        this.act(wo.id, "assign", { technician_id: form.technician.value, version: seen });
      };
      const un = form.querySelector(".unassign");
      if (un) un.onclick = () => this.act(wo.id, "unassign", { version: seen });
    }
  }

  // A completed job's proof: where and when the phone said it was done, notes, the files.
  proofSection(proof) {
    const at = proof.device_time ? timeText(proof.device_time) : "—";
    const where = proof.location ? `${proof.location.lat.toFixed(5)}, ${proof.location.lon.toFixed(5)}` : "no GPS";
    return `<section class="proof"><h3>Proof of work</h3>
      <p class="stamp">Done at ${at} (device time) · ${where}</p>
      ${proof.notes ? `<p class="notes">${escapeHtml(proof.notes)}</p>` : ""}
      <div class="thumbs"></div></section>`;
  }

  // "Who should take this?": candidates for the job, kept while the job's version is the same.
  wireCandidates(wo) {
    const box = this.root.querySelector(".who-takes .cands");
    const seen = wo.version;
    // the list for anyone who may ask; its "Assign" buttons only for those who may assign
    const show = () => renderCandidates(box, this.candidates, this.canAssign
      ? (tech) => this.act(wo.id, "assign", { technician_id: tech, version: seen }) : null);
    if (this.candidates && this.candidates.id === wo.id && !this.candidates.loading
      && this.candidates.version !== undefined && this.candidates.version !== wo.version) {
      this.candidates = null; // the job changed: the ranking is out of date
    }
    const ask = async () => {
      this.candidates = { id: wo.id, version: wo.version, loading: true };
      show();
      try {
        const items = await fetchCandidates(wo.id);
        if (this.candidates?.id === wo.id) this.candidates = { id: wo.id, version: wo.version, items };
      } catch (error) {
        if (this.candidates?.id === wo.id) this.candidates = { id: wo.id, error: error.message };
      }
      if (this.current?.id === wo.id) this.render(true);
    };
    this.root.querySelector(".who-takes .ask").onclick = ask;
    if (this.candidates?.id === wo.id) show();
  }

  // Available technicians with the skills first, then the others; the current one excluded.
  technicianOptions(wo) {
    const skills = wo.required_skills || [];
    const rank = (t) => (t.status === "available" ? 0 : 2)
      + (skills.every((s) => (t.skills || []).includes(s)) ? 0 : 1)
      + (t.home_store_id === wo.store_id ? 0 : 0.5);
    const techs = [...this.model.technicians.values()]
      .filter((t) => t.active !== false && t.id !== wo.technician_id)
      .sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
    return `<option value="">Choose a technician</option>` + techs.map((t) => {
      const fit = skills.every((s) => (t.skills || []).includes(s)) ? "" : " · missing skill";
      return `<option value="${escapeHtml(t.id)}">${escapeHtml(t.name)} (${escapeHtml(t.id)}) · ${t.status}${fit}</option>`;
    }).join("");
  }

  say(text, kind = "info") {
    this.root.querySelector(".message")?.remove();
    this.root.insertAdjacentHTML("beforeend", `<p class="message ${kind}" role="status">${text}</p>`);
  }

  async act(id, action, body) {
    const buttons = this.root.querySelectorAll("form.assign button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const wo = await api(`/api/work-orders/${encodeURIComponent(id)}/${action}`, { method: "POST", body });
      this.model.applyWorkOrder(wo);
      this.render();
      this.say(action === "assign" ? `Assigned to ${escapeHtml(technicianName(this.model, wo.technician_id))}.` : "Unassigned.", "ok");
    } catch (error) {
      const p = error.problem || {};
      if (error.status === 409 && p.current) {
        this.model.applyWorkOrder(p.current);
        const who = this.canReadAudit ? await whoChanged(id) : null;
        this.render();
        const tech = p.current.technician_id ? ` to ${escapeHtml(technicianName(this.model, p.current.technician_id))}` : "";
        this.say(`Someone changed this job first${who ? ` — <b>${escapeHtml(who.actor)}</b> (${escapeHtml(who.action)}, ${timeText(who.at)})` : ""}: it is now <b>${escapeHtml(p.current.status)}</b>${tech}, version ${p.current.version}. Check and try again.`, "warn");
      } else if (p.code === "missing_skills" && action === "assign") {
        this.render();
        this.say(`${escapeHtml(error.message)} <button type="button" class="anyway" ${permissionAttr("work_order:assign")}>Assign anyway</button>`, "warn");
        this.root.querySelector(".anyway").onclick = () => this.act(id, action, { ...body, allow_missing_skills: true });
      } else {
        this.render();
        this.say(escapeHtml(error.message), "error");
      }
    }
  }

  renderTechnician() {
    const t = this.model.technicians.get(this.current.id);
    const fix = this.model.positions.get(this.current.id);
    const f = freshness(fix);
    const jobs = [...this.model.workOrders.values()]
      .filter((wo) => wo.technician_id === this.current.id && OPEN.has(wo.status))
      .sort((a, b) => (a.sequence ?? 99) - (b.sequence ?? 99));
    this.root.hidden = false;
    this.root.innerHTML = `
      <header><h2>${escapeHtml(t ? t.name : this.current.id)}</h2><button class="close" aria-label="Close">×</button></header>
      <dl><dt>Status</dt><dd>${escapeHtml(t?.status || "unknown")}</dd>
      <dt>Position</dt><dd class="fresh-${f.look}">${escapeHtml(f.label)}</dd>
      <dt>Skills</dt><dd>${escapeHtml((t?.skills || []).join(", "))}</dd>
      <dt>Van</dt><dd>${escapeHtml(t?.unit_id || "—")}</dd></dl>
      <h3>Jobs (${jobs.length})</h3>
      <ol class="tech-jobs">${jobs.map((wo) => `<li><button class="link" data-order="${escapeHtml(wo.id)}">${escapeHtml(wo.id)} · ${wo.priority} · ${wo.status.replace("_", " ")}</button></li>`).join("") || "<li>none</li>"}</ol>`;
    this.root.querySelectorAll("[data-order]").forEach((b) => { b.onclick = () => this.showOrder(b.dataset.order); });
  }
}

// The latest audit entry of a work order, when the user may read the audit log.
async function whoChanged(id) {
  try {
    const page = await api(`/api/audit?entity_id=${encodeURIComponent(id)}&limit=50`);
    const items = page.items || [];
    items.sort((a, b) => b.at.localeCompare(a.at));
    return items[0] || null;
  } catch {
    return null;
  }
}
