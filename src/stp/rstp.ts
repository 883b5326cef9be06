/**
 * 802.1w rapid spanning tree (802.1D-2004 clause 17): the bridge side —
 * Port Role Selection (17.28: updtRolesTree, setSelectedTree …), the tree
 * procedures the port machines call (setSyncTree, setReRootTree,
 * setTcPropTree, allSynced, reRooted), and the engine API. The port
 * machines live in rstp-port.ts.
 *
 * What it gives over 802.1D: a designated port on a point-to-point link
 * proposes, the neighbour's root port syncs (its other ports discard) and
 * agrees, and the link forwards at once instead of after two forward
 * delays; edge ports (configured, or found by BPDU silence) forward at once;
 * a topology change flushes learned entries on the other ports instead of
 * shortening ageing. A port that hears an 802.1D BPDU migrates to 802.1D
 * (configuration and TCN BPDUs, forward delay timing) so that the kernel
 * bridge's STP and this bridge still build one tree.
 *
 * Root guard is 802.1Q's restrictedRole: the port is never root port; with
 * superior information it becomes an alternate port (discarding).
 */
import { decodeBpdu, isBpduError } from "./bpdu.js";
import { seconds, type BpduVerdict, type EngineHooks, type EnginePortParams, type PortRole, type StpBridgeStatus, type StpEngine, type StpPortStateName, type StpPortStatus } from "./engine.js";
import { type BridgeId, compareVectors, formatBridgeId, formatPortId, makeBridgeId, makePortId, type PriorityVector } from "./ids.js";
import type { StpBridgeParams } from "./params.js";
import { RstpPort, type RstpBridgeView, type Times } from "./rstp-port.js";

const TICK_STEP_MS = 50;
const MAX_STEPS = 10_000;
const MAC_MASK = 0xffff_ffff_ffffn;

export class Rstp implements StpEngine, RstpBridgeView {
  readonly protocol = "rstp" as const;
  readonly rstpVersion = true;
  private readonly ports = new Map<number, RstpPort>();
  private params: StpBridgeParams;
  private address: string;
  private bridgeId: BridgeId;
  bridgeTimes: Times;
  rootTimes: Times;
  private rootPriority: PriorityVector;
  private rootPort: RstpPort | undefined;
  private started = false;
  private now = 0;
  private reason = "";
  private tcActive = false;
  private tcCount = 0;
  private lastTc = -1;
  private tcPort: number | undefined;
  private readonly reported = new Map<number, { state: StpPortStateName; role: PortRole }>();
  private readonly counts = new Map<number, { rx: { config: number; tcn: number; rst: number }; tx: { config: number; tcn: number; rst: number } }>();
  private readonly guardTripped = new Set<number>();
  private readonly rootBlocked = new Set<number>();

  constructor(private readonly hooks: EngineHooks, params: StpBridgeParams, address: string) {
    this.params = params;
    this.address = address;
    this.bridgeId = makeBridgeId(params.priority, address);
    this.bridgeTimes = timesOf(params);
    this.rootTimes = { ...this.bridgeTimes };
    this.rootPriority = this.bridgeVector();
  }

  private bridgeVector(): PriorityVector {
    return { rootId: this.bridgeId, rootPathCost: 0, designatedBridgeId: this.bridgeId, designatedPortId: 0, bridgePortId: 0 };
  }

  // ── ports ────────────────────────────────────────────────────────────

  addPort(index: number, params: EnginePortParams, enabled: boolean): void {
    const port = new RstpPort(index, index + 1, params);
    this.configurePort(port, params);
    port.portEnabled = enabled;
    this.ports.set(index, port);
    this.counts.set(index, { rx: { config: 0, tcn: 0, rst: 0 }, tx: { config: 0, tcn: 0, rst: 0 } });
    this.reported.set(index, { state: "disabled", role: "disabled" });
    if (this.started) this.run("port added", () => port.begin(this));
  }

  private configurePort(port: RstpPort, params: EnginePortParams): void {
    port.params = params;
    port.portId = makePortId(params.priority, port.portNo);
    port.pathCost = params.pathCost ?? params.defaultPathCost;
    port.adminEdge = params.edge;
    port.autoEdge = params.autoEdge;
    port.restrictedRole = params.rootGuard;
  }

  removePort(index: number): void {
    const port = this.ports.get(index);
    if (!port) return;
    this.ports.delete(index);
    this.reported.delete(index);
    this.counts.delete(index);
    if (this.started) this.run("port removed", () => this.reselectAll());
  }

  enablePort(index: number): void {
    const port = this.port(index);
    this.guardTripped.delete(index);
    if (port.portEnabled) return;
    this.run("link up", () => {
      port.portEnabled = true;
    });
  }

  disablePort(index: number, reason: string): void {
    const port = this.port(index);
    if (!port.portEnabled) return;
    this.run(reason, () => {
      port.portEnabled = false;
    });
  }

  setPortParams(index: number, params: EnginePortParams): void {
    const port = this.port(index);
    const before = { id: port.portId, cost: port.pathCost, edge: port.adminEdge, restricted: port.restrictedRole };
    this.configurePort(port, params);
    if (before.id === port.portId && before.cost === port.pathCost && before.edge === port.adminEdge && before.restricted === port.restrictedRole) return;
    this.run("port settings changed", () => {
      if (before.edge !== port.adminEdge) {
        port.bdm = port.adminEdge ? "EDGE" : "NOT_EDGE";
        port.operEdge = port.adminEdge;
      }
      this.reselectAll();
    });
  }

  setBridgeParams(params: StpBridgeParams): void {
    this.params = params;
    this.bridgeTimes = timesOf(params);
    this.run("bridge settings changed", () => {
      this.bridgeId = makeBridgeId(params.priority, this.address);
      this.reselectAll();
    });
  }

  setBridgeAddress(mac: string): void {
    if (mac === this.address) return;
    this.address = mac;
    this.run("bridge address changed", () => {
      this.bridgeId = makeBridgeId(this.params.priority, mac);
      this.reselectAll();
    });
  }

  private reselectAll(): void {
    for (const p of this.ports.values()) {
      p.reselect = true;
      p.selected = false;
    }
  }

  start(): void {
    this.started = true;
    this.run("spanning tree started", () => {
      for (const p of this.ports.values()) p.begin(this);
    });
  }

  // ── time and BPDUs ───────────────────────────────────────────────────

  tick(ms: number): void {
    while (ms > 0) {
      const step = Math.min(ms, TICK_STEP_MS);
      ms -= step;
      this.now += step;
      if (!this.started) continue;
      this.run("timer", () => {
        for (const p of this.ports.values()) p.tick(step);
      });
    }
  }

  receiveBpdu(index: number, bytes: Uint8Array): BpduVerdict {
    const port = this.ports.get(index);
    if (!port || !this.started || !port.portEnabled) return "ignored";
    const bpdu = decodeBpdu(bytes);
    if (isBpduError(bpdu)) return "malformed";
    if (port.params.bpduGuard) {
      this.hooks.guard(index, "bpdu", "BPDU received on a bpdu-guard port: port disabled");
      this.disablePort(index, "bpdu guard");
      this.guardTripped.add(index);
      return "guard";
    }
    const c = this.counts.get(index)!;
    c.rx[bpdu.type]++;
    if (bpdu.type !== "tcn") {
      if (bpdu.messageAge >= bpdu.maxAge) return "ignored";
      // A configuration BPDU this very port sent (a loop through a hub) is discarded (802.1D 9.3.4).
      if (bpdu.type === "config" && bpdu.bridgeId === this.bridgeId && bpdu.portId === port.portId) return "ignored";
    }
    this.run(`${bpdu.type === "rst" ? "RST BPDU" : bpdu.type === "tcn" ? "TCN" : "BPDU"} received on port ${port.portNo}`, () => {
      port.rcvdBpdu = bpdu;
    });
    return this.rootBlocked.has(index) ? "root-guard" : "accepted";
  }

  // ── RstpBridgeView ───────────────────────────────────────────────────

  send(port: RstpPort, bytes: Uint8Array): void {
    const c = this.counts.get(port.index);
    if (c) c.tx[bytes[3] === 0x80 ? "tcn" : bytes[3] === 0x02 ? "rst" : "config"]++;
    this.hooks.sendBpdu(port.index, bytes);
  }

  flush(port: RstpPort, reason: string): void {
    this.hooks.flush(port.index, reason);
  }

  setSyncTree(): void {
    for (const p of this.ports.values()) p.sync = true;
  }

  setReRootTree(): void {
    for (const p of this.ports.values()) p.reRoot = true;
  }

  setTcPropTree(except: RstpPort): void {
    for (const p of this.ports.values()) if (p !== except) p.tcProp = true;
  }

  allSynced(): boolean {
    for (const p of this.ports.values()) {
      if (!p.selected || p.role !== p.selectedRole || p.updtInfo) return false;
      if (!p.synced && p.role !== "root") return false;
    }
    return true;
  }

  reRooted(except: RstpPort): boolean {
    for (const p of this.ports.values()) if (p !== except && p.rrWhile !== 0) return false;
    return true;
  }

  topologyChange(port: RstpPort, reason: string): void {
    this.tcCount++;
    this.lastTc = this.now;
    this.tcPort = port.index;
    this.hooks.log("topology change detected", { port: port.index, reason });
  }

  log(port: RstpPort, message: string): void {
    this.hooks.log(message, { port: port.index });
  }

  // ── Port Role Selection (17.28) ──────────────────────────────────────

  private portRoleSelection(): boolean {
    let any = false;
    for (const p of this.ports.values()) if (p.reselect) any = true;
    if (!any) return false;
    for (const p of this.ports.values()) p.reselect = false; // clearReselectTree
    this.updtRolesTree();
    let again = false;
    for (const p of this.ports.values()) if (p.reselect) again = true;
    if (!again) for (const p of this.ports.values()) p.selected = true; // setSelectedTree
    return true;
  }

  private updtRolesTree(): void {
    const ownMac = this.bridgeId & MAC_MASK;
    let best = this.bridgeVector();
    let root: RstpPort | undefined;
    const pathVector = (p: RstpPort): PriorityVector => ({ ...p.portPriority, rootPathCost: p.portPriority.rootPathCost + p.pathCost, bridgePortId: p.portId });
    for (const p of this.ports.values()) {
      if (p.infoIs !== "received" || p.restrictedRole || (p.portPriority.designatedBridgeId & MAC_MASK) === ownMac) continue;
      const v = pathVector(p);
      if (compareVectors(v, best) < 0) {
        best = v;
        root = p;
      }
    }
    // Root guard: a restricted port whose information would have won is counted and held back.
    for (const p of this.ports.values()) {
      const blocked = p.restrictedRole && p.infoIs === "received" && (p.portPriority.designatedBridgeId & MAC_MASK) !== ownMac && compareVectors(pathVector(p), best) < 0;
      if (blocked && !this.rootBlocked.has(p.index)) {
        this.rootBlocked.add(p.index);
        this.hooks.guard(p.index, "root", `superior BPDU from ${formatBridgeId(p.portPriority.designatedBridgeId)} (root ${formatBridgeId(p.portPriority.rootId)}) on a root-guard port`);
      } else if (!blocked) this.rootBlocked.delete(p.index);
    }
    this.rootPriority = best;
    this.rootPort = root;
    this.rootTimes = root ? { ...root.portTimes, messageAge: Math.round(root.portTimes.messageAge / 1000) * 1000 + 1000 } : { ...this.bridgeTimes };
    for (const p of this.ports.values()) {
      p.designatedPriority = { rootId: best.rootId, rootPathCost: best.rootPathCost, designatedBridgeId: this.bridgeId, designatedPortId: p.portId, bridgePortId: p.portId };
      p.designatedTimes = { ...this.rootTimes, helloTime: this.bridgeTimes.helloTime };
      switch (p.infoIs) {
        case "disabled":
          p.selectedRole = "disabled";
          break;
        case "aged":
          p.selectedRole = "designated";
          p.updtInfo = true;
          break;
        case "mine":
          p.selectedRole = "designated";
          if (compareVectors(p.portPriority, p.designatedPriority) !== 0 || !sameTimes(p.portTimes, p.designatedTimes)) p.updtInfo = true;
          break;
        case "received": {
          if (p === root) {
            p.selectedRole = "root";
            p.updtInfo = false;
          } else if (compareVectors({ ...p.designatedPriority, bridgePortId: 0 }, { ...p.portPriority, bridgePortId: 0 }) >= 0) {
            p.selectedRole = (p.portPriority.designatedBridgeId & MAC_MASK) !== ownMac ? "alternate" : "backup";
            p.updtInfo = false;
          } else {
            p.selectedRole = "designated";
            p.updtInfo = true;
          }
          break;
        }
      }
    }
  }

  // ── the loop ─────────────────────────────────────────────────────────

  /** Apply an event, run every machine until none moves, then report what changed. */
  private run(reason: string, event: () => void): void {
    const outer = this.reason;
    this.reason = reason;
    try {
      event();
      for (let i = 0; i < MAX_STEPS; i++) {
        let moved = false;
        for (const p of this.ports.values()) {
          if (p.portReceive(this)) moved = true;
          if (p.protocolMigration(this)) moved = true;
          if (p.bridgeDetection()) moved = true;
          if (p.portInformation()) moved = true;
        }
        if (this.portRoleSelection()) moved = true;
        for (const p of this.ports.values()) {
          if (p.portRoleTransitions(this)) moved = true;
          if (p.portStateTransition()) moved = true;
          if (p.topologyChangeMachine(this)) moved = true;
          if (p.portTransmit(this)) moved = true;
        }
        if (!moved) break;
      }
    } finally {
      this.report();
      this.reason = outer;
    }
  }

  private report(): void {
    for (const p of this.ports.values()) {
      const state = stateOf(p);
      const role: PortRole = p.portEnabled ? p.role : "disabled";
      const was = this.reported.get(p.index)!;
      if (was.state !== state || was.role !== role) {
        this.reported.set(p.index, { state, role });
        this.hooks.portChanged(p.index, { state, role, previousState: was.state, previousRole: was.role, reason: this.reason });
      }
    }
    let active = false;
    for (const p of this.ports.values()) if (p.tcWhile > 0) active = true;
    if (active !== this.tcActive) {
      this.tcActive = active;
      const port = this.tcPort;
      this.hooks.topologyChange(port === undefined ? { active, reason: this.reason } : { active, port, reason: active ? `topology change on port ${port + 1}` : "tcWhile expired" });
    }
  }

  // ── status ───────────────────────────────────────────────────────────

  private port(index: number): RstpPort {
    const port = this.ports.get(index);
    if (!port) throw new Error(`spanning tree has no port ${index}`);
    return port;
  }

  portState(index: number): StpPortStateName {
    return stateOf(this.port(index));
  }

  bridgeStatus(): StpBridgeStatus {
    let helloTimer = 0;
    let tcTimer = 0;
    for (const p of this.ports.values()) {
      if (p.portEnabled && p.role === "designated") helloTimer = Math.max(helloTimer, p.helloWhen);
      tcTimer = Math.max(tcTimer, p.tcWhile);
    }
    return {
      protocol: "rstp",
      bridgeId: formatBridgeId(this.bridgeId),
      designatedRoot: formatBridgeId(this.rootPriority.rootId),
      rootPort: this.rootPort?.portNo ?? 0,
      rootPortIndex: this.rootPort?.index ?? -1,
      rootPathCost: this.rootPriority.rootPathCost,
      isRoot: this.rootPriority.rootId === this.bridgeId,
      maxAge: seconds(this.rootTimes.maxAge),
      helloTime: seconds(this.rootTimes.helloTime),
      forwardDelay: seconds(this.rootTimes.forwardDelay),
      bridgeMaxAge: this.params.maxAge,
      bridgeHelloTime: this.params.helloTime,
      bridgeForwardDelay: this.params.forwardDelay,
      priority: this.params.priority,
      holdTime: 1,
      helloTimer: seconds(helloTimer),
      tcnTimer: 0,
      topologyChangeTimer: seconds(tcTimer),
      topologyChange: this.tcActive,
      topologyChangeDetected: this.tcActive,
      topologyChangeCount: this.tcCount,
      timeSinceTopologyChange: this.lastTc < 0 ? -1 : seconds(this.now - this.lastTc),
    };
  }

  portStatus(index: number): StpPortStatus {
    const p = this.port(index);
    const c = this.counts.get(index)!;
    const v = p.portPriority.rootId === 0n ? p.designatedPriority : p.portPriority;
    return {
      index,
      portNo: p.portNo,
      portId: formatPortId(p.portId),
      priority: p.params.priority,
      state: stateOf(p),
      role: p.portEnabled ? p.role : "disabled",
      designatedRoot: formatBridgeId(v.rootId),
      designatedBridge: formatBridgeId(v.designatedBridgeId),
      designatedPort: formatPortId(v.designatedPortId),
      designatedCost: v.rootPathCost,
      pathCost: p.pathCost,
      adminPathCost: p.params.pathCost !== undefined,
      messageAgeTimer: seconds(p.rcvdInfoWhile),
      forwardDelayTimer: seconds(p.fdWhile),
      holdTimer: 0,
      topologyChangeAck: p.tcAck,
      configPending: false,
      enabled: p.portEnabled,
      edge: p.adminEdge,
      operEdge: p.operEdge,
      pointToPoint: p.operPointToPointMAC,
      bpduGuard: p.params.bpduGuard,
      rootGuard: p.params.rootGuard,
      guardTripped: this.guardTripped.has(index),
      rootBlocked: this.rootBlocked.has(index),
      sendingStp: !p.sendRSTP,
      bpdusReceived: { ...c.rx },
      bpdusSent: { ...c.tx },
    };
  }
}

function stateOf(p: RstpPort): StpPortStateName {
  if (!p.portEnabled) return "disabled";
  return p.forwarding ? "forwarding" : p.learning ? "learning" : "discarding";
}

function timesOf(params: StpBridgeParams): Times {
  return { messageAge: 0, maxAge: params.maxAge * 1000, forwardDelay: params.forwardDelay * 1000, helloTime: params.helloTime * 1000 };
}

function sameTimes(a: Times, b: Times): boolean {
  return a.messageAge === b.messageAge && a.maxAge === b.maxAge && a.forwardDelay === b.forwardDelay && a.helloTime === b.helloTime;
}
