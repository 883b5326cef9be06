/**
 * Drop events, sampled and opt-in: `bridge.sampleDrops(n)` reports one of
 * every n dropped frames as a "drop" event (port, reason, addresses, the
 * frame's first bytes). Off by default; while off (or while nobody listens)
 * the bridge does one test per batch and nothing else.
 *
 * The reason is read from the ingress port's drop counters around the
 * batch, as for mirrors (ports/mirror.ts): exact whenever that port's drops
 * in the batch share one reason. Events are emitted after the batch, on the
 * next turn of the event loop, never inside the decision loop.
 */
import { EGRESS_WORDS } from "../core/abi.js";
import type { Batch } from "../core/batch.js";
import { type Counters, dropReasonsSince } from "../core/counters.js";
import { macFromBytes } from "../core/frame.js";
import { DROP_REASON_COUNT } from "../core/reasons.js";

export interface DropSample {
  /** Ingress port index. */
  index: number;
  /** Drop reason name (snake_case, as in stats), or several joined with "|". */
  reason: string;
  length: number;
  src: string;
  dst: string;
  /** The first 64 bytes of the frame. */
  head: Uint8Array;
  /** One of this many drops is reported. */
  every: number;
}

export class DropSampler {
  private seen = 0;
  private readonly before: Float64Array;
  private pending: DropSample[] = [];
  private scheduled = false;

  constructor(
    private readonly counters: Counters,
    maxPorts: number,
    public every: number,
    private readonly emit: (samples: DropSample[]) => void,
  ) {
    this.before = new Float64Array(maxPorts * DROP_REASON_COUNT);
  }

  snapshot(batch: Batch, count: number): void {
    const drops = this.counters.drops;
    let last = -1;
    for (let i = 0; i < count; i++) {
      const p = batch.rxPort[i]!;
      if (p === last) continue;
      last = p;
      this.before.set(drops.subarray(p * DROP_REASON_COUNT, (p + 1) * DROP_REASON_COUNT), p * DROP_REASON_COUNT);
    }
  }

  collect(batch: Batch, count: number): void {
    const { bytes, rxPort, frameOffset, frameLength, egress } = batch;
    for (let i = 0; i < count; i++) {
      let any = 0;
      for (let w = 0; w < EGRESS_WORDS; w++) any |= egress[i * EGRESS_WORDS + w]!;
      if (any !== 0 || ++this.seen % this.every !== 0) continue;
      const off = frameOffset[i]!;
      const len = frameLength[i]!;
      const p = rxPort[i]!;
      this.pending.push({
        index: p,
        reason: this.reason(p),
        length: len,
        src: len >= 12 ? macFromBytes(bytes, off + 6) : "",
        dst: len >= 6 ? macFromBytes(bytes, off) : "",
        head: bytes.slice(off, off + Math.min(64, len)),
        every: this.every,
      });
    }
    if (this.pending.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        const samples = this.pending;
        this.pending = [];
        this.emit(samples);
      });
    }
  }

  private reason(port: number): string {
    return dropReasonsSince(this.counters.drops, this.before, port) || "unknown";
  }
}
