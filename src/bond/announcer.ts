/**
 * After a failover, tell the external switch where every station behind the
 * bridge's other ports now lives: one gratuitous RARP per learned (MAC,
 * VLAN), sent through the member that carries that station's traffic from
 * now on (active-backup: the active member; balance-slb: the member of its
 * hash bucket), tagged as the bond's VLAN configuration says. Open vSwitch
 * sends the same "learning packets"; the bonding driver's num_grat_arp does
 * it with ARP for the bond's own addresses.
 *
 * The FDB is walked from a cursor in steps of at most STEP_SLOTS slots and
 * STEP_FRAMES frames, one step per scheduler turn, so a table of a million
 * stations never holds the event loop. A new failover restarts the walk.
 */
import type { Fdb, FdbCursor } from "../core/fdb.js";
import type { VlanTable } from "../core/vlan.js";
import type { Scheduler, Timer } from "../scheduler.js";
import { rarpAnnouncement } from "./frames.js";

const STEP_SLOTS = 16_384;
const STEP_FRAMES = 256;

export interface AnnouncerHost {
  readonly fdb: Fdb;
  readonly vlanTable: VlanTable;
  readonly scheduler: Scheduler;
  vlanFiltering(): boolean;
  /** The bond may send data now (its port forwards). */
  forwarding(): boolean;
  /** Port indices that are the bond or its members (stations learned there are not announced). */
  own(port: number): boolean;
  /** The member port index that announces this station, or -1. */
  announcer(hi: number, lo: number, vid: number): number;
  send(index: number, frame: Uint8Array): void;
  done(count: number, reason: string): void;
}

export class Announcer {
  private cursor: FdbCursor | undefined;
  private timer: Timer | undefined;
  private sent = 0;
  private reason = "";
  /** Stations announced by the last complete walk. */
  lastCount = 0;

  constructor(
    private readonly bondIndex: number,
    private readonly host: AnnouncerHost,
  ) {}

  get running(): boolean {
    return this.cursor !== undefined;
  }

  start(reason: string): void {
    this.stop();
    if (!this.host.forwarding()) return;
    this.cursor = this.host.fdb.cursor();
    this.sent = 0;
    this.reason = reason;
    this.step();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.cursor = undefined;
  }

  private step(): void {
    this.timer = undefined;
    const cursor = this.cursor;
    if (!cursor) return;
    const h = this.host;
    const vlanOn = h.vlanFiltering();
    const vt = h.vlanTable;
    const out: [number, Uint8Array][] = [];
    h.fdb.scan(cursor, h.scheduler.now(), STEP_SLOTS, (vid, hi, lo, port) => {
      if (h.own(port)) return;
      let tag = 0;
      if (vlanOn && vid !== 0) {
        if (!vt.isMember(this.bondIndex, vid)) return;
        if (!vt.isUntagged(this.bondIndex, vid)) tag = ((vt.tpid << 16) | vid) >>> 0;
      }
      const member = h.announcer(hi, lo, vid);
      if (member >= 0) out.push([member, rarpAnnouncement(hi, lo, tag)]);
      if (out.length >= STEP_FRAMES) return false;
    });
    for (const [member, frame] of out) h.send(member, frame);
    this.sent += out.length;
    if (cursor.done) {
      this.cursor = undefined;
      this.lastCount = this.sent;
      h.done(this.sent, this.reason);
      return;
    }
    this.timer = h.scheduler.after(0, () => this.step());
  }
}
