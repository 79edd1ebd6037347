// Alert rules (admins: alert_rule:manage): the catalogue from GET /api/alert-rules, one kind's
// editor (on/off, severity, the trigger's numbers and choices, the message template with its
// placeholders) that previews with POST /api/alert-rules/{kind}/preview and saves with
// PATCH /api/alert-rules/{kind} (If-Match: the version shown), and the weekly figure per kind from
// GET /api/alert-figures. A refusal shows the API's reason and marks the field it names.
import { api, escapeHtml } from "../shared/api.js";
import { can, permissionAttr } from "../shared/me.js";
import { openScreen } from "../shared/shell.js";
import { label, say, setStatus, start, table } from "./ui.js";

const MANAGE = "alert_rule:manage";
const root = document.getElementById("screen");
const state = { rules: [], editing: null, weeks: 8, figures: null };
window.dispatchAlertRules = { state }; // for tests and the curious

const title = (kind) => label(kind).replace(/^./, (c) => c.toUpperCase());

function numbers(rule) {
  return rule.setting_specs.map((s) => {
    const value = rule.settings[s.name];
    const shown = s.type === "choice" ? (value.length ? value.map(label).join(", ") : "none")
      : `${value} ${s.unit}`.trim();
    return `${escapeHtml(s.label)}: <strong>${escapeHtml(shown)}</strong>`;
  }).join("<br>") || '<span class="muted">—</span>';
}

function render() {
  root.innerHTML = `<section class="card wide catalogue" aria-labelledby="catalogue-title">
      <h2 id="catalogue-title">Alert catalogue <span class="count">${state.rules.length}</span></h2>
      <p class="note">Every kind of alert, what raises it and what it says. A change applies to the
        next pass of the rules (within seconds) and is audited.</p>
      <p class="message" role="status"></p>
      ${table([
        { title: "Kind", cell: (r) => `<strong>${escapeHtml(title(r.kind))}</strong><br><small class="muted">${escapeHtml(r.category)}</small>` },
        { title: "Severity", cell: (r) => `<span class="tag ${escapeHtml(r.severity)}">${escapeHtml(r.severity)}</span>` },
        { title: "On", cell: (r) => (r.enabled ? "on" : '<span class="tag off">off</span>') },
        { title: "Raised when", wrap: true, cell: (r) => escapeHtml(r.trigger) },
        { title: "Numbers", wrap: true, cell: numbers },
        { title: "Message", wrap: true, cell: (r) => `<code>${escapeHtml(r.template)}</code>${r.customized ? ' <span class="tag">changed</span>' : ""}` },
        { title: "", cell: (r) => `<button type="button" class="edit" ${permissionAttr(MANAGE)} data-kind="${escapeHtml(r.kind)}">Edit</button>` },
      ], state.rules, { rowAttrs: (r) => `data-kind="${escapeHtml(r.kind)}"${r.kind === state.editing ? ' class="editing"' : ""}` })}
    </section>
    <section class="card wide editor" aria-labelledby="editor-title" ${state.editing ? "" : "hidden"}></section>
    <section class="card wide figures" aria-labelledby="figures-title"></section>`;
  root.querySelectorAll("button.edit").forEach((b) => { b.onclick = () => edit(b.dataset.kind); });
  if (state.editing) renderEditor();
  renderFigures();
}

function ruleOf(kind) {
  return state.rules.find((r) => r.kind === kind);
}

function edit(kind) {
  state.editing = kind;
  render();
  root.querySelector("section.editor")?.scrollIntoView({ block: "nearest" });
  root.querySelector("form.rule-editor textarea")?.focus();
}

function settingInput(s, value) {
  if (s.type === "choice") {
    return `<fieldset data-setting="${escapeHtml(s.name)}"><legend>${escapeHtml(s.label)}</legend>${s.options.map((o) =>
      `<label class="check"><input type="checkbox" name="c:${escapeHtml(s.name)}" value="${escapeHtml(o)}"${value.includes(o) ? " checked" : ""}> ${escapeHtml(label(o))}</label>`).join("")}</fieldset>`;
  }
  return `<label>${escapeHtml(s.label)} (${s.unit ? `${escapeHtml(s.unit)}; ` : ""}default ${escapeHtml(s.default)})
    <input type="number" name="s:${escapeHtml(s.name)}" data-setting="${escapeHtml(s.name)}" value="${escapeHtml(value)}"
      min="${s.min}" max="${s.max}" step="${s.integer ? 1 : "any"}" required></label>`;
}

function renderEditor() {
  const rule = ruleOf(state.editing);
  const box = root.querySelector("section.editor");
  box.innerHTML = `<h2 id="editor-title">${escapeHtml(title(rule.kind))} <span class="muted">version ${rule.version}</span></h2>
    <p class="note">${escapeHtml(rule.trigger)}.</p>
    <form class="rule-editor" data-kind="${escapeHtml(rule.kind)}">
      <div class="row">
        <label class="check"><input type="checkbox" name="enabled"${rule.enabled ? " checked" : ""}> Raise this kind</label>
        <label>Severity <select name="severity">${["critical", "warning", "info"].map((s) =>
          `<option value="${s}"${s === rule.severity ? " selected" : ""}>${s}${s === rule.default_severity ? " (default)" : ""}</option>`).join("")}</select></label>
        ${rule.setting_specs.map((s) => settingInput(s, rule.settings[s.name])).join("")}
      </div>
      <label>Title (fixed) <input type="text" value="${escapeHtml(rule.title)}" readonly></label>
      <label for="template-${escapeHtml(rule.kind)}">Message template</label>
      <textarea id="template-${escapeHtml(rule.kind)}" name="template" maxlength="1000" spellcheck="false">${escapeHtml(rule.template)}</textarea>
      <div class="placeholders" aria-label="Placeholders">${rule.placeholders.map((p) =>
        `<button type="button" class="placeholder" data-name="${escapeHtml(p)}" title="Insert {${escapeHtml(p)}}">{${escapeHtml(p)}}</button>`).join("")}</div>
      <div class="row">
        <button type="button" class="preview">Preview</button>
        <button type="submit" class="primary save" ${permissionAttr(MANAGE)}>Save</button>
        <button type="button" class="defaults" ${permissionAttr(MANAGE)}>Back to the defaults</button>
        <button type="button" class="close">Close</button>
      </div>
      <div class="rule-preview" aria-live="polite"></div>
      <p class="message" role="status"></p>
    </form>`;
  const form = box.querySelector("form");
  const text = form.elements.template;
  form.querySelectorAll("button.placeholder").forEach((b) => {
    b.onclick = () => {
      const at = text.selectionStart ?? text.value.length;
      text.setRangeText(`{${b.dataset.name}}`, at, text.selectionEnd ?? at, "end");
      text.focus();
    };
  });
  form.querySelector("button.preview").onclick = () => preview(form);
  form.querySelector("button.defaults").onclick = () => save(form, defaults(rule));
  form.querySelector("button.close").onclick = () => { state.editing = null; render(); };
  form.addEventListener("submit", (event) => { event.preventDefault(); save(form, changes(form, rule)); });
}

function changes(form, rule) {
  const settings = {};
  for (const s of rule.setting_specs) {
    if (s.type === "choice") {
      settings[s.name] = [...form.querySelectorAll(`input[name="c:${CSS.escape(s.name)}"]:checked`)].map((i) => i.value);
    } else {
      const raw = form.elements[`s:${s.name}`].value.trim();
      settings[s.name] = raw === "" ? null : Number(raw);
    }
  }
  return { enabled: form.elements.enabled.checked, severity: form.elements.severity.value,
    settings, template: form.elements.template.value };
}

function defaults() {
  return { enabled: null, severity: null, settings: null, template: null };
}

function problemShown(form, error) {
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const field = error.problem?.field || "";
  const target = field === "template" ? form.elements.template
    : field.startsWith("settings.") ? form.querySelector(`[data-setting="${CSS.escape(field.slice(9))}"]`)
      : field === "severity" ? form.elements.severity : null;
  if (target) target.setAttribute("aria-invalid", "true");
  say(form, error.message, "error");
}

async function preview(form) {
  const shown = form.querySelector(".rule-preview");
  try {
    const answer = await api(`/api/alert-rules/${encodeURIComponent(form.dataset.kind)}/preview`, {
      method: "POST", body: { template: form.elements.template.value } });
    shown.innerHTML = `<strong class="preview-title">${escapeHtml(answer.title)}</strong><p class="preview-message">${escapeHtml(answer.message)}</p>`;
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    say(form, "", "ok");
  } catch (error) {
    shown.innerHTML = "";
    problemShown(form, error);
  }
}

async function save(form, body) {
  const rule = ruleOf(form.dataset.kind);
  form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  try {
    const saved = await api(`/api/alert-rules/${encodeURIComponent(rule.kind)}`, {
      method: "PATCH", body, headers: { "If-Match": `"${rule.version}"` } });
    state.rules = state.rules.map((r) => (r.kind === saved.kind ? saved : r));
    render();
    say(root.querySelector("form.rule-editor"), `Saved (version ${saved.version}); the next pass applies it.`, "ok");
  } catch (error) {
    form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
    problemShown(form, error);
  }
}

function renderFigures() {
  const box = root.querySelector("section.figures");
  const f = state.figures;
  box.innerHTML = `<h2 id="figures-title">Alerts per week</h2>
    <div class="tools"><label>Weeks <select name="weeks">${[4, 8, 12, 26].map((n) =>
      `<option value="${n}"${n === state.weeks ? " selected" : ""}>${n}</option>`).join("")}</select></label>
      <span class="muted">ISO weeks from Monday 00:00 UTC; escalated: climbed past its first rung.</span></div>
    <p class="message" role="status"></p>
    ${f ? table([
      { title: "Week of", cell: (r) => escapeHtml(r.week) },
      { title: "Kind", cell: (r) => escapeHtml(title(r.kind)) },
      { title: "Raised", num: true, cell: (r) => String(r.raised) },
      { title: "Acknowledged", num: true, cell: (r) => String(r.acknowledged) },
      { title: "Median to acknowledge", num: true, cell: (r) => (r.median_minutes_to_acknowledge === null ? "—" : `${r.median_minutes_to_acknowledge} min`) },
      { title: "Escalated", num: true, cell: (r) => String(r.escalated) },
    ], f.items, { empty: "No alert in these weeks.", rowAttrs: (r) => `data-kind="${escapeHtml(r.kind)}" data-week="${escapeHtml(r.week)}"` }) : '<p class="muted">Loading…</p>'}`;
  box.querySelector("select[name=weeks]").onchange = (e) => { state.weeks = Number(e.target.value); loadFigures(); };
}

async function loadFigures() {
  try {
    state.figures = await api(`/api/alert-figures?weeks=${state.weeks}`);
    renderFigures();
  } catch (error) {
    say(root.querySelector("section.figures"), error.message, "error");
  }
}

start(async () => {
  await openScreen("/alert-rules");
  if (!can(MANAGE)) throw new Error("only administrators change the alert rules");
  state.rules = (await api("/api/alert-rules")).items;
  render();
  await loadFigures();
  setStatus("");
});
