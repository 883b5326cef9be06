/**
 * Counters the TypeScript side keeps, in typed arrays indexed by port:
 * what each port received, what in-memory ports were sent, and every drop by
 * reason. Transmit counters of native ports live in the addon (portStats).
 */
import { MAX_PORTS } from "./abi.js";
import { DROP_REASON_COUNT, DROP_REASON_NAMES } from "./reasons.js";

/** Kinds of flood counted per port (storm.ts FloodKind). */
export const FLOOD_KINDS = 3;

export class Counters {
  readonly rxPackets = new Float64Array(MAX_PORTS);
  readonly rxBytes = new Float64Array(MAX_PORTS);
  /**
   * Received frames forwarded to their known destination (a flood is counted
   * in `floods`). Every received frame is forwarded, flooded, or dropped under
   * exactly one reason: rxPackets = forwarded + floods + the sum of drops
   * (test/integration/fuzz.test.ts).
   */
  readonly forwarded = new Float64Array(MAX_PORTS);
  /** Times the port's link went down, and the learned entries flushed with it. */
  readonly linkDowns = new Float64Array(MAX_PORTS);
  readonly linkFlushed = new Float64Array(MAX_PORTS);
  /** Sent to in-memory ports (native ports count their own). */
  readonly txPackets = new Float64Array(MAX_PORTS);
  readonly txBytes = new Float64Array(MAX_PORTS);
  /** drops[port * DROP_REASON_COUNT + reason], by ingress port. */
  readonly drops = new Float64Array(MAX_PORTS * DROP_REASON_COUNT);
  /** floods[port * FLOOD_KINDS + kind] (storm.ts FloodKind: broadcast, multicast, unknown unicast), by ingress port. */
  readonly floods = new Float64Array(MAX_PORTS * FLOOD_KINDS);

  clearPort(port: number): void {
    this.rxPackets[port] = 0;
    this.rxBytes[port] = 0;
    this.forwarded[port] = 0;
    this.linkDowns[port] = 0;
    this.linkFlushed[port] = 0;
    this.txPackets[port] = 0;
    this.txBytes[port] = 0;
    this.drops.fill(0, port * DROP_REASON_COUNT, (port + 1) * DROP_REASON_COUNT);
    this.floods.fill(0, port * FLOOD_KINDS, (port + 1) * FLOOD_KINDS);
  }

  /** Frames of `port` sent on to at least one port: forwarded to a known destination, or flooded. */
  sentOn(port: number): number {
    let n = this.forwarded[port]!;
    for (let k = 0; k < FLOOD_KINDS; k++) n += this.floods[port * FLOOD_KINDS + k]!;
    return n;
  }

  dropsOf(port: number): Float64Array {
    return this.drops.subarray(port * DROP_REASON_COUNT, (port + 1) * DROP_REASON_COUNT);
  }
}

/**
 * The names of the drop reasons whose counters moved for `port` since
 * `before` (a copy of `drops` taken earlier), joined with "|"; "" when none
 * did. What taps and samplers report for a frame the batch dropped.
 */
export function dropReasonsSince(drops: Float64Array, before: Float64Array, port: number): string {
  const names: string[] = [];
  for (let r = 0; r < DROP_REASON_COUNT; r++) {
    const k = port * DROP_REASON_COUNT + r;
    if (drops[k]! !== before[k]!) names.push(DROP_REASON_NAMES[r] || `reason_${r}`);
  }
  return names.join("|");
}
