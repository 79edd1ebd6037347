// A completed job's proof of work for the dispatcher: thumbnails of the signature and photos.
// The files are fetched with the caller's token (an <img src> cannot send one) and shown through
// object URLs, which are revoked when the container is rendered again or the result is called.
//
//   const dispose = await renderProofThumbnails(container, workOrder, token);
//
// `workOrder` is the API's work-order detail (`id` and `proof`); references other than
// `attachment:sha256-<hex>` (files that stayed on an older phone) are listed, not shown.
import { linkStylesheet } from "../shared/stylesheet.js";

const REF = /^attachment:sha256-([0-9a-f]{64})$/;
const rendered = new WeakMap(); // container -> its live rendering

function element(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function entries(proof) {
  const out = [];
  if (proof?.signature_ref) out.push({ label: "Signature", ref: proof.signature_ref });
  (proof?.photo_refs || []).forEach((ref, i) => out.push({ label: `Photo ${i + 1}`, ref }));
  return out;
}

// Render the thumbnails into `container` (its content is replaced). Resolves, once every image
// has loaded or failed, to a function that releases the object URLs.
export async function renderProofThumbnails(container, workOrder, token) {
  linkStylesheet("/static/css/proof-view.css");
  rendered.get(container)?.dispose();
  const state = { urls: [], live: true };
  state.dispose = () => {
    state.live = false;
    state.urls.forEach((u) => URL.revokeObjectURL(u));
    state.urls = [];
    if (rendered.get(container) === state) rendered.delete(container);
  };
  rendered.set(container, state);
  const items = entries(workOrder?.proof);
  const list = element("ul", { class: "proof-thumbs proof-view", "aria-label": "Proof of work" });
  container.replaceChildren(...(items.length ? [list] : []));
  await Promise.all(items.map(async ({ label, ref }) => {
    const li = element("li", { class: "proof-thumb" });
    const caption = element("span", {}, label);
    const frame = element("span", { class: "proof-empty" }, "…");
    li.append(frame, caption);
    list.append(li);
    const match = REF.exec(ref);
    if (!match) {
      frame.textContent = "on the phone";
      li.title = ref;
      return;
    }
    try {
      const path = `/api/work-orders/${encodeURIComponent(workOrder.id)}/attachments/sha256-${match[1]}`;
      const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const blob = await response.blob();
      if (!state.live) return; // rendered again meanwhile
      const url = URL.createObjectURL(blob);
      state.urls.push(url);
      const link = element("a", { href: url, target: "_blank", rel: "noopener", title: `${label} (full size)` });
      const img = element("img", { src: url, alt: label, "data-sha256": match[1] });
      link.append(img);
      frame.replaceWith(link);
      await img.decode().catch(() => {});
    } catch (error) {
      frame.textContent = "not available";
      li.classList.add("missing");
      li.title = String(error.message || error);
    }
  }));
  return state.dispose;
}
