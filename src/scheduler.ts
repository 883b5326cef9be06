/**
 * Time for everything beside the data path: FDB ageing sweeps, impairment
 * delays, STP ticks. One `Scheduler` per bridge, injected through
 * `new Bridge({ scheduler })`; every timer a bridge (or a part glued to it:
 * STP, wires, impairments) starts goes through `bridge.scheduler`, and every
 * timestamp comes from `bridge.scheduler.now()`. So a test that hands the
 * same `VirtualClock` (src/testing/virtual-clock.ts) to its bridges and wires
 * can move five minutes forward with `clock.advance(300_000)` and see ageing,
 * delayed frames and STP timers happen in order, instantly.
 *
 * The contract is small on purpose:
 * - `now()` — milliseconds, monotonic, any origin;
 * - `after(ms, fn)` — run fn once, ms from now; returns a Timer to cancel;
 * - `every(ms, fn)` — run fn every ms (first run ms from now).
 * Callbacks run outside the data path, never re-entrantly inside a timer
 * callback of the same scheduler. The real scheduler's timers are unref'd:
 * timers alone never keep a process alive.
 */

export interface Timer {
  /** Stop the timer; idempotent. */
  cancel(): void;
}

export interface Scheduler {
  now(): number;
  after(ms: number, fn: () => void): Timer;
  every(ms: number, fn: () => void): Timer;
}

/** Wall-clock time (performance.now) and Node timers, unref'd. */
export const realScheduler: Scheduler = {
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  every(ms, fn) {
    const t = setInterval(fn, Math.max(1, ms));
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
};

/** Real timers with another notion of `now` (the Bridge's older `clock` option). */
export function schedulerWithClock(now: () => number): Scheduler {
  return { now, after: realScheduler.after, every: realScheduler.every };
}
