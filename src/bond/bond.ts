/**
 * One bond: which members carry traffic, the receive filters, and the
 * member each frame leaves through. Pure (no I/O, no clock): link changes,
 * LACPDUs and `tick(ms)` come in; frames, events and log lines go out
 * through the hooks. The glue (bridge-bonds.ts) runs the per-frame parts
 * (`admit`, `pick`) on the batch and everything else beside it.
 *
 * Who carries traffic ("carriers"), by mode:
 *  - active-backup: the active member alone — the primary when it is
 *    usable, else the active member as long as it stays usable, else the
 *    first usable member (or, when none is usable, one still in updelay);
 *  - balance-slb: every usable member, by hash of source MAC and VLAN; the
 *    "active" member is the one that accepts broadcast and multicast;
 *  - lacp: the members LACP put in collecting/distributing, by L2-L4 hash;
 *    when the partner speaks no LACP (members defaulted) and lacp-fallback
 *    is on, active-backup among those members.
 *
 * Receive filters (each drop counted under its reason, 32-35):
 *  - bond_member_inactive: on a member that does not carry traffic (a
 *    backup, one LACP has not aggregated, one whose link is down);
 *  - bond_multicast_ignored: balance-slb broadcast/multicast on a member
 *    other than the active one (the switch floods to every member);
 *  - bond_reflection: balance-slb, a frame whose source MAC is learned on
 *    another port of the bridge — our own frame, sent on one member and
 *    flooded back on another — unless a gratuitous ARP of a station that
 *    moved (and did not just announce itself behind the bridge);
 *  - bond_control: a LACPDU or Marker PDU taken by LACP, or the reply to
 *    our own ARP probe.
 * After an active-backup failover to a member while the old one is still
 * up (the primary returning), the old member keeps accepting unicast that
 * is not a reflection for DRAIN_MS, so replies the switch sent before it
 * relearned the stations are not lost.
 *
 * After a failover the glue announces every station behind the bridge's
 * other ports through the member that now carries it (gratuitous RARP).
 */
import { DropReason } from "../core/reasons.js";
import { type Fdb, NO_PORT } from "../core/fdb.js";
import { isSlowProtocolsFrame } from "./lacp/pdu.js";
import { Lacp, type LacpStatus } from "./lacp/lacp.js";
import { Buckets, NO_MEMBER } from "./buckets.js";
import { l234Bucket, slbBucket, slbFrameBucket } from "./hash.js";
import { arpBody, arpProbe, arpReplyTo, arpSenderIp, isGratuitousArp } from "./frames.js";
import { MemberHealth, type HealthState } from "./health.js";
import { type BondMode, type BondSettings } from "./settings.js";

export const RxMode = { inactive: 0, unicast: 1, all: 2 } as const;
export const TxMode = { none: 0, active: 1, slb: 2, l234: 3 } as const;
/** How long the member an active-backup bond left keeps accepting unicast (ms). */
export const DRAIN_MS = 1000;

export interface BondMemberInfo {
  /** As the bond's configuration names it ("eth1", "eth1@ns"): what primary= refers to. */
  name: string;
  /** The port index its frames arrive under (a hidden index, not a bridge port). */
  index: number;
  /** Six bytes. */
  mac: Uint8Array;
}

export interface BondFailover {
  from?: string;
  to?: string;
  reason: string;
  /** balance-slb and lacp: hash buckets that moved to other members. */
  bucketsMoved: number;
}

export interface BondMemberChange {
  member: string;
  state: HealthState;
  /** Whether it carries traffic now. */
  enabled: boolean;
  reason: string;
}

export interface BondHooks {
  /** Send a frame, as built, out of the member at port index `index`. */
  send(index: number, frame: Uint8Array): void;
  /** Stations behind the bridge's other ports must be announced through the members that carry them now. */
  announce(reason: string): void;
  /** The bond as a bridge port: up while a member carries traffic. */
  link(up: boolean, reason: string): void;
  failover(e: BondFailover): void;
  member(e: BondMemberChange): void;
  log(level: "debug" | "info" | "warn", message: string, fields: Record<string, unknown>): void;
  /** Whether the bridge saw this station send a gratuitous ARP on another port within the last seconds. */
  garpLocked(hi: number, lo: number): boolean;
}

export class BondMember {
  readonly health: MemberHealth;
  gone = false;
  enabled = false;
  macHi: number;
  macLo: number;
  constructor(
    readonly slot: number,
    public info: BondMemberInfo,
    settings: BondSettings,
  ) {
    this.health = new MemberHealth(settings.updelay, settings.downdelay);
    this.macHi = (info.mac[0]! << 8) | info.mac[1]!;
    this.macLo = ((info.mac[2]! << 24) | (info.mac[3]! << 16) | (info.mac[4]! << 8) | info.mac[5]!) >>> 0;
  }
}

export class Bond {
  readonly members: BondMember[];
  readonly buckets = new Buckets();
  /** Per member slot: what it accepts (RxMode), whether reflections are checked, its port index. */
  readonly rxMode: Uint8Array;
  readonly reflect: Uint8Array;
  readonly indexOfSlot: Int16Array;
  txMode: number = TxMode.none;
  /** Port index of the member active-backup sends through, -1 when none. */
  activeIndex = -1;
  /** Frames that found no member to leave through. */
  txNoMember = 0;
  lacp: Lacp | undefined;
  active: BondMember | undefined;
  failovers = 0;
  lastFailover: (BondFailover & { mode: BondMode }) | undefined;
  private carriers = new Set<number>();
  /** Whether a member carries traffic, as last reported (undefined: not yet, so the first state is reported either way). */
  private up: boolean | undefined;
  private drainSlot = -1;
  private drainLeft = 0;
  private arpElapsed = 0;
  private rebalanceElapsed = 0;
  private quiet = false;

  constructor(
    readonly name: string,
    readonly index: number,
    public settings: BondSettings,
    members: BondMemberInfo[],
    private readonly hooks: BondHooks,
  ) {
    this.members = members.map((info, slot) => new BondMember(slot, info, settings));
    this.rxMode = new Uint8Array(members.length);
    this.reflect = new Uint8Array(members.length);
    this.indexOfSlot = Int16Array.from(members.map((m) => m.index));
    this.applyMode();
  }

  get mode(): BondMode {
    return this.settings.mode;
  }

  /** Whether a member carries traffic. */
  get isUp(): boolean {
    return this.up === true;
  }

  /** New settings (same members); the mode may change. */
  configure(settings: BondSettings): void {
    const modeChanged = settings.mode !== this.settings.mode;
    this.settings = settings;
    for (const m of this.members) {
      m.health.updelay = settings.updelay;
      m.health.downdelay = settings.downdelay;
      m.health.sinceArp = 0;
      if (settings.arpInterval === 0 && !m.health.arpOk && m.health.setArp(true)) this.lacp?.setEnabled(m.slot, m.health.usable);
    }
    if (modeChanged) this.applyMode();
    else this.lacp?.configure(this.lacpConfig());
    this.recompute("configured");
  }

  private lacpConfig() {
    const s = this.settings;
    const mac = this.members[0]!.info.mac;
    const system = [...mac].map((b) => b.toString(16).padStart(2, "0")).join(":");
    return { system, systemPriority: s.lacpSystemPriority, key: s.lacpKey || this.index + 1, active: s.lacpActive, fast: s.lacpRate === "fast" };
  }

  private applyMode(): void {
    this.buckets.reset();
    this.carriers.clear();
    this.lacp = undefined;
    if (this.settings.mode === "lacp") {
      this.lacp = new Lacp(this.lacpConfig(), {
        sendPdu: (slot, pdu) => this.sendPdu(slot, pdu),
        changed: (slot, reason) => {
          if (!this.quiet) this.recompute(`lacp: ${reason}`, slot);
        },
        log: (message, fields) => this.hooks.log("debug", message, { ...fields, member: this.nameOf(fields.member) }),
      });
      for (const m of this.members) {
        this.lacp.addMember(m.slot, m.slot + 1);
        if (m.health.usable) this.lacp.setEnabled(m.slot, true);
      }
    }
  }

  private nameOf(slot: unknown): string | undefined {
    return typeof slot === "number" ? this.members[slot]?.info.name : undefined;
  }

  private sendPdu(slot: number, pdu: Uint8Array): void {
    const m = this.members[slot];
    if (!m || m.gone) return;
    const frame = new Uint8Array(14 + pdu.length);
    frame.set([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02], 0);
    frame.set(m.info.mac.subarray(0, 6), 6);
    frame[12] = 0x88;
    frame[13] = 0x09;
    frame.set(pdu, 14);
    this.hooks.send(m.info.index, frame);
  }

  // ── hot path ──────────────────────────────────────────────────────────

  /**
   * Receive filter for a frame that arrived on member `slot`: 0 to let it
   * through to the decision, or the DropReason it is counted under. `vid`
   * is the frame's VLAN as the bridge learns it (0 when VLAN-unaware).
   * LACP frames are handed over in `control` for after the filter pass.
   */
  admit(slot: number, view: DataView, offset: number, length: number, fdb: Fdb, vid: number, now: number, control: (slot: number, offset: number, length: number) => void): number {
    if (length < 14) return 0; // the decision counts it as a runt
    if (this.lacp !== undefined && isSlowProtocolsFrame(view, offset, length)) {
      control(slot, offset, length);
      return DropReason.bondControl;
    }
    if (this.settings.arpInterval > 0) {
      const body = arpBody(view, offset, length);
      if (body >= 0 && this.settings.arpTargets.includes(arpSenderIp(view, body))) {
        const m = this.members[slot]!;
        m.health.sinceArp = 0;
        if (arpReplyTo(view, body, m.macHi, m.macLo)) return DropReason.bondControl;
      }
    }
    const mode = this.rxMode[slot]!;
    if (mode === RxMode.inactive) return DropReason.bondMemberInactive;
    if (view.getUint8(offset) & 1) {
      if (mode === RxMode.unicast) return DropReason.bondMulticastIgnored;
    }
    if (this.reflect[slot] !== 0) {
      const hi = view.getUint16(offset + 6);
      const lo = view.getUint32(offset + 8);
      const port = fdb.lookup(vid, hi, lo, now);
      if (port !== NO_PORT && port !== this.index) {
        const body = arpBody(view, offset, length);
        if (body < 0 || !isGratuitousArp(view, body) || this.hooks.garpLocked(hi, lo)) return DropReason.bondReflection;
      }
    }
    return 0;
  }

  /** The port index of the member a frame leaves through, or -1. */
  pick(view: DataView, offset: number, length: number, tag: number): number {
    const mode = this.txMode;
    if (mode === TxMode.active) return this.activeIndex;
    if (mode === TxMode.none) return -1;
    const b = mode === TxMode.slb ? slbFrameBucket(view, offset, length, tag) : l234Bucket(view, offset, length, tag);
    const slot = this.buckets.member[b]!;
    if (slot === NO_MEMBER) return -1;
    this.buckets.load[b]! += length;
    return this.indexOfSlot[slot]!;
  }

  /** The member (port index) that announces a station after a failover, or -1 (lacp: the partner sees one link). */
  announcer(hi: number, lo: number, vid: number): number {
    if (this.txMode === TxMode.active) return this.activeIndex;
    if (this.txMode !== TxMode.slb) return -1;
    const slot = this.buckets.member[slbBucket(hi, lo, vid)]!;
    return slot === NO_MEMBER ? -1 : this.indexOfSlot[slot]!;
  }

  // ── member events ─────────────────────────────────────────────────────

  /** A member's link (carrier, admin state) as rtnetlink or the in-memory port reports it. */
  setCarrier(slot: number, up: boolean, reason: string): void {
    const m = this.members[slot];
    if (!m) return;
    if (up && !m.health.carrier) m.health.sinceArp = 0;
    if (m.health.setCarrier(up && !m.gone, reason)) this.healthChanged(m, reason);
  }

  /** A member's device went away (deleted, namespace gone) or came back under a new index. */
  setGone(slot: number, gone: boolean, info?: BondMemberInfo): void {
    const m = this.members[slot];
    if (!m) return;
    m.gone = gone;
    if (info) {
      m.info = info;
      this.indexOfSlot[slot] = info.index;
    }
    if (gone) this.setCarrier(slot, false, "deleted");
  }

  /** LACP follows a member's health; its own "changed" report is held back (the caller recomputes once). */
  private lacpFollow(m: BondMember): void {
    if (!this.lacp) return;
    this.quiet = true;
    try {
      this.lacp.setEnabled(m.slot, m.health.usable);
    } finally {
      this.quiet = false;
    }
  }

  private healthChanged(m: BondMember, reason: string): void {
    this.lacpFollow(m);
    this.recompute(reason, m.slot);
  }

  /**
   * Advance timers: updelay/downdelay, the ARP monitor, LACP, the drain,
   * rebalancing. `judgeArp` false: count the time, but judge no member's
   * ARP silence yet (the glue does it with `tick(0)` once the frames that
   * waited meanwhile are read).
   */
  tick(ms: number, judgeArp = true): void {
    const s = this.settings;
    let why: string | undefined;
    const changed: BondMember[] = [];
    for (const m of this.members) {
      if (m.health.tick(ms)) changed.push(m);
    }
    if (changed.length) why = changed[0]!.health.state === "up" ? "updelay over" : "downdelay over";
    if (s.arpInterval > 0) {
      this.arpElapsed += ms;
      for (const m of this.members) {
        m.health.sinceArp += ms;
        if (!judgeArp) continue;
        const ok = m.health.sinceArp < s.arpInterval * 2.5;
        if (ok !== m.health.arpOk && m.health.carrier && m.health.setArp(ok)) {
          changed.push(m);
          why = ok ? "arp replies" : "arp timeout";
        }
      }
      if (this.arpElapsed >= s.arpInterval) {
        this.arpElapsed %= s.arpInterval;
        for (const m of this.members) {
          if (m.gone || !m.health.carrier) continue;
          for (const target of s.arpTargets) this.hooks.send(m.info.index, arpProbe(m.info.mac, s.arpSource, target));
        }
      }
    }
    for (const m of changed) {
      m.health.reason = why!;
      this.lacpFollow(m);
    }
    if (this.drainLeft > 0) {
      this.drainLeft -= ms;
      if (this.drainLeft <= 0) {
        this.drainLeft = 0;
        why ??= "drain over";
      }
    }
    this.lacp?.tick(ms);
    if (why !== undefined) this.recompute(why, changed[0]?.slot);
    if ((this.txMode === TxMode.slb || this.txMode === TxMode.l234) && s.rebalanceInterval > 0) {
      this.rebalanceElapsed += ms;
      if (this.rebalanceElapsed >= s.rebalanceInterval) {
        this.rebalanceElapsed = 0;
        const moves = this.buckets.rebalance([...this.carriers]);
        if (moves.length) this.hooks.log("info", "bond rebalanced", { moves: moves.map((mv) => ({ bucket: mv.bucket, from: this.members[mv.from]?.info.name, to: this.members[mv.to]?.info.name, load: mv.load })) });
      }
    }
  }

  /** Milliseconds to the next rebalance (undefined when it does not rebalance). */
  get nextRebalanceMs(): number | undefined {
    if ((this.txMode !== TxMode.slb && this.txMode !== TxMode.l234) || this.settings.rebalanceInterval === 0) return undefined;
    return Math.max(0, this.settings.rebalanceInterval - this.rebalanceElapsed);
  }

  // ── who carries traffic ───────────────────────────────────────────────

  /** The active member among candidates: primary, else the current one, else the first; none usable: one in updelay. */
  private choose(candidates: BondMember[], allowUpdelay: boolean): BondMember | undefined {
    if (candidates.length === 0) {
      if (!allowUpdelay) return undefined;
      const waiting = this.members.filter((m) => !m.gone && m.health.state === "going-up");
      return waiting.find((m) => m === this.active) ?? waiting[0];
    }
    const primary = this.settings.primary === undefined ? undefined : candidates.find((m) => m.info.name === this.settings.primary);
    if (primary) return primary;
    if (this.active && candidates.includes(this.active)) return this.active;
    return candidates[0];
  }

  /** Work out carriers, the active member, receive modes and buckets; report what changed. */
  recompute(reason: string, slot?: number): void {
    const usable = this.members.filter((m) => !m.gone && m.health.usable);
    let carriers: BondMember[] = [];
    let active: BondMember | undefined;
    let txMode: number = TxMode.none;
    switch (this.settings.mode) {
      case "active-backup":
        active = this.choose(usable, true);
        carriers = active ? [active] : [];
        txMode = TxMode.active;
        break;
      case "balance-slb":
        active = this.choose(usable, true);
        carriers = usable.length ? usable : active ? [active] : [];
        txMode = TxMode.slb;
        break;
      case "lacp": {
        const lacp = this.lacp!;
        if (lacp.negotiated) {
          carriers = usable.filter((m) => lacp.collecting(m.slot));
          txMode = TxMode.l234;
        } else if (this.settings.lacpFallback) {
          active = this.choose(usable.filter((m) => lacp.defaulted(m.slot)), false);
          carriers = active ? [active] : [];
          txMode = TxMode.active;
        }
        break;
      }
    }
    const before = this.carriers;
    const now = new Set(carriers.map((m) => m.slot));
    const previous = this.active;
    // Receive modes.
    for (const m of this.members) {
      const carries = now.has(m.slot);
      this.rxMode[m.slot] = !carries ? RxMode.inactive : this.settings.mode === "balance-slb" && m !== active ? RxMode.unicast : RxMode.all;
      this.reflect[m.slot] = this.settings.mode === "balance-slb" ? 1 : 0;
    }
    if (txMode === TxMode.active && previous && active && previous !== active && previous.health.usable && !previous.gone) {
      this.drainSlot = previous.slot;
      this.drainLeft = DRAIN_MS;
    }
    if (this.drainLeft > 0 && this.drainSlot >= 0 && !now.has(this.drainSlot) && this.members[this.drainSlot]!.health.usable) {
      this.rxMode[this.drainSlot] = RxMode.unicast;
      this.reflect[this.drainSlot] = 1;
    }
    // Transmit.
    this.txMode = carriers.length === 0 ? TxMode.none : txMode;
    this.activeIndex = active && txMode === TxMode.active ? active.info.index : -1;
    let bucketsMoved = 0;
    if (txMode === TxMode.slb || txMode === TxMode.l234) {
      const joined = [...now].filter((s) => !before.has(s));
      const left = [...before].some((s) => !now.has(s));
      if (joined.length || left || before.size === 0) bucketsMoved = this.buckets.update([...now], joined).filter((mv) => mv.load > 0).length;
    }
    this.carriers = now;
    this.active = active;
    // Report.
    for (const m of this.members) {
      const enabled = now.has(m.slot);
      if (enabled === m.enabled) continue;
      m.enabled = enabled;
      this.hooks.member({ member: m.info.name, state: m.health.state, enabled, reason });
    }
    const lost = [...before].filter((s) => !now.has(s)).map((s) => this.members[s]!.info.name);
    const activeChanged = previous !== active && (txMode === TxMode.active || this.settings.mode === "balance-slb");
    if (activeChanged || (lost.length > 0 && now.size > 0)) {
      const e: BondFailover = { reason: failoverReason(reason, previous, active, this.settings.primary), bucketsMoved };
      const from = activeChanged ? previous?.info.name : lost[0];
      if (from !== undefined) e.from = from;
      const to = active?.info.name ?? (txMode !== TxMode.active ? carriers[0]?.info.name : undefined);
      if (to !== undefined) e.to = to;
      // The first member to carry traffic is no failover; traffic moving off a member is.
      if (e.from !== undefined) {
        this.failovers++;
        this.lastFailover = { ...e, mode: this.settings.mode };
        this.hooks.failover(e);
      }
      // Stations behind the bridge are announced wherever their member changed (lacp: the partner sees one link).
      if (e.to !== undefined && txMode !== TxMode.l234) this.hooks.announce(e.reason);
    }
    const up = carriers.length > 0;
    if (up !== this.up) {
      this.up = up;
      this.hooks.link(up, reason);
    }
  }

  lacpStatus(): LacpStatus | undefined {
    return this.lacp?.status();
  }

  /** Slots that carry traffic now. */
  get carrierSlots(): number[] {
    return [...this.carriers];
  }
}

function failoverReason(reason: string, from: BondMember | undefined, to: BondMember | undefined, primary: string | undefined): string {
  if (to && to.info.name === primary && from && from.health.usable && !from.gone) return "primary returned";
  return reason;
}
