/**
 * The FDB's watchers on a bridge: station moves become "fdb-move" events
 * (only while someone listens), and MAC flaps are detected (core/mac-flap.ts),
 * logged once per episode with the MAC and the ports, counted, announced as
 * "mac-flap", and — with action "shutdown" — err-disable the port blamed.
 *
 * The FDB reports a move from inside the decision loop (Fdb.onMove), where
 * nothing may be emitted: moves and flaps are queued (the move queue holds
 * plain numbers, and only while "fdb-move" has listeners) and handed out by
 * `flush()` after the batch, so listeners run outside the data path and a
 * throwing listener costs the frames nothing.
 */
import type { EventEmitter } from "node:events";
import type { BridgeEventMap } from "./bridge-events.js";
import type { Fdb } from "./core/fdb.js";
import { formatMac } from "./core/frame.js";
import { FlapDetector } from "./core/mac-flap.js";
import { TapbridgeError } from "./errors.js";
import type { Logger } from "./log.js";

export type FlapAction = "log" | "shutdown";
export const FLAP_ACTIONS: readonly FlapAction[] = ["log", "shutdown"];

export interface MacFlapOptions {
  /** A flap is more than this many moves of one MAC within the window (default 5; 0 turns detection off). */
  moves?: number;
  /** The window, in seconds (default 10). */
  windowSeconds?: number;
  /** "log" (default): log, count and announce; "shutdown": also err-disable the port blamed. */
  action?: FlapAction;
  /** Seconds after which an err-disabled port comes back by itself (default 0: only Bridge.recoverPort). */
  recoverSeconds?: number;
}

export type MacFlapSettings = Required<MacFlapOptions>;
export const DEFAULT_MAC_FLAP: MacFlapSettings = { moves: 5, windowSeconds: 10, action: "log", recoverSeconds: 0 };

/** Moves held for "fdb-move" listeners between two flushes; beyond it they are counted, not queued. */
export const MOVE_QUEUE = 4096;

/** Check and complete flap options; errors name the option. */
export function macFlapSettings(o: MacFlapOptions, base: MacFlapSettings = DEFAULT_MAC_FLAP): MacFlapSettings {
  const s = { ...base, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as MacFlapSettings;
  if (!Number.isInteger(s.moves) || s.moves < 0 || s.moves > 1_000_000) {
    throw new TapbridgeError("EINVAL", `MAC flap moves ${s.moves} is out of range: use a whole number from 0 (detection off) to 1000000`);
  }
  if (typeof s.windowSeconds !== "number" || !(s.windowSeconds > 0) || s.windowSeconds > 3600) {
    throw new TapbridgeError("EINVAL", `MAC flap window ${s.windowSeconds} is out of range: use more than 0 and at most 3600 seconds`);
  }
  if (!FLAP_ACTIONS.includes(s.action)) {
    throw new TapbridgeError("EINVAL", `MAC flap action "${s.action}" is not one of ${FLAP_ACTIONS.join(", ")}`);
  }
  if (typeof s.recoverSeconds !== "number" || !(s.recoverSeconds >= 0) || s.recoverSeconds > 86_400) {
    throw new TapbridgeError("EINVAL", `MAC flap recovery ${s.recoverSeconds} is out of range: use 0 (never by itself) to 86400 seconds`);
  }
  return s;
}

/** What the guard needs of its bridge. */
export interface GuardHost extends EventEmitter<BridgeEventMap> {
  labelOfIndex(port: number): string;
  errDisableIndex(port: number, cause: string): void;
}

interface PendingFlap {
  vid: number;
  hi: number;
  lo: number;
  home: number;
  blamed: number;
  moves: number;
}

export class FdbGuard {
  readonly flap = new FlapDetector();
  settings: MacFlapSettings = DEFAULT_MAC_FLAP;
  /** Something waits for `flush()`. */
  pending = false;
  /** Moves that found the queue full (listeners missed them). */
  movesUnreported = 0;
  private readonly moveQueue = new Float64Array(MOVE_QUEUE * 5);
  private queued = 0;
  private flaps: PendingFlap[] = [];

  constructor(
    fdb: Fdb,
    private readonly host: GuardHost,
    private readonly log: Logger,
  ) {
    fdb.onMove = this.onMove;
  }

  configure(options: MacFlapOptions): void {
    this.settings = macFlapSettings(options, this.settings);
    this.flap.moves = this.settings.moves;
    this.flap.windowMs = this.settings.windowSeconds * 1000;
  }

  /** Fdb.onMove: inside the decision loop, so it only records. */
  private readonly onMove = (vid: number, hi: number, lo: number, from: number, to: number, now: number): void => {
    const blamed = this.flap.onMove(vid, hi, lo, from, to, now);
    if (blamed >= 0) {
      this.flaps.push({ vid, hi, lo, home: this.flap.last.home, blamed, moves: this.flap.last.moves });
      this.pending = true;
    }
    if (this.host.listenerCount("fdb-move") === 0) return;
    if (this.queued >= MOVE_QUEUE) {
      this.movesUnreported++;
      return;
    }
    const q = this.moveQueue;
    const at = this.queued++ * 5;
    q[at] = vid;
    q[at + 1] = hi;
    q[at + 2] = lo;
    q[at + 3] = from;
    q[at + 4] = to;
    this.pending = true;
  };

  /** Hand out what the last batch queued: flaps first (they may shut a port), then moves. */
  flush(): void {
    this.pending = false;
    const flaps = this.flaps;
    if (flaps.length > 0) {
      this.flaps = [];
      for (const f of flaps) this.reportFlap(f);
    }
    const n = this.queued;
    this.queued = 0;
    const q = this.moveQueue;
    for (let i = 0; i < n; i++) {
      const at = i * 5;
      this.safely(() =>
        this.host.emit("fdb-move", {
          mac: formatMac(q[at + 1]!, q[at + 2]!),
          vlan: q[at]!,
          from: this.host.labelOfIndex(q[at + 3]!),
          to: this.host.labelOfIndex(q[at + 4]!),
        }),
      );
    }
  }

  private reportFlap(f: PendingFlap): void {
    const label = (p: number) => this.host.labelOfIndex(p);
    const { action, windowSeconds } = this.settings;
    const mac = formatMac(f.hi, f.lo);
    const event = { mac, vlan: f.vid, ports: [label(f.home), label(f.blamed)] as [string, string], blamed: label(f.blamed), moves: f.moves, windowSeconds, action };
    this.log.warn("MAC flapping between ports", { ...event });
    this.safely(() => this.host.emit("mac-flap", event));
    if (action === "shutdown") this.host.errDisableIndex(f.blamed, "mac-flap");
  }

  private safely(emit: () => void): void {
    try {
      emit();
    } catch (error) {
      this.log.error("an event listener threw", { err: error });
    }
  }
}
