/**
 * Port mirroring: copies of the frames a port receives and sends, for
 * captures (pcapng files, live taps, waitForFrame). Read from the batch
 * right after the decision, so every port kind is mirrored the same way and
 * a received frame is seen even when the bridge drops it (with the reason).
 *
 * Costs nothing while nobody mirrors: the bridge tests `active` once per
 * batch. While someone does, each mirrored frame is copied once.
 *
 * The drop reason of a received frame that went nowhere is read from the
 * port's drop counters around the batch: exact when the frames of that port
 * dropped in one batch share a reason (always, for frames sent one at a
 * time), otherwise the candidates joined with "|".
 */
import { EGRESS_WORDS } from "../core/abi.js";
import type { Batch } from "../core/batch.js";
import { type Counters, dropReasonsSince } from "../core/counters.js";
import { DROP_REASON_COUNT } from "../core/reasons.js";
import { egressForm, egressFrame } from "../core/vlan-egress.js";

export interface MirroredFrame {
  /** Port index in its bridge. */
  index: number;
  /** "in": the port received it (from its device); "out": the bridge sent it there. */
  direction: "in" | "out";
  /** A copy of the frame, tags as they were on the wire. */
  frame: Uint8Array;
  /** Scheduler time (ms) of the batch. */
  at: number;
  /** For a received frame the bridge sent nowhere: why (drop reason name). */
  dropped?: string;
}

export type MirrorSink = (m: MirroredFrame) => void;

export class Mirrors {
  private readonly sinks: (MirrorSink[] | undefined)[] = [];
  private count = 0;
  private readonly before: Float64Array;

  constructor(private readonly counters: Counters, maxPorts: number) {
    this.before = new Float64Array(maxPorts * DROP_REASON_COUNT);
  }

  get active(): boolean {
    return this.count > 0;
  }

  /** Mirror port `index` to `sink`; returns the function that stops it. */
  add(index: number, sink: MirrorSink): () => void {
    (this.sinks[index] ??= []).push(sink);
    this.count++;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const list = this.sinks[index];
      const at = list?.indexOf(sink) ?? -1;
      if (list && at >= 0) {
        list.splice(at, 1);
        this.count--;
      }
    };
  }

  /** Forget a port's sinks (port removed). */
  clear(index: number): void {
    this.count -= this.sinks[index]?.length ?? 0;
    this.sinks[index] = undefined;
  }

  /** Before the decision: remember the drop counters of the mirrored ports that received in this batch. */
  snapshot(batch: Batch, count: number): void {
    const drops = this.counters.drops;
    for (let i = 0; i < count; i++) {
      const p = batch.rxPort[i]!;
      if (this.sinks[p]?.length) this.before.set(drops.subarray(p * DROP_REASON_COUNT, (p + 1) * DROP_REASON_COUNT), p * DROP_REASON_COUNT);
    }
  }

  /**
   * After the decision: hand copies to the sinks. A frame sent to a port is
   * copied as it leaves that port: tagged or untagged by `untagged`, the
   * VLAN egress bitmap (core/vlan-egress.ts).
   */
  emit(batch: Batch, count: number, at: number, untagged: Uint32Array): void {
    const { bytes, view, rxPort, frameOffset, frameLength, egress, frameTag } = batch;
    for (let i = 0; i < count; i++) {
      const off = frameOffset[i]!;
      const len = frameLength[i]!;
      const rx = rxPort[i]!;
      const inSinks = this.sinks[rx];
      let any = 0;
      for (let w = 0; w < EGRESS_WORDS; w++) any |= egress[i * EGRESS_WORDS + w]!;
      if (inSinks?.length) {
        const m: MirroredFrame = { index: rx, direction: "in", frame: bytes.slice(off, off + len), at };
        if (any === 0) m.dropped = this.reason(rx);
        for (const s of inSinks) s(m);
      }
      if (any === 0) continue;
      for (let p = 0; p < this.sinks.length; p++) {
        const out = this.sinks[p];
        if (!out?.length || !((egress[i * EGRESS_WORDS + (p >>> 5)]! >>> (p & 31)) & 1)) continue;
        const tag = frameTag[i]!;
        const m: MirroredFrame = { index: p, direction: "out", frame: egressFrame(bytes, off, len, egressForm(view, off, tag, untagged, p), tag), at };
        for (const s of out) s(m);
      }
    }
  }

  private reason(port: number): string {
    return dropReasonsSince(this.counters.drops, this.before, port) || "dropped";
  }
}
