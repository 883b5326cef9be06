/**
 * What `bond show` prints and `Bridge.bondStatus()` returns: the bond, its
 * mode and settings, the active member, and per member its link state,
 * whether it carries traffic, its counters, the hash buckets it owns with
 * their load, and LACP's view (actor and partner) — the fields of
 * `ovs-appctl bond/show` and `lacp/show`, and /proc/net/bonding's.
 */
import { DROP_REASON_COUNT, DROP_REASON_NAMES } from "../core/reasons.js";
import { lacpStateWords, type LacpInfo } from "./lacp/pdu.js";
import type { LacpMemberStatus } from "./lacp/lacp.js";
import type { Bond } from "./bond.js";
import { bondOptionsOf, type BondMode, type BondOptions } from "./settings.js";
import type { HealthState } from "./health.js";

export interface BondLacpInfo extends LacpInfo {
  /** The state bits in words, as lacp/show prints them ("activity", "synchronized", …). */
  stateWords: string[];
}

export interface BondMemberLacp {
  /** Receive machine: current (partner heard), expired, defaulted (partner speaks no LACP), disabled. */
  rx: LacpMemberStatus["rx"];
  /** Mux machine: detached, waiting, attached, collecting-distributing. */
  mux: LacpMemberStatus["mux"];
  selected: boolean;
  periodic: LacpMemberStatus["periodic"];
  actor: BondLacpInfo;
  partner: BondLacpInfo;
  rxPdus: number;
  rxMalformed: number;
  txPdus: number;
  markersAnswered: number;
}

export interface BondMemberStatus {
  name: string;
  mac: string;
  /** Link: up, down, or going up/down while updelay/downdelay runs. */
  state: HealthState;
  carrier: boolean;
  /** ARP monitoring: whether a target answered within two intervals (absent when off). */
  arpOk?: boolean;
  /** Why its link last changed ("carrier", "admin", "arp timeout", "deleted", …). */
  reason: string;
  /** Milliseconds left of updelay/downdelay (0: none running). */
  delayLeftMs: number;
  /** The device was deleted; the member comes back with it. */
  gone: boolean;
  /** Carries traffic now. */
  enabled: boolean;
  /** active-backup: the active member; balance-slb: the one accepting broadcast and multicast. */
  active: boolean;
  primary: boolean;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  txErrors: number;
  /** Receive-filter drops by reason. */
  drops: Record<string, number>;
  /** balance-slb and lacp: hash buckets owned, with their (decaying) load in bytes; idle ones are only counted. */
  buckets: { bucket: number; load: number }[];
  idleBuckets: number;
  loadBytes: number;
  lacp?: BondMemberLacp;
}

export interface BondStatus {
  name: string;
  index: number;
  mode: BondMode;
  options: BondOptions;
  /** A member carries traffic. */
  up: boolean;
  activeMember?: string;
  /** lacp: whether LACP aggregated members; `fallback`: running active-backup because the partner speaks no LACP. */
  lacp?: { negotiated: boolean; fallback: boolean; system: string; systemPriority: number; key: number; rate: "fast" | "slow"; active: boolean };
  nextRebalanceMs?: number;
  failovers: number;
  lastFailover?: { from?: string; to?: string; reason: string; bucketsMoved: number };
  /** Frames that found no member to leave through. */
  txNoMember: number;
  /** Stations announced by the last failover's walk. */
  lastAnnounced: number;
  members: BondMemberStatus[];
}

export interface MemberCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  txErrors: number;
  /** Drops counted for this member's port index. */
  drops: Float64Array;
}

function lacpInfo(info: LacpInfo): BondLacpInfo {
  return { ...info, stateWords: lacpStateWords(info.state) };
}

export function bondStatus(bond: Bond, counters: (index: number) => MemberCounters, lastAnnounced: number): BondStatus {
  const lacp = bond.lacpStatus();
  const s = bond.settings;
  const status: BondStatus = {
    name: bond.name,
    index: bond.index,
    mode: s.mode,
    options: bondOptionsOf(s),
    up: bond.isUp,
    failovers: bond.failovers,
    txNoMember: bond.txNoMember,
    lastAnnounced,
    members: bond.members.map((m) => {
      const c = counters(m.info.index);
      const drops: Record<string, number> = {};
      for (let r = 0; r < DROP_REASON_COUNT; r++) if (c.drops[r]) drops[DROP_REASON_NAMES[r]!] = c.drops[r]!;
      const owned = bond.buckets.bucketsOf(m.slot);
      const l = lacp?.members.find((x) => x.member === m.slot);
      const out: BondMemberStatus = {
        name: m.info.name,
        mac: [...m.info.mac].map((b) => b.toString(16).padStart(2, "0")).join(":"),
        state: m.health.state,
        carrier: m.health.carrier,
        reason: m.health.reason,
        delayLeftMs: m.health.delayLeft,
        gone: m.gone,
        enabled: m.enabled,
        active: bond.active === m,
        primary: s.primary === m.info.name,
        rxPackets: c.rxPackets,
        rxBytes: c.rxBytes,
        txPackets: c.txPackets,
        txBytes: c.txBytes,
        txDropped: c.txDropped,
        txErrors: c.txErrors,
        drops,
        buckets: owned.filter((b) => b.load > 0),
        idleBuckets: owned.filter((b) => b.load === 0).length,
        loadBytes: owned.reduce((sum, b) => sum + b.load, 0),
      };
      if (s.arpInterval > 0) out.arpOk = m.health.arpOk;
      if (l) {
        out.lacp = {
          rx: l.rx, mux: l.mux, selected: l.selected, periodic: l.periodic, actor: lacpInfo(l.actor), partner: lacpInfo(l.partner),
          rxPdus: l.rxPdus, rxMalformed: l.rxMalformed, txPdus: l.txPdus, markersAnswered: l.markersAnswered,
        };
      }
      return out;
    }),
  };
  if (bond.active) status.activeMember = bond.active.info.name;
  if (lacp) {
    status.lacp = { negotiated: lacp.negotiated, fallback: !lacp.negotiated && bond.active !== undefined, system: lacp.system, systemPriority: lacp.systemPriority, key: lacp.key, rate: lacp.fast ? "fast" : "slow", active: lacp.active };
  }
  const next = bond.nextRebalanceMs;
  if (next !== undefined) status.nextRebalanceMs = next;
  if (bond.lastFailover) {
    const { mode: _mode, ...last } = bond.lastFailover;
    status.lastFailover = last;
  }
  return status;
}
