/**
 * MAC flap detection: a station that moves between ports more than `moves`
 * times within `windowMs` is a loop or a spoofer, not a laptop changing desks.
 * Switch vendors report it ("host X is flapping between port A and port B")
 * and can shut the offending port; so does this bridge (bridge.ts acts on
 * what this reports).
 *
 * Only station moves reach here (Fdb.onMove), never ordinary frames: the
 * cost on the data path is nothing until a MAC changes port. State lives in
 * a small direct-mapped table of recent movers (TRACKED slots, ~30 KiB),
 * indexed by a keyed hash of (VID, MAC) like the FDB's own: a mover evicts
 * whatever mover shared its slot, so a flood of distinct movers can at
 * worst reset one another's counts — each of them is then just a move.
 *
 * An episode starts with a move after a quiet window; moves are counted in
 * windows of `windowMs` from the first; when the count exceeds `moves` the
 * episode is reported once (with the ports) and stays reported until the MAC
 * has been quiet for a whole window. The port blamed is the one that took
 * the MAC away from where it lived when the episode began (its "home"): for
 * a spoofed gateway, the spoofer's port, not the gateway's.
 */
import { MAX_PORTS } from "./abi.js";
import { halfSipHash13, randomHashKey, type HashKey } from "./fdb-hash.js";

export const TRACKED = 1024;

export interface FlapSettings {
  /** A flap is more than this many moves within the window; 0 turns detection off. */
  moves: number;
  windowMs: number;
}

/** What the last detection found (read right after `onMove` returned a port). */
export interface FlapReport {
  /** Where the MAC lived when the episode began. */
  home: number;
  /** Moves counted in the window that crossed the threshold. */
  moves: number;
}

export class FlapDetector {
  moves: number;
  windowMs: number;
  /** Flapping episodes detected. */
  detected = 0;
  /** Episodes blamed on each port. */
  readonly blamed = new Float64Array(MAX_PORTS);
  readonly last: FlapReport = { home: -1, moves: 0 };

  private readonly key: HashKey;
  private readonly keyHi = new Int32Array(TRACKED);
  private readonly keyLo = new Int32Array(TRACKED);
  private readonly used = new Uint8Array(TRACKED);
  private readonly reported = new Uint8Array(TRACKED);
  private readonly count = new Uint32Array(TRACKED);
  private readonly home = new Int16Array(TRACKED);
  private readonly windowStart = new Float64Array(TRACKED);
  private readonly lastMove = new Float64Array(TRACKED);

  /** `key` is random unless given (tests pass a fixed one so that which movers share a slot is reproducible). */
  constructor(settings: FlapSettings = { moves: 5, windowMs: 10_000 }, key: HashKey = randomHashKey()) {
    this.key = key;
    this.moves = settings.moves;
    this.windowMs = settings.windowMs;
  }

  /**
   * A station move of (vid, MAC) from one port to another at `now` (ms).
   * Returns the port to blame when this move makes the MAC a flapper — once
   * per episode — else -1.
   */
  onMove(vid: number, macHi: number, lo: number, from: number, to: number, now: number): number {
    if (this.moves <= 0) return -1;
    const hi = (vid << 16) | macHi;
    const l = lo | 0;
    const i = halfSipHash13(this.key, hi, l) & (TRACKED - 1);
    if (!this.used[i] || this.keyHi[i] !== hi || this.keyLo[i] !== l || now - this.lastMove[i]! > this.windowMs) {
      this.used[i] = 1;
      this.keyHi[i] = hi;
      this.keyLo[i] = l;
      this.reported[i] = 0;
      this.count[i] = 1;
      this.home[i] = from;
      this.windowStart[i] = now;
      this.lastMove[i] = now;
      return -1;
    }
    this.lastMove[i] = now;
    if (now - this.windowStart[i]! > this.windowMs) {
      this.windowStart[i] = now;
      this.count[i] = 1;
    } else {
      this.count[i]!++;
    }
    if (this.count[i]! <= this.moves || this.reported[i]) return -1;
    this.reported[i] = 1;
    this.detected++;
    const home = this.home[i]!;
    const culprit = to !== home ? to : from;
    this.blamed[culprit]!++;
    this.last.home = home;
    this.last.moves = this.count[i]!;
    return culprit;
  }

  /** Forget a port's blame count (a new port takes its index). */
  resetPort(port: number): void {
    this.blamed[port] = 0;
  }
}
