/**
 * "mac-learned" and "mac-expired" events (station moves are "fdb-move",
 * fdb-guard.ts). The FDB calls its onLearn/onExpire hooks only while they
 * are set, and they are set only while the event has listeners: a bridge
 * nobody listens to pays one undefined-check when an entry is created or
 * ages out, never per frame. Inside the decision loop or the ageing sweep
 * the hooks only record plain numbers (at most QUEUE entries between two
 * flushes, the rest counted in `unreported`); the events are emitted after
 * the batch (before its "fdb-move" events, so a station's story reads in
 * order) or, for the ageing sweep, on the next turn of the event loop —
 * outside the data path either way. A listener that throws reaches the
 * bridge's `error` event.
 */
import type { EventEmitter } from "node:events";
import type { BridgeEventMap } from "./bridge-events.js";
import type { Fdb } from "./core/fdb.js";
import { formatMac } from "./core/frame.js";

export const QUEUE = 4096;
const LEARNED = 0;
const EXPIRED = 1;

export interface FdbEventsHost extends EventEmitter<BridgeEventMap> {
  labelOfIndex(index: number): string;
  reportErrors(errors: unknown[]): void;
}

export class FdbEvents {
  private readonly queue = new Float64Array(QUEUE * 5);
  private queued = 0;
  private scheduled = false;
  /** Events dropped because QUEUE were waiting. */
  unreported = 0;

  constructor(
    private readonly fdb: Fdb,
    private readonly host: FdbEventsHost,
  ) {
    const plain = host as unknown as EventEmitter;
    plain.on("newListener", (name: string | symbol) => this.update(String(name), 1));
    plain.on("removeListener", (name: string | symbol) => this.update(String(name), 0));
  }

  private update(name: string, adding: number): void {
    if (name === "mac-learned") this.fdb.onLearn = this.host.listenerCount(name) + adding > 0 ? this.onLearn : undefined;
    if (name === "mac-expired") this.fdb.onExpire = this.host.listenerCount(name) + adding > 0 ? this.onExpire : undefined;
  }

  private readonly onLearn = (vid: number, hi: number, lo: number, port: number): void => this.record(LEARNED, vid, hi, lo, port);
  private readonly onExpire = (vid: number, hi: number, lo: number, port: number): void => this.record(EXPIRED, vid, hi, lo, port);

  private record(kind: number, vid: number, hi: number, lo: number, port: number): void {
    if (this.queued >= QUEUE) {
      this.unreported++;
      return;
    }
    const q = this.queue;
    const at = this.queued++ * 5;
    q[at] = kind;
    q[at + 1] = vid;
    q[at + 2] = hi;
    q[at + 3] = lo;
    q[at + 4] = port;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Something waits to be emitted. */
  get pending(): boolean {
    return this.queued > 0;
  }

  /** Emit what was recorded (the bridge calls it after each batch; the sweep's go on the next turn). */
  readonly flush = (): void => {
    this.scheduled = false;
    const n = this.queued;
    this.queued = 0;
    const q = this.queue.slice(0, n * 5);
    const errors: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const at = i * 5;
      const event = { mac: formatMac(q[at + 2]!, q[at + 3]!), vlan: q[at + 1]!, port: this.host.labelOfIndex(q[at + 4]!) };
      try {
        this.host.emit(q[at] === LEARNED ? "mac-learned" : "mac-expired", event);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) this.host.reportErrors(errors);
  };
}
