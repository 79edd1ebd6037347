// Dialogs of the technician view: a reason (decline, fail) and the proof of work on completion
// (signature on a canvas, photos, notes, GPS stamp). Proof is sent as references (a content hash)
// because there is no upload endpoint yet; the images stay on the phone.
import { escapeHtml } from "./api.js";
import { proofRef, SignaturePad } from "./signature.js";

const dialog = () => document.getElementById("dialog");

export function askReason(title) {
  const d = dialog();
  d.innerHTML = `<form method="dialog" class="reason">
    <h2>${escapeHtml(title)}</h2>
    <textarea name="reason" rows="3" required maxlength="1000" placeholder="Reason"></textarea>
    <div class="row"><button value="cancel" formnovalidate>Cancel</button>
    <button class="primary" value="ok">Send</button></div></form>`;
  d.showModal();
  return new Promise((resolve) => {
    d.onclose = () => resolve(d.returnValue === "ok" ? d.querySelector("textarea").value.trim() : null);
  });
}

function here() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude }),
      () => resolve(null), { timeout: 5000, maximumAge: 60_000, enableHighAccuracy: true });
  });
}

export function openProof(wo) {
  const d = dialog();
  d.innerHTML = `<form method="dialog" class="proof">
    <h2>Finish ${escapeHtml(wo ? wo.id : "")}</h2>
    <label>Customer signature</label>
    <canvas class="signature" aria-label="Signature pad"></canvas>
    <button type="button" class="clear">Clear signature</button>
    <label>Photos <input type="file" name="photos" accept="image/*" capture="environment" multiple></label>
    <label>Notes <textarea name="notes" rows="2" maxlength="4000"></textarea></label>
    <p class="hint">Your position and the time on this phone are stamped.</p>
    <p class="error" role="alert"></p>
    <div class="row"><button value="cancel" formnovalidate>Cancel</button>
    <button class="primary" value="ok">Job done</button></div></form>`;
  d.showModal();
  const pad = new SignaturePad(d.querySelector("canvas"));
  d.querySelector(".clear").onclick = () => pad.clear();
  const form = d.querySelector("form");
  const where = here();
  return new Promise((resolve) => {
    form.addEventListener("submit", async (e) => {
      if (e.submitter?.value !== "ok") return;
      e.preventDefault();
      if (pad.empty) { d.querySelector(".error").textContent = "Please sign first."; return; }
      const proof = { signature_ref: await proofRef("signature", pad.dataUrl()), photo_refs: [],
        notes: form.notes.value.trim() };
      for (const file of [...form.photos.files].slice(0, 20)) {
        proof.photo_refs.push(await proofRef("photo", await file.arrayBuffer()));
      }
      const location = await Promise.race([where, new Promise((r) => setTimeout(() => r(null), 1500))]);
      if (location) proof.location = location;
      d.close("ok");
      resolve(proof);
    });
    d.addEventListener("close", () => { if (d.returnValue !== "ok") resolve(null); }, { once: true });
  });
}
