/**
 * Storm control: per-port ingress rate limits, in frames per second, for the
 * three kinds of traffic a bridge floods — broadcast, multicast and unknown
 * unicast — as switch vendors' `storm-control` and Open vSwitch's ingress
 * policing offer. A frame over its limit is dropped on ingress and counted
 * under its own reason (storm_broadcast, storm_multicast,
 * storm_unknown_unicast); frames to a known destination are never limited.
 *
 * Each (port, kind) is a token bucket: `rate` tokens per second, at most
 * `burst` tokens, one token per frame. The bucket is refilled lazily from the
 * caller's clock when a frame asks for a token, so there is no timer and no
 * work while nothing floods. The burst is a tenth of a second's frames, at
 * least 8 and at most one second's (a port limited to 1 000 frames/s may send
 * 100 back to back, then 1 per millisecond).
 *
 * Cost: off by default; with no limit on a port the decision loop reads one
 * byte per flooded frame (`active[port]`) and never calls in here. State is
 * typed arrays indexed by port * 3 + kind: no allocation per frame.
 */
import { MAX_PORTS } from "./abi.js";

/** The kinds of flooded traffic, in the order of their drop reasons. */
export const FloodKind = {
  broadcast: 0,
  multicast: 1,
  unknownUnicast: 2,
} as const;
export type FloodKindName = keyof typeof FloodKind;
export const FLOOD_KINDS = 3;
export const FLOOD_KIND_NAMES: readonly FloodKindName[] = ["broadcast", "multicast", "unknownUnicast"];

/** Port settings (and port options) that set a limit, by kind. */
export const STORM_SETTINGS = [
  { field: "stormBroadcast", option: "storm-broadcast", kind: FloodKind.broadcast },
  { field: "stormMulticast", option: "storm-multicast", kind: FloodKind.multicast },
  { field: "stormUnknownUnicast", option: "storm-unknown-unicast", kind: FloodKind.unknownUnicast },
] as const;

/** Largest limit accepted, in frames per second. */
export const STORM_MAX_RATE = 100_000_000;

export class StormControl {
  /** Per port: bit k set when kind k is limited. 0 means the port has no limits. */
  readonly active = new Uint8Array(MAX_PORTS);
  /** Frames per second, per port * 3 + kind (0: unlimited). */
  private readonly rate = new Float64Array(MAX_PORTS * FLOOD_KINDS);
  private readonly burst = new Float64Array(MAX_PORTS * FLOOD_KINDS);
  private readonly tokens = new Float64Array(MAX_PORTS * FLOOD_KINDS);
  /** The clock (ms) when the bucket was last refilled. */
  private readonly refilled = new Float64Array(MAX_PORTS * FLOOD_KINDS);

  /** Set (frames/s) or remove (0) the limit of one kind of flood on a port. The bucket starts full. */
  setLimit(port: number, kind: number, framesPerSecond: number, now: number): void {
    if (!Number.isInteger(framesPerSecond) || framesPerSecond < 0 || framesPerSecond > STORM_MAX_RATE) {
      throw new RangeError(`storm control limit ${framesPerSecond} is out of range: use 0 (off) to ${STORM_MAX_RATE} frames/s`);
    }
    const k = port * FLOOD_KINDS + kind;
    this.rate[k] = framesPerSecond;
    this.burst[k] = Math.min(framesPerSecond, Math.max(8, Math.ceil(framesPerSecond / 10)));
    this.tokens[k] = this.burst[k]!;
    this.refilled[k] = now;
    if (framesPerSecond > 0) this.active[port]! |= 1 << kind;
    else this.active[port]! &= ~(1 << kind);
  }

  /** The limit of one kind on a port, in frames/s (0: none). */
  limit(port: number, kind: number): number {
    return this.rate[port * FLOOD_KINDS + kind]!;
  }

  /** Remove every limit of a port (it left the bridge). */
  clearPort(port: number): void {
    for (let kind = 0; kind < FLOOD_KINDS; kind++) this.setLimit(port, kind, 0, 0);
  }

  /**
   * Take a token for one frame of `kind` arriving on `port` at `now` (ms).
   * True when the frame may be flooded: the kind is not limited on this port,
   * or its bucket had a token. Hot path (flooded frames of limited ports only).
   */
  admit(port: number, kind: number, now: number): boolean {
    if (!((this.active[port]! >>> kind) & 1)) return true;
    const k = port * FLOOD_KINDS + kind;
    let tokens = this.tokens[k]!;
    const elapsed = now - this.refilled[k]!;
    if (elapsed > 0) {
      tokens = Math.min(this.burst[k]!, tokens + (elapsed * this.rate[k]!) / 1000);
      this.refilled[k] = now;
    }
    if (tokens < 1) {
      this.tokens[k] = tokens;
      return false;
    }
    this.tokens[k] = tokens - 1;
    return true;
  }
}
