/**
 * The Link Aggregation Control Protocol engine of one bond (IEEE 802.1AX-2008
 * clause 5.4, once 802.3ad clause 43): per member the receive, periodic
 * transmission, mux and transmit machines, and the selection logic that
 * decides which members aggregate. Pure, as the spanning tree engines are:
 * no clock and no socket — time enters through `tick(ms)`, PDUs through
 * `receive`, and PDUs leave through the injected `sendPdu`.
 *
 * Machines, in the standard's names (timers in 5.4.4):
 *  - receive (5.4.12): PORT_DISABLED → EXPIRED (partner presumed to want a
 *    short timeout; current_while 3 s) → DEFAULTED (partner forgotten: it
 *    speaks no LACP) or CURRENT on a LACPDU (current_while 3 s or 90 s, by
 *    the actor's own timeout: lacp-rate fast or slow);
 *  - periodic (5.4.13): none when both sides are passive or the port is
 *    down, else every 1 s (partner asks for a short timeout) or 30 s;
 *  - mux, coupled control (5.4.15): DETACHED → WAITING (wait_while 2 s,
 *    so members that come up together attach together) → ATTACHED (actor
 *    in sync) → COLLECTING_DISTRIBUTING once the partner is in sync too;
 *  - transmit (5.4.16): a LACPDU when something changed (NTT) or the
 *    periodic timer fires, at most three a second.
 * Selection (5.4.14): the bond has one aggregator. Members whose partner
 * (system priority, system, key) is the same join it; the first group
 * chosen stays while any member of it remains, otherwise the group of the
 * member with the lowest port identifier is chosen. Members with another
 * partner, an individual partner (aggregation bit clear) outside the chosen
 * group, or a partner that is our own system (a loop) stay detached.
 * Marker PDUs are answered (the responder is mandatory); churn detection is
 * not implemented.
 *
 * The bond (bond.ts) reads `collecting(member)`, `defaulted(member)` and
 * `negotiated` whenever `changed` is called, and decides what carries
 * traffic (and whether to fall back to active-backup).
 */
import { Timer } from "../../stp/timer.js";
import { decodeSlowPdu, EMPTY_INFO, encodeLacpdu, encodeMarker, isPduError, LacpState, type LacpInfo, type Lacpdu } from "./pdu.js";

export const FAST_PERIODIC_MS = 1000;
export const SLOW_PERIODIC_MS = 30_000;
export const SHORT_TIMEOUT_MS = 3000;
export const LONG_TIMEOUT_MS = 90_000;
export const AGGREGATE_WAIT_MS = 2000;
/** 802.1AX 5.4.16: no more than three LACPDUs in any Fast_Periodic_Time. */
const TX_PER_SECOND = 3;

export type RxState = "disabled" | "expired" | "defaulted" | "current";
export type MuxState = "detached" | "waiting" | "attached" | "collecting-distributing";

export interface LacpConfig {
  /** The actor system: "aa:bb:cc:dd:ee:ff". */
  system: string;
  systemPriority: number;
  key: number;
  /** LACP_Activity: transmit whatever the partner does (true) or only in answer (passive). */
  active: boolean;
  /** LACP_Timeout: ask the partner for a PDU every second (true) or every 30 s. */
  fast: boolean;
}

export interface LacpHooks {
  /** Send a slow protocols PDU (110 bytes) on a member. */
  sendPdu(member: number, pdu: Uint8Array): void;
  /** What a member may carry changed (`member` undefined: the whole bond), with why. */
  changed(member: number | undefined, reason: string): void;
  log?(message: string, fields: Record<string, unknown>): void;
}

export type ReceiveVerdict = "lacpdu" | "marker" | "malformed" | "ignored";

export interface LacpMemberStatus {
  member: number;
  rx: RxState;
  mux: MuxState;
  selected: boolean;
  periodic: "fast" | "slow" | "none";
  actor: LacpInfo;
  partner: LacpInfo;
  rxPdus: number;
  rxMalformed: number;
  txPdus: number;
  markersAnswered: number;
}

export interface LacpStatus extends LacpConfig {
  negotiated: boolean;
  members: LacpMemberStatus[];
}

class LacpMember {
  enabled = false;
  rx: RxState = "disabled";
  partner: LacpInfo = { ...EMPTY_INFO };
  selected = false;
  mux: MuxState = "detached";
  ntt = false;
  readonly currentWhile = new Timer();
  readonly periodicTimer = new Timer();
  periodicMs = 0;
  readonly waitWhile = new Timer();
  txCredits = TX_PER_SECOND;
  rxPdus = 0;
  rxMalformed = 0;
  txPdus = 0;
  markersAnswered = 0;

  constructor(
    readonly id: number,
    readonly port: number,
    readonly portPriority: number,
  ) {}
}

export class Lacp {
  private readonly members = new Map<number, LacpMember>();
  private config: LacpConfig;
  /** The chosen partner group ("prio/system/key"), while it has members. */
  private group: string | undefined;
  private creditWindow = 0;
  negotiated = false;

  constructor(
    config: LacpConfig,
    private readonly hooks: LacpHooks,
  ) {
    this.config = { ...config };
  }

  get settings(): Readonly<LacpConfig> {
    return this.config;
  }

  /** Change rate, activity, system or key: every member tells its partner at once. */
  configure(config: Partial<LacpConfig>): void {
    const before = this.config;
    this.config = { ...before, ...config };
    if (before.system !== this.config.system || before.systemPriority !== this.config.systemPriority || before.key !== this.config.key) {
      for (const m of this.members.values()) m.selected = false;
      this.group = undefined;
    }
    for (const m of this.members.values()) {
      if (m.rx === "current") m.currentWhile.start(this.timeoutMs());
      m.ntt = true;
    }
    this.run("configured");
  }

  addMember(id: number, port: number, portPriority = 255): void {
    this.members.set(id, new LacpMember(id, port, portPriority));
  }

  removeMember(id: number): void {
    if (!this.members.delete(id)) return;
    this.run("member removed");
  }

  /** The member's link is usable (port_enabled) or not. */
  setEnabled(id: number, up: boolean): void {
    const m = this.members.get(id);
    if (!m || m.enabled === up) return;
    m.enabled = up;
    if (up) {
      this.setExpired(m);
    } else {
      m.rx = "disabled";
      m.partner = { ...m.partner, state: m.partner.state & ~LacpState.synchronization };
      m.currentWhile.stop();
      m.selected = false;
    }
    m.ntt = up;
    this.run(up ? "link up" : "link down");
  }

  collecting(id: number): boolean {
    return this.members.get(id)?.mux === "collecting-distributing";
  }

  defaulted(id: number): boolean {
    return this.members.get(id)?.rx === "defaulted";
  }

  /** A slow protocols PDU (the bytes after the ethertype) received on a member. */
  receive(id: number, bytes: Uint8Array): ReceiveVerdict {
    const m = this.members.get(id);
    if (!m) return "ignored";
    const pdu = decodeSlowPdu(bytes);
    if (isPduError(pdu)) {
      m.rxMalformed++;
      this.hooks.log?.("malformed slow protocols PDU", { member: id, error: pdu.error });
      return "malformed";
    }
    if (pdu.type === "marker") {
      if (!pdu.response && m.enabled) {
        this.hooks.sendPdu(id, encodeMarker({ response: true, requesterPort: pdu.requesterPort, requesterSystem: pdu.requesterSystem, transactionId: pdu.transactionId }));
        m.markersAnswered++;
      }
      return "marker";
    }
    m.rxPdus++;
    if (!m.enabled) return "ignored";
    const was = m.rx;
    this.recordPdu(m, pdu);
    this.run("LACPDU", was !== m.rx ? [m] : []);
    return "lacpdu";
  }

  /** Advance every timer by `ms`. */
  tick(ms: number): void {
    this.creditWindow += ms;
    if (this.creditWindow >= FAST_PERIODIC_MS) {
      this.creditWindow %= FAST_PERIODIC_MS;
      for (const m of this.members.values()) m.txCredits = TX_PER_SECOND;
    }
    let why: string | undefined;
    const rxChanged: LacpMember[] = [];
    for (const m of this.members.values()) {
      if (m.currentWhile.advance(ms)) {
        if (m.rx === "current") {
          this.setExpired(m);
          why ??= "partner expired";
        } else if (m.rx === "expired") {
          this.setDefaulted(m);
          why ??= "partner speaks no LACP";
        }
        rxChanged.push(m);
      }
      if (m.periodicTimer.advance(ms)) m.ntt = true;
      if (m.waitWhile.advance(ms)) why ??= "wait over";
    }
    this.run(why ?? "tick", rxChanged);
  }

  // ── receive machine ──────────────────────────────────────────────────

  private timeoutMs(): number {
    return this.config.fast ? SHORT_TIMEOUT_MS : LONG_TIMEOUT_MS;
  }

  private setExpired(m: LacpMember): void {
    m.rx = "expired";
    m.partner = { ...m.partner, state: (m.partner.state | LacpState.timeout) & ~LacpState.synchronization };
    m.currentWhile.start(SHORT_TIMEOUT_MS);
  }

  private setDefaulted(m: LacpMember): void {
    m.rx = "defaulted";
    m.partner = { ...EMPTY_INFO };
    m.selected = false;
  }

  private recordPdu(m: LacpMember, pdu: Lacpdu): void {
    const actor = this.actorInfo(m);
    const was = m.partner;
    const next = pdu.actor;
    // update_Selected: another partner (or one that changed its mind about aggregating) means selection again.
    if (m.rx !== "current" || was.port !== next.port || was.portPriority !== next.portPriority || was.system !== next.system ||
      was.systemPriority !== next.systemPriority || was.key !== next.key || (was.state & LacpState.aggregation) !== (next.state & LacpState.aggregation)) {
      m.selected = false;
    }
    // update_NTT: the partner's view of us is out of date.
    const seen = pdu.partner;
    const mask = LacpState.activity | LacpState.timeout | LacpState.synchronization | LacpState.aggregation;
    if (seen.port !== actor.port || seen.portPriority !== actor.portPriority || seen.system !== actor.system ||
      seen.systemPriority !== actor.systemPriority || seen.key !== actor.key || ((seen.state ^ actor.state) & mask) !== 0) {
      m.ntt = true;
    }
    // recordPDU: the partner is in sync only if it has our information right (or is individual).
    const matches = seen.port === actor.port && seen.portPriority === actor.portPriority && seen.system === actor.system &&
      seen.systemPriority === actor.systemPriority && seen.key === actor.key && (seen.state & LacpState.aggregation) === (actor.state & LacpState.aggregation);
    const inSync = (next.state & LacpState.synchronization) !== 0 && (matches || (next.state & LacpState.aggregation) === 0);
    m.partner = { ...next, state: inSync ? next.state | LacpState.synchronization : next.state & ~LacpState.synchronization };
    m.rx = "current";
    m.currentWhile.start(this.timeoutMs());
  }

  // ── selection, mux, periodic and transmit ────────────────────────────

  /** Run the machines until nothing changes, then transmit what needs transmitting; `rxChanged`: members whose partner state changed. */
  private run(reason: string, rxChanged: LacpMember[] = []): void {
    this.select();
    for (let pass = 0; pass < 4; pass++) {
      let moved = false;
      for (const m of this.members.values()) moved = this.muxStep(m, reason) || moved;
      if (!moved) break;
    }
    const negotiated = [...this.members.values()].some((m) => m.selected);
    if (negotiated !== this.negotiated) {
      this.negotiated = negotiated;
      this.hooks.changed(undefined, negotiated ? "negotiated" : "no partner");
    }
    for (const m of rxChanged) this.hooks.changed(m.id, reason);
    for (const m of this.members.values()) {
      this.periodic(m);
      this.transmit(m);
    }
  }

  private groupOf(m: LacpMember): string {
    const p = m.partner;
    const individual = (p.state & LacpState.aggregation) === 0 ? `/individual/${m.id}` : "";
    return `${p.systemPriority}/${p.system}/${p.key}${individual}`;
  }

  private select(): void {
    // An expired member keeps its partner (and its selection) until it is defaulted; only its sync is gone.
    const candidates = [...this.members.values()].filter((m) => m.enabled && (m.rx === "current" || m.rx === "expired") && m.partner.system !== this.config.system && m.partner.system !== EMPTY_INFO.system);
    if (!this.group || !candidates.some((m) => this.groupOf(m) === this.group)) {
      const lead = candidates.sort((a, b) => a.portPriority - b.portPriority || a.port - b.port)[0];
      this.group = lead ? this.groupOf(lead) : undefined;
    }
    for (const m of this.members.values()) m.selected = this.group !== undefined && candidates.includes(m) && this.groupOf(m) === this.group;
  }

  /** One mux transition, if one applies (802.1AX Figure 5-16, coupled control). */
  private muxStep(m: LacpMember, reason: string): boolean {
    const from = m.mux;
    const partnerSync = (m.partner.state & LacpState.synchronization) !== 0;
    switch (m.mux) {
      case "detached":
        if (m.selected) {
          m.mux = "waiting";
          m.waitWhile.start(AGGREGATE_WAIT_MS);
        }
        break;
      case "waiting":
        if (!m.selected) {
          m.mux = "detached";
          m.waitWhile.stop();
        } else if (this.ready()) m.mux = "attached";
        break;
      case "attached":
        if (!m.selected) m.mux = "detached";
        else if (partnerSync) m.mux = "collecting-distributing";
        break;
      case "collecting-distributing":
        if (!m.selected || !partnerSync) m.mux = "attached";
        break;
    }
    if (m.mux === from) return false;
    m.ntt = true;
    this.hooks.log?.("LACP mux", { member: m.id, from, to: m.mux, reason });
    this.hooks.changed(m.id, reason);
    return true;
  }

  /** Every selected member has waited its wait_while out. */
  private ready(): boolean {
    for (const m of this.members.values()) if (m.selected && m.mux === "waiting" && m.waitWhile.active) return false;
    return true;
  }

  private periodic(m: LacpMember): void {
    const partnerActive = (m.partner.state & LacpState.activity) !== 0;
    let want = 0;
    if (m.enabled && (this.config.active || partnerActive)) {
      want = m.partner.state & LacpState.timeout || (m.rx === "defaulted" && this.config.fast) ? FAST_PERIODIC_MS : SLOW_PERIODIC_MS;
    }
    if (want === 0) {
      m.periodicTimer.stop();
      m.periodicMs = 0;
      return;
    }
    if (want !== m.periodicMs) {
      // Starting, or going from slow to fast: transmit now (PERIODIC_TX), then at the new rate.
      if (m.periodicMs === 0 || want < m.periodicMs) m.ntt = true;
      m.periodicMs = want;
      if (!m.periodicTimer.active || m.periodicTimer.remaining > want) m.periodicTimer.start(want);
    } else if (!m.periodicTimer.active) m.periodicTimer.start(want);
  }

  private transmit(m: LacpMember): void {
    if (!m.ntt || !m.enabled || m.txCredits <= 0) return;
    if (!this.config.active && !(m.partner.state & LacpState.activity)) return;
    m.ntt = false;
    m.txCredits--;
    m.txPdus++;
    if (m.periodicMs > 0) m.periodicTimer.start(m.periodicMs);
    this.hooks.sendPdu(m.id, encodeLacpdu({ actor: this.actorInfo(m), partner: m.partner, collectorMaxDelay: 0 }));
  }

  private actorInfo(m: LacpMember): LacpInfo {
    let state = LacpState.aggregation;
    if (this.config.active) state |= LacpState.activity;
    if (this.config.fast) state |= LacpState.timeout;
    if (m.mux === "attached" || m.mux === "collecting-distributing") state |= LacpState.synchronization;
    if (m.mux === "collecting-distributing") state |= LacpState.collecting | LacpState.distributing;
    if (m.rx === "defaulted") state |= LacpState.defaulted;
    if (m.rx === "expired") state |= LacpState.expired;
    return { systemPriority: this.config.systemPriority, system: this.config.system, key: this.config.key, portPriority: m.portPriority, port: m.port, state };
  }

  // ── status ───────────────────────────────────────────────────────────

  memberStatus(id: number): LacpMemberStatus | undefined {
    const m = this.members.get(id);
    if (!m) return undefined;
    return {
      member: id,
      rx: m.rx,
      mux: m.mux,
      selected: m.selected,
      periodic: m.periodicMs === 0 ? "none" : m.periodicMs === FAST_PERIODIC_MS ? "fast" : "slow",
      actor: this.actorInfo(m),
      partner: { ...m.partner },
      rxPdus: m.rxPdus,
      rxMalformed: m.rxMalformed,
      txPdus: m.txPdus,
      markersAnswered: m.markersAnswered,
    };
  }

  status(): LacpStatus {
    return { ...this.config, negotiated: this.negotiated, members: [...this.members.keys()].map((id) => this.memberStatus(id)!) };
  }
}
