/**
 * One direction of an impaired link: the engine's verdicts applied to
 * frames, delayed frames held until due, delivered in due order.
 *
 * Held frames wait in a binary heap ordered by (due, arrival) with ONE
 * scheduler timer armed for the earliest — a timer structure beside the data
 * path, never the batch slab. A heap rather than a hashed wheel: the number
 * waiting is bounded by `limit` (1000 by default), and exact due times keep
 * virtual time exact (a wheel would round every delay to its tick). With a
 * real clock, due frames are released in one pass per timer firing. A frame
 * due at once (no delay, or a reorder) is delivered at once, overtaking.
 *
 * With no impairment set, `send` delivers at once and costs one branch.
 */
import type { Scheduler, Timer } from "../scheduler.js";
import { ImpairmentEngine, newVerdict } from "./engine.js";
import { checkImpairment, type ImpairmentSpec } from "./spec.js";

export interface LinkStats {
  /** Frames offered to the link. */
  offered: number;
  /** Frames (copies included) handed on. */
  delivered: number;
  lost: number;
  partitioned: number;
  queueDropped: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  /** Frames held for a delay or the rate limit. */
  delayed: number;
}

/** Several links' counters added up (a bond's members); undefined when none has any. */
export function sumLinkStats(list: (LinkStats | undefined)[]): LinkStats | undefined {
  let sum: LinkStats | undefined;
  for (const s of list) {
    if (!s) continue;
    sum ??= { offered: 0, delivered: 0, lost: 0, partitioned: 0, queueDropped: 0, duplicated: 0, corrupted: 0, reordered: 0, delayed: 0 };
    for (const k of Object.keys(sum) as (keyof LinkStats)[]) sum[k] += s[k];
  }
  return sum;
}

export type Deliver = (frame: Uint8Array, vnet: Uint8Array | undefined) => void;
/** Told of each frame the link drops, with its DropReason code and length. */
export type OnDrop = (reason: number, length: number) => void;

interface Held {
  due: number;
  seq: number;
  frame: Uint8Array;
  vnet: Uint8Array | undefined;
}

export function emptyLinkStats(): LinkStats {
  return { offered: 0, delivered: 0, lost: 0, partitioned: 0, queueDropped: 0, duplicated: 0, corrupted: 0, reordered: 0, delayed: 0 };
}

export class ImpairedLink {
  readonly stats = emptyLinkStats();
  private engine: ImpairmentEngine | undefined;
  private spec: ImpairmentSpec | undefined;
  private readonly heap: Held[] = [];
  private seq = 0;
  private timer: Timer | undefined;
  private timerDue = Infinity;
  private readonly verdict = newVerdict();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly deliver: Deliver,
    private readonly hooks: {
      onDrop?: OnDrop;
      /** After frames were released by the timer (e.g. drain what they queued). */
      afterRelease?: () => void;
      /** What `deliver` threw when called from the timer (no caller to throw to). */
      onError?: (error: unknown) => void;
    } = {},
  ) {}

  /** The impairment in force (undefined: none). */
  get impairment(): ImpairmentSpec | undefined {
    return this.spec;
  }

  /** Set, change (keeping frames in flight) or clear (`undefined`) the impairment. */
  set(spec: ImpairmentSpec | undefined): void {
    if (spec === undefined || Object.keys(spec).length === 0) {
      this.engine = undefined;
      this.spec = undefined;
      return;
    }
    const config = checkImpairment(spec);
    if (this.engine) this.engine.reconfigure(config);
    else this.engine = new ImpairmentEngine(config);
    this.spec = { ...spec };
  }

  /** Frames waiting. */
  get held(): number {
    return this.heap.length;
  }

  send(frame: Uint8Array, vnet: Uint8Array | undefined): void {
    const s = this.stats;
    s.offered++;
    const engine = this.engine;
    if (!engine) {
      s.delivered++;
      this.deliver(frame, vnet);
      return;
    }
    const now = this.scheduler.now();
    const v = engine.decide(frame.length, now, this.heap.length, this.verdict);
    if (v.copies === 0) {
      if (v.reason === 29) s.lost++;
      else if (v.reason === 31) s.partitioned++;
      else s.queueDropped++;
      this.hooks.onDrop?.(v.reason, frame.length);
      return;
    }
    if (v.copies > 1) s.duplicated++;
    if (v.reordered) s.reordered++;
    let first = frame;
    if (v.corruptBit >= 0) {
      s.corrupted++;
      first = frame.slice();
      first[v.corruptBit >>> 3]! ^= 1 << (v.corruptBit & 7);
    }
    const due1 = v.due1;
    this.emit(first, vnet, v.due0, now);
    if (v.copies > 1) this.emit(frame.slice(), vnet, due1, now);
  }

  /** Drop every frame in flight (e.g. the wire was cut). */
  flush(): number {
    const n = this.heap.length;
    this.heap.length = 0;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerDue = Infinity;
    return n;
  }

  private emit(frame: Uint8Array, vnet: Uint8Array | undefined, due: number, now: number): void {
    if (due <= now) {
      this.stats.delivered++;
      this.deliver(frame, vnet);
      return;
    }
    this.stats.delayed++;
    this.push({ due, seq: this.seq++, frame, vnet });
    this.arm();
  }

  private arm(): void {
    const next = this.heap[0];
    if (!next || next.due >= this.timerDue) return;
    this.timer?.cancel();
    this.timerDue = next.due;
    this.timer = this.scheduler.after(next.due - this.scheduler.now(), this.release);
  }

  private readonly release = (): void => {
    // A real timer may fire a fraction of a millisecond before its due time: what it was armed for is due.
    const now = Math.max(this.scheduler.now(), this.timerDue);
    this.timer = undefined;
    this.timerDue = Infinity;
    while (this.heap.length > 0 && this.heap[0]!.due <= now) {
      const h = this.pop()!;
      this.stats.delivered++;
      try {
        this.deliver(h.frame, h.vnet);
      } catch (error) {
        if (!this.hooks.onError) throw error;
        this.hooks.onError(error);
      }
    }
    this.arm();
    this.hooks.afterRelease?.();
  };

  private push(h: Held): void {
    const a = this.heap;
    a.push(h);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  private pop(): Held | undefined {
    const a = this.heap;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Held, b: Held): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
