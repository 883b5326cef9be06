/**
 * How frames move between in-memory ports without deadlock and without
 * hiding failures.
 *
 * Every bridge keeps a bounded queue of frames injected on its in-memory
 * ports. Injecting never runs the decision loop re-entrantly: a frame sent
 * from inside a frame listener (a host answering an ARP, a wire carrying a
 * frame to another bridge) is only queued. The queues are drained by ONE
 * loop per process (this module), round robin over the bridges with work, a
 * batch at a time:
 *
 * - A call from outside (`port.send()` in a test) drains synchronously, up
 *   to RUN_BUDGET frames. For every topology without a loop that is all the
 *   work there is, so `a.send(frame); b.take()` keeps working.
 * - Past the budget the rest continues on `setImmediate`, RUN_BUDGET frames
 *   per turn of the event loop, so timers, I/O and STP still run while two
 *   bridges joined in a loop storm: the storm shows in the counters (and in
 *   `memory_queue_full` drops once a queue holds its limit), never as a hung
 *   process.
 * - A frame listener that throws does not stop the frame reaching the other
 *   listeners and ports. Its error is re-thrown from the outside call that
 *   drove the delivery (so a failing `expect` inside `onFrame` fails the test
 *   at its `send`); when the delivery ran from a continuation, a timer or the
 *   native receive path, the bridge emits it as an `error` event, which
 *   without a listener is an uncaught exception, as Node does for streams.
 *   It is never counted as an internal error.
 *
 * `settleMemory()` (`bridge.settle()`) waits until no queue holds a frame.
 */
import { TapbridgeError } from "../errors.js";

/** Frames drained synchronously per outside call, and per event-loop turn after that. */
export const RUN_BUDGET = 2048;

export interface FabricNode {
  /** Frames waiting. */
  readonly queued: number;
  /** Process at most one batch and at most `max` frames; push listener errors; return frames processed. */
  step(max: number, errors: unknown[]): number;
  /** Report listener errors that have no caller to throw to (asynchronously). */
  reportErrors(errors: unknown[]): void;
  /** Set by the fabric. */
  fabricReady: boolean;
}

class Fabric {
  private depth = 0;
  private readonly ready: FabricNode[] = [];
  private continuation: NodeJS.Immediate | undefined;
  private waiters: (() => void)[] = [];

  /** True while a drain is running (an inject must only queue). */
  get draining(): boolean {
    return this.depth > 0;
  }

  /** Some bridge has frames queued. */
  get hasWork(): boolean {
    return this.ready.length > 0;
  }

  get idle(): boolean {
    return this.depth === 0 && this.ready.length === 0 && this.continuation === undefined;
  }

  markReady(node: FabricNode): void {
    if (node.fabricReady) return;
    node.fabricReady = true;
    this.ready.push(node);
  }

  /** Run callbacks (native batches) during which injects only queue. */
  hold<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  /**
   * Drain up to RUN_BUDGET frames. `throw`: listener errors are thrown to the
   * caller; `emit`: they go to the bridges' `error` events.
   */
  run(mode: "throw" | "emit"): void {
    if (this.depth > 0) return;
    const errors: unknown[] = [];
    const origin: FabricNode[] = [];
    let budget = RUN_BUDGET;
    this.depth++;
    try {
      while (budget > 0 && this.ready.length > 0) {
        const node = this.ready.shift()!;
        node.fabricReady = false;
        const before = errors.length;
        budget -= node.step(budget, errors);
        for (let i = before; i < errors.length; i++) origin.push(node);
        if (node.queued > 0) this.markReady(node);
      }
    } finally {
      this.depth--;
    }
    if (this.ready.length > 0) this.schedule();
    else if (this.continuation === undefined) this.wake();
    if (errors.length === 0) return;
    if (mode === "throw") throw combine(errors);
    const byNode = new Map<FabricNode, unknown[]>();
    errors.forEach((e, i) => byNode.set(origin[i]!, [...(byNode.get(origin[i]!) ?? []), e]));
    for (const [node, list] of byNode) node.reportErrors(list);
  }

  settle(timeoutMs?: number): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== done);
          const queued = this.ready.reduce((n, node) => n + node.queued, 0);
          reject(new TapbridgeError("ETIMEDOUT", `in-memory frames were still moving after ${timeoutMs} ms (${queued} queued): is there a loop without STP?`));
        }, timeoutMs);
      }
    });
  }

  private schedule(): void {
    if (this.continuation) return;
    this.continuation = setImmediate(() => {
      this.continuation = undefined;
      this.run("emit");
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** The first error alone, or an AggregateError naming how many listeners threw. */
export function combine(errors: unknown[]): unknown {
  if (errors.length === 1) return errors[0];
  const first = errors[0] instanceof Error ? errors[0].message : String(errors[0]);
  return new AggregateError(errors, `${errors.length} frame listeners threw; the first: ${first}`);
}

export const fabric = new Fabric();

/** Resolves when no in-memory frame is queued in this process (rejects after timeoutMs, if given). */
export function settleMemory(timeoutMs?: number): Promise<void> {
  return fabric.settle(timeoutMs);
}
