/**
 * Bond glue: connects a Bridge's bond ports (ports/bond-port.ts) to their
 * members and to the decision loop. Design:
 *
 *  - members are opened as ports of their own kind (AF_PACKET, or in-memory)
 *    under hidden indices: the port table marks them `reserved` (never a
 *    flood or forwarding target, never handed to another port) and the
 *    addon moves their frames like any port's;
 *  - before the decision (`ingress`), every frame that arrived on a member
 *    is counted on the member, renamed to its bond (rxPort = bond index)
 *    and put through the bond's receive filters; a refused frame's verdict
 *    (a drop reason, 32-35) is left in `verdict[i]` for the decision loop to
 *    count on the bond and skip; LACP frames are copied aside and handed to
 *    LACP once the pass is done;
 *  - after the decision (`egress`), a frame whose egress mask holds a
 *    bond's bit leaves through one member instead: the active member, or
 *    the member of its hash bucket;
 *  - beside the data path: a 100 ms tick (updelay/downdelay, ARP monitor,
 *    LACP timers, drain, rebalancing), member links from the LinkMonitor
 *    and polled every miimon ms (member-links.ts says why),
 *    announcements after failovers, logs and events.
 * Both passes touch typed arrays only and allocate nothing per frame; a
 * bridge without bonds skips them.
 */
import type { BridgeEventMap } from "../bridge-events.js";
import type { Batch } from "../core/batch.js";
import type { Counters } from "../core/counters.js";
import { EGRESS_WORDS, MAX_PORTS } from "../core/abi.js";
import { type Fdb } from "../core/fdb.js";
import { PortFlag, PortState, type PortTable } from "../core/port-table.js";
import { DROP_REASON_COUNT } from "../core/reasons.js";
import type { VlanTable } from "../core/vlan.js";
import { TapbridgeError } from "../errors.js";
import type { LinkMonitor } from "../io/link-monitor.js";
import { PORT_STAT_COUNT, PortStat, type NativeDataplane } from "../io/native-binding.js";
import { PacketPort } from "../io/native-port.js";
import type { Logger } from "../log.js";
import type { BondPort } from "../ports/bond-port.js";
import { MemoryPort } from "../ports/memory-port.js";
import type { Port } from "../ports/port.js";
import type { Scheduler, Timer } from "../scheduler.js";
import { Announcer } from "./announcer.js";
import { Bond, type BondMemberInfo } from "./bond.js";
import { macBytes, nameMac } from "./frames.js";
import { GarpLock } from "./garp-lock.js";
import { MemberLinks } from "./member-links.js";
import { resolveBondSettings, type BondOptions } from "./settings.js";
import { bondStatus, type BondStatus, type MemberCounters } from "./status.js";

const TICK_MS = 100;
/** A tick this late means the event loop was held up (see tick). */
const STALL_MS = 2.5 * TICK_MS;

/** What the glue needs from its bridge. */
export interface BondHost {
  readonly name: string;
  readonly log: Logger;
  readonly scheduler: Scheduler;
  readonly fdb: Fdb;
  readonly counters: Counters;
  readonly vlanTable: VlanTable;
  readonly portTable: PortTable;
  vlanFiltering(): boolean;
  /** The addon's dataplane (created on first use). */
  dataplane(): NativeDataplane;
  /** The addon's per-port counters, when it exists. */
  nativeStats(): Float64Array | undefined;
  linkMonitor(): LinkMonitor | undefined;
  /** Send a frame out of a port index as built (queued while a batch is decided). */
  transmit(index: number, frame: Uint8Array): void;
  setPortLink(port: BondPort, up: boolean, reason: string): void;
  /** In-memory members join (or leave) the bridge's in-memory ports, so frames reach them. */
  memoryMember(port: MemoryPort, join: boolean): void;
  /** The decision loop's per-frame verdicts (undefined: no bonds). */
  setVerdicts(verdict: Uint8Array | undefined): void;
  emit<K extends keyof BridgeEventMap>(event: K, ...args: BridgeEventMap[K]): boolean;
}

interface Entry {
  port: BondPort;
  bond: Bond;
  members: (PacketPort | MemoryPort)[];
  indices: number[];
  links: MemberLinks | undefined;
  /** Polls the members' links every miimon ms (native members only). */
  mii: Timer | undefined;
  announcer: Announcer;
}

export class BridgeBonds {
  /** Per frame of the batch being decided: 0, or the drop reason the bond filter gave it. */
  readonly verdict = new Uint8Array(1024);
  private readonly entryOf = new Int16Array(MAX_PORTS).fill(-1);
  private readonly slotOf = new Uint8Array(MAX_PORTS);
  private readonly entries: (Entry | undefined)[] = [];
  private list: Entry[] = [];
  private timer: Timer | undefined;
  private lastTick = 0;
  /** Recent gratuitous ARPs seen on the bridge's other ports (balance-slb). */
  private readonly garp = new GarpLock();
  private slbBonds = 0;
  private now = 0;
  private batchBytes: Uint8Array | undefined;
  private current: Entry | undefined;
  private readonly pending: { entry: Entry; slot: number; pdu: Uint8Array }[] = [];
  private readonly total = new Float64Array(PORT_STAT_COUNT);

  constructor(private readonly host: BondHost) {}

  get active(): boolean {
    return this.list.length > 0;
  }

  /** Whether a port index belongs to a bond member. */
  isMember(index: number): boolean {
    return index >= 0 && index < MAX_PORTS && this.entryOf[index]! >= 0;
  }

  isMemberPort(port: Port): boolean {
    const e = this.isMember(port.index) ? this.entries[this.entryOf[port.index]!] : undefined;
    return e !== undefined && e.members[this.slotOf[port.index]!] === port;
  }

  // ── life cycle ──────────────────────────────────────────────────────────

  /** Open the members of a bond added at `index` (before it is a port); throws and undoes on failure. */
  open(port: BondPort, index: number, options: BondOptions | undefined): void {
    const settings = resolveBondSettings({ ...port.options, ...options }, port.memberNames);
    const h = this.host;
    const slot = this.entries.findIndex((e) => e === undefined);
    const id = slot < 0 ? this.entries.length : slot;
    const members = [...port.members];
    const indices: number[] = [];
    try {
      for (const member of members) {
        const i = h.portTable.freeIndex();
        if (i < 0) throw new TapbridgeError("ENOSPC", `bridge ${h.name} has no port index left for bond ${port.name}'s member ${member.label}`);
        h.portTable.flags[i] = PortFlag.reserved;
        indices.push(i);
        this.openMember(member, i, port);
      }
    } catch (error) {
      members.forEach((m, k) => indices[k] !== undefined && this.closeMember(m, indices[k]!));
      throw error;
    }
    port.mac = members[0]!.mac ?? nameMac(port.name);
    port.mtu = Math.min(...members.map((m) => m.mtu));
    const infos: BondMemberInfo[] = members.map((m, k) => ({ name: port.memberNames[k]!, index: indices[k]!, mac: macBytes(m.mac ?? nameMac(`${port.name}/${m.label}`)) }));
    const entry: Entry = { port, members, indices, links: undefined, mii: undefined, bond: undefined as unknown as Bond, announcer: undefined as unknown as Announcer };
    entry.bond = new Bond(port.name, index, settings, infos, this.hooks(entry));
    entry.announcer = new Announcer(index, {
      fdb: h.fdb,
      vlanTable: h.vlanTable,
      scheduler: h.scheduler,
      vlanFiltering: () => h.vlanFiltering(),
      forwarding: () => h.portTable.state[index] === PortState.forwarding,
      own: (p) => p === index || this.entryOf[p] === id,
      announcer: (hi, lo, vid) => entry.bond.announcer(hi, lo, vid),
      send: (i, frame) => h.transmit(i, frame),
      done: (count, reason) => h.log.info("bond announced stations", { bond: port.name, stations: count, reason }),
    });
    indices.forEach((i, k) => {
      this.entryOf[i] = id;
      this.slotOf[i] = k;
    });
    this.entries[id] = entry;
    this.list = this.entries.filter((e): e is Entry => e !== undefined);
    if (settings.mode === "balance-slb") this.slbBonds++;
    h.setVerdicts(this.verdict);
    if (!this.timer) {
      this.lastTick = h.scheduler.now();
      this.timer = h.scheduler.every(TICK_MS, () => this.tick());
    }
  }

  /** The bond is a port now: follow member links and report its first state. */
  start(port: BondPort): void {
    const entry = this.entryFor(port);
    const monitor = entry.members.some((m) => m instanceof PacketPort) ? this.host.linkMonitor() : undefined;
    if (monitor) {
      entry.links = new MemberLinks(monitor, () => entry.members.map((m) => (m instanceof PacketPort ? { name: m.name, netns: m.netns, ifindex: entry.bond.members[entry.members.indexOf(m)]!.gone ? undefined : m.ifindex } : undefined)), {
        carrier: (slot, up, reason) => entry.bond.setCarrier(slot, up, reason),
        gone: (slot, reason) => this.memberGone(entry, slot, reason),
        back: (slot) => this.memberBack(entry, slot),
      }, this.host.log);
    }
    entry.members.forEach((m, slot) => {
      if (m instanceof MemoryPort) entry.bond.setCarrier(slot, m.linkUp, "carrier");
      else if (entry.links) entry.links.refresh(slot);
      else entry.bond.setCarrier(slot, true, "no link monitor");
    });
    entry.bond.recompute("started");
    this.syncVlans(port);
    this.startMii(entry);
  }

  /** (Re)start polling the members' links at the bond's miimon. */
  private startMii(entry: Entry): void {
    entry.mii?.cancel();
    entry.mii = undefined;
    const ms = entry.bond.settings.miimon;
    if (entry.links && ms > 0) entry.mii = this.host.scheduler.every(ms, () => entry.links?.poll());
  }

  /** Close the members of a bond being removed. */
  close(port: BondPort): void {
    const entry = this.entries.find((e) => e?.port === port);
    if (!entry) return;
    const id = this.entries.indexOf(entry);
    entry.mii?.cancel();
    entry.links?.close();
    entry.announcer.stop();
    entry.members.forEach((m, k) => this.closeMember(m, entry.indices[k]!, entry.bond.members[k]?.gone));
    this.entries[id] = undefined;
    this.list = this.entries.filter((e): e is Entry => e !== undefined);
    if (entry.bond.mode === "balance-slb") this.slbBonds--;
    if (this.list.length === 0) {
      this.host.setVerdicts(undefined);
      this.timer?.cancel();
      this.timer = undefined;
    }
  }

  /** Change a running bond's options (those given change; a mode change re-runs selection). */
  configure(port: BondPort, options: BondOptions): void {
    const entry = this.entryFor(port);
    const before = entry.bond.mode;
    const settings = resolveBondSettings(options, port.memberNames, entry.bond.settings);
    const miimon = entry.bond.settings.miimon;
    entry.bond.configure(settings);
    if (settings.miimon !== miimon) this.startMii(entry);
    if (before === "balance-slb") this.slbBonds--;
    if (settings.mode === "balance-slb") this.slbBonds++;
  }

  private openMember(member: PacketPort | MemoryPort, index: number, bond: BondPort): void {
    const h = this.host;
    if (member instanceof PacketPort) {
      const dp = h.dataplane();
      member.attach(dp, index, `bond ${bond.name} of bridge ${h.name}`);
      for (let c = 0; c < PORT_STAT_COUNT; c++) dp.portStats[index * PORT_STAT_COUNT + c] = 0;
    } else {
      if (member.index >= 0) throw new TapbridgeError("EBUSY", `port ${member.label} is already attached to a bridge`);
      h.memoryMember(member, true);
    }
    member.index = index;
    h.counters.clearPort(index);
  }

  private closeMember(member: PacketPort | MemoryPort, index: number, gone = false): void {
    const h = this.host;
    try {
      if (member instanceof PacketPort && !gone) member.close(h.dataplane());
      else if (member instanceof MemoryPort) h.memoryMember(member, false);
    } catch (error) {
      h.log.warn("closing a bond member failed", { member: member.label, err: error });
    }
    member.index = -1;
    h.portTable.flags[index] = 0;
    h.vlanTable.clearPort(index);
    this.entryOf[index] = -1;
  }

  private memberGone(entry: Entry, slot: number, reason: string): void {
    const m = entry.members[slot]!;
    if (entry.bond.members[slot]!.gone) return;
    this.host.log.warn("bond member's device is gone; it waits for it to return", { bond: entry.port.name, member: m.label, reason });
    if (m instanceof PacketPort && m.index >= 0) {
      try {
        m.close(this.host.dataplane());
      } catch (error) {
        this.host.log.warn("closing a bond member failed", { member: m.label, err: error });
      }
    }
    entry.bond.setGone(slot, true);
  }

  private memberBack(entry: Entry, slot: number): void {
    const old = entry.members[slot]!;
    if (!(old instanceof PacketPort)) return;
    const index = entry.indices[slot]!;
    const fresh = old.recreate();
    try {
      fresh.attach(this.host.dataplane(), index, `bond ${entry.port.name} of bridge ${this.host.name}`);
    } catch (error) {
      this.host.log.warn("reopening a bond member failed", { bond: entry.port.name, member: old.label, err: error });
      return;
    }
    fresh.index = index;
    old.index = -1;
    entry.members[slot] = fresh;
    entry.bond.setGone(slot, false, { name: entry.port.memberNames[slot]!, index, mac: macBytes(fresh.mac ?? entry.port.mac!) });
    this.host.log.info("bond member's device is back", { bond: entry.port.name, member: fresh.label });
    entry.links?.refresh(slot);
  }

  /** An in-memory member's carrier. */
  memberLink(port: Port, up: boolean, reason: string): void {
    const entry = this.entries[this.entryOf[port.index]!]!;
    entry.bond.setCarrier(this.slotOf[port.index]!, up, reason);
  }

  /** The addon reported something on a member's fd. */
  onPortEvent(index: number, type: "rx-error" | "rx-stopped", code: string | undefined): void {
    const entry = this.entries[this.entryOf[index]!];
    if (!entry) return;
    const slot = this.slotOf[index]!;
    if (type === "rx-stopped") this.memberGone(entry, slot, code === "EBADFD" ? "deleted" : "rx-stopped");
    else this.host.log.warn("bond member receive error; polling restarted", { bond: entry.port.name, member: entry.members[slot]!.label, code });
  }

  /** Members leave the bond's VLANs as the bond does (the addon tags per member index). */
  syncVlans(port: BondPort): void {
    const entry = this.entries.find((e) => e?.port === port);
    if (!entry) return;
    const vt = this.host.vlanTable;
    const vlans = vt.entriesOf(entry.bond.index);
    const pvid = vt.pvid[entry.bond.index]!;
    for (const i of entry.indices) {
      vt.replacePort(i, vlans);
      vt.pvid[i] = pvid;
    }
  }

  private entryFor(port: BondPort): Entry {
    const entry = this.entries.find((e) => e?.port === port);
    if (!entry) throw new TapbridgeError("ENOENT", `bond ${port.name} is not a port of bridge ${this.host.name}`);
    return entry;
  }

  private hooks(entry: Entry) {
    const h = this.host;
    const label = entry.port.name;
    return {
      send: (index: number, frame: Uint8Array) => h.transmit(index, frame),
      announce: (reason: string) => entry.announcer.start(reason),
      link: (up: boolean, reason: string) => {
        if (entry.port.index >= 0) h.setPortLink(entry.port, up, up ? reason : `bond: ${reason}`);
      },
      failover: (e: { from?: string; to?: string; reason: string; bucketsMoved: number }) => {
        h.log.warn("bond failover", { bond: label, mode: entry.bond.mode, ...e });
        h.emit("bond-failover", { port: label, index: entry.bond.index, mode: entry.bond.mode, ...e });
      },
      member: (e: { member: string; state: string; enabled: boolean; reason: string }) => {
        h.log.info(e.enabled ? "bond member enabled" : "bond member disabled", { bond: label, ...e });
        h.emit("bond-member", { port: label, index: entry.bond.index, ...e });
      },
      log: (level: "debug" | "info" | "warn", message: string, fields: Record<string, unknown>) => h.log[level](message, { bond: label, ...fields }),
      garpLocked: (hi: number, lo: number) => this.garp.locked(hi, lo, this.now),
    };
  }

  // ── beside the data path ──────────────────────────────────────────────

  private tick(inTurn = false): void {
    const now = this.host.scheduler.now();
    const elapsed = now - this.lastTick;
    if (elapsed <= 0) return;
    this.lastTick = now;
    // A late tick means the event loop was held up (a loaded machine): the frames that arrived meanwhile
    // still wait in the members' rings and are read after this timer, in this turn's I/O phase. Judging
    // ARP silence now would take a member that was answered for one that was not (measured: a healthy
    // member dropped 2.7 and 5 s after a failover to it, 1.3-3.5 s outages); judge it once they are read.
    // Virtual time never stalls (each tick is exactly TICK_MS late), and runTimers() judges in turn.
    const stalled = !inTurn && elapsed > STALL_MS && this.list.some((e) => e.bond.settings.arpInterval > 0);
    for (const e of this.list) e.bond.tick(elapsed, !stalled);
    // setImmediate: after this turn's I/O phase (uv_poll reads the rings there), before any later timer.
    if (stalled) {
      this.host.log.debug("bond timers ran late; ARP silence is judged once the frames that waited are read", { lateMs: Math.round(elapsed - TICK_MS) });
      setImmediate(() => this.list.forEach((e) => e.bond.tick(0)));
    }
  }

  /** Advance bond timers to the scheduler's now (the bridge does it every 100 ms by itself). */
  runTimers(): void {
    this.tick(true);
  }

  status(port: BondPort): BondStatus {
    const entry = this.entryFor(port);
    return bondStatus(entry.bond, (i) => this.memberCounters(entry, i), entry.announcer.lastCount);
  }

  /** A bond's member ports, in member order (a member whose device is gone is still listed). */
  members(port: BondPort): (PacketPort | MemoryPort)[] {
    return [...this.entryFor(port).members];
  }

  bondPorts(): BondPort[] {
    return this.list.map((e) => e.port);
  }

  private memberCounters(entry: Entry, index: number): MemberCounters {
    const c = this.host.counters;
    const n = this.host.nativeStats();
    const native = entry.members[entry.indices.indexOf(index)] instanceof PacketPort && n ? n.subarray(index * PORT_STAT_COUNT, (index + 1) * PORT_STAT_COUNT) : undefined;
    return {
      rxPackets: c.rxPackets[index]!,
      rxBytes: c.rxBytes[index]!,
      txPackets: native ? native[PortStat.txPackets]! : c.txPackets[index]!,
      txBytes: native ? native[PortStat.txBytes]! : c.txBytes[index]!,
      txDropped: native ? native[PortStat.txDropped]! + native[PortStat.txGsoDropped]! + native[PortStat.txOversize]! : 0,
      txErrors: native ? native[PortStat.txErrors]! + native[PortStat.txLinkDown]! : 0,
      drops: c.dropsOf(index),
    };
  }

  /** The bond's transmit-side counters in the addon's columns: its members' summed (status of the bond port). */
  statTotals(port: BondPort): Float64Array {
    const entry = this.entryFor(port);
    const t = this.total.fill(0);
    const n = this.host.nativeStats();
    entry.members.forEach((m, k) => {
      const i = entry.indices[k]!;
      if (m instanceof PacketPort && n) for (let col = 0; col < PORT_STAT_COUNT; col++) t[col]! += n[i * PORT_STAT_COUNT + col]!;
      else {
        t[PortStat.txPackets]! += this.host.counters.txPackets[i]!;
        t[PortStat.txBytes]! += this.host.counters.txBytes[i]!;
      }
    });
    return t;
  }

  // ── the data path ─────────────────────────────────────────────────────

  /** Before the decision: rename member frames to their bond and filter them. */
  ingress(batch: Batch, count: number, now: number): void {
    const { rxPort, view, frameOffset, frameLength, bytes } = batch;
    const verdict = this.verdict;
    const entryOf = this.entryOf;
    const slotOf = this.slotOf;
    const entries = this.entries;
    const { rxPackets, rxBytes, drops } = this.host.counters;
    const fdb = this.host.fdb;
    const vt = this.host.vlanTable;
    const vlanOn = this.host.vlanFiltering();
    const tpid = vt.tpid;
    const watchGarp = this.slbBonds > 0;
    this.now = now;
    this.batchBytes = bytes;
    for (let i = 0; i < count; i++) {
      const p = rxPort[i]!;
      const offset = frameOffset[i]!;
      const length = frameLength[i]!;
      const e = entryOf[p]!;
      if (e < 0) {
        verdict[i] = 0;
        if (watchGarp) this.garp.note(view, offset, length, now);
        continue;
      }
      const entry = entries[e]!;
      const bond = entry.bond;
      rxPackets[p]!++;
      rxBytes[p]! += length;
      rxPort[i] = bond.index;
      let vid = 0;
      if (vlanOn && length >= 18) {
        vid = view.getUint16(offset + 12) === tpid ? view.getUint16(offset + 14) & 0xfff : 0;
        if (vid === 0) vid = vt.pvid[bond.index]!;
      }
      this.current = entry;
      const v = bond.admit(slotOf[p]!, view, offset, length, fdb, vid, now, this.collect);
      verdict[i] = v;
      if (v !== 0) drops[p * DROP_REASON_COUNT + v]!++;
    }
    this.current = undefined;
    this.batchBytes = undefined;
    if (this.pending.length > 0) this.deliverControl();
  }

  /** LACP frames found by the filter pass: copied now, handed over once it is done. */
  private readonly collect = (slot: number, offset: number, length: number): void => {
    this.pending.push({ entry: this.current!, slot, pdu: this.batchBytes!.slice(offset + 14, offset + length) });
  };

  private deliverControl(): void {
    const list = this.pending.splice(0);
    for (const { entry, slot, pdu } of list) {
      if (this.entries.includes(entry)) entry.bond.lacp?.receive(slot, pdu);
    }
  }

  /** After the decision: a frame for a bond leaves through one of its members. */
  egress(batch: Batch, count: number): void {
    const { egress, view, frameOffset, frameLength, frameTag } = batch;
    for (const entry of this.list) {
      const bond = entry.bond;
      const p = bond.index;
      const w = p >>> 5;
      const bit = 1 << (p & 31);
      for (let i = 0; i < count; i++) {
        const at = i * EGRESS_WORDS + w;
        if ((egress[at]! & bit) === 0) continue;
        egress[at]! &= ~bit;
        const m = bond.pick(view, frameOffset[i]!, frameLength[i]!, frameTag[i]!);
        if (m < 0) {
          bond.txNoMember++;
          continue;
        }
        egress[i * EGRESS_WORDS + (m >>> 5)]! |= 1 << (m & 31);
      }
    }
  }
}
