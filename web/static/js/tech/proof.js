// Dialogs of the technician view: a reason (decline, fail) and the proof of work on completion
// (signature on a canvas, photos, notes, GPS stamp). The signature (PNG) and the photos (scaled
// down to JPEG) are hashed and kept in IndexedDB; the proof names them `attachment:sha256-<hex>`
// and the outbox uploads them before it sends the completion.
import { escapeHtml } from "../shared/api.js";
import { putFile, sha256Hex } from "./proof-store.js";
import { SignaturePad } from "./signature.js";

const dialog = () => document.getElementById("dialog");
const MAX_SIDE = 1600;
const JPEG_QUALITY = 0.8;
const MAX_PHOTOS = 20;

export function askReason(title) {
  const d = dialog();
  d.innerHTML = `<form method="dialog" class="reason">
    <h2>${escapeHtml(title)}</h2>
    <textarea name="reason" rows="3" required maxlength="1000" placeholder="Reason"></textarea>
    <div class="row"><button value="cancel" formnovalidate>Cancel</button>
    <button class="primary" value="ok">Send</button></div></form>`;
  d.returnValue = "";
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

async function decode(file) {
  if (globalThis.createImageBitmap) {
    try { return await createImageBitmap(file, { imageOrientation: "from-image" }); } catch { /* below */ }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

// A camera photo scaled to at most 1600 px on its long side, re-encoded as JPEG (~0.8), which
// also drops its metadata (EXIF, GPS of the original).
export async function downscale(file) {
  const image = await decode(file);
  const width = image.width, height = image.height;
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff"; // transparent PNGs become white, not black
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  image.close?.();
  return new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? resolve(blob) : reject(new Error("the photo could not be encoded"))), "image/jpeg", JPEG_QUALITY));
}

async function captured(blob, kind) {
  return { kind, blob, hash: await sha256Hex(blob), type: blob.type, size: blob.size };
}

export function openProof(wo) {
  const d = dialog();
  d.innerHTML = `<form method="dialog" class="proof">
    <h2>Finish ${escapeHtml(wo ? wo.id : "")}</h2>
    <label>Customer signature</label>
    <canvas class="signature" aria-label="Signature pad"></canvas>
    <button type="button" class="clear">Clear signature</button>
    <label>Photos <input type="file" name="photos" accept="image/*" capture="environment" multiple></label>
    <ul class="proof-thumbs picked" aria-label="Photos to send"></ul>
    <label>Notes <textarea name="notes" rows="2" maxlength="4000"></textarea></label>
    <p class="hint">Your position and the time on this phone are stamped. Photos and the signature
      are kept on this phone until they are sent.</p>
    <p class="error" role="alert"></p>
    <div class="row"><button value="cancel" formnovalidate>Cancel</button>
    <button class="primary" value="ok">Job done</button></div></form>`;
  d.returnValue = "";
  d.showModal();
  const pad = new SignaturePad(d.querySelector("canvas"));
  d.querySelector(".clear").onclick = () => pad.clear();
  const form = d.querySelector("form");
  const strip = d.querySelector(".picked");
  const error = d.querySelector(".error");
  const photos = []; // { kind, blob, hash, type, size, url }
  let working = Promise.resolve();
  const where = here();

  const show = () => {
    strip.innerHTML = photos.map((p, i) => `<li class="proof-thumb" data-state="picked">
      <img src="${p.url}" alt="Photo ${i + 1}"><button type="button" class="drop" data-drop="${i}" aria-label="Remove photo ${i + 1}">×</button></li>`).join("");
  };
  strip.addEventListener("click", (e) => {
    const i = e.target.closest("[data-drop]")?.dataset.drop;
    if (i === undefined) return;
    URL.revokeObjectURL(photos[i].url);
    photos.splice(Number(i), 1);
    show();
  });
  form.photos.addEventListener("change", () => {
    const files = [...form.photos.files];
    form.photos.value = "";
    working = working.then(async () => {
      for (const file of files) {
        if (photos.length >= MAX_PHOTOS) { error.textContent = `At most ${MAX_PHOTOS} photos.`; break; }
        strip.classList.add("busy");
        try {
          const photo = await captured(await downscale(file), "photo");
          if (photos.some((p) => p.hash === photo.hash)) continue;
          photos.push({ ...photo, url: URL.createObjectURL(photo.blob) });
          show();
        } catch (e) {
          error.textContent = `Could not read ${file.name}: ${e.message || e}`;
        } finally {
          strip.classList.remove("busy");
        }
      }
    });
  });

  return new Promise((resolve) => {
    form.addEventListener("submit", async (e) => {
      if (e.submitter?.value !== "ok") return;
      e.preventDefault();
      if (pad.empty) { error.textContent = "Please sign first."; return; }
      await working;
      const files = [await captured(await pad.toBlob(), "signature"), ...photos];
      try {
        for (const f of files) await putFile(f.hash, f.blob);
      } catch (err) {
        error.textContent = `This phone has no room to keep the files: ${err.message || err}`;
        return;
      }
      const ref = (f) => `attachment:sha256-${f.hash}`;
      const proof = { signature_ref: ref(files[0]), photo_refs: photos.map(ref), notes: form.notes.value.trim() };
      const location = await Promise.race([where, new Promise((r) => setTimeout(() => r(null), 1500))]);
      if (location) proof.location = location;
      const uploads = files.map(({ kind, hash, type, size }) => ({ kind, hash, type, size }));
      photos.forEach((p) => URL.revokeObjectURL(p.url));
      d.close("ok");
      resolve({ proof, uploads });
    });
    d.addEventListener("close", () => {
      if (d.returnValue === "ok") return;
      photos.forEach((p) => URL.revokeObjectURL(p.url));
      resolve(null);
    }, { once: true });
  });
}
