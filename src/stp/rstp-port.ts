/**
 * The per-port state machines of 802.1w RSTP, as 802.1D-2004 clause 17
 * specifies them: Port Receive (17.23), Port Protocol Migration (17.24),
 * Bridge Detection (17.25), Port Transmit (17.26), Port Information (17.27),
 * Port Role Transitions (17.29), Port State Transition (17.30) and Topology
 * Change (17.31). Variable names are the standard's (17.19, 17.20).
 *
 * Each machine is a function that takes at most one transition and returns
 * whether it did; the bridge (rstp.ts) runs them all, with Port Role
 * Selection, until none moves. Timers hold milliseconds and count down in
 * the bridge's tick; comparisons such as `rrWhile !== FwdDelay` keep the
 * standard's meaning at that resolution.
 */
import type { ConfigBpdu, TcnBpdu } from "./bpdu.js";
import { BpduFlag, BpduRole, encodeBpdu } from "./bpdu.js";
import { compareVectors, type PriorityVector } from "./ids.js";
import type { EnginePortParams } from "./engine.js";

export type InfoIs = "disabled" | "received" | "mine" | "aged";
export type RcvdInfo = "superiorDesignated" | "repeatedDesignated" | "inferiorDesignated" | "inferiorRootAlternate" | "other";
export type Role = "root" | "designated" | "alternate" | "backup" | "disabled";

export interface Times {
  messageAge: number;
  maxAge: number;
  forwardDelay: number;
  helloTime: number;
}

export const MIGRATE_TIME = 3000;
export const TX_HOLD_COUNT = 6;

/** What a port's machines need from the bridge. */
export interface RstpBridgeView {
  readonly rstpVersion: boolean;
  readonly bridgeTimes: Times;
  readonly rootTimes: Times;
  send(port: RstpPort, bytes: Uint8Array): void;
  flush(port: RstpPort, reason: string): void;
  setSyncTree(): void;
  setReRootTree(): void;
  setTcPropTree(except: RstpPort): void;
  allSynced(except: RstpPort): boolean;
  reRooted(except: RstpPort): boolean;
  topologyChange(port: RstpPort, reason: string): void;
  log(port: RstpPort, message: string): void;
}

export class RstpPort {
  // Configuration.
  portId = 0;
  pathCost = 0;
  adminEdge = false;
  autoEdge = true;
  operPointToPointMAC = true;
  portEnabled = false;

  // 17.19 per-port variables.
  infoIs: InfoIs = "disabled";
  rcvdInfo: RcvdInfo = "other";
  role: Role = "disabled";
  selectedRole: Role = "disabled";
  portPriority: PriorityVector = zeroVector();
  portTimes: Times = { messageAge: 0, maxAge: 20000, forwardDelay: 15000, helloTime: 2000 };
  designatedPriority: PriorityVector = zeroVector();
  designatedTimes: Times = { messageAge: 0, maxAge: 20000, forwardDelay: 15000, helloTime: 2000 };
  msgPriority: PriorityVector = zeroVector();
  msgTimes: Times = { messageAge: 0, maxAge: 20000, forwardDelay: 15000, helloTime: 2000 };
  rcvdBpdu: ConfigBpdu | TcnBpdu | undefined;
  rcvdMsg = false;
  rcvdRSTP = false;
  rcvdSTP = false;
  rcvdTc = false;
  rcvdTcn = false;
  rcvdTcAck = false;
  tcAck = false;
  tcProp = false;
  newInfo = false;
  txCount = 0;
  sendRSTP = true;
  mcheck = false;
  operEdge = false;
  proposing = false;
  proposed = false;
  agree = false;
  agreed = false;
  sync = false;
  synced = false;
  reRoot = false;
  learn = false;
  learning = false;
  forward = false;
  forwarding = false;
  disputed = false;
  reselect = false;
  selected = false;
  updtInfo = false;
  fdbFlush = false;
  restrictedRole = false;

  // 17.17 timers (ms).
  edgeDelayWhile = 0;
  fdWhile = 0;
  helloWhen = 0;
  mdelayWhile = 0;
  rbWhile = 0;
  rcvdInfoWhile = 0;
  rrWhile = 0;
  tcWhile = 0;
  txCountMs = 0;

  // Machine states.
  prx = "DISCARD";
  ppm = "CHECKING_RSTP";
  bdm = "NOT_EDGE";
  ptx = "TRANSMIT_INIT";
  pim = "DISABLED";
  prt = "INIT_PORT";
  pst = "DISCARDING";
  tcm = "INACTIVE";

  constructor(readonly index: number, readonly portNo: number, public params: EnginePortParams) {}

  /** BEGIN: every machine to its initial state. */
  begin(b: RstpBridgeView): void {
    this.designatedTimes = { ...b.bridgeTimes };
    this.portTimes = { ...b.bridgeTimes };
    this.prx = "DISCARD";
    this.rcvdBpdu = undefined;
    this.rcvdRSTP = this.rcvdSTP = this.rcvdMsg = false;
    this.edgeDelayWhile = MIGRATE_TIME;
    this.ppm = "CHECKING_RSTP";
    this.mcheck = false;
    this.sendRSTP = b.rstpVersion;
    this.mdelayWhile = MIGRATE_TIME;
    this.bdm = this.adminEdge ? "EDGE" : "NOT_EDGE";
    this.operEdge = this.adminEdge;
    this.ptx = "TRANSMIT_INIT";
    this.newInfo = true;
    this.txCount = 0;
    this.pim = "DISABLED";
    this.enterPimDisabled();
    this.prt = "INIT_PORT";
    this.role = "disabled";
    this.learn = this.forward = this.synced = false;
    this.sync = this.reRoot = true;
    this.rrWhile = b.rootTimes.forwardDelay;
    this.fdWhile = b.rootTimes.maxAge;
    this.rbWhile = 0;
    this.pst = "DISCARDING";
    this.learning = this.forwarding = false;
    this.tcm = "INACTIVE";
    this.fdbFlush = true;
    this.tcWhile = 0;
    this.tcAck = false;
  }

  private enterPimDisabled(): void {
    this.rcvdMsg = false;
    this.proposing = this.proposed = this.agree = this.agreed = false;
    this.rcvdInfoWhile = 0;
    this.infoIs = "disabled";
    this.reselect = true;
    this.selected = false;
  }

  // ── derived values (17.20) ───────────────────────────────────────────

  FwdDelay(): number {
    return this.designatedTimes.forwardDelay;
  }
  MaxAge(): number {
    return this.designatedTimes.maxAge;
  }
  HelloTime(): number {
    return this.designatedTimes.helloTime;
  }
  forwardDelay(): number {
    return this.sendRSTP ? this.HelloTime() : this.FwdDelay();
  }
  EdgeDelay(): number {
    return this.operPointToPointMAC ? MIGRATE_TIME : this.MaxAge();
  }
  private ready(): boolean {
    return this.selected && !this.updtInfo;
  }

  // ── timers (17.22) ───────────────────────────────────────────────────

  tick(ms: number): void {
    const dec = (t: number) => Math.max(0, t - ms);
    this.edgeDelayWhile = dec(this.edgeDelayWhile);
    this.fdWhile = dec(this.fdWhile);
    this.helloWhen = dec(this.helloWhen);
    this.mdelayWhile = dec(this.mdelayWhile);
    this.rbWhile = dec(this.rbWhile);
    this.rcvdInfoWhile = dec(this.rcvdInfoWhile);
    this.rrWhile = dec(this.rrWhile);
    this.tcWhile = dec(this.tcWhile);
    this.txCountMs += ms;
    while (this.txCountMs >= 1000) {
      this.txCountMs -= 1000;
      if (this.txCount > 0) this.txCount--;
    }
  }

  // ── Port Receive (17.23) ─────────────────────────────────────────────

  portReceive(b: RstpBridgeView): boolean {
    if ((this.rcvdBpdu || this.edgeDelayWhile !== MIGRATE_TIME) && !this.portEnabled && this.prx !== "DISCARD") {
      this.prx = "DISCARD";
      this.rcvdBpdu = undefined;
      this.rcvdRSTP = this.rcvdSTP = this.rcvdMsg = false;
      this.edgeDelayWhile = MIGRATE_TIME;
      return true;
    }
    if (this.rcvdBpdu && this.portEnabled && !this.rcvdMsg) {
      this.prx = "RECEIVE";
      // updtBPDUVersion
      if (this.rcvdBpdu.type === "rst") this.rcvdRSTP = true;
      else this.rcvdSTP = true;
      this.rcvdMsg = true;
      this.operEdge = false;
      this.edgeDelayWhile = MIGRATE_TIME;
      void b;
      return true;
    }
    return false;
  }

  // ── Port Protocol Migration (17.24) ──────────────────────────────────

  protocolMigration(b: RstpBridgeView): boolean {
    switch (this.ppm) {
      case "CHECKING_RSTP":
        if (this.mdelayWhile !== MIGRATE_TIME && !this.portEnabled) return this.enterCheckingRstp(b);
        if (this.mdelayWhile === 0) return this.enterSensing();
        return false;
      case "SELECTING_STP":
        if (this.mdelayWhile === 0 || !this.portEnabled || this.mcheck) return this.enterSensing();
        return false;
      case "SENSING":
        if (!this.portEnabled || this.mcheck || (b.rstpVersion && !this.sendRSTP && this.rcvdRSTP)) return this.enterCheckingRstp(b);
        if (this.sendRSTP && this.rcvdSTP) {
          this.ppm = "SELECTING_STP";
          this.sendRSTP = false;
          this.mdelayWhile = MIGRATE_TIME;
          b.log(this, "neighbour speaks 802.1D: port migrates to STP");
          return true;
        }
        return false;
    }
    return false;
  }

  private enterCheckingRstp(b: RstpBridgeView): boolean {
    const was = this.sendRSTP;
    this.ppm = "CHECKING_RSTP";
    this.mcheck = false;
    this.sendRSTP = b.rstpVersion;
    this.mdelayWhile = MIGRATE_TIME;
    if (!was && this.sendRSTP && this.portEnabled) b.log(this, "port returns to RSTP");
    return true;
  }

  private enterSensing(): boolean {
    this.ppm = "SENSING";
    this.rcvdRSTP = this.rcvdSTP = false;
    return true;
  }

  // ── Bridge Detection (17.25) ─────────────────────────────────────────

  bridgeDetection(): boolean {
    if (this.bdm === "EDGE") {
      if ((!this.portEnabled && !this.adminEdge) || !this.operEdge) {
        this.bdm = "NOT_EDGE";
        this.operEdge = false;
        return true;
      }
    } else if ((!this.portEnabled && this.adminEdge) || (this.edgeDelayWhile === 0 && this.autoEdge && this.sendRSTP && this.proposing)) {
      this.bdm = "EDGE";
      this.operEdge = true;
      return true;
    }
    return false;
  }

  // ── Port Transmit (17.26) ────────────────────────────────────────────

  portTransmit(b: RstpBridgeView): boolean {
    if (this.ptx === "TRANSMIT_INIT") {
      this.ptx = "IDLE";
      this.helloWhen = this.HelloTime();
      return true;
    }
    if (!this.ready() || !this.portEnabled) return false;
    if (this.helloWhen === 0) {
      this.newInfo = this.newInfo || this.role === "designated" || (this.role === "root" && this.tcWhile !== 0);
      this.helloWhen = this.HelloTime();
      return true;
    }
    if (!this.newInfo || this.txCount >= TX_HOLD_COUNT) return false;
    if (this.sendRSTP) {
      this.newInfo = false;
      this.txRstp(b);
      this.txCount++;
      this.tcAck = false;
      return true;
    }
    if (this.role === "designated") {
      this.newInfo = false;
      this.txConfig(b);
      this.txCount++;
      this.tcAck = false;
      return true;
    }
    if (this.role === "root") {
      this.newInfo = false;
      b.send(this, encodeBpdu({ type: "tcn", version: 0 }));
      this.txCount++;
      return true;
    }
    return false;
  }

  private txConfig(b: RstpBridgeView): void {
    const flags = (this.tcWhile !== 0 ? BpduFlag.topologyChange : 0) | (this.tcAck ? BpduFlag.topologyChangeAck : 0);
    b.send(this, encodeBpdu({ type: "config", version: 0, flags, ...this.wireVector(), ...this.designatedTimes }));
  }

  private txRstp(b: RstpBridgeView): void {
    const role = this.role === "root" ? BpduRole.root : this.role === "designated" ? BpduRole.designated : this.role === "disabled" ? BpduRole.unknown : BpduRole.alternateOrBackup;
    let flags = role << 2;
    if (this.proposing && this.role === "designated") flags |= BpduFlag.proposal;
    if (this.learning) flags |= BpduFlag.learning;
    if (this.forwarding) flags |= BpduFlag.forwarding;
    if (this.agree) flags |= BpduFlag.agreement;
    if (this.tcWhile !== 0) flags |= BpduFlag.topologyChange;
    b.send(this, encodeBpdu({ type: "rst", version: 2, flags, ...this.wireVector(), ...this.designatedTimes }));
  }

  private wireVector() {
    const v = this.designatedPriority;
    return { rootId: v.rootId, rootPathCost: v.rootPathCost, bridgeId: v.designatedBridgeId, portId: v.designatedPortId };
  }

  // ── Port Information (17.27) ─────────────────────────────────────────

  portInformation(): boolean {
    if (!this.portEnabled && this.infoIs !== "disabled") {
      this.pim = "DISABLED";
      this.enterPimDisabled();
      return true;
    }
    switch (this.pim) {
      case "DISABLED":
        if (this.rcvdMsg) {
          this.enterPimDisabled();
          return true;
        }
        if (this.portEnabled) return this.enterAged();
        return false;
      case "AGED":
        if (this.selected && this.updtInfo) return this.enterUpdate();
        return false;
      case "UPDATE":
      case "CURRENT":
        if (this.selected && this.updtInfo) return this.enterUpdate();
        if (this.infoIs === "received" && this.rcvdInfoWhile === 0 && !this.updtInfo && !this.rcvdMsg) return this.enterAged();
        if (this.rcvdMsg && !this.updtInfo) return this.receive();
        return false;
    }
    return false;
  }

  private enterAged(): boolean {
    this.pim = "AGED";
    this.infoIs = "aged";
    this.reselect = true;
    this.selected = false;
    return true;
  }

  private enterUpdate(): boolean {
    this.pim = "CURRENT"; // UPDATE, then CURRENT unconditionally
    this.proposing = this.proposed = false;
    this.agreed = this.agreed && this.betterOrSameInfo("mine");
    this.synced = this.synced && this.agreed;
    this.portPriority = { ...this.designatedPriority };
    this.portTimes = { ...this.designatedTimes };
    this.updtInfo = false;
    this.infoIs = "mine";
    this.newInfo = true;
    return true;
  }

  private receive(): boolean {
    const bpdu = this.rcvdBpdu!;
    this.pim = "CURRENT"; // RECEIVE and its outcome, then CURRENT
    this.rcvdInfo = this.rcvInfo();
    switch (this.rcvdInfo) {
      case "superiorDesignated":
        this.agreed = this.proposing = false;
        this.recordProposal();
        this.setTcFlags();
        this.agree = this.agree && this.betterOrSameInfo("received");
        this.portPriority = { ...this.msgPriority };
        this.portTimes = { ...this.msgTimes };
        this.updtRcvdInfoWhile();
        this.infoIs = "received";
        this.reselect = true;
        this.selected = false;
        break;
      case "repeatedDesignated":
        this.recordProposal();
        this.setTcFlags();
        this.updtRcvdInfoWhile();
        break;
      case "inferiorDesignated":
        // recordDispute: a designated port that is learning or forwarding and inferior disputes ours.
        if (bpdu.type === "rst" && bpdu.flags & BpduFlag.learning) {
          this.disputed = true;
          this.agreed = false;
        }
        break;
      case "inferiorRootAlternate":
        // recordAgreement
        if (this.operPointToPointMAC && bpdu.type === "rst" && bpdu.flags & BpduFlag.agreement) {
          this.agreed = true;
          this.proposing = false;
        } else {
          this.agreed = false;
        }
        this.setTcFlags();
        break;
      case "other":
        if (bpdu.type === "tcn") this.setTcFlags();
        break;
    }
    this.rcvdMsg = false;
    this.rcvdBpdu = undefined;
    return true;
  }

  /** rcvInfo (17.21.8). */
  private rcvInfo(): RcvdInfo {
    const bpdu = this.rcvdBpdu!;
    if (bpdu.type === "tcn") return "other";
    const role = bpdu.type === "config" ? BpduRole.designated : (bpdu.flags & BpduFlag.roleMask) >> 2;
    this.msgPriority = { rootId: bpdu.rootId, rootPathCost: bpdu.rootPathCost, designatedBridgeId: bpdu.bridgeId, designatedPortId: bpdu.portId, bridgePortId: this.portId };
    this.msgTimes = { messageAge: bpdu.messageAge, maxAge: bpdu.maxAge, forwardDelay: bpdu.forwardDelay, helloTime: Math.max(1000, bpdu.helloTime) };
    const cmp = compareVectors(this.msgPriority, this.portPriority);
    if (role === BpduRole.designated) {
      // Superior also when the same designated port (bridge MAC and port) now sends worse information.
      const sameSender = (this.msgPriority.designatedBridgeId & 0xffff_ffff_ffffn) === (this.portPriority.designatedBridgeId & 0xffff_ffff_ffffn) &&
        this.msgPriority.designatedPortId === this.portPriority.designatedPortId;
      if (cmp < 0 || (sameSender && cmp !== 0)) return "superiorDesignated";
      if (cmp === 0) return sameTimes(this.msgTimes, this.portTimes) ? "repeatedDesignated" : "superiorDesignated";
      return "inferiorDesignated";
    }
    if ((role === BpduRole.root || role === BpduRole.alternateOrBackup) && cmp >= 0) return "inferiorRootAlternate";
    return "other";
  }

  private recordProposal(): void {
    const bpdu = this.rcvdBpdu;
    if (bpdu?.type === "rst" && ((bpdu.flags & BpduFlag.roleMask) >> 2) === BpduRole.designated && bpdu.flags & BpduFlag.proposal) this.proposed = true;
  }

  private setTcFlags(): void {
    const bpdu = this.rcvdBpdu;
    if (!bpdu) return;
    if (bpdu.type === "tcn") {
      this.rcvdTcn = true;
      return;
    }
    if (bpdu.flags & BpduFlag.topologyChange) this.rcvdTc = true;
    if (bpdu.type === "config" && bpdu.flags & BpduFlag.topologyChangeAck) this.rcvdTcAck = true;
  }

  private updtRcvdInfoWhile(): void {
    const age = Math.round(this.portTimes.messageAge / 1000) * 1000;
    this.rcvdInfoWhile = age + 1000 <= this.portTimes.maxAge ? 3 * this.portTimes.helloTime : 0;
  }

  private betterOrSameInfo(newInfoIs: "received" | "mine"): boolean {
    if (newInfoIs === "received") return this.infoIs === "received" && compareVectors(this.msgPriority, this.portPriority) <= 0;
    return this.infoIs === "mine" && compareVectors(this.designatedPriority, this.portPriority) <= 0;
  }

  // ── Port Role Transitions (17.29) ────────────────────────────────────

  portRoleTransitions(b: RstpBridgeView): boolean {
    if (this.prt === "INIT_PORT") return this.enterDisablePort();
    if (!this.ready()) return false;
    if (this.selectedRole !== this.role) {
      switch (this.selectedRole) {
        case "disabled":
          return this.enterDisablePort();
        case "root":
          return this.enterRootPort();
        case "designated":
          this.prt = "DESIGNATED_PORT";
          this.role = "designated";
          return true;
        case "alternate":
        case "backup":
          this.prt = "BLOCK_PORT";
          this.role = this.selectedRole;
          this.learn = this.forward = false;
          return true;
      }
    }
    switch (this.role) {
      case "disabled":
        return this.disabledTransitions();
      case "root":
        return this.rootTransitions(b);
      case "designated":
        return this.designatedTransitions(b);
      default:
        return this.alternateTransitions(b);
    }
  }

  private enterDisablePort(): boolean {
    this.prt = "DISABLE_PORT";
    this.role = "disabled";
    this.learn = this.forward = false;
    return true;
  }

  private disabledTransitions(): boolean {
    if (this.prt === "DISABLE_PORT" && !this.learning && !this.forwarding) return this.enterDisabledPort();
    if (this.prt === "DISABLED_PORT" && (this.fdWhile !== this.MaxAge() || this.sync || this.reRoot || !this.synced)) return this.enterDisabledPort();
    return false;
  }

  private enterDisabledPort(): boolean {
    this.prt = "DISABLED_PORT";
    this.fdWhile = this.MaxAge();
    this.synced = true;
    this.rrWhile = 0;
    this.sync = this.reRoot = false;
    return true;
  }

  private enterRootPort(): boolean {
    this.prt = "ROOT_PORT";
    this.role = "root";
    this.rrWhile = this.FwdDelay();
    return true;
  }

  private rootTransitions(b: RstpBridgeView): boolean {
    if (this.proposed && !this.agree) {
      b.setSyncTree();
      this.proposed = false;
      return true;
    }
    if ((b.allSynced(this) && !this.agree) || (this.proposed && this.agree)) {
      this.proposed = this.sync = false;
      this.agree = true;
      this.newInfo = true;
      return true;
    }
    if (!this.forward && !this.reRoot) {
      b.setReRootTree();
      return true;
    }
    const fast = this.fdWhile === 0 || (b.reRooted(this) && this.rbWhile === 0 && b.rstpVersion);
    if (fast && this.learn && !this.forward) {
      this.fdWhile = 0;
      this.forward = true;
      return true;
    }
    if (fast && !this.learn) {
      this.fdWhile = this.forwardDelay();
      this.learn = true;
      return true;
    }
    if (this.reRoot && this.forward) {
      this.reRoot = false;
      return true;
    }
    if (this.rrWhile !== this.FwdDelay()) return this.enterRootPort();
    return false;
  }

  private designatedTransitions(b: RstpBridgeView): boolean {
    void b;
    if (!this.forward && !this.agreed && !this.proposing && !this.operEdge) {
      this.proposing = true;
      this.edgeDelayWhile = this.EdgeDelay();
      this.newInfo = true;
      return true;
    }
    if ((!this.learning && !this.forwarding && !this.synced) || (this.agreed && !this.synced) || (this.operEdge && !this.synced) || (this.sync && this.synced)) {
      this.rrWhile = 0;
      this.synced = true;
      this.sync = false;
      return true;
    }
    if (this.rrWhile === 0 && this.reRoot) {
      this.reRoot = false;
      return true;
    }
    if (((this.sync && !this.synced) || (this.reRoot && this.rrWhile !== 0) || this.disputed) && !this.operEdge && (this.learn || this.forward)) {
      this.learn = this.forward = this.disputed = false;
      this.fdWhile = this.forwardDelay();
      return true;
    }
    const go = (this.fdWhile === 0 || this.agreed || this.operEdge) && (this.rrWhile === 0 || !this.reRoot) && !this.sync;
    if (go && !this.learn) {
      this.learn = true;
      this.fdWhile = this.forwardDelay();
      return true;
    }
    if (go && this.learn && !this.forward) {
      this.forward = true;
      this.fdWhile = 0;
      this.agreed = this.sendRSTP;
      return true;
    }
    return false;
  }

  private alternateTransitions(b: RstpBridgeView): boolean {
    if (this.prt === "BLOCK_PORT") {
      if (this.learning || this.forwarding) return false;
      return this.enterAlternatePort();
    }
    if (this.proposed && !this.agree) {
      b.setSyncTree();
      this.proposed = false;
      return true;
    }
    if ((b.allSynced(this) && !this.agree) || (this.proposed && this.agree)) {
      this.proposed = false;
      this.agree = true;
      this.newInfo = true;
      return true;
    }
    if (this.role === "backup" && this.rbWhile !== 2 * this.HelloTime()) {
      this.rbWhile = 2 * this.HelloTime();
      return true;
    }
    if (this.fdWhile !== this.forwardDelay() || this.sync || this.reRoot || !this.synced) return this.enterAlternatePort();
    return false;
  }

  private enterAlternatePort(): boolean {
    this.prt = "ALTERNATE_PORT";
    this.fdWhile = this.forwardDelay();
    this.synced = true;
    this.rrWhile = 0;
    this.sync = this.reRoot = false;
    return true;
  }

  // ── Port State Transition (17.30) ────────────────────────────────────

  portStateTransition(): boolean {
    switch (this.pst) {
      case "DISCARDING":
        if (this.learn) {
          this.pst = "LEARNING";
          this.learning = true;
          return true;
        }
        return false;
      case "LEARNING":
        if (!this.learn) return this.enterDiscarding();
        if (this.forward) {
          this.pst = "FORWARDING";
          this.forwarding = true;
          return true;
        }
        return false;
      case "FORWARDING":
        if (!this.forward) return this.enterDiscarding();
        return false;
    }
    return false;
  }

  private enterDiscarding(): boolean {
    this.pst = "DISCARDING";
    this.learning = this.forwarding = false;
    return true;
  }

  // ── Topology Change (17.31) ──────────────────────────────────────────

  topologyChangeMachine(b: RstpBridgeView): boolean {
    if (this.fdbFlush) {
      this.fdbFlush = false;
      b.flush(this, "topology change");
    }
    const rootOrDesignated = this.role === "root" || this.role === "designated";
    switch (this.tcm) {
      case "INACTIVE":
        if (this.learn && !this.fdbFlush) return this.enterTcLearning();
        return false;
      case "LEARNING":
        if (this.rcvdTc || this.rcvdTcn || this.rcvdTcAck || this.tcProp) return this.enterTcLearning();
        if (rootOrDesignated && this.forward && !this.operEdge) {
          this.tcm = "ACTIVE"; // DETECTED, then ACTIVE
          this.newTcWhile(b);
          b.setTcPropTree(this);
          this.newInfo = true;
          b.topologyChange(this, `port ${this.portNo} became forwarding`);
          return true;
        }
        if (!rootOrDesignated && !(this.learn || this.learning) && !(this.rcvdTc || this.rcvdTcn || this.rcvdTcAck || this.tcProp)) {
          this.tcm = "INACTIVE";
          this.fdbFlush = true;
          this.tcWhile = 0;
          this.tcAck = false;
          return true;
        }
        return false;
      case "ACTIVE":
        if (!rootOrDesignated || this.operEdge) return this.enterTcLearning();
        if (this.rcvdTcn) {
          this.newTcWhile(b); // NOTIFIED_TCN, then NOTIFIED_TC
          return this.notifiedTc(b);
        }
        if (this.rcvdTc) return this.notifiedTc(b);
        if (this.tcProp && !this.operEdge) {
          this.newTcWhile(b); // PROPAGATING
          this.tcProp = false;
          b.flush(this, "topology change propagated");
          return true;
        }
        if (this.rcvdTcAck) {
          this.tcWhile = 0; // ACKNOWLEDGED
          this.rcvdTcAck = false;
          return true;
        }
        return false;
    }
    return false;
  }

  private enterTcLearning(): boolean {
    this.tcm = "LEARNING";
    this.rcvdTc = this.rcvdTcn = this.rcvdTcAck = this.tcProp = false;
    return true;
  }

  private notifiedTc(b: RstpBridgeView): boolean {
    this.rcvdTcn = this.rcvdTc = false;
    if (this.role === "designated") this.tcAck = true;
    b.setTcPropTree(this);
    return true;
  }

  private newTcWhile(b: RstpBridgeView): void {
    if (this.tcWhile !== 0) return;
    if (this.sendRSTP) {
      this.tcWhile = this.HelloTime() + 1000;
      this.newInfo = true;
    } else {
      this.tcWhile = b.rootTimes.maxAge + b.rootTimes.forwardDelay;
    }
  }
}

export function zeroVector(): PriorityVector {
  return { rootId: 0n, rootPathCost: 0, designatedBridgeId: 0n, designatedPortId: 0, bridgePortId: 0 };
}

function sameTimes(a: Times, b: Times): boolean {
  return a.messageAge === b.messageAge && a.maxAge === b.maxAge && a.forwardDelay === b.forwardDelay && a.helloTime === b.helloTime;
}
