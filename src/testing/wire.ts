/**
 * A cable between two in-memory ports, of the same bridge or of two: what
 * the bridge sends to one end arrives at the other, as if sent there. Each
 * direction can be impaired on its own (netem's vocabulary: loss, delay,
 * jitter, reorder, duplicate, corrupt, rate, partition), changed while
 * frames flow, and cut like a pulled cable: `cut()` drops the carrier on
 * both ends (the bridges disable the ports and flush what they learned
 * there, as Linux does on carrier loss) and loses the frames in flight;
 * `restore()` plugs it back in. `partition()` is the other failure: the
 * carrier stays up and nothing passes (a dead switch in between), so the
 * bridges keep their entries until they age out.
 *
 * Frames dropped on the wire are counted on the port they would have entered
 * (drop reasons impair_loss, impair_queue_full, partitioned) and in
 * `wire.stats()`.
 */
import { ImpairedLink, type LinkStats } from "../impair/link.js";
import type { ImpairmentSpec } from "../impair/spec.js";
import { fabric } from "../ports/memory-fabric.js";
import type { MemoryPort } from "../ports/memory-port.js";
import { realScheduler, type Scheduler } from "../scheduler.js";
import { TapbridgeError } from "../errors.js";

export type WireDirection = "a-b" | "b-a" | "both";

export interface WireImpairments {
  /** Frames from a to b. */
  aToB?: ImpairmentSpec;
  /** Frames from b to a. */
  bToA?: ImpairmentSpec;
}

export interface WireOptions {
  /** Time for delays (default: the scheduler of a's bridge). */
  scheduler?: Scheduler;
}

export class Wire {
  readonly aToB: ImpairedLink;
  readonly bToA: ImpairedLink;
  private readonly unhook: (() => void)[] = [];
  private cutState = false;
  private partitioned = false;
  private specs: { "a-b"?: ImpairmentSpec; "b-a"?: ImpairmentSpec } = {};

  constructor(
    readonly a: MemoryPort,
    readonly b: MemoryPort,
    impairments?: ImpairmentSpec | WireImpairments,
    options: WireOptions = {},
  ) {
    if (a === b) throw new TapbridgeError("EINVAL", `a wire needs two different ports (got ${a.name} twice)`);
    const current = () => options.scheduler ?? a.sink?.scheduler ?? b.sink?.scheduler ?? realScheduler;
    const scheduler: Scheduler = { now: () => current().now(), after: (ms, fn) => current().after(ms, fn), every: (ms, fn) => current().every(ms, fn) };
    this.aToB = this.direction(scheduler, b);
    this.bToA = this.direction(scheduler, a);
    for (const [from, link] of [[a, this.aToB], [b, this.bToA]] as const) {
      from.keep = 0;
      this.unhook.push(from.onFrame((frame, vnet) => {
        if (!this.cutState) link.send(frame, vnet);
      }));
    }
    if (impairments) {
      if ("aToB" in impairments || "bToA" in impairments) {
        const w = impairments as WireImpairments;
        if (w.aToB) this.impair(w.aToB, "a-b");
        if (w.bToA) this.impair(w.bToA, "b-a");
      } else this.impair(impairments as ImpairmentSpec);
    }
  }

  /** Set, change or clear (`undefined`) the impairment of one direction or both. */
  impair(spec: ImpairmentSpec | undefined, direction: WireDirection = "both"): this {
    for (const d of direction === "both" ? (["a-b", "b-a"] as const) : [direction]) {
      this.specs[d] = spec;
      this.apply(d);
    }
    return this;
  }

  /** Nothing passes, either way (or one way), while the carrier stays up. */
  partition(on = true): this {
    this.partitioned = on;
    this.apply("a-b");
    this.apply("b-a");
    return this;
  }

  /** End a partition. */
  heal(): this {
    return this.partition(false);
  }

  /** Pull the cable: carrier down on both ends, frames in flight lost. */
  cut(): this {
    this.cutState = true;
    this.aToB.flush();
    this.bToA.flush();
    this.a.setLinkUp(false, "wire cut");
    this.b.setLinkUp(false, "wire cut");
    return this;
  }

  /** Plug it back in. */
  restore(): this {
    this.cutState = false;
    this.a.setLinkUp(true, "wire restored");
    this.b.setLinkUp(true, "wire restored");
    return this;
  }

  get isCut(): boolean {
    return this.cutState;
  }

  get isPartitioned(): boolean {
    return this.partitioned;
  }

  /** Frames held on the wire (delay, rate queue), both ways. */
  get inFlight(): number {
    return this.aToB.held + this.bToA.held;
  }

  stats(): { aToB: LinkStats; bToA: LinkStats } {
    return { aToB: { ...this.aToB.stats }, bToA: { ...this.bToA.stats } };
  }

  /** Unplug for good: no more frames either way; the ports stay on their bridges. */
  destroy(): void {
    for (const u of this.unhook.splice(0)) u();
    this.aToB.flush();
    this.bToA.flush();
  }

  private apply(d: "a-b" | "b-a"): void {
    const spec = this.specs[d];
    const link = d === "a-b" ? this.aToB : this.bToA;
    link.set(this.partitioned ? { ...spec, partition: true } : spec);
  }

  private direction(scheduler: Scheduler, to: MemoryPort): ImpairedLink {
    return new ImpairedLink(
      scheduler,
      (frame, vnet) => {
        if (to.sink && to.linkUp) to.sink.enqueue(to, frame, vnet, true);
      },
      {
        onDrop: (reason, length) => to.sink?.countDrop(to, reason, length),
        afterRelease: () => {
          if (fabric.hasWork && !fabric.draining) fabric.run("emit");
        },
      },
    );
  }
}

/** Join two in-memory ports with a cable, optionally impaired (one spec for both ways, or { aToB, bToA }). */
export function wire(a: MemoryPort, b: MemoryPort, impairments?: ImpairmentSpec | WireImpairments, options?: WireOptions): Wire {
  return new Wire(a, b, impairments, options);
}
