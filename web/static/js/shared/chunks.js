// Cooperative slicing of big renders: work for a few milliseconds, then give the main thread back
// (input, paint) before going on, so thousands of markers never make one long task.

// Resolve on the next task: scheduler.yield() where the browser has it (the continuation keeps
// its place in the queue), else a zero timeout.
export function yieldToMain() {
  if (globalThis.scheduler && typeof globalThis.scheduler.yield === "function") {
    return globalThis.scheduler.yield();
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// A drain loop: `step(deadline)` does some work until performance.now() passes `deadline` and
// answers whether work is left; between slices the loop yields. At most `maxSlices` slices and
// `maxMs` in all (then the rest waits for the next call), so it always ends.
export class Slicer {
  constructor(step, { sliceMs = 10, maxSlices = 2000, maxMs = 20_000 } = {}) {
    this.step = step;
    this.sliceMs = sliceMs;
    this.maxSlices = maxSlices;
    this.maxMs = maxMs;
    this.running = false;
    this.again = false;
    this.sliceTimes = []; // the last slices' durations (ms), for the benchmark
  }

  // Start draining (the first slice in a task of its own: what the caller rendered gets laid out
  // and painted first) unless a drain is under way, which picks the new work up by itself.
  run() {
    if (this.running) { this.again = true; return this.done; }
    this.running = true;
    this.done = this.loop().finally(() => { this.running = false; });
    return this.done;
  }

  async loop() {
    await yieldToMain();
    const started = performance.now();
    for (let i = 0; i < this.maxSlices; i++) {
      this.again = false;
      const t0 = performance.now();
      const more = this.step(t0 + this.sliceMs);
      this.sliceTimes.push(performance.now() - t0);
      if (this.sliceTimes.length > 200) this.sliceTimes.splice(0, 100);
      if (!more && !this.again) return;
      if (performance.now() - started > this.maxMs) break;
      await yieldToMain();
    }
    // Out of budget: go on later rather than never.
    setTimeout(() => this.run(), 100);
  }
}
