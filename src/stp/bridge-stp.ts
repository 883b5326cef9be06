/**
 * Spanning tree glue: connects a Bridge to an STP (802.1D) or RSTP (802.1w)
 * engine. The engines are pure; this is where time, frames, port states,
 * FDB ageing, logs and events meet them.
 *
 *  - time: a 100 ms timer on the bridge's Scheduler feeds tick(elapsed)
 *    (a VirtualClock in tests drives it; `bridge.runStpTimers()` too);
 *  - frames in: the decision loop hands every BPDU to `handleBpdu` while STP
 *    runs; the verdict becomes the frame's drop reason (bpdu_consumed, or one
 *    of this area's codes 24-27);
 *  - frames out: BPDU bytes are framed (802.3/LLC, source = port MAC) and
 *    sent through the bridge's control-frame path, on any port state;
 *  - port states: every engine decision is written to the port table (RSTP
 *    discarding is Linux's blocking), and logged and emitted once;
 *  - ports follow links: link down/up is 802.1D port disable/enable;
 *  - FDB: fast ageing (802.1D topology change) and flushes (RSTP).
 * The bridge identifier uses the lowest port MAC unless an address is set.
 */
import type { BridgeEventMap } from "../bridge-events.js";
import type { PortStateName } from "../core/port-table.js";
import { DropReason } from "../core/reasons.js";
import { parseMac } from "../core/frame.js";
import { TapbridgeError } from "../errors.js";
import { linkSpeedMbps } from "../io/link-speed.js";
import type { Logger } from "../log.js";
import type { Scheduler, Timer } from "../scheduler.js";
import type { Port } from "../ports/port.js";
import { bpduFrame, bpduPayload, isBpduError } from "./bpdu.js";
import type { BpduVerdict, EngineHooks, StpBridgeStatus, StpEngine, StpPortStateName, StpPortStatus } from "./engine.js";
import { formatBridgeId, makeBridgeId } from "./ids.js";
import { checkBridgeParams, checkPathCost, checkPortPriority, DEFAULT_BRIDGE_PARAMS, DEFAULT_PORT_PARAMS, defaultPathCost, type StpBridgeParams, type StpPortParams, type StpProtocol } from "./params.js";
import { Rstp } from "./rstp.js";
import { Stp } from "./stp.js";

export interface StpOptions extends Partial<StpBridgeParams> {
  /** "stp" (802.1D, default) or "rstp" (802.1w). */
  protocol?: StpProtocol;
  /** MAC for the bridge identifier (default: the lowest port MAC, as Linux). */
  address?: string;
}

/** Per-port spanning tree settings (`bridge link set … cost/priority/guard/root_block`, RSTP edge). */
export interface StpPortSettings {
  cost?: number;
  priority?: number;
  edge?: boolean;
  autoEdge?: boolean;
  bpduGuard?: boolean;
  rootGuard?: boolean;
}

export interface StpStatus {
  /** "off" when spanning tree does not run (then every port is shown designated, as Linux does). */
  protocol: StpProtocol | "off";
  bridge: StpBridgeStatus;
  ports: (StpPortStatus & { name: string })[];
}

/** What the glue needs from its bridge. */
export interface StpHost {
  readonly name: string;
  readonly log: Logger;
  /** Time and timers (the bridge's: real, or a VirtualClock in tests). */
  readonly scheduler: Scheduler;
  portAt(index: number): Port | undefined;
  ports(): Port[];
  linkUp(index: number): boolean;
  /** The state the dataplane applies to the port while its link is up. */
  applyState(index: number, state: PortStateName): void;
  transmit(index: number, frame: Uint8Array): void;
  flushPort(index: number): number;
  flushAll(): number;
  setFastAgeing(ms: number | undefined): void;
  emit<K extends keyof BridgeEventMap>(event: K, ...args: BridgeEventMap[K]): boolean;
  setBpduHandler(handler: ((frame: Uint8Array, port: number) => number) | undefined): void;
}

const TICK_MS = 100;

/** Check per-port settings without applying them (so a bad one is refused before a port is attached). */
export function checkStpPortSettings(s: StpPortSettings, protocol: StpProtocol | "off"): void {
  if (s.cost !== undefined) checkPathCost(s.cost, protocol === "stp" ? "stp" : "rstp");
  if (s.priority !== undefined) checkPortPriority(s.priority);
}

const VERDICT_REASON: Record<BpduVerdict, number> = {
  accepted: DropReason.bpduConsumed,
  malformed: DropReason.bpduMalformed,
  guard: DropReason.bpduGuard,
  "root-guard": DropReason.rootGuard,
  ignored: DropReason.bpduIgnored,
};

export class BridgeStp {
  private engine: StpEngine | undefined;
  private params: StpBridgeParams = DEFAULT_BRIDGE_PARAMS;
  private address: string | undefined;
  private readonly portParams = new Map<number, StpPortParams>();
  /** Link speed (Mb/s) per AF_PACKET port, read when it is added and when its link comes up. */
  private readonly speeds = new Map<number, number | undefined>();
  private timer: Timer | undefined;
  private lastTick = 0;

  constructor(private readonly host: StpHost) {}

  get protocol(): StpProtocol | "off" {
    return this.engine?.protocol ?? "off";
  }

  /** Turn spanning tree on (or reconfigure it), or off with `false`. */
  configure(options: StpOptions | false): void {
    if (options === false) return this.stop();
    const protocol = options.protocol ?? this.engine?.protocol ?? "stp";
    if (protocol !== "stp" && protocol !== "rstp") throw new TapbridgeError("EINVAL", `spanning tree protocol "${String(protocol)}" is not known: use stp or rstp`);
    const params = checkBridgeParams(options, this.params);
    if (options.address !== undefined) parseMac(options.address);
    if (protocol === "stp") {
      for (const [index, p] of this.portParams) {
        if (p.pathCost !== undefined && p.pathCost > 65535) {
          throw new TapbridgeError("EINVAL", `port ${this.label(index)} has path cost ${p.pathCost}, above STP's 65535: lower it or run RSTP`);
        }
      }
    }
    this.params = params;
    if (options.address !== undefined) this.address = options.address.toLowerCase();
    if (this.engine && this.engine.protocol === protocol) {
      this.engine.setBridgeParams(params);
      this.engine.setBridgeAddress(this.bridgeAddress());
      return;
    }
    if (this.engine) this.stop();
    this.start(protocol);
  }

  private start(protocol: StpProtocol): void {
    const engine = protocol === "rstp" ? new Rstp(this.hooks, this.params, this.bridgeAddress()) : new Stp(this.hooks, this.params, this.bridgeAddress());
    this.engine = engine;
    for (const port of this.host.ports()) engine.addPort(port.index, this.enginePortParams(port), this.host.linkUp(port.index));
    this.host.setBpduHandler(this.handleBpdu);
    this.lastTick = this.host.scheduler.now();
    engine.start();
    this.timer = this.host.scheduler.every(TICK_MS, () => this.runTimers());
    const s = engine.bridgeStatus();
    this.host.log.info("spanning tree started", { protocol, bridgeId: s.bridgeId, helloTime: s.bridgeHelloTime, maxAge: s.bridgeMaxAge, forwardDelay: s.bridgeForwardDelay });
  }

  /** Spanning tree off: every port with its link up forwards, BPDUs flood again, ageing returns. */
  stop(): void {
    if (!this.engine) return;
    this.timer?.cancel();
    this.timer = undefined;
    this.engine = undefined;
    this.host.setBpduHandler(undefined);
    this.host.setFastAgeing(undefined);
    for (const port of this.host.ports()) this.host.applyState(port.index, "forwarding");
    this.host.log.info("spanning tree stopped", {});
  }

  /** Advance the engine to the bridge clock's now. */
  runTimers(): void {
    if (!this.engine) return;
    const now = this.host.scheduler.now();
    const elapsed = now - this.lastTick;
    if (elapsed <= 0) return;
    this.lastTick = now;
    this.engine.tick(elapsed);
  }

  // ── ports ────────────────────────────────────────────────────────────

  portAdded(port: Port, settings: StpPortSettings): void {
    this.portParams.set(port.index, this.merged({ ...DEFAULT_PORT_PARAMS }, settings));
    this.readSpeed(port);
    this.refreshAddress();
    if (this.engine) this.engine.addPort(port.index, this.enginePortParams(port), this.host.linkUp(port.index));
  }

  portRemoved(port: Port): void {
    this.engine?.removePort(port.index);
    this.portParams.delete(port.index);
    this.speeds.delete(port.index);
    this.refreshAddress();
  }

  linkChanged(port: Port, up: boolean, reason: string): void {
    if (!this.portParams.has(port.index)) return;
    if (up) this.readSpeed(port);
    if (!this.engine) return;
    if (up) {
      this.engine.setPortParams(port.index, this.enginePortParams(port)); // the speed may have changed
      this.engine.enablePort(port.index);
    } else {
      this.engine.disablePort(port.index, `link down (${reason})`);
    }
  }

  /** Check and apply per-port settings; only the fields given change. */
  setPortSettings(port: Port, s: StpPortSettings): void {
    this.portParams.set(port.index, this.merged(this.portParams.get(port.index) ?? { ...DEFAULT_PORT_PARAMS }, s));
    if (this.engine) this.engine.setPortParams(port.index, this.enginePortParams(port));
  }

  private merged(current: StpPortParams, s: StpPortSettings): StpPortParams {
    const next: StpPortParams = { ...current };
    // Without a running engine the wider RSTP range applies; starting STP checks the costs again.
    if (s.cost !== undefined) next.pathCost = checkPathCost(s.cost, this.engine?.protocol === "stp" ? "stp" : "rstp");
    if (s.priority !== undefined) next.priority = checkPortPriority(s.priority);
    if (s.edge !== undefined) next.edge = s.edge;
    if (s.autoEdge !== undefined) next.autoEdge = s.autoEdge;
    if (s.bpduGuard !== undefined) next.bpduGuard = s.bpduGuard;
    if (s.rootGuard !== undefined) next.rootGuard = s.rootGuard;
    return next;
  }

  /** The port's spanning tree settings; `cost` is the one in use (set, or the default for the link). */
  settingsOf(port: Port): Required<Omit<StpPortSettings, "autoEdge">> {
    const p = this.portParams.get(port.index) ?? DEFAULT_PORT_PARAMS;
    return { cost: p.pathCost ?? this.enginePortParams(port).defaultPathCost, priority: p.priority, edge: p.edge, bpduGuard: p.bpduGuard, rootGuard: p.rootGuard };
  }

  private enginePortParams(port: Port) {
    const params = this.portParams.get(port.index) ?? DEFAULT_PORT_PARAMS;
    const protocol = this.engine?.protocol ?? "stp";
    return { ...params, defaultPathCost: defaultPathCost(this.speeds.get(port.index), protocol) };
  }

  /** TAP and in-memory ports count as 10 Mb/s (path cost 100, as the issue asks); AF_PACKET ports as sysfs says. */
  private readSpeed(port: Port): void {
    this.speeds.set(port.index, port.kind === "packet" ? linkSpeedMbps(port.name, (port as Port & { netns?: string }).netns) : undefined);
  }

  // ── BPDUs ────────────────────────────────────────────────────────────

  private readonly handleBpdu = (frame: Uint8Array, port: number): number => {
    const engine = this.engine;
    if (!engine) return DropReason.bpduConsumed;
    const payload = bpduPayload(frame);
    if (isBpduError(payload)) {
      this.host.log.debug("malformed BPDU", { port: this.label(port), error: payload.error });
      return DropReason.bpduMalformed;
    }
    return VERDICT_REASON[engine.receiveBpdu(port, payload)];
  };

  private sendBpdu(index: number, bpdu: Uint8Array): void {
    const port = this.host.portAt(index);
    if (!port) return;
    const [hi, lo] = parseMac(port.mac ?? this.bridgeAddress());
    const src = new Uint8Array([hi >> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff]);
    this.host.transmit(index, bpduFrame(src, bpdu));
  }

  // ── engine hooks ─────────────────────────────────────────────────────

  private readonly hooks: EngineHooks = {
    sendBpdu: (port, bpdu) => this.sendBpdu(port, bpdu),
    portChanged: (index, c) => {
      this.host.applyState(index, dataplaneState(c.state));
      const port = this.label(index);
      this.host.log.info("spanning tree port change", { port, role: c.role, state: c.state, previousRole: c.previousRole, previousState: c.previousState, reason: c.reason });
      this.host.emit("stp-port", { port, index, role: c.role, state: c.state, previousRole: c.previousRole, previousState: c.previousState, reason: c.reason });
    },
    topologyChange: (c) => {
      const port = c.port === undefined ? undefined : this.label(c.port);
      this.host.log.info(c.active ? "topology change" : "topology change over", { ...(port ? { port } : {}), reason: c.reason });
      this.host.emit("stp-topology-change", { active: c.active, ...(port ? { port, index: c.port } : {}), reason: c.reason });
    },
    flush: (index, reason) => {
      const flushed = index === undefined ? this.host.flushAll() : this.host.flushPort(index);
      this.host.log.debug("flushed learned entries", { ...(index === undefined ? {} : { port: this.label(index) }), flushed, reason });
    },
    fastAgeing: (ms) => this.host.setFastAgeing(ms),
    guard: (index, guard, reason) => {
      const port = this.label(index);
      this.host.log.warn(guard === "bpdu" ? "BPDU guard" : "root guard", { port, reason });
      this.host.emit("stp-guard", { port, index, guard, reason });
    },
    log: (message, fields) => {
      const port = typeof fields.port === "number" ? this.label(fields.port) : undefined;
      this.host.log.info(message, { ...fields, ...(port ? { port } : {}) });
    },
  };

  // ── bridge address ───────────────────────────────────────────────────

  private bridgeAddress(): string {
    if (this.address) return this.address;
    let best: string | undefined;
    for (const port of this.host.ports()) {
      if (!port.mac || !this.portParams.has(port.index)) continue;
      const mac = port.mac.toLowerCase();
      if (!best || mac < best) best = mac;
    }
    return best ?? nameMac(this.host.name);
  }

  private refreshAddress(): void {
    if (!this.engine || this.address) return;
    this.engine.setBridgeAddress(this.bridgeAddress());
  }

  // ── status ───────────────────────────────────────────────────────────

  status(): StpStatus {
    if (this.engine) {
      const engine = this.engine;
      return {
        protocol: engine.protocol,
        bridge: engine.bridgeStatus(),
        ports: this.host.ports().map((p) => ({ name: p.label, ...engine.portStatus(p.index) })),
      };
    }
    return this.offStatus();
  }

  portStatus(port: Port): StpPortStatus & { name: string } {
    const s = this.status().ports.find((p) => p.index === port.index);
    if (!s) throw new TapbridgeError("ENOENT", `bridge ${this.host.name} has no port ${port.label}`);
    return s;
  }

  /** What Linux shows with stp_state 0: this bridge is root, every port designated. */
  private offStatus(): StpStatus {
    const id = formatBridgeId(makeBridgeId(this.params.priority, this.bridgeAddress()));
    const p = this.params;
    const bridge: StpBridgeStatus = {
      protocol: "stp", bridgeId: id, designatedRoot: id, rootPort: 0, rootPortIndex: -1, rootPathCost: 0, isRoot: true,
      maxAge: p.maxAge, helloTime: p.helloTime, forwardDelay: p.forwardDelay, bridgeMaxAge: p.maxAge, bridgeHelloTime: p.helloTime,
      bridgeForwardDelay: p.forwardDelay, priority: p.priority, holdTime: 1, helloTimer: 0, tcnTimer: 0, topologyChangeTimer: 0,
      topologyChange: false, topologyChangeDetected: false, topologyChangeCount: 0, timeSinceTopologyChange: -1,
    };
    const ports = this.host.ports().map((port) => {
      const pp = this.portParams.get(port.index) ?? DEFAULT_PORT_PARAMS;
      const portId = (((pp.priority & 0xff) << 8) | ((port.index + 1) & 0xff)).toString(16).padStart(4, "0");
      const up = this.host.linkUp(port.index);
      return {
        name: port.label, index: port.index, portNo: port.index + 1, portId, priority: pp.priority,
        state: (up ? "forwarding" : "disabled") as StpPortStateName, role: up ? ("designated" as const) : ("disabled" as const),
        designatedRoot: id, designatedBridge: id, designatedPort: portId, designatedCost: 0,
        pathCost: pp.pathCost ?? this.enginePortParams(port).defaultPathCost, adminPathCost: pp.pathCost !== undefined,
        messageAgeTimer: 0, forwardDelayTimer: 0, holdTimer: 0, topologyChangeAck: false, configPending: false, enabled: up,
        edge: pp.edge, operEdge: false, pointToPoint: false, bpduGuard: pp.bpduGuard, rootGuard: pp.rootGuard, guardTripped: false,
        rootBlocked: false, sendingStp: false, bpdusReceived: { config: 0, tcn: 0, rst: 0 }, bpdusSent: { config: 0, tcn: 0, rst: 0 },
      };
    });
    return { protocol: "off", bridge, ports };
  }

  private label(index: number): string {
    return this.host.portAt(index)?.label ?? `#${index}`;
  }
}

function dataplaneState(state: StpPortStateName): PortStateName {
  return state === "discarding" ? "blocking" : state;
}

/** A stable locally administered MAC for a bridge whose ports have none (in-memory ports). */
function nameMac(name: string): string {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  const bytes = [0x02, 0x7b, (h >>> 24) & 0xff, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
