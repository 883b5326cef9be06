/**
 * What both spanning tree engines (802.1D in stp.ts, 802.1w in rstp.ts)
 * offer, what they need from their owner, and the status they report.
 *
 * An engine is pure: no timers, no sockets, no clock. Time enters through
 * `tick(ms)`, frames through `receiveBpdu(port, bytes)`; BPDUs leave through
 * the injected `sendBpdu`, and every decision (port state, role, topology
 * change, FDB flush, fast ageing) is reported through the injected hooks.
 * Ports are named by the bridge's port index; the port number in port
 * identifiers is index + 1.
 *
 * The status objects are the read API that `showstp` layouts print: every
 * field brctl shows, per bridge and per port, plus the RSTP extras.
 */
import type { PortStateName } from "../core/port-table.js";
import type { StpBridgeParams, StpPortParams, StpProtocol } from "./params.js";

export type PortRole = "root" | "designated" | "alternate" | "backup" | "disabled";

/** 802.1D states, and RSTP's discarding (the dataplane treats it as blocking). */
export type StpPortStateName = PortStateName | "discarding";

/** Why a received BPDU was not acted upon (the glue counts these as drop reasons). */
export type BpduVerdict = "accepted" | "malformed" | "guard" | "root-guard" | "ignored";

export interface EngineHooks {
  /** Transmit BPDU bytes (no Ethernet/LLC header) on a port. */
  sendBpdu(port: number, bpdu: Uint8Array): void;
  /** A port's state or role changed; `reason` says why in a few words. */
  portChanged(port: number, change: { state: StpPortStateName; role: PortRole; previousState: StpPortStateName; previousRole: PortRole; reason: string }): void;
  /** A topology change started or ended (`port`: where it was detected or heard, when known). */
  topologyChange(change: { active: boolean; port?: number; reason: string }): void;
  /** RSTP: forget learned entries of `port` (802.1D-2004 flush), undefined for all ports. */
  flush(port: number | undefined, reason: string): void;
  /** 802.1D: learned entries age out after `ms` while a topology change lasts; undefined restores the ageing time. */
  fastAgeing(ms: number | undefined): void;
  /** A guard acted: BPDU guard disabled the port, or root guard blocked superior information. */
  guard(port: number, guard: "bpdu" | "root", reason: string): void;
  /** Informational lines (root changes, received TCNs, migrations …). */
  log(message: string, fields: Record<string, unknown>): void;
}

export interface StpBridgeStatus {
  protocol: StpProtocol;
  /** "8000.0011223344ff" */
  bridgeId: string;
  designatedRoot: string;
  /** Port number of the root port (0: this bridge is root). */
  rootPort: number;
  /** Bridge port index of the root port, -1 when none. */
  rootPortIndex: number;
  rootPathCost: number;
  isRoot: boolean;
  /** Times in force, in seconds (the root's, when learned from it). */
  maxAge: number;
  helloTime: number;
  forwardDelay: number;
  /** This bridge's own configured times, in seconds. */
  bridgeMaxAge: number;
  bridgeHelloTime: number;
  bridgeForwardDelay: number;
  priority: number;
  holdTime: number;
  /** Remaining time of each bridge timer, in seconds (0: not running). */
  helloTimer: number;
  tcnTimer: number;
  topologyChangeTimer: number;
  topologyChange: boolean;
  topologyChangeDetected: boolean;
  /** Topology changes seen since the engine started, and seconds since the last one (-1: none). */
  topologyChangeCount: number;
  timeSinceTopologyChange: number;
}

export interface StpPortStatus {
  /** Bridge port index. */
  index: number;
  /** Port number (index + 1), as "eth0 (1)" in showstp. */
  portNo: number;
  /** "8001" */
  portId: string;
  priority: number;
  state: StpPortStateName;
  role: PortRole;
  designatedRoot: string;
  designatedBridge: string;
  designatedPort: string;
  designatedCost: number;
  pathCost: number;
  /** Whether the cost was set by the user (otherwise the default for the link speed). */
  adminPathCost: boolean;
  /** Remaining time of each port timer, in seconds (0: not running). */
  messageAgeTimer: number;
  forwardDelayTimer: number;
  holdTimer: number;
  /** Flags brctl prints: TOPOLOGY_CHANGE_ACK, CONFIG_PENDING. */
  topologyChangeAck: boolean;
  configPending: boolean;
  /** Link up and not disabled by BPDU guard. */
  enabled: boolean;
  edge: boolean;
  operEdge: boolean;
  pointToPoint: boolean;
  bpduGuard: boolean;
  rootGuard: boolean;
  /** BPDU guard disabled this port (until its link goes down and up, or the guard is cleared). */
  guardTripped: boolean;
  /** Root guard is holding this port back from root port. */
  rootBlocked: boolean;
  /** RSTP: this port talks 802.1D to its neighbour (migrated). */
  sendingStp: boolean;
  bpdusReceived: { config: number; tcn: number; rst: number };
  bpdusSent: { config: number; tcn: number; rst: number };
}

/** Port parameters as an engine takes them: the glue resolves the default path cost from the link speed. */
export interface EnginePortParams extends StpPortParams {
  /** The cost used when `pathCost` is not set. */
  defaultPathCost: number;
}

export interface StpEngine {
  readonly protocol: StpProtocol;
  addPort(port: number, params: EnginePortParams, enabled: boolean): void;
  removePort(port: number): void;
  /** Link (and administrative) state: 802.1D port enable/disable. */
  enablePort(port: number): void;
  disablePort(port: number, reason: string): void;
  setPortParams(port: number, params: EnginePortParams): void;
  setBridgeParams(params: StpBridgeParams): void;
  setBridgeAddress(mac: string): void;
  /** Start: every enabled port takes part; called once, after the ports are added. */
  start(): void;
  tick(ms: number): void;
  receiveBpdu(port: number, bpdu: Uint8Array): BpduVerdict;
  portState(port: number): StpPortStateName;
  bridgeStatus(): StpBridgeStatus;
  portStatus(port: number): StpPortStatus;
}

export const seconds = (ms: number) => Math.round(ms / 10) / 100;
