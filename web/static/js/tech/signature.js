// A signature pad on a canvas (pointer events: finger, pen or mouse).
export class SignaturePad {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.empty = true;
    this.resize();
    let last = null;
    const point = (e) => {
      const r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * (canvas.width / r.width), (e.clientY - r.top) * (canvas.height / r.height)];
    };
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      last = point(e);
      this.dot(last);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!last) return;
      const p = point(e);
      this.ctx.beginPath();
      this.ctx.moveTo(...last);
      this.ctx.lineTo(...p);
      this.ctx.stroke();
      last = p;
      this.empty = false;
    });
    const end = () => { last = null; };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
  }

  resize() {
    const r = this.canvas.getBoundingClientRect();
    this.canvas.width = Math.max(300, Math.round(r.width * (devicePixelRatio || 1)));
    this.canvas.height = Math.max(120, Math.round(r.height * (devicePixelRatio || 1)));
    Object.assign(this.ctx, { lineWidth: 2.5 * (devicePixelRatio || 1), lineCap: "round",
      lineJoin: "round", strokeStyle: "#0f172a" });
    this.clear();
  }

  dot([x, y]) {
    this.ctx.beginPath();
    this.ctx.arc(x, y, this.ctx.lineWidth / 2, 0, Math.PI * 2);
    this.ctx.fillStyle = "#0f172a";
    this.ctx.fill();
    this.empty = false;
  }

  clear() {
    // White paper, so the PNG reads the same on any background it is shown on.
    this.ctx.fillStyle = "#ffffff";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.empty = true;
  }

  // The signature as a PNG blob (what is uploaded).
  toBlob() {
    return new Promise((resolve, reject) => this.canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error("the signature could not be saved"))), "image/png"));
  }
}
