/**
 * 802.1D (1998) spanning tree: the engine the Linux kernel bridge runs with
 * stp_state 1, procedure for procedure, so that both elect the same root,
 * the same root and designated ports and block the same port.
 *
 * Names follow the standard's procedures (8.6, 8.7) as Linux's br_stp.c
 * names them: root_selection, designated_port_selection,
 * port_state_selection, make_forwarding/make_blocking,
 * topology_change_detection, transmit_config/transmit_tcn,
 * received_config_bpdu/received_tcn_bpdu, and the timer expiries of 8.7
 * (hello, tcn, topology change, message age, forward delay, hold).
 *
 * Behaviour to match Linux:
 *  - only the root sends on the hello timer; others relay when a BPDU from
 *    the root port arrives (config_bpdu_generation);
 *  - a port whose link comes up starts blocking and goes listening →
 *    learning → forwarding, one forward delay each;
 *  - the hold timer (1 s) spaces BPDUs per port; one asked for meanwhile is
 *    sent when it expires (config_pending);
 *  - message age grows by the time the root's information is held plus one
 *    tick; a BPDU whose message age exceeds its max age is ignored;
 *  - root guard (root_block): a port that would become root port is held
 *    back, keeps the superior information (so it blocks) and is counted;
 *  - BPDU guard: a BPDU disables the port until its link goes down and up.
 * While a topology change lasts, learned entries age out after the forward
 * delay in force (Linux uses twice that; 802.1D 8.3.5 says forward delay).
 */
import type { PortStateName } from "../core/port-table.js";
import { decodeBpdu, encodeBpdu, isBpduError, type ConfigBpdu } from "./bpdu.js";
import { seconds, type BpduVerdict, type EngineHooks, type EnginePortParams, type PortRole, type StpBridgeStatus, type StpEngine, type StpPortStatus } from "./engine.js";
import { type BridgeId, formatBridgeId, formatPortId, makeBridgeId, makePortId } from "./ids.js";
import { type StpBridgeParams } from "./params.js";
import { Timer } from "./timer.js";

const HOLD_TIME_MS = 1000;
/** Message age added per hop: one 1/256 s tick, as Linux adds. */
const MESSAGE_AGE_INCR_MS = 4;
const TICK_STEP_MS = 50;

interface Port {
  index: number;
  portNo: number;
  params: EnginePortParams;
  portId: number;
  pathCost: number;
  state: PortStateName;
  designatedRoot: BridgeId;
  designatedCost: number;
  designatedBridge: BridgeId;
  designatedPort: number;
  /** Engine time minus the message age of the recorded information. */
  designatedAge: number;
  topologyChangeAck: boolean;
  configPending: boolean;
  /** Link up (and not taken down by BPDU guard). */
  enabled: boolean;
  guardTripped: boolean;
  rootBlocked: boolean;
  messageAgeTimer: Timer;
  forwardDelayTimer: Timer;
  holdTimer: Timer;
  reported: { state: PortStateName; role: PortRole };
  rx: { config: number; tcn: number; rst: number };
  tx: { config: number; tcn: number; rst: number };
}

export class Stp implements StpEngine {
  readonly protocol = "stp" as const;
  private readonly ports = new Map<number, Port>();
  private params: StpBridgeParams;
  private address: string;
  private bridgeId: BridgeId;
  private designatedRoot: BridgeId;
  private rootPathCost = 0;
  private rootPort: Port | undefined;
  /** Times in force (ms): learned from the root, or this bridge's own. */
  private maxAge: number;
  private helloTime: number;
  private forwardDelay: number;
  private topologyChange = false;
  private topologyChangeDetected = false;
  private topologyChangeCount = 0;
  private lastTopologyChange = -1;
  private readonly helloTimer = new Timer();
  private readonly tcnTimer = new Timer();
  private readonly topologyChangeTimer = new Timer();
  private now = 0;
  private started = false;
  private reason = "";

  constructor(private readonly hooks: EngineHooks, params: StpBridgeParams, address: string) {
    this.params = params;
    this.address = address;
    this.bridgeId = makeBridgeId(params.priority, address);
    this.designatedRoot = this.bridgeId;
    this.maxAge = params.maxAge * 1000;
    this.helloTime = params.helloTime * 1000;
    this.forwardDelay = params.forwardDelay * 1000;
  }

  // ── ports ────────────────────────────────────────────────────────────

  addPort(index: number, params: EnginePortParams, enabled: boolean): void {
    const portNo = index + 1;
    const portId = makePortId(params.priority, portNo);
    const port: Port = {
      index, portNo, params, portId, pathCost: params.pathCost ?? params.defaultPathCost, state: "disabled",
      designatedRoot: this.designatedRoot, designatedCost: this.rootPathCost, designatedBridge: this.bridgeId, designatedPort: portId, designatedAge: this.now,
      topologyChangeAck: false, configPending: false, enabled: false, guardTripped: false, rootBlocked: false,
      messageAgeTimer: new Timer(), forwardDelayTimer: new Timer(), holdTimer: new Timer(),
      reported: { state: "disabled", role: "disabled" },
      rx: { config: 0, tcn: 0, rst: 0 }, tx: { config: 0, tcn: 0, rst: 0 },
    };
    this.ports.set(index, port);
    if (enabled && this.started) this.enablePort(index);
    else port.enabled = enabled;
  }

  removePort(index: number): void {
    const port = this.ports.get(index);
    if (!port) return;
    if (port.state !== "disabled") this.disablePort(index, "port removed");
    this.ports.delete(index);
  }

  start(): void {
    this.started = true;
    this.run("spanning tree started", () => {
      for (const port of this.ports.values()) if (port.enabled) this.stpEnablePort(port);
      this.configurationUpdate();
      this.portStateSelection();
      if (this.isRootBridge()) {
        this.maxAge = this.params.maxAge * 1000;
        this.helloTime = this.params.helloTime * 1000;
        this.forwardDelay = this.params.forwardDelay * 1000;
        this.configBpduGeneration();
        this.helloTimer.start(this.helloTime);
      }
    });
  }

  /** br_stp_enable_port: link up. */
  enablePort(index: number): void {
    const port = this.port(index);
    port.guardTripped = false;
    port.enabled = true;
    if (!this.started) return;
    this.run("link up", () => this.stpEnablePort(port));
  }

  /** br_stp_disable_port: link down (or BPDU guard). */
  disablePort(index: number, reason: string): void {
    const port = this.port(index);
    port.enabled = false;
    if (!this.started || port.state === "disabled") return;
    this.run(reason, () => {
      const wasRoot = this.isRootBridge();
      this.becomeDesignatedPort(port);
      port.state = "disabled";
      port.topologyChangeAck = false;
      port.configPending = false;
      port.rootBlocked = false;
      port.messageAgeTimer.stop();
      port.forwardDelayTimer.stop();
      port.holdTimer.stop();
      this.configurationUpdate();
      this.portStateSelection();
      if (this.isRootBridge() && !wasRoot) this.becomeRootBridge();
    });
  }

  setPortParams(index: number, params: EnginePortParams): void {
    const port = this.port(index);
    const oldId = port.portId;
    port.params = params;
    const portId = makePortId(params.priority, port.portNo);
    const pathCost = params.pathCost ?? params.defaultPathCost;
    this.run("port settings changed", () => {
      if (portId !== oldId) {
        // br_stp_set_port_priority
        if (this.isDesignatedPort(port)) port.designatedPort = portId;
        port.portId = portId;
        if (port.designatedBridge === this.bridgeId && port.portId < port.designatedPort) {
          this.becomeDesignatedPort(port);
          this.portStateSelection();
        }
      }
      if (pathCost !== port.pathCost) {
        port.pathCost = pathCost;
        this.configurationUpdate();
        this.portStateSelection();
      }
      if (!params.rootGuard && port.rootBlocked) {
        port.rootBlocked = false;
        this.configurationUpdate();
        this.portStateSelection();
      }
    });
  }

  setBridgeParams(params: StpBridgeParams): void {
    const priorityChanged = params.priority !== this.params.priority;
    this.params = params;
    this.run("bridge settings changed", () => {
      const isRoot = this.isRootBridge();
      if (isRoot) {
        this.maxAge = params.maxAge * 1000;
        this.helloTime = params.helloTime * 1000;
        this.forwardDelay = params.forwardDelay * 1000;
      }
      if (priorityChanged) this.changeBridgeId(makeBridgeId(params.priority, this.address));
    });
  }

  setBridgeAddress(mac: string): void {
    if (mac === this.address) return;
    this.address = mac;
    this.run("bridge address changed", () => this.changeBridgeId(makeBridgeId(this.params.priority, mac)));
  }

  /** br_stp_change_bridge_id / br_stp_set_bridge_priority. */
  private changeBridgeId(id: BridgeId): void {
    const wasRoot = this.isRootBridge();
    const old = this.bridgeId;
    for (const port of this.ports.values()) {
      if (port.designatedBridge === old) port.designatedBridge = id;
      if (port.designatedRoot === old) port.designatedRoot = id;
    }
    if (this.designatedRoot === old) this.designatedRoot = id;
    this.bridgeId = id;
    this.configurationUpdate();
    this.portStateSelection();
    if (this.isRootBridge() && !wasRoot) this.becomeRootBridge();
  }

  // ── time ─────────────────────────────────────────────────────────────

  tick(ms: number): void {
    while (ms > 0) {
      const step = Math.min(ms, TICK_STEP_MS);
      ms -= step;
      this.now += step;
      if (!this.started) continue;
      this.run("timer", () => this.timers(step));
    }
  }

  private timers(ms: number): void {
    if (this.helloTimer.advance(ms)) this.helloTimerExpiry();
    if (this.tcnTimer.advance(ms)) this.tcnTimerExpiry();
    if (this.topologyChangeTimer.advance(ms)) this.topologyChangeTimerExpiry();
    for (const port of this.ports.values()) {
      if (port.messageAgeTimer.advance(ms)) this.messageAgeTimerExpiry(port);
      if (port.forwardDelayTimer.advance(ms)) this.forwardDelayTimerExpiry(port);
      if (port.holdTimer.advance(ms)) this.holdTimerExpiry(port);
    }
  }

  private helloTimerExpiry(): void {
    this.reason = "hello timer";
    this.configBpduGeneration();
    this.helloTimer.start(this.helloTime);
  }

  private tcnTimerExpiry(): void {
    if (this.isRootBridge()) return;
    this.reason = "tcn timer";
    this.transmitTcn();
    this.tcnTimer.start(this.params.helloTime * 1000);
  }

  private topologyChangeTimerExpiry(): void {
    this.reason = "topology change timer expired";
    this.topologyChangeDetected = false;
    this.setTopologyChange(false, undefined);
  }

  private messageAgeTimerExpiry(port: Port): void {
    if (port.state === "disabled") return;
    this.reason = `max age expired: neighbour ${formatBridgeId(port.designatedBridge)} lost`;
    this.hooks.log("neighbour lost", { port: port.index, bridge: formatBridgeId(port.designatedBridge) });
    const wasRoot = this.isRootBridge();
    this.becomeDesignatedPort(port);
    this.configurationUpdate();
    this.portStateSelection();
    if (this.isRootBridge() && !wasRoot) this.becomeRootBridge();
  }

  private forwardDelayTimerExpiry(port: Port): void {
    this.reason = "forward delay timer";
    if (port.state === "listening") {
      port.state = "learning";
      port.forwardDelayTimer.start(this.forwardDelay);
    } else if (port.state === "learning") {
      port.state = "forwarding";
      if (this.isDesignatedForSomePort()) this.topologyChangeDetection(port, "port forwarding");
    }
  }

  private holdTimerExpiry(port: Port): void {
    if (port.configPending) this.transmitConfig(port);
  }

  // ── BPDUs in ─────────────────────────────────────────────────────────

  receiveBpdu(index: number, bytes: Uint8Array): BpduVerdict {
    const port = this.ports.get(index);
    if (!port || !this.started || port.state === "disabled") return "ignored";
    const bpdu = decodeBpdu(bytes);
    if (isBpduError(bpdu)) return "malformed";
    if (port.params.bpduGuard) {
      this.hooks.guard(index, "bpdu", "BPDU received on a bpdu-guard port: port disabled");
      this.disablePort(index, "bpdu guard");
      port.guardTripped = true;
      return "guard";
    }
    // An 802.1D bridge sees version 0 only (Linux discards any other version).
    if (bpdu.version !== 0) {
      if (bpdu.type === "rst") port.rx.rst++;
      return "ignored";
    }
    if (bpdu.type === "tcn") {
      port.rx.tcn++;
      this.run(`TCN received on port ${port.portNo}`, () => this.receivedTcnBpdu(port));
      return "accepted";
    }
    port.rx.config++;
    if (bpdu.messageAge > bpdu.maxAge) return "ignored";
    let verdict: BpduVerdict = "accepted";
    this.run(`BPDU received on port ${port.portNo}`, () => {
      if (this.receivedConfigBpdu(port, bpdu as ConfigBpdu)) verdict = "root-guard";
    });
    return verdict;
  }

  /** Returns true when root guard holds the port back. */
  private receivedConfigBpdu(port: Port, bpdu: ConfigBpdu): boolean {
    const wasRoot = this.isRootBridge();
    if (this.supersedesPortInfo(port, bpdu)) {
      this.recordConfigInformation(port, bpdu);
      this.configurationUpdate();
      this.portStateSelection();
      if (!this.isRootBridge() && wasRoot) {
        this.helloTimer.stop();
        if (this.topologyChangeDetected) {
          this.topologyChangeTimer.stop();
          this.transmitTcn();
          this.tcnTimer.start(this.params.helloTime * 1000);
        }
      }
      if (port === this.rootPort) {
        this.recordConfigTimeoutValues(bpdu);
        this.configBpduGeneration();
        if (bpdu.flags & 0x80) this.topologyChangeAcknowledged();
      }
    } else if (this.isDesignatedPort(port)) {
      this.transmitConfig(port); // reply
    }
    return port.rootBlocked;
  }

  private receivedTcnBpdu(port: Port): void {
    if (!this.isDesignatedPort(port)) return;
    this.hooks.log("received TCN BPDU", { port: port.index });
    this.topologyChangeDetection(port, `TCN received on port ${port.portNo}`);
    port.topologyChangeAck = true;
    this.transmitConfig(port);
  }

  private supersedesPortInfo(port: Port, b: ConfigBpdu): boolean {
    if (b.rootId !== port.designatedRoot) return b.rootId < port.designatedRoot;
    if (b.rootPathCost !== port.designatedCost) return b.rootPathCost < port.designatedCost;
    if (b.bridgeId !== port.designatedBridge) return b.bridgeId < port.designatedBridge;
    if (b.bridgeId !== this.bridgeId) return true;
    return b.portId <= port.designatedPort;
  }

  private recordConfigInformation(port: Port, b: ConfigBpdu): void {
    port.designatedRoot = b.rootId;
    port.designatedCost = b.rootPathCost;
    port.designatedBridge = b.bridgeId;
    port.designatedPort = b.portId;
    port.designatedAge = this.now - b.messageAge;
    port.messageAgeTimer.start(b.maxAge - b.messageAge);
  }

  private recordConfigTimeoutValues(b: ConfigBpdu): void {
    this.maxAge = b.maxAge;
    this.helloTime = b.helloTime;
    this.forwardDelay = b.forwardDelay;
    this.setTopologyChange((b.flags & 0x01) !== 0, this.rootPort?.index);
  }

  // ── selection ────────────────────────────────────────────────────────

  private configurationUpdate(): void {
    this.rootSelection();
    this.designatedPortSelection();
  }

  private shouldBecomeRootPort(p: Port, root: Port | undefined): boolean {
    if (p.state === "disabled" || this.isDesignatedPort(p)) return false;
    if (this.bridgeId <= p.designatedRoot) return false;
    if (!root) return true;
    if (p.designatedRoot !== root.designatedRoot) return p.designatedRoot < root.designatedRoot;
    const a = p.designatedCost + p.pathCost;
    const b = root.designatedCost + root.pathCost;
    if (a !== b) return a < b;
    if (p.designatedBridge !== root.designatedBridge) return p.designatedBridge < root.designatedBridge;
    if (p.designatedPort !== root.designatedPort) return p.designatedPort < root.designatedPort;
    return p.portId < root.portId;
  }

  /**
   * br_root_selection. A root-guard port that would win is passed over and
   * marked rootBlocked: it keeps the superior information (so it blocks, an
   * alternate port) until that information ages out.
   */
  private rootSelection(): void {
    let root: Port | undefined;
    for (const p of this.ports.values()) {
      if (p.params.rootGuard) continue;
      if (this.shouldBecomeRootPort(p, root)) root = p;
    }
    for (const p of this.ports.values()) {
      const blocked = p.params.rootGuard && this.shouldBecomeRootPort(p, root);
      if (blocked && !p.rootBlocked) {
        this.hooks.guard(p.index, "root", `superior BPDU from ${formatBridgeId(p.designatedBridge)} (root ${formatBridgeId(p.designatedRoot)}) on a root-guard port`);
      }
      p.rootBlocked = blocked;
    }
    this.rootPort = root;
    if (!root) {
      this.designatedRoot = this.bridgeId;
      this.rootPathCost = 0;
    } else {
      this.designatedRoot = root.designatedRoot;
      this.rootPathCost = root.designatedCost + root.pathCost;
    }
  }

  private shouldBecomeDesignatedPort(p: Port): boolean {
    if (this.isDesignatedPort(p)) return true;
    if (p.designatedRoot !== this.designatedRoot) return true;
    if (this.rootPathCost !== p.designatedCost) return this.rootPathCost < p.designatedCost;
    if (this.bridgeId !== p.designatedBridge) return this.bridgeId < p.designatedBridge;
    return p.portId < p.designatedPort;
  }

  private designatedPortSelection(): void {
    for (const p of this.ports.values()) {
      if (p.state !== "disabled" && !p.rootBlocked && this.shouldBecomeDesignatedPort(p)) this.becomeDesignatedPort(p);
    }
  }

  private becomeDesignatedPort(p: Port): void {
    p.designatedRoot = this.designatedRoot;
    p.designatedCost = this.rootPathCost;
    p.designatedBridge = this.bridgeId;
    p.designatedPort = p.portId;
  }

  private portStateSelection(): void {
    for (const p of this.ports.values()) {
      if (p.state === "disabled") continue;
      if (p === this.rootPort) {
        p.configPending = false;
        p.topologyChangeAck = false;
        this.makeForwarding(p);
      } else if (this.isDesignatedPort(p)) {
        p.messageAgeTimer.stop();
        this.makeForwarding(p);
      } else {
        p.configPending = false;
        p.topologyChangeAck = false;
        this.makeBlocking(p);
      }
    }
  }

  private makeForwarding(p: Port): void {
    if (p.state !== "blocking") return;
    p.state = "listening";
    p.forwardDelayTimer.start(this.forwardDelay);
  }

  private makeBlocking(p: Port): void {
    if (p.state === "disabled" || p.state === "blocking") return;
    if (p.state === "forwarding" || p.state === "learning") this.topologyChangeDetection(p, `port ${p.portNo} left forwarding`);
    p.state = "blocking";
    p.forwardDelayTimer.stop();
  }

  private stpEnablePort(p: Port): void {
    p.enabled = true;
    p.guardTripped = false;
    p.portId = makePortId(p.params.priority, p.portNo);
    this.becomeDesignatedPort(p);
    p.state = "blocking";
    p.topologyChangeAck = false;
    p.configPending = false;
    this.portStateSelection();
  }

  private becomeRootBridge(): void {
    this.maxAge = this.params.maxAge * 1000;
    this.helloTime = this.params.helloTime * 1000;
    this.forwardDelay = this.params.forwardDelay * 1000;
    this.topologyChangeDetection(undefined, "became root bridge");
    this.tcnTimer.stop();
    this.configBpduGeneration();
    this.helloTimer.start(this.helloTime);
  }

  // ── topology change ──────────────────────────────────────────────────

  private topologyChangeDetection(port: Port | undefined, why: string): void {
    const isRoot = this.isRootBridge();
    this.hooks.log(`topology change detected, ${isRoot ? "propagating" : "sending tcn bpdu"}`, { port: port?.index, reason: why });
    if (isRoot) {
      this.setTopologyChange(true, port?.index, why);
      this.topologyChangeTimer.start((this.params.forwardDelay + this.params.maxAge) * 1000);
    } else if (!this.topologyChangeDetected) {
      this.noteTopologyChange();
      this.transmitTcn();
      this.tcnTimer.start(this.params.helloTime * 1000);
    }
    this.topologyChangeDetected = true;
  }

  private noteTopologyChange(): void {
    this.topologyChangeCount++;
    this.lastTopologyChange = this.now;
  }

  private topologyChangeAcknowledged(): void {
    this.topologyChangeDetected = false;
    this.tcnTimer.stop();
  }

  /** __br_set_topology_change: fast ageing while it lasts. */
  private setTopologyChange(on: boolean, port: number | undefined, why = this.reason): void {
    if (on === this.topologyChange) return;
    this.topologyChange = on;
    if (on) this.noteTopologyChange();
    this.hooks.fastAgeing(on ? this.forwardDelay : undefined);
    this.hooks.topologyChange(port === undefined ? { active: on, reason: why } : { active: on, port, reason: why });
  }

  // ── BPDUs out ────────────────────────────────────────────────────────

  private configBpduGeneration(): void {
    for (const p of this.ports.values()) if (p.state !== "disabled" && this.isDesignatedPort(p)) this.transmitConfig(p);
  }

  private transmitConfig(p: Port): void {
    if (p.holdTimer.active) {
      p.configPending = true;
      return;
    }
    const root = this.rootPort;
    const messageAge = this.isRootBridge() || !root ? 0 : this.now - root.designatedAge + MESSAGE_AGE_INCR_MS;
    if (messageAge >= this.maxAge) return;
    const flags = (this.topologyChange ? 0x01 : 0) | (p.topologyChangeAck ? 0x80 : 0);
    this.hooks.sendBpdu(p.index, encodeBpdu({
      type: "config", version: 0, flags, rootId: this.designatedRoot, rootPathCost: this.rootPathCost, bridgeId: this.bridgeId, portId: p.portId,
      messageAge, maxAge: this.maxAge, helloTime: this.helloTime, forwardDelay: this.forwardDelay,
    }));
    p.tx.config++;
    p.topologyChangeAck = false;
    p.configPending = false;
    p.holdTimer.start(HOLD_TIME_MS);
  }

  private transmitTcn(): void {
    const p = this.rootPort;
    if (!p) return;
    this.hooks.sendBpdu(p.index, encodeBpdu({ type: "tcn", version: 0 }));
    p.tx.tcn++;
  }

  // ── helpers ──────────────────────────────────────────────────────────

  private isRootBridge(): boolean {
    return this.designatedRoot === this.bridgeId;
  }

  private isDesignatedPort(p: Port): boolean {
    return p.designatedBridge === this.bridgeId && p.designatedPort === p.portId;
  }

  private isDesignatedForSomePort(): boolean {
    for (const p of this.ports.values()) if (p.state !== "disabled" && p.designatedBridge === this.bridgeId) return true;
    return false;
  }

  private port(index: number): Port {
    const port = this.ports.get(index);
    if (!port) throw new Error(`spanning tree has no port ${index}`);
    return port;
  }

  private role(p: Port): PortRole {
    if (p.state === "disabled") return "disabled";
    if (p === this.rootPort) return "root";
    if (this.isDesignatedPort(p)) return "designated";
    // A port blocked by information this bridge sent itself on another port is a backup.
    return p.designatedBridge === this.bridgeId ? "backup" : "alternate";
  }

  /** Run a procedure, then report every port whose state or role it changed. */
  private run(reason: string, body: () => void): void {
    const outer = this.reason;
    this.reason = reason;
    try {
      body();
    } finally {
      for (const p of this.ports.values()) {
        const role = this.role(p);
        if (p.state !== p.reported.state || role !== p.reported.role) {
          const previous = p.reported;
          p.reported = { state: p.state, role };
          this.hooks.portChanged(p.index, { state: p.state, role, previousState: previous.state, previousRole: previous.role, reason: this.reason });
        }
      }
      this.reason = outer;
    }
  }

  // ── status ───────────────────────────────────────────────────────────

  portState(index: number): PortStateName {
    return this.port(index).state;
  }

  bridgeStatus(): StpBridgeStatus {
    return {
      protocol: "stp",
      bridgeId: formatBridgeId(this.bridgeId),
      designatedRoot: formatBridgeId(this.designatedRoot),
      rootPort: this.rootPort?.portNo ?? 0,
      rootPortIndex: this.rootPort?.index ?? -1,
      rootPathCost: this.rootPathCost,
      isRoot: this.isRootBridge(),
      maxAge: seconds(this.maxAge),
      helloTime: seconds(this.helloTime),
      forwardDelay: seconds(this.forwardDelay),
      bridgeMaxAge: this.params.maxAge,
      bridgeHelloTime: this.params.helloTime,
      bridgeForwardDelay: this.params.forwardDelay,
      priority: this.params.priority,
      holdTime: HOLD_TIME_MS / 1000,
      helloTimer: this.helloTimer.seconds,
      tcnTimer: this.tcnTimer.seconds,
      topologyChangeTimer: this.topologyChangeTimer.seconds,
      topologyChange: this.topologyChange,
      topologyChangeDetected: this.topologyChangeDetected,
      topologyChangeCount: this.topologyChangeCount,
      timeSinceTopologyChange: this.lastTopologyChange < 0 ? -1 : seconds(this.now - this.lastTopologyChange),
    };
  }

  portStatus(index: number): StpPortStatus {
    const p = this.port(index);
    return {
      index: p.index,
      portNo: p.portNo,
      portId: formatPortId(p.portId),
      priority: p.params.priority,
      state: p.state,
      role: this.role(p),
      designatedRoot: formatBridgeId(p.designatedRoot),
      designatedBridge: formatBridgeId(p.designatedBridge),
      designatedPort: formatPortId(p.designatedPort),
      designatedCost: p.designatedCost,
      pathCost: p.pathCost,
      adminPathCost: p.params.pathCost !== undefined,
      messageAgeTimer: p.messageAgeTimer.seconds,
      forwardDelayTimer: p.forwardDelayTimer.seconds,
      holdTimer: p.holdTimer.seconds,
      topologyChangeAck: p.topologyChangeAck,
      configPending: p.configPending,
      enabled: p.enabled,
      edge: p.params.edge,
      operEdge: false,
      pointToPoint: false,
      bpduGuard: p.params.bpduGuard,
      rootGuard: p.params.rootGuard,
      guardTripped: p.guardTripped,
      rootBlocked: p.rootBlocked,
      sendingStp: true,
      bpdusReceived: { ...p.rx },
      bpdusSent: { ...p.tx },
    };
  }
}
