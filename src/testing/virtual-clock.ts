/**
 * Virtual time: a Scheduler (src/scheduler.ts) whose clock moves only when a
 * test says so. Give one VirtualClock to every bridge, wire and impairment of
 * a topology and `clock.advance(300_000)` runs five minutes of ageing sweeps,
 * delayed frames and STP timers in due order, instantly and deterministically.
 *
 * Timers live in a binary heap ordered by (due time, creation order), so two
 * timers due at the same instant run in the order they were started. During
 * `advance`, `now()` reads the due time of the timer being run; a timer
 * started from a callback with a due time inside the window runs in the same
 * `advance`. In-memory frames a timer injects are processed before the timer
 * returns (up to the per-call bound of the bridge); call `settle()` on the
 * bridges (or `await clock.advanceAndSettle`) when a storm may be running.
 */
import type { Scheduler, Timer } from "../scheduler.js";
import { settleMemory } from "../ports/memory-fabric.js";
import { TapbridgeError } from "../errors.js";

interface Entry {
  due: number;
  seq: number;
  period: number;
  fn: () => void;
  cancelled: boolean;
}

export class VirtualClock implements Scheduler {
  private time: number;
  private seq = 0;
  private readonly heap: Entry[] = [];
  private running = false;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  after(ms: number, fn: () => void): Timer {
    return this.add(ms, 0, fn);
  }

  every(ms: number, fn: () => void): Timer {
    if (!(ms > 0)) throw new TapbridgeError("EINVAL", `a repeating timer needs a period above 0 ms (got ${ms})`);
    return this.add(ms, ms, fn);
  }

  /** Timers not yet run or cancelled. */
  get pending(): number {
    return this.heap.filter((e) => !e.cancelled).length;
  }

  /** Due time of the next timer, or undefined. */
  nextDue(): number | undefined {
    this.dropCancelled();
    return this.heap[0]?.due;
  }

  /**
   * Move time forward by `ms`, running every timer that falls due on the way,
   * in order. Returns how many timer callbacks ran. A callback that throws
   * stops the advance at its due time and the error reaches the caller.
   */
  advance(ms: number): number {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new TapbridgeError("EINVAL", `cannot advance time by ${ms} ms`);
    if (this.running) throw new TapbridgeError("EBUSY", "VirtualClock.advance() called from inside a timer callback");
    const end = this.time + ms;
    let ran = 0;
    this.running = true;
    try {
      for (;;) {
        this.dropCancelled();
        const next = this.heap[0];
        if (!next || next.due > end) break;
        this.pop();
        this.time = Math.max(this.time, next.due);
        if (next.period > 0) {
          next.due += next.period;
          this.push(next);
        } else {
          next.cancelled = true;
        }
        ran++;
        next.fn();
      }
      this.time = end;
    } finally {
      this.running = false;
    }
    return ran;
  }

  /** Advance, then wait until no in-memory frames are queued anywhere (see Bridge.settle). */
  async advanceAndSettle(ms: number, options: { step?: number; timeoutMs?: number } = {}): Promise<void> {
    const step = options.step ?? ms;
    let left = ms;
    do {
      const d = Math.min(step, left);
      this.advance(d);
      left -= d;
      await settleMemory(options.timeoutMs);
    } while (left > 0);
  }

  private add(ms: number, period: number, fn: () => void): Timer {
    if (!Number.isFinite(ms)) throw new TapbridgeError("EINVAL", `timer delay ${ms} is not a number of milliseconds`);
    const entry: Entry = { due: this.time + Math.max(0, ms), seq: this.seq++, period, fn, cancelled: false };
    this.push(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
