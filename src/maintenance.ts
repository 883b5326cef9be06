/**
 * What runs beside the data path, never inside it: the FDB's ageing sweep and
 * the storm-control watch. Both hang off one 1-second timer of the bridge's
 * scheduler (src/scheduler.ts: real, unref'd timers, or a VirtualClock).
 *
 * The sweep runs in bounded steps, each a timer of its own (after 0 ms), so
 * between two steps the event loop polls the ports and runs their batches
 * (and under a VirtualClock a pass completes within one `advance`): one step is
 * the longest forwarding ever waits for ageing, where a sweep in one go over
 * 65 536 crafted entries once took 20.6 s. A step visits at most
 * SWEEP_STEP_SLOTS slots (Fdb.expireStep; about 0.2 ms once the code is
 * optimised), in slices, and stops after STEP_MS even if the code is still
 * cold or the machine busy. A pass starts at most once a
 * second and only when the table holds entries; an idle bridge does nothing.
 *
 * The storm watch reads the storm-control drop counters once a second and
 * turns them into episodes: the first second with drops on a (port, kind)
 * starts one (reported once), the first second without ends it (reported
 * with its total). Nothing is reported per frame.
 */
import type { Fdb } from "./core/fdb.js";
import type { Scheduler } from "./scheduler.js";
import { MAX_PORTS } from "./core/abi.js";
import { DROP_REASON_COUNT, DropReason } from "./core/reasons.js";
import { FLOOD_KINDS } from "./core/storm.js";

/** Slots one sweep step may visit (a removal's shifts included)... */
export const SWEEP_STEP_SLOTS = 16_384;
/** ... in slices of this many, stopping early once the step has run STEP_MS (cold code, a busy machine). */
export const SWEEP_SLICE_SLOTS = 2048;
export const STEP_MS = 0.5;

export class FdbSweeper {
  /** Steps run, the longest one (ms of wall time), and the most slots one visited. */
  steps = 0;
  maxStepMs = 0;
  maxStepWork = 0;
  private running = false;
  private stopped = false;
  private passStart = 0;

  constructor(
    private readonly fdb: Fdb,
    private readonly scheduler: Scheduler,
    private readonly budget = SWEEP_STEP_SLOTS,
  ) {}

  /** Begin a pass unless one is under way or there is nothing to age. */
  tick(): void {
    if (this.running || this.stopped || this.fdb.size === 0) return;
    this.running = true;
    this.passStart = this.fdb.sweepPasses;
    this.step();
  }

  private readonly step = (): void => {
    if (this.stopped) return;
    const started = performance.now();
    const now = this.scheduler.now();
    const passes = this.fdb.sweepPasses;
    let work = 0;
    let took = 0;
    do {
      this.fdb.expireStep(now, Math.min(SWEEP_SLICE_SLOTS, this.budget - work));
      work += this.fdb.lastStepWork;
      took = performance.now() - started;
    } while (work < this.budget && took < STEP_MS && this.fdb.sweepPasses === passes);
    if (work > this.maxStepWork) this.maxStepWork = work;
    this.steps++;
    if (took > this.maxStepMs) this.maxStepMs = took;
    if (this.fdb.sweepPasses !== this.passStart || this.fdb.size === 0) {
      this.running = false;
      return;
    }
    this.scheduler.after(0, this.step);
  };

  /** Whether a pass is under way (tests wait for it to finish). */
  get busy(): boolean {
    return this.running;
  }

  stop(): void {
    this.stopped = true;
  }
}

export type StormReport = (port: number, kind: number, active: boolean, dropped: number) => void;

export class StormWatch {
  private readonly seen = new Float64Array(MAX_PORTS * FLOOD_KINDS);
  private readonly episode = new Float64Array(MAX_PORTS * FLOOD_KINDS);
  private readonly active = new Uint8Array(MAX_PORTS * FLOOD_KINDS);

  /** Compare the storm drop counters of the given ports with the last check. */
  check(drops: Float64Array, ports: Iterable<number>, report: StormReport): void {
    for (const port of ports) {
      for (let kind = 0; kind < FLOOD_KINDS; kind++) {
        const k = port * FLOOD_KINDS + kind;
        const now = drops[port * DROP_REASON_COUNT + DropReason.stormBroadcast + kind]!;
        if (now < this.seen[k]!) this.seen[k] = 0; // counters were cleared (the port was replaced)
        const delta = now - this.seen[k]!;
        this.seen[k] = now;
        if (delta > 0) {
          this.episode[k]! += delta;
          if (!this.active[k]) {
            this.active[k] = 1;
            report(port, kind, true, delta);
          }
        } else if (this.active[k]) {
          report(port, kind, false, this.episode[k]!);
          this.active[k] = 0;
          this.episode[k] = 0;
        }
      }
    }
  }

  /** Forget a port (it left the bridge). */
  resetPort(port: number): void {
    for (let kind = 0; kind < FLOOD_KINDS; kind++) {
      const k = port * FLOOD_KINDS + kind;
      this.seen[k] = 0;
      this.episode[k] = 0;
      this.active[k] = 0;
    }
  }
}
