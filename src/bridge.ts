/**
 * A bridge: ports, a forwarding database, the decision loop, and the
 * dataplane that moves frames.
 *
 * Frames arrive in batches: the addon calls `onNativeBatch(n)` once per batch
 * received on a native port; frames sent on in-memory ports are queued and
 * drained a batch at a time in the same memory shape (ports/memory-fabric.ts:
 * bounded, never re-entrant, listener errors reach the user). Either way the
 * same three steps follow — decide (forward.ts), `transmit` to native ports
 * (one native call), copy out to in-memory ports (only when there are any),
 * whose listeners run after the batch, outside the decision loop. Timers
 * (FDB ageing) run beside the data path on the bridge's Scheduler
 * (scheduler.ts; a VirtualClock in tests), never inside it.
 *
 * The addon is created on the first native port, so a bridge of in-memory
 * ports needs neither root nor the addon.
 */
import { EventEmitter } from "node:events";
import type { BridgeEventMap } from "./bridge-events.js";
import { allocateBatch, type Batch, batchFromNative, DEFAULT_BATCH_SIZE, fillSlot, SLOT_SIZE, slotCapacity } from "./core/batch.js";
import { Counters } from "./core/counters.js";
import { TapbridgeError } from "./errors.js";
import { Fdb, FULL_POLICIES, type FullPolicy, NO_PORT } from "./core/fdb.js";
import { Decider, type BpduHandler } from "./core/forward.js";
import { formatMac, parseMac } from "./core/frame.js";
import { DataplaneStat, DP_STAT_COUNT, EGRESS_WORDS, MAX_PORTS, PORT_STAT_COUNT, PortStat, VNET_HDR_LEN, type NativeBinding, type NativeDataplane, type NativePortEventType } from "./io/native-binding.js";
import { loadNative } from "./io/native.js";
import { LinkFollower } from "./io/link-follower.js";
import { LinkMonitor } from "./io/link-monitor.js";
import { NativePort } from "./io/native-port.js";
import { silentLogger, type Logger } from "./log.js";
import { fabric, settleMemory, type FabricNode } from "./ports/memory-fabric.js";
import { MemoryPort } from "./ports/memory-port.js";
import { Mirrors, type MirrorSink } from "./ports/mirror.js";
import { DropSampler } from "./ports/drop-sampler.js";
import { NativeImpairments, type Staged } from "./impair/native-impair.js";
import type { ImpairmentSpec } from "./impair/spec.js";
import { sumLinkStats, type LinkStats } from "./impair/link.js";
import { realScheduler, schedulerWithClock, type Scheduler, type Timer } from "./scheduler.js";
import { Port, type PortFlagSettings, type PortSettings } from "./ports/port.js";
import { DEFAULT_PORT_FLAGS, PORT_STATE_NAMES, PortFlag, PortState, PortTable, type PortStateName } from "./core/port-table.js";
import { DROP_REASON_COUNT, DROP_REASON_NAMES, DropReason } from "./core/reasons.js";
import { FLOOD_KIND_NAMES, FloodKind, STORM_MAX_RATE, STORM_SETTINGS } from "./core/storm.js";
import { VLAN_PROTOCOL_TPID, VlanTable, type VlanProtocol } from "./core/vlan.js";
import { VxlanTable } from "./core/vxlan.js";
import { VxlanPort, vxlanPortSettings } from "./ports/vxlan-port.js";
import type { VxlanRemoteInfo } from "./io/native-binding.js";
import { adjustVnetHeader, EgressForm, egressForm, egressFrame } from "./core/vlan-egress.js";
import { checkVid, hasVlanSpec, pickVlanSpec, resolvePortVlans, withoutVlanSpec, type PortVlanSpec, type VlanMembership } from "./core/vlan-spec.js";
import { type FdbChunkOptions, type FdbRecord, type FdbWalkResult, walkFdb } from "./fdb-dump.js";
import { FdbGuard, type MacFlapOptions, type MacFlapSettings } from "./fdb-guard.js";
import { FdbEvents } from "./fdb-events.js";
import { FdbSweeper, StormWatch } from "./maintenance.js";
import { LocalAddresses } from "./local-addresses.js";
import { BridgeStp, checkStpPortSettings, type StpOptions, type StpPortSettings, type StpStatus } from "./stp/bridge-stp.js";
import type { StpPortStatus } from "./stp/engine.js";
import { BondPort } from "./ports/bond-port.js";
import { BridgeBonds } from "./bond/bridge-bonds.js";
import type { BondStatus } from "./bond/status.js";

export interface BridgeOptions {
  name?: string;
  /** Seconds a learned entry lives without traffic (default 300); 0: never learn, always flood. */
  ageingTime?: number;
  /** Cap on FDB entries, learned and static (default 131072): sizes the table. */
  maxFdbEntries?: number;
  /** Bridge-wide cap on learned entries (Linux fdb_max_learned; default 0: only maxFdbEntries). */
  fdbMaxLearned?: number;
  /**
   * A full FDB (at fdbMaxLearned or maxFdbEntries): "evict-from-largest-port"
   * (default, Open vSwitch) makes room by evicting an old entry of the port
   * holding the most; "refuse" (Linux) leaves the newcomer unlearned (flooded).
   */
  fdbFullPolicy?: FullPolicy;
  /** MAC flap detection (default: more than 5 moves in 10 s is logged; no shutdown). */
  macFlap?: MacFlapOptions;
  /** Frames per batch (default 64). */
  batchSize?: number;
  /** Bitmask of 01:80:C2:00:00:0X groups to forward (Linux group_fwd_mask; default 0). */
  groupFwdMask?: number;
  /**
   * 802.1Q filtering (Linux vlan_filtering). Default: off until a port is
   * given VLAN configuration; true or false here is explicit and stays.
   */
  vlanFiltering?: boolean;
  /** "802.1Q" (default, TPID 0x8100) or "802.1ad" (0x88a8), as Linux's vlan_protocol. */
  vlanProtocol?: VlanProtocol;
  /** VLAN every port joins (pvid, untagged) until configured otherwise; 0: none. Default 1, as Linux's default_pvid. */
  defaultPvid?: number;
  /**
   * Time and timers for ageing, impairments and STP (default: real time).
   * Tests pass a VirtualClock (tapbridge/testing) to move time by hand.
   */
  scheduler?: Scheduler;
  /** Milliseconds from a monotonic clock, with real timers (superseded by `scheduler`). */
  clock?: () => number;
  /** Spanning tree from the start (default off); see `setStp`. */
  stp?: StpOptions;
  /** Frames that may wait in the queue of injected in-memory frames (default 8192); beyond, `memory_queue_full` drops. */
  memoryQueueLimit?: number;
  logger?: Logger;
  /** The addon; injected by tests that swap it. */
  native?: NativeBinding | (() => NativeBinding);
  /**
   * Native ports follow their devices (link down/up, deleted, namespace
   * deleted) through the process's rtnetlink LinkMonitor (default true); a
   * monitor may be given, false turns following off.
   */
  followLinks?: boolean | LinkMonitor;
  /** Re-attach an attached interface whose device was deleted when it returns (default true; port setting `reattach` overrides). */
  reattach?: boolean;
}

export type { FdbRecord, FdbChunkOptions, FdbWalkResult } from "./fdb-dump.js";

/** The FDB's size, limits and defences, bridge-wide (Bridge.fdbStats). */
export interface FdbStats {
  entries: number;
  learned: number;
  static: number;
  maxEntries: number;
  /** 0: no cap on learned entries but maxEntries. */
  maxLearned: number;
  fullPolicy: FullPolicy;
  ageingSeconds: number;
  /** Slots in the table, and its bytes. */
  capacity: number;
  memoryBytes: number;
  /** Learns refused: in all, by a port's own limit, by a full table, by the probe bound. */
  learnRefused: number;
  refusedPortLimit: number;
  refusedFull: number;
  refusedProbe: number;
  evictions: number;
  moves: number;
  /** Moves that "fdb-move" listeners missed (more than 4096 in one batch). */
  movesUnreported: number;
  flaps: number;
  agedOut: number;
  sweepPasses: number;
  /** The longest single ageing step so far, in milliseconds. */
  sweepMaxStepMs: number;
}

/** One port's share of the FDB (PortStats.fdb). */
export interface PortFdbStats {
  entries: number;
  learned: number;
  /** The port's max-learned (0: none). */
  maxLearned: number;
  /** Learns refused by that limit. */
  refused: number;
  /** Entries evicted from this port to make room for others. */
  evicted: number;
  /** MAC flaps blamed on this port. */
  flaps: number;
}

export interface PortStats {
  name: string;
  kind: Port["kind"];
  index: number;
  state: PortStateName;
  rxPackets: number;
  rxBytes: number;
  /** Received frames sent on to at least one port, to a known destination or flooded (rxPackets = forwarded + the sum of drops). */
  forwarded: number;
  /** Times the port's link went down (carrier lost or set down; Linux's carrier_down_count). */
  linkDowns: number;
  /** Learned entries flushed because the link went down. */
  linkFlushed: number;
  txPackets: number;
  txBytes: number;
  /** Frames lost before any decision (ring overruns, frames too large for a slot). */
  rxDropped: number;
  /**
   * Dropped on the way out, for this port only: egress queue full, a GSO
   * frame that could not be segmented, a frame too large for any device.
   */
  txDropped: number;
  /** Send errors (e.g. EMSGSIZE), including txCarrierErrors. */
  txErrors: number;
  /** Not sent because the device was down or gone (ENETDOWN, ENXIO, …; Linux's tx_carrier_errors). */
  txCarrierErrors: number;
  /** System calls spent receiving and transmitting (native ports). */
  rxSyscalls: number;
  txSyscalls: number;
  /** GSO frames segmented in software toward this port. */
  txSegmented: number;
  /** Ingress drops by reason (only reasons with a count). */
  drops: Record<string, number>;
  fdb: PortFdbStats;
  /** Why the port is err-disabled ("mac-flap", …); absent when it is not. */
  errDisabled?: string;
}

export const AGEING_MAX_SECONDS = 1_000_000;

/** One port's VLANs, as `bridge -s vlan show` lists them. */
export interface PortVlans {
  port: string;
  vlans: (VlanMembership & { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number })[];
}

interface QueuedFrame {
  port: number;
  frame: Uint8Array;
  vnet: Uint8Array | undefined;
}

interface Outgoing {
  port: MemoryPort;
  frame: Uint8Array;
  vnet: Uint8Array | undefined;
}

export class Bridge extends EventEmitter<BridgeEventMap> implements FabricNode {
  readonly name: string;
  readonly fdb: Fdb;
  readonly portTable = new PortTable();
  readonly counters = new Counters();
  /** VLAN membership, PVIDs, per-(port, VID) counters: typed arrays the decision loop and the addon read. */
  readonly vlanTable = new VlanTable();
  /** VXLAN ports in the decision core. */
  private readonly vxlanTable = new VxlanTable();
  private defaultPvidValue: number;
  /** vlanFiltering as set explicitly (undefined: follows whether any port has VLAN configuration). */
  private vlanFilteringSet: boolean | undefined;
  private vlanConfigured = false;
  /** Exceptions caught inside the data path (a bug if ever non-zero; never a listener's). */
  internalErrors = 0;
  /** Time and timers of this bridge; parts glued to it (STP, wires, impairments) use it too. */
  readonly scheduler: Scheduler;
  /** @internal memory-fabric.ts */
  fabricReady = false;

  private readonly portsByIndex: (Port | undefined)[] = new Array(MAX_PORTS);
  private readonly memoryPorts: MemoryPort[] = [];
  private readonly decider: Decider;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly batchSize: number;
  private readonly nativeSource: NativeBinding | (() => NativeBinding);
  private dp: NativeDataplane | undefined;
  private batch: Batch;
  private readonly mirrors = new Mirrors(this.counters, MAX_PORTS);
  private nativeImpairments: NativeImpairments | undefined;
  private dropSampler: DropSampler | undefined;
  /** Injected in-memory frames waiting for the fabric: queue[queueHead..]. */
  private queue: QueuedFrame[] = [];
  private queueHead = 0;
  private readonly memoryQueueLimit: number;
  /** In-memory egress of the batch being processed, delivered after it. */
  private outbox: Outgoing[] = [];
  private busy = false;
  private closed = false;
  private referenced = true;
  private readonly maintenanceTimer: Timer;
  private followLinks: boolean | LinkMonitor;
  private readonly reattach: boolean;
  private links: LinkFollower | undefined;
  /** Per port: the settings it was added with, as changed since (what a re-attach applies). */
  private readonly configs: (PortSettings | undefined)[] = new Array(MAX_PORTS);
  private readonly sweeper: FdbSweeper;
  private readonly stormWatch = new StormWatch();
  private readonly guard: FdbGuard;
  private readonly fdbEvents: FdbEvents;
  /** Per port: why it is err-disabled (it stays disabled whatever its link), and its recovery timer. */
  private readonly errDisabled: (string | undefined)[] = new Array(MAX_PORTS);
  private readonly recoveryTimers = new Map<number, Timer>();
  /** Per port: 1 while its link is down (the port is then disabled whatever its configured state). */
  private readonly linkDown = new Uint8Array(MAX_PORTS);
  /** Per port: the state it takes while its link is up (settings, or STP's decision). */
  private readonly configuredState = new Uint8Array(MAX_PORTS);
  /** Control frames (BPDUs) to send; from inside a batch they wait until it is done. */
  private readonly controlQueue: { port: number; frame: Uint8Array }[] = [];
  private deciding = false;
  /** The ageing time set by the user; the FDB runs shorter during an 802.1D topology change. */
  private configuredAgeingMs: number;
  private readonly stp: BridgeStp;
  private readonly bonds: BridgeBonds;
  /** The host port's MAC as local entries (host ports only: Port.self). */
  readonly localAddresses: LocalAddresses;

  constructor(options: BridgeOptions = {}) {
    super();
    this.name = options.name ?? "br0";
    this.scheduler = options.scheduler ?? (options.clock ? schedulerWithClock(options.clock) : realScheduler);
    const scheduler = this.scheduler;
    this.clock = () => scheduler.now();
    this.memoryQueueLimit = options.memoryQueueLimit ?? 8192;
    if (!Number.isInteger(this.memoryQueueLimit) || this.memoryQueueLimit < 1) {
      throw new TapbridgeError("EINVAL", `memory queue limit ${options.memoryQueueLimit} is out of range: use a whole number of frames, at least 1`);
    }
    this.log = options.logger ?? silentLogger;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 1024) {
      throw new TapbridgeError("EINVAL", `batch size ${options.batchSize} is out of range: use 1 to 1024`);
    }
    this.nativeSource = options.native ?? loadNative;
    this.followLinks = options.followLinks ?? true;
    this.reattach = options.reattach ?? true;
    this.fdb = new Fdb({ ageingMs: ageingToMs(options.ageingTime ?? 300), maxEntries: options.maxFdbEntries ?? 131_072 });
    this.guard = new FdbGuard(this.fdb, this, this.log);
    this.fdbEvents = new FdbEvents(this.fdb, this);
    this.setFdbOptions({ maxLearned: options.fdbMaxLearned, fullPolicy: options.fdbFullPolicy, macFlap: options.macFlap ?? {} });
    this.defaultPvidValue = checkDefaultPvid(options.defaultPvid ?? 1);
    this.vlanFilteringSet = options.vlanFiltering;
    this.vlanTable.tpid = vlanProtocolTpid(options.vlanProtocol ?? "802.1Q");
    this.decider = new Decider(
      this.fdb,
      this.portTable,
      this.counters,
      { stpEnabled: false, groupFwdMask: checkGroupFwdMask(options.groupFwdMask ?? 0), vlanFiltering: options.vlanFiltering === true },
      undefined,
      this.vlanTable,
      this.vxlanTable,
    );
    this.configuredAgeingMs = this.fdb.ageingMs;
    this.batch = allocateBatch(this.batchSize, SLOT_SIZE);
    this.sweeper = new FdbSweeper(this.fdb, this.scheduler);
    this.maintenanceTimer = this.scheduler.every(1000, () => this.maintain());
    this.stp = new BridgeStp({
      name: this.name,
      log: this.log,
      scheduler: this.scheduler,
      // The host port is no spanning tree port, as Linux's bridge device is not.
      portAt: (i) => (this.portsByIndex[i]?.self ? undefined : this.portsByIndex[i]),
      ports: () => this.ports.filter((p) => !p.self),
      linkUp: (i) => !this.linkDown[i],
      applyState: (i, state) => this.applyStpState(i, state),
      transmit: (i, frame) => this.sendControlFrame(i, frame),
      flushPort: (i) => this.fdb.flushPort(i),
      flushAll: () => this.fdb.flush(),
      setFastAgeing: (ms) => this.setFastAgeing(ms),
      emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
      setBpduHandler: (handler) =>
        this.setBpduHandler(handler && ((batch, i, port) => handler(batch.bytes.subarray(batch.frameOffset[i]!, batch.frameOffset[i]! + batch.frameLength[i]!), port))),
    });
    if (options.stp) this.stp.configure(options.stp);
    this.bonds = new BridgeBonds({
      name: this.name,
      log: this.log,
      scheduler: this.scheduler,
      fdb: this.fdb,
      counters: this.counters,
      vlanTable: this.vlanTable,
      portTable: this.portTable,
      vlanFiltering: () => this.vlanFiltering,
      dataplane: () => this.dataplane(),
      nativeStats: () => this.dp?.portStats,
      linkMonitor: () => this.linkMonitor(),
      transmit: (index, frame) => this.sendControlFrame(index, frame),
      setPortLink: (port, up, reason) => this.setPortLink(port, up, reason),
      memoryMember: (port, join) => {
        if (join) {
          port.sink = this;
          this.memoryPorts.push(port);
        } else {
          port.sink = undefined;
          this.memoryPorts.splice(this.memoryPorts.indexOf(port), 1);
        }
      },
      setVerdicts: (verdict) => (this.decider.config.ingressVerdict = verdict),
      emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
    });
    this.localAddresses = new LocalAddresses(this);
  }

  // ── ports ────────────────────────────────────────────────────────────

  /** Attach a port; opens it (TAP/AF_PACKET) and starts forwarding its frames. */
  addPort<P extends Port>(port: P, settings: PortSettings = {}): P {
    this.assertOpen();
    if (port.index >= 0) throw new TapbridgeError("EBUSY", `port ${port.label} is already attached to a bridge`);
    if (this.findPort(port.label)) throw new TapbridgeError("EEXIST", `bridge ${this.name} already has a port named ${port.label}`);
    const index = this.portTable.freeIndex();
    if (index < 0) throw new TapbridgeError("ENOSPC", `bridge ${this.name} has ${MAX_PORTS} ports, the most it can take`);
    if (port instanceof VxlanPort) settings = vxlanPortSettings(port, settings, this.defaultPvid);
    const vlans = this.resolveVlans(port, settings); // a bad VLAN spec is refused before anything opens
    this.checkSettings(settings);
    if (settings.bond !== undefined && !(port instanceof BondPort)) throw new TapbridgeError("EINVAL", `port ${port.label} is not a bond: bond options (mode, primary, …) apply to bonds only`);
    if (port instanceof NativePort) {
      const dp = this.dataplane();
      port.attach(dp, index, `bridge ${this.name}`);
      for (let c = 0; c < PORT_STAT_COUNT; c++) dp.portStats[index * PORT_STAT_COUNT + c] = 0;
      if (port instanceof VxlanPort) this.vxlanTable.setPort(index, port.vni, port.mtu, port.vniMap);
    } else if (port instanceof MemoryPort) {
      port.sink = this;
      this.memoryPorts.push(port);
    } else if (port instanceof BondPort) {
      this.portTable.flags[index] = PortFlag.reserved; // its members take the next indices
      try {
        this.bonds.open(port, index, settings.bond);
      } catch (error) {
        this.portTable.flags[index] = 0;
        throw error;
      }
    }
    port.index = index;
    this.portsByIndex[index] = port;
    const startsDown = port instanceof MemoryPort && !port.linkUp;
    this.counters.clearPort(index);
    this.decider.storm.clearPort(index);
    this.fdb.resetPort(index);
    this.guard.flap.resetPort(index);
    this.stormWatch.resetPort(index);
    this.errDisabled[index] = undefined;
    this.portTable.mtu[index] = port.mtu;
    this.portTable.flags[index] = PortFlag.present | DEFAULT_PORT_FLAGS;
    this.portTable.state[index] = PortState.forwarding;
    this.configuredState[index] = PortState.forwarding;
    this.linkDown[index] = 0;
    this.configs[index] = {};
    this.vlanTable.replacePort(index, vlans ?? (this.defaultPvid ? [{ vid: this.defaultPvid, pvid: true, untagged: true }] : []));
    try {
      this.applySettings(port, settings, false);
      if (vlans) this.vlanConfigChanged(port);
    } catch (error) {
      // All or nothing: a port whose settings are refused is not left half-attached,
      // and an interface the attach set up goes down again.
      this.detach(port, true);
      throw error;
    }
    if (port instanceof NativePort) this.linkFollower()?.track(port);
    this.log.info("port added", { port: port.label, kind: port.kind, index, mtu: port.mtu, mac: port.mac });
    this.emit("port-added", { port: port.label, index, kind: port.kind });
    if (!port.self) this.stp.portAdded(port, stpSettings(settings));
    if (startsDown) this.setPortLink(port, false, "carrier");
    if (port instanceof BondPort) this.bonds.start(port);
    return port;
  }

  /**
   * Detach a port: its learned entries go, a TAP the bridge created is
   * removed unless persistent. Returns the port's final counters, read after
   * its fd was closed.
   */
  removePort(portOrName: Port | string, reason = "removed"): PortStats {
    const port = this.resolvePort(portOrName);
    const index = port.index;
    if (port instanceof NativePort) this.links?.untrack(port);
    this.detach(port);
    const final = this.portStatsAt(port, index);
    this.log.info("port removed", { port: port.label, reason });
    this.emit("port-removed", { port: port.label, index, reason });
    return final;
  }

  private detach(port: Port, undo = false): void {
    const index = port.index;
    if (!port.self) this.stp.portRemoved(port);
    this.portTable.flags[index] = 0;
    this.portTable.state[index] = PortState.disabled;
    this.portTable.recompute();
    this.fdb.flushPort(index, true);
    this.vlanTable.clearPort(index);
    this.vxlanTable.clearPort(index);
    this.mirrors.clear(index);
    this.fdb.resetPort(index);
    this.decider.storm.clearPort(index);
    this.errDisabled[index] = undefined;
    this.recoveryTimers.get(index)?.cancel();
    this.recoveryTimers.delete(index);
    this.nativeImpairments?.clear(index);
    this.portsByIndex[index] = undefined;
    this.configs[index] = undefined;
    if (port instanceof NativePort && this.dp) port.close(this.dp, undo);
    if (port instanceof BondPort) {
      for (const m of this.bonds.members(port)) if (!(m instanceof MemoryPort)) this.nativeImpairments?.clear(m.index);
      this.bonds.close(port);
    }
    if (port instanceof MemoryPort) {
      port.sink = undefined;
      this.memoryPorts.splice(this.memoryPorts.indexOf(port), 1);
    }
    port.index = -1;
  }

  /**
   * Mirror a port: `sink` gets a copy of every frame it receives (with the
   * drop reason when the bridge sent it nowhere) and sends. Returns the
   * function that stops mirroring. Captures and waitForFrame build on it.
   */
  mirror(portOrName: Port | string, sink: MirrorSink): () => void {
    return this.mirrors.add(this.resolvePort(portOrName).index, sink);
  }

  /**
   * Report one of every `every` dropped frames as a "drop" event (0: off,
   * the default). Costs one test per batch while off.
   */
  sampleDrops(every: number): void {
    if (!Number.isInteger(every) || every < 0) throw new TapbridgeError("EINVAL", `drop sampling ${every} is not valid: use 0 (off) or report one of every N drops (N >= 1)`);
    if (every === 0) this.dropSampler = undefined;
    else if (this.dropSampler) this.dropSampler.every = every;
    else {
      this.dropSampler = new DropSampler(this.counters, MAX_PORTS, every, (samples) => {
        for (const d of samples) {
          const port = this.portsByIndex[d.index];
          this.emit("drop", { port: port?.label ?? `#${d.index}`, index: d.index, reason: d.reason, length: d.length, src: d.src, dst: d.dst, head: d.head, every: d.every });
        }
      });
    }
  }

  /** Change per-port settings (`bridge link set` flags, state; VLAN keys replace the port's VLANs). */
  setPortSettings(portOrName: Port | string, settings: PortSettings): void {
    const port = this.resolvePort(portOrName);
    this.checkSettings(settings);
    if (settings.bond !== undefined) {
      if (!(port instanceof BondPort)) throw new TapbridgeError("EINVAL", `port ${port.label} is not a bond: bond options (mode, primary, …) apply to bonds only`);
      this.bonds.configure(port, settings.bond);
    }
    this.applySettings(port, settings, true);
    if (!port.self) this.stp.setPortSettings(port, stpSettings(settings));
  }

  /** Checks made before anything changes (or a port is opened). */
  private checkSettings(s: PortSettings): void {
    if (s.state !== undefined && this.stp.protocol !== "off") {
      throw new TapbridgeError("EBUSY", `port states are set by spanning tree while it runs: turn ${this.stp.protocol.toUpperCase()} off to set "${s.state}" by hand`);
    }
    checkStpPortSettings(stpSettings(s), this.stp.protocol);
  }

  /** Remember settings for portConfig(); VLAN keys replace the VLAN keys remembered before. */
  private recordConfig(i: number, s: PortSettings): void {
    const before = this.configs[i] ?? {};
    this.configs[i] = { ...(hasVlanSpec(s) ? withoutVlanSpec(before) : before), ...definedOnly(s) };
  }

  /** The settings the port was added with, as changed since (what re-attaching it applies). */
  portConfig(portOrName: Port | string): PortSettings {
    return { ...this.configs[this.resolvePort(portOrName).index] };
  }

  private applySettings(port: Port, s: PortSettings, withVlans: boolean): void {
    const i = port.index;
    for (const { field, option } of STORM_SETTINGS) {
      const v = s[field];
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > STORM_MAX_RATE)) {
        throw new TapbridgeError("EINVAL", `${option}=${v} for port ${port.label} is out of range: use a whole number of frames/s from 0 (no limit) to ${STORM_MAX_RATE}`);
      }
    }
    if (s.maxLearned !== undefined) checkCount(s.maxLearned, `max-learned for port ${port.label}`);
    const vlans = withVlans ? this.resolveVlans(port, s) : undefined;
    let flags = this.portTable.flags[i]!;
    const set = (bit: number, on: boolean | undefined) => {
      if (on !== undefined) flags = on ? flags | bit : flags & ~bit;
    };
    set(PortFlag.learning, s.learning);
    set(PortFlag.flood, s.flood);
    set(PortFlag.mcastFlood, s.mcastFlood);
    set(PortFlag.bcastFlood, s.bcastFlood);
    set(PortFlag.hairpin, s.hairpin);
    set(PortFlag.isolated, s.isolated);
    this.portTable.flags[i] = flags;
    if (s.state !== undefined) {
      if (!(s.state in PortState)) throw new TapbridgeError("EINVAL", `"${s.state}" is not a port state: use ${PORT_STATE_NAMES.join(", ")}`);
      this.configuredState[i] = PortState[s.state];
      if (!this.linkDown[i] && !this.errDisabled[i]) this.portTable.state[i] = PortState[s.state];
    }
    if (s.learning === false) this.fdb.flushPort(i);
    if (s.maxLearned !== undefined) this.fdb.setPortLimit(i, s.maxLearned);
    for (const { field, kind } of STORM_SETTINGS) {
      const v = s[field];
      if (v !== undefined) this.decider.storm.setLimit(i, kind, v, this.clock());
    }
    this.portTable.recompute();
    this.recordConfig(i, s);
    if (vlans) this.replaceVlans(port, vlans);
  }

  // ── link state ──────────────────────────────────────────────────────

  /**
   * A port follows its link, as in Linux (br_port_carrier_check): link down →
   * the port is disabled (it neither receives nor sends) and its learned
   * entries are flushed; link up → it returns to its configured state.
   * Native ports call this from link monitoring; in-memory ports and tests
   * call it directly. A call that changes nothing does nothing.
   */
  setPortLink(portOrName: Port | string, up: boolean, reason = "manual"): void {
    if (typeof portOrName !== "string" && this.bonds.isMemberPort(portOrName)) return this.bonds.memberLink(portOrName, up, reason);
    const port = this.resolvePort(portOrName);
    const i = port.index;
    if (up === !this.linkDown[i]) return;
    if (!up) {
      this.linkDown[i] = 1;
      this.portTable.state[i] = PortState.disabled;
      this.portTable.recompute();
      const flushed = this.fdb.flushPort(i);
      this.counters.linkDowns[i]!++;
      this.counters.linkFlushed[i]! += flushed;
      this.log.info("port link down", { port: port.label, reason, flushed });
      this.emit("port-down", { port: port.label, index: i, reason, flushed });
    } else {
      this.linkDown[i] = 0;
      this.portTable.state[i] = this.errDisabled[i] ? PortState.disabled : this.configuredState[i]!;
      this.portTable.recompute();
      this.log.info("port link up", { port: port.label, reason });
      this.emit("port-up", { port: port.label, index: i, reason });
    }
    // With spanning tree running, a port whose link comes up starts blocking and goes through its states
    // (not while err-disabled: recoverPort does that).
    if (!(up && this.errDisabled[i])) this.stp.linkChanged(port, up, reason);
  }

  /** Stop waiting to re-attach a deleted interface of this label (delif of a port whose device is gone). */
  cancelReattach(label: string): boolean {
    return this.links?.cancelReattach(label) ?? false;
  }

  /**
   * Err-disable a port, as switches do for a security violation (here MAC
   * flapping; STP's BPDU guard may use it too): it leaves forwarding and its
   * learned entries are flushed, like a link down, but it stays disabled
   * whatever its link does until `recoverPort` (or the MAC-flap recovery
   * timer, when set). Announced as "port-down" with the cause as reason.
   */
  errDisablePort(portOrName: Port | string, cause: string): void {
    const port = this.resolvePort(portOrName);
    const i = port.index;
    if (this.errDisabled[i]) return;
    this.errDisabled[i] = cause;
    this.portTable.state[i] = PortState.disabled;
    this.portTable.recompute();
    const flushed = this.fdb.flushPort(i);
    if (!this.linkDown[i]) this.stp.linkChanged(port, false, cause);
    const recoverSeconds = cause === "mac-flap" ? this.guard.settings.recoverSeconds : 0;
    this.log.warn("port err-disabled", { port: port.label, cause, flushed, recoverSeconds });
    this.emit("port-down", { port: port.label, index: i, reason: cause, flushed });
    if (recoverSeconds > 0) {
      this.recoveryTimers.set(i, this.scheduler.after(recoverSeconds * 1000, () => this.portsByIndex[i] === port && this.recoverPort(port)));
    }
  }

  /** Undo errDisablePort: the port returns to its configured state (if its link is up). False if it was not err-disabled. */
  recoverPort(portOrName: Port | string): boolean {
    const port = this.resolvePort(portOrName);
    const i = port.index;
    const cause = this.errDisabled[i];
    if (!cause) return false;
    this.errDisabled[i] = undefined;
    this.recoveryTimers.get(i)?.cancel();
    this.recoveryTimers.delete(i);
    if (!this.linkDown[i]) this.portTable.state[i] = this.configuredState[i]!;
    this.portTable.recompute();
    if (!this.linkDown[i]) this.stp.linkChanged(port, true, "recovered");
    this.log.info("port recovered", { port: port.label, cause });
    this.emit("port-up", { port: port.label, index: i, reason: "recovered" });
    return true;
  }

  /** Why the port is err-disabled, or undefined. */
  portErrDisabled(portOrName: Port | string): string | undefined {
    return this.errDisabled[this.resolvePort(portOrName).index];
  }

  /** @internal FdbGuard's access by index. */
  labelOfIndex(index: number): string {
    return this.portsByIndex[index]?.label ?? `#${index}`;
  }

  /** @internal FdbGuard's access by index. */
  errDisableIndex(index: number, cause: string): void {
    const port = this.portsByIndex[index];
    if (port) this.errDisablePort(port, cause);
  }

  /** Whether the port's link is up (as far as the bridge knows). */
  portLinkUp(portOrName: Port | string): boolean {
    return !this.linkDown[this.resolvePort(portOrName).index];
  }

  get ports(): Port[] {
    return this.portsByIndex.filter((p): p is Port => p !== undefined);
  }

  /** A port by name ("tap0" or "tap0@ns"). */
  findPort(name: string): Port | undefined {
    return this.portsByIndex.find((p) => p !== undefined && (p.label === name || p.name === name));
  }

  private resolvePort(portOrName: Port | string): Port {
    const port = typeof portOrName === "string" ? this.findPort(portOrName) : portOrName;
    if (!port || port.index < 0 || this.portsByIndex[port.index] !== port) {
      const name = typeof portOrName === "string" ? portOrName : portOrName.label;
      throw new TapbridgeError("ENOENT", `bridge ${this.name} has no port ${name}`);
    }
    return port;
  }

  portSettings(portOrName: Port | string): Required<PortFlagSettings> {
    const i = this.resolvePort(portOrName).index;
    const f = this.portTable.flags[i]!;
    return {
      learning: (f & PortFlag.learning) !== 0,
      flood: (f & PortFlag.flood) !== 0,
      mcastFlood: (f & PortFlag.mcastFlood) !== 0,
      bcastFlood: (f & PortFlag.bcastFlood) !== 0,
      hairpin: (f & PortFlag.hairpin) !== 0,
      isolated: (f & PortFlag.isolated) !== 0,
      state: PORT_STATE_NAMES[this.portTable.state[i]!]!,
      maxLearned: this.fdb.portLimit[i]!,
      stormBroadcast: this.decider.storm.limit(i, FloodKind.broadcast),
      stormMulticast: this.decider.storm.limit(i, FloodKind.multicast),
      stormUnknownUnicast: this.decider.storm.limit(i, FloodKind.unknownUnicast),
      reattach: this.configs[i]?.reattach ?? this.reattach,
      ...this.stp.settingsOf(this.portsByIndex[i]!),
    };
  }

  // ── forwarding database ─────────────────────────────────────────────

  /** The configured ageing time in seconds (during an 802.1D topology change the FDB ages faster). */
  get ageingTime(): number {
    return this.configuredAgeingMs / 1000;
  }

  set ageingTime(seconds: number) {
    const ms = ageingToMs(seconds);
    const fast = this.fdb.ageingMs !== this.configuredAgeingMs;
    this.configuredAgeingMs = ms;
    if (!fast || ms === 0) this.fdb.ageingMs = ms;
  }

  /**
   * Fast ageing (802.1D topology change): learned entries age out after `ms`
   * until called with undefined. Ageing 0 (never learn) is left alone.
   */
  private setFastAgeing(ms: number | undefined): void {
    if (this.configuredAgeingMs === 0) return;
    this.fdb.ageingMs = ms === undefined ? this.configuredAgeingMs : Math.min(ms, this.configuredAgeingMs);
    if (ms !== undefined) this.fdb.expire(this.clock());
  }

  /**
   * Every entry at once. Blocks for the whole table (a million entries: a
   * second): fine for small tables; for big ones use `fdbChunks`.
   */
  fdbEntries(): FdbRecord[] {
    return this.fdb.entries(this.clock()).map((e) => {
      const dst = this.remoteAddress(e.port, e.remote);
      return {
        mac: formatMac(e.hi, e.lo),
        vlan: e.vid,
        port: this.labelOfIndex(e.port),
        ageing: Math.round(e.ageMs / 10) / 100,
        static: e.static,
        sticky: e.sticky,
        ...(dst !== undefined ? { dst } : {}),
      };
    });
  }

  /** The address of a VXLAN port's remote VTEP, by id. */
  private readonly remoteAddress = (index: number, remote: number): string | undefined => {
    const port = this.portsByIndex[index];
    return remote >= 0 && port instanceof VxlanPort ? port.remoteAddress(remote) : undefined;
  };

  /**
   * The FDB as chunks of records (`showmacs` / `fdb show` on big tables),
   * yielding to the event loop between chunks so forwarding never waits for
   * more than one chunk (default 512 records, at most 16 384 slots read).
   * Weakly consistent, like a netlink dump: see fdb-dump.ts. The generator's
   * return value counts entries and chunks and says if the walk was
   * interrupted by a rehash.
   *
   *   for await (const chunk of bridge.fdbChunks({ port: "tap0" })) print(chunk);
   */
  fdbChunks(options: Omit<FdbChunkOptions, "portIndex"> & { port?: Port | string } = {}): AsyncGenerator<FdbRecord[], FdbWalkResult> {
    const { port, ...rest } = options;
    const portIndex = port === undefined ? undefined : this.resolvePort(port).index;
    return walkFdb(this.fdb, this.clock, (i) => this.labelOfIndex(i), { ...rest, portIndex }, () => !this.closed, this.remoteAddress);
  }

  /** Change the FDB's bridge-wide limits and MAC-flap settings; absent fields keep their value. */
  setFdbOptions(options: { maxLearned?: number | undefined; fullPolicy?: FullPolicy | undefined; macFlap?: MacFlapOptions | undefined }): void {
    if (options.maxLearned !== undefined) checkCount(options.maxLearned, "fdbMaxLearned");
    if (options.fullPolicy !== undefined && !FULL_POLICIES.includes(options.fullPolicy)) {
      throw new TapbridgeError("EINVAL", `fdbFullPolicy "${options.fullPolicy}" is not one of ${FULL_POLICIES.join(", ")}`);
    }
    if (options.macFlap) this.guard.configure(options.macFlap);
    if (options.maxLearned !== undefined) this.fdb.maxLearned = options.maxLearned;
    if (options.fullPolicy !== undefined) this.fdb.fullPolicy = options.fullPolicy;
  }

  get macFlapSettings(): MacFlapSettings {
    return { ...this.guard.settings };
  }

  fdbStats(): FdbStats {
    const f = this.fdb;
    let refusedPortLimit = 0;
    for (const p of this.ports) refusedPortLimit += f.refusedPerPort[p.index]!;
    return {
      entries: f.size,
      learned: f.learned,
      static: f.size - f.learned,
      maxEntries: f.maxEntries,
      maxLearned: f.maxLearned,
      fullPolicy: f.fullPolicy,
      ageingSeconds: f.ageingMs / 1000,
      capacity: f.tableCapacity,
      memoryBytes: f.memoryBytes,
      learnRefused: f.learnRefused,
      refusedPortLimit,
      refusedFull: f.refusedFull,
      refusedProbe: f.refusedProbe,
      evictions: f.evictions,
      moves: f.moves,
      movesUnreported: this.guard.movesUnreported,
      flaps: this.guard.flap.detected,
      agedOut: f.agedOut,
      sweepPasses: f.sweepPasses,
      sweepMaxStepMs: Math.round(this.sweeper.maxStepMs * 1000) / 1000,
    };
  }

  /** Every counter, for a status report (SIGUSR1, the daemon): no FDB entries (see fdbChunks). */
  statusSummary(): Record<string, unknown> {
    return {
      ports: this.stats(),
      dataplane: this.dataplaneStats(),
      fdbStats: this.fdbStats(),
      internalErrors: this.internalErrors,
      ...(this.vlanFiltering ? { vlans: this.vlans() } : {}),
      ...(this.stp.protocol !== "off" ? { stp: this.stp.status() } : {}),
      ...(this.bonds.active ? { bonds: this.bondStatus() } : {}),
    };
  }

  // ── bonds ───────────────────────────────────────────────────────────

  /** Every bond's status (members, active member, buckets, LACP; see bond/status.ts), or one bond's. */
  bondStatus(): BondStatus[];
  bondStatus(portOrName: BondPort | string): BondStatus;
  bondStatus(portOrName?: BondPort | string): BondStatus | BondStatus[] {
    if (portOrName === undefined) return this.bonds.bondPorts().map((p) => this.bonds.status(p));
    const port = this.resolvePort(portOrName);
    if (!(port instanceof BondPort)) throw new TapbridgeError("EINVAL", `port ${port.label} of bridge ${this.name} is not a bond`);
    return this.bonds.status(port);
  }

  /** Advance bond timers (updelay/downdelay, ARP monitor, LACP, rebalancing) to the scheduler's now; the bridge does it every 100 ms by itself. */
  runBondTimers(): void {
    this.bonds.runTimers();
  }

  /** The port a MAC was learned on (VLAN 0 unless given), or undefined. */
  lookup(mac: string, vlan = 0): Port | undefined {
    const [hi, lo] = parseMac(mac);
    const index = this.fdb.lookup(vlan, hi, lo, this.clock());
    return index === NO_PORT ? undefined : this.portsByIndex[index];
  }

  /**
   * A static entry. Without `vlan` on a VLAN-filtering bridge it goes in
   * VLAN 0 and in every VLAN of the port, as `bridge fdb add … master` does.
   */
  addStaticEntry(mac: string, portOrName: Port | string, options: { vlan?: number; sticky?: boolean; dst?: string } = {}): void {
    const [hi, lo] = parseMac(mac);
    const port = this.resolvePort(portOrName);
    let remote = -1;
    if (options.dst !== undefined) {
      // VXLAN, as `bridge fdb append`: the all-zeros MAC adds a flood remote (head-end replication), any other a static entry behind that VTEP.
      if (!(port instanceof VxlanPort)) throw new TapbridgeError("EINVAL", `dst ${options.dst}: port ${port.label} is not a VXLAN port`);
      if (hi === 0 && lo === 0) {
        port.remote(options.dst, true);
        return;
      }
      remote = port.remote(options.dst);
    }
    if (hi & 0x0100) throw new TapbridgeError("EINVAL", `${mac} is a group address: only unicast MACs go in the FDB`);
    const vids = options.vlan !== undefined ? [options.vlan === 0 ? 0 : checkVid(options.vlan, `static entry ${mac}`)] : [0, ...(this.vlanFiltering ? this.vlanTable.vidsOf(port.index) : [])];
    for (const vid of vids) {
      if (!this.fdb.addStatic(vid, hi, lo, port.index, options.sticky ?? false, remote)) {
        throw new TapbridgeError("ENOSPC", `the FDB of ${this.name} is full (${this.fdb.maxEntries} entries)`);
      }
    }
  }

  /**
   * Take a VXLAN port's flood remote off its list (`bridge fdb del
   * 00:00:00:00:00:00 dev vx0 dst ADDR`); false when it was not on it.
   */
  deleteFloodRemote(portOrName: Port | string, dst: string): boolean {
    const port = this.resolvePort(portOrName);
    if (!(port instanceof VxlanPort)) throw new TapbridgeError("EINVAL", `dst ${dst}: port ${port.label} is not a VXLAN port`);
    const was = port.remotes().find((r) => r.address === dst)?.flood ?? false;
    if (was) port.remote(dst, false);
    return was;
  }

  /** A VXLAN port's remote VTEPs (configured and learned) with their counters; [] for other ports. */
  vxlanRemotes(portOrName: Port | string): VxlanRemoteInfo[] {
    const port = this.resolvePort(portOrName);
    return port instanceof VxlanPort ? port.remotes() : [];
  }

  /** Remove an entry of one VLAN, or (no `vlan`) of every VLAN. */
  deleteEntry(mac: string, vlan?: number): boolean {
    const [hi, lo] = parseMac(mac);
    if (vlan !== undefined) return this.fdb.delete(vlan, hi, lo);
    let any = false;
    for (let vid = 0; vid < 4095; vid++) any = this.fdb.delete(vid, hi, lo) || any;
    return any;
  }

  /** Forget learned entries (of one port, or all; of one VLAN, or all); static entries stay. */
  flushFdb(portOrName?: Port | string, options: { vlan?: number } = {}): number {
    const index = portOrName === undefined ? NO_PORT : this.resolvePort(portOrName).index;
    if (options.vlan !== undefined) return this.fdb.flushVlan(options.vlan === 0 ? 0 : checkVid(options.vlan, "flush"), index);
    return index === NO_PORT ? this.fdb.flush() : this.fdb.flushPort(index);
  }

  // ── VLANs (802.1Q) ──────────────────────────────────────────────────

  /** 802.1Q filtering in force (Linux vlan_filtering): explicit, or implied by any port's VLAN configuration. */
  get vlanFiltering(): boolean {
    return this.decider.config.vlanFiltering === true;
  }

  /** Turn filtering on or off explicitly. Learned entries are flushed (they were learned in other VLANs). */
  set vlanFiltering(on: boolean) {
    if (typeof on !== "boolean") throw new TapbridgeError("EINVAL", `vlanFiltering must be true or false, not ${JSON.stringify(on)}`);
    this.vlanFilteringSet = on;
    this.applyVlanFiltering();
  }

  get vlanProtocol(): VlanProtocol {
    return this.vlanTable.tpid === VLAN_PROTOCOL_TPID["802.1ad"] ? "802.1ad" : "802.1Q";
  }

  /** "802.1Q" (0x8100) or "802.1ad" (0x88a8): the tag this bridge filters on, inserts and strips. */
  set vlanProtocol(protocol: VlanProtocol) {
    this.vlanTable.tpid = vlanProtocolTpid(protocol);
  }

  /** Replace the port's VLANs: `{ access: 59 }`, `{ trunk: "59,89", native: 1 }`, `{ vlans: [10], untagged: [20], pvid: 20 }`. */
  setPortVlans(portOrName: Port | string, spec: PortVlanSpec): void {
    const port = this.resolvePort(portOrName);
    this.replaceVlans(port, this.resolveVlans(port, spec, true) ?? []);
    this.recordConfig(port.index, hasVlanSpec(spec) ? spec : { vlans: [] });
  }

  /** `bridge vlan add dev PORT vid VID [pvid] [untagged]`: add a VID or set its flags (a new PVID replaces the old). */
  addVlan(portOrName: Port | string, vid: number, flags: { pvid?: boolean; untagged?: boolean } = {}): void {
    const port = this.resolvePort(portOrName);
    const v = checkVid(vid, `port ${port.label}`);
    this.vlanTable.set(port.index, v, flags.pvid === true, flags.untagged === true);
    this.recordConfig(port.index, this.explicitVlanSpec(port.index));
    this.vlanConfigChanged(port);
  }

  /** `bridge vlan del dev PORT vid VID`: the port leaves the VLAN and forgets what it learned there. */
  deleteVlan(portOrName: Port | string, vid: number): boolean {
    const port = this.resolvePort(portOrName);
    const v = checkVid(vid, `port ${port.label}`);
    const was = this.vlanTable.remove(port.index, v);
    if (was) this.fdb.flushVlan(v, port.index);
    this.recordConfig(port.index, this.explicitVlanSpec(port.index));
    this.vlanConfigChanged(port);
    return was;
  }

  /** The port's VLANs in Linux terms (what portConfig() reports after addVlan/deleteVlan). */
  private explicitVlanSpec(index: number): PortVlanSpec {
    const entries = this.vlanTable.entriesOf(index);
    const pvid = entries.find((e) => e.pvid)?.vid;
    return {
      vlans: entries.filter((e) => !e.untagged).map((e) => e.vid),
      untagged: entries.filter((e) => e.untagged).map((e) => e.vid),
      ...(pvid !== undefined ? { pvid } : {}),
    };
  }

  /** Linux default_pvid: the VLAN (pvid, untagged) of ports without VLAN configuration; 0: none. */
  get defaultPvid(): number {
    return this.defaultPvidValue;
  }

  /**
   * Change default_pvid as Linux does (br_vlan_set_default_pvid): ports
   * without VLAN configuration that are still exactly in the old default
   * ({old pvid untagged}, or nothing when it was 0) move to the new one and
   * forget what they learned in the old; every other port keeps its VLANs.
   * Filtering is not turned on by this.
   */
  set defaultPvid(vid: number) {
    const next = checkDefaultPvid(vid);
    const old = this.defaultPvidValue;
    if (next === old) return;
    this.defaultPvidValue = next;
    for (const port of this.ports) {
      const i = port.index;
      if (hasVlanSpec(this.configs[i] ?? {})) continue;
      const now = this.vlanTable.entriesOf(i);
      const atDefault = old === 0 ? now.length === 0 : now.length === 1 && now[0]!.vid === old && now[0]!.pvid && now[0]!.untagged;
      if (!atDefault) continue;
      this.vlanTable.replacePort(i, next ? [{ vid: next, pvid: true, untagged: true }] : []);
      if (old) this.fdb.flushVlan(old, i);
      if (port instanceof BondPort) this.bonds.syncVlans(port);
      this.emit("port-vlans", { port: port.label, index: i, vlans: this.vlanTable.entriesOf(i) });
    }
    this.log.info("default pvid", { from: old, to: next });
  }

  /** What `bridge -s vlan show` lists: every port's VIDs with their flags and counters. */
  vlans(): PortVlans[] {
    return this.ports.map((port) => ({
      port: port.label,
      vlans: this.vlanTable.entriesOf(port.index).map((e) => ({ ...e, ...this.vlanTable.countersOf(port.index, e.vid) })),
    }));
  }

  /** The memberships a spec means, or undefined when it has no VLAN key; `strict`: other keys are errors. */
  private resolveVlans(port: Port, spec: PortVlanSpec, strict = false): VlanMembership[] | undefined {
    if (!strict && !hasVlanSpec(spec)) return undefined;
    try {
      return resolvePortVlans(strict ? spec : pickVlanSpec(spec));
    } catch (error) {
      if (error instanceof TapbridgeError) throw new TapbridgeError(error.code, `port ${port.label}: ${error.message}`, error);
      throw error;
    }
  }

  private replaceVlans(port: Port, vlans: VlanMembership[]): void {
    const before = this.vlanTable.vidsOf(port.index);
    this.vlanTable.replacePort(port.index, vlans);
    for (const vid of before) if (!this.vlanTable.isMember(port.index, vid)) this.fdb.flushVlan(vid, port.index);
    this.vlanConfigChanged(port);
  }

  private vlanConfigChanged(port?: Port): void {
    this.vlanConfigured = true;
    if (port instanceof BondPort) this.bonds.syncVlans(port);
    this.applyVlanFiltering();
    if (port) this.emit("port-vlans", { port: port.label, index: port.index, vlans: this.vlanTable.entriesOf(port.index) });
  }

  private applyVlanFiltering(): void {
    const on = this.vlanFilteringSet ?? this.vlanConfigured;
    if (on === this.vlanFiltering) return;
    this.decider.config.vlanFiltering = on;
    const flushed = this.fdb.flush();
    this.log.info("vlan filtering", { on, protocol: this.vlanProtocol, flushed });
    this.emit("vlan-filtering", { on, flushed });
  }

  // ── counters ────────────────────────────────────────────────────────

  stats(): PortStats[] {
    this.dp?.refreshStats?.();
    return this.ports.map((port) => this.portStatsAt(port, port.index));
  }

  portStats(portOrName: Port | string): PortStats {
    const port = this.resolvePort(portOrName);
    this.dp?.refreshStats?.();
    return this.portStatsAt(port, port.index);
  }

  /** Counters of the port that has (or last had) index i. */
  private portStatsAt(port: Port, i: number): PortStats {
    const c = this.counters;
    const drops: Record<string, number> = {};
    const d = c.dropsOf(i);
    for (let r = 0; r < DROP_REASON_COUNT; r++) if (d[r] && DROP_REASON_NAMES[r]) drops[DROP_REASON_NAMES[r]!] = d[r]!;
    const present = this.portsByIndex[i] === port;
    const n = port instanceof NativePort && this.dp ? this.dp.portStats.subarray(i * PORT_STAT_COUNT, (i + 1) * PORT_STAT_COUNT)
      : port instanceof BondPort && present ? this.bonds.statTotals(port) : undefined;
    return {
      name: port.label,
      kind: port.kind,
      index: i,
      state: present ? PORT_STATE_NAMES[this.portTable.state[i]!]! : "disabled",
      rxPackets: c.rxPackets[i]!,
      rxBytes: c.rxBytes[i]!,
      forwarded: c.sentOn(i),
      linkDowns: c.linkDowns[i]!,
      linkFlushed: c.linkFlushed[i]!,
      txPackets: n ? n[PortStat.txPackets]! : c.txPackets[i]!,
      txBytes: n ? n[PortStat.txBytes]! : c.txBytes[i]!,
      rxDropped: n ? n[PortStat.rxDropped]! : 0,
      txDropped: n ? n[PortStat.txDropped]! + n[PortStat.txGsoDropped]! + n[PortStat.txOversize]! : 0,
      txErrors: n ? n[PortStat.txErrors]! + n[PortStat.txLinkDown]! : 0,
      txCarrierErrors: n ? n[PortStat.txLinkDown]! : 0,
      rxSyscalls: n ? n[PortStat.rxSyscalls]! : 0,
      txSyscalls: n ? n[PortStat.txSyscalls]! : 0,
      txSegmented: n ? n[PortStat.txSegmented]! : 0,
      drops,
      fdb: {
        entries: this.fdb.perPort[i]!,
        learned: this.fdb.learnedPerPort[i]!,
        maxLearned: this.fdb.portLimit[i]!,
        refused: this.fdb.refusedPerPort[i]!,
        evicted: this.fdb.evictedPerPort[i]!,
        flaps: this.guard.flap.blamed[i]!,
      },
      ...(this.errDisabled[i] ? { errDisabled: this.errDisabled[i] } : {}),
    };
  }

  /** Dataplane-wide counters of the addon (batches, frames, time split), or undefined without native ports. */
  dataplaneStats(): Record<keyof typeof DataplaneStat, number> | undefined {
    if (!this.dp) return undefined;
    const s = this.dp.dpStats;
    const out = {} as Record<keyof typeof DataplaneStat, number>;
    for (const [name, column] of Object.entries(DataplaneStat)) if (column < DP_STAT_COUNT) out[name as keyof typeof DataplaneStat] = s[column]!;
    return out;
  }

  // ── spanning tree ───────────────────────────────────────────────────

  /**
   * Run 802.1D STP (`{ protocol: "stp" }`, the default) or 802.1w RSTP
   * (`{ protocol: "rstp" }`) with the given bridge priority and times in
   * seconds, or turn it off with `false`. Called again, it changes the
   * parameters of the running protocol. Ranges are Linux's; a value out of
   * range throws a TapbridgeError and changes nothing.
   */
  setStp(options: StpOptions | false): void {
    this.assertOpen();
    this.stp.configure(options);
  }

  /** "stp", "rstp", or "off". */
  get stpProtocol(): StpStatus["protocol"] {
    return this.stp.protocol;
  }

  /** Everything `brctl showstp` prints, for the bridge and every port (fields: src/stp/engine.ts). */
  stpStatus(): StpStatus {
    return this.stp.status();
  }

  stpPortStatus(portOrName: Port | string): StpPortStatus & { name: string } {
    return this.stp.portStatus(this.resolvePort(portOrName));
  }

  /** Advance spanning tree timers to the scheduler's now (the bridge does this every 100 ms by itself). */
  runStpTimers(): void {
    this.stp.runTimers();
  }

  private applyStpState(index: number, state: PortStateName): void {
    this.configuredState[index] = PortState[state];
    if (!this.linkDown[index] && !this.errDisabled[index] && this.portTable.state[index] !== PortState[state]) {
      this.portTable.state[index] = PortState[state];
      this.portTable.recompute();
    }
  }

  /**
   * Send a control frame (a BPDU) out of one port, whatever its state. From
   * inside a batch's decisions it is sent as soon as the batch is done.
   */
  private sendControlFrame(port: number, frame: Uint8Array): void {
    if (this.closed || (!this.portsByIndex[port] && !this.bonds.isMember(port))) return;
    this.controlQueue.push({ port, frame });
    if (this.deciding) return;
    this.transmitControl();
    if (this.outbox.length === 0) return;
    const errors: unknown[] = [];
    if (fabric.draining) this.deliverOutbox(errors);
    else fabric.hold(() => this.deliverOutbox(errors));
    if (errors.length > 0) this.reportErrors(errors);
    if (!fabric.draining) fabric.run("emit");
  }

  /** Queued control frames out: one native transmit per batch; in-memory ports get them through the outbox. */
  private transmitControl(): void {
    while (this.controlQueue.length > 0) {
      const take = this.controlQueue.splice(0, this.batchSize);
      const batch = this.batch;
      take.forEach((o, i) => {
        fillSlot(batch, i, o.port, o.frame);
        batch.frameTag[i] = 0; // leaves as built: untagged
        const out = i * EGRESS_WORDS;
        for (let w = 0; w < EGRESS_WORDS; w++) batch.egress[out + w] = 0;
        batch.egress[out + (o.port >>> 5)] = 1 << (o.port & 31);
      });
      if (this.bonds.active) this.bonds.egress(batch, take.length);
      this.dp?.transmit(take.length);
      if (this.memoryPorts.length > 0) this.collectMemoryEgress(batch, take.length);
    }
  }

  /** Turn BPDU consumption on (BPDUs go to `handler`) or off (BPDUs flood like data). */
  setBpduHandler(handler: BpduHandler | undefined): void {
    this.decider.config.stpEnabled = handler !== undefined;
    this.decider.config.onBpdu = handler;
  }

  // ── data path ───────────────────────────────────────────────────────

  private dataplane(): NativeDataplane {
    if (this.dp) return this.dp;
    const binding = typeof this.nativeSource === "function" ? this.nativeSource() : this.nativeSource;
    const dp = new binding.Dataplane({ batchSize: this.batchSize, slotSize: SLOT_SIZE }, this.onNativeBatch, this.onNativePortEvent);
    if (!this.referenced) dp.unref();
    dp.setVlanEgress(this.vlanTable.untagged);
    this.dp = dp;
    this.batch = batchFromNative(dp, this.batchSize, SLOT_SIZE);
    return dp;
  }

  private linkFollower(): LinkFollower | undefined {
    if (this.links || this.followLinks === false) return this.links;
    const monitor = this.linkMonitor();
    if (monitor) this.links = new LinkFollower(this, monitor, this.log, this.reattach);
    return this.links;
  }

  /** The process's link monitor (bridge ports and bond members follow their devices through it), unless following is off. */
  private linkMonitor(): LinkMonitor | undefined {
    if (this.followLinks === false) return undefined;
    try {
      const binding = typeof this.nativeSource === "function" ? this.nativeSource() : this.nativeSource;
      return this.followLinks === true ? LinkMonitor.shared(binding) : this.followLinks;
    } catch (error) {
      this.log.warn("ports will not follow their links: no link monitor", { err: error });
      this.followLinks = false;
      return undefined;
    }
  }

  private readonly onNativePortEvent = (index: number, type: NativePortEventType, code: string | undefined): void => {
    if (this.bonds.isMember(index)) return this.bonds.onPortEvent(index, type, code);
    const port = this.portsByIndex[index];
    if (port instanceof NativePort) this.links?.onPortEvent(port, type, code);
  };

  private readonly onNativeBatch = (count: number): void => {
    if (this.busy) {
      this.internalErrors++;
      return;
    }
    const impairs = this.nativeImpairments;
    // A native batch holds frames of one port: an ingress impairment takes the whole batch.
    if (impairs?.ingressActive && count > 0 && impairs.hasIngress(this.batch.rxPort[0]!)) return this.holdIngress(count);
    this.busy = true;
    try {
      this.process(count);
    } catch (error) {
      this.recordInternalError(error);
    } finally {
      this.busy = false;
    }
    if (impairs?.hasReady) this.transmitStaged(impairs.takeReady());
    if (this.outbox.length > 0) {
      const errors: unknown[] = [];
      fabric.hold(() => this.deliverOutbox(errors));
      if (errors.length > 0) this.reportErrors(errors);
    }
    if (fabric.hasWork) fabric.run("emit");
  };

  private process(count: number): void {
    const batch = this.batch;
    const mirrors = this.mirrors;
    const sampler = this.dropSampler;
    this.deciding = true;
    try {
      // Bond members' frames become their bond's (and pass its receive filters) before anything looks at them.
      if (this.bonds.active) this.bonds.ingress(batch, count, this.clock());
      if (mirrors.active) mirrors.snapshot(batch, count);
      if (sampler) sampler.snapshot(batch, count);
      this.decider.decide(batch, count, this.clock());
      if (mirrors.active) mirrors.emit(batch, count, this.clock(), this.vlanTable.untagged);
      if (sampler) sampler.collect(batch, count);
      // After the decision, so that frames for a bond are already its member's (an impaired member delays them).
      if (this.bonds.active) this.bonds.egress(batch, count);
      if (this.nativeImpairments?.active) this.nativeImpairments.intercept(batch, count);
      this.dp?.transmit(count);
      if (this.memoryPorts.length > 0) this.collectMemoryEgress(batch, count);
      if (this.fdbEvents.pending) this.fdbEvents.flush();
      if (this.guard.pending) this.guard.flush();
    } finally {
      this.deciding = false;
    }
    if (this.controlQueue.length > 0) this.transmitControl();
  }

  /** Copy each frame bound for in-memory ports out of the batch, tagged or untagged as native ports get it (core/vlan-egress.ts); delivered after the batch. */
  private collectMemoryEgress(batch: Batch, count: number): void {
    const { bytes, view, egress, frameOffset, frameLength, frameTag, slotSize } = batch;
    const untagged = this.vlanTable.untagged;
    for (let i = 0; i < count; i++) {
      for (const port of this.memoryPorts) {
        const p = port.index;
        if (!((egress[i * EGRESS_WORDS + (p >>> 5)]! >>> (p & 31)) & 1)) continue;
        const offset = frameOffset[i]!;
        const form = egressForm(view, offset, frameTag[i]!, untagged, p);
        const frame = egressFrame(bytes, offset, frameLength[i]!, form, frameTag[i]!);
        const vnetAt = i * slotSize;
        const hasVnet = bytes[vnetAt] !== 0 || bytes[vnetAt + 1] !== 0;
        const vnet = hasVnet ? bytes.slice(vnetAt, vnetAt + VNET_HDR_LEN) : undefined;
        if (vnet && form !== EgressForm.asIs) adjustVnetHeader(vnet, form);
        this.counters.txPackets[p]!++;
        this.counters.txBytes[p]! += frame.length;
        this.outbox.push({ port, frame, vnet });
      }
    }
  }

  /** Hand the collected frames to their ports' listeners; what they throw goes to `errors`. */
  private deliverOutbox(errors: unknown[]): void {
    const out = this.outbox;
    this.outbox = [];
    for (const { port, frame, vnet } of out) {
      if (port.sink !== this) continue; // removed meanwhile
      try {
        port.deliver(frame, vnet);
      } catch (error) {
        errors.push(error);
      }
    }
  }

  /**
   * MemoryPort.send() lands here. The frame is copied and queued; outside a
   * delivery it is processed before this returns (with everything it causes,
   * up to the fabric's per-call bound), and what a listener threw is thrown
   * here. From inside a listener it is only queued.
   */
  inject(port: MemoryPort, frame: Uint8Array, vnetHeader?: Uint8Array): void {
    this.enqueue(port, frame, vnetHeader, false);
    if (!fabric.draining) fabric.run("throw");
  }

  /** Queue a frame without draining (wires and timers); `owned`: the caller gives up the buffer. */
  enqueue(port: MemoryPort, frame: Uint8Array, vnetHeader: Uint8Array | undefined, owned: boolean): void {
    this.assertOpen();
    if (port.index < 0 || (this.portsByIndex[port.index] !== port && !this.bonds.isMemberPort(port))) throw new TapbridgeError("ENOENT", `port ${port.name} is not attached to bridge ${this.name}`);
    const drop = frame.length > slotCapacity(this.batch) ? DropReason.oversize : this.queued >= this.memoryQueueLimit ? DropReason.memoryQueueFull : -1;
    if (drop >= 0) {
      this.counters.rxPackets[port.index]!++;
      this.counters.rxBytes[port.index]! += frame.length;
      this.counters.drops[port.index * DROP_REASON_COUNT + drop]!++;
      return;
    }
    this.queueFrame(port.index, owned ? frame : frame.slice(), vnetHeader && !owned ? vnetHeader.slice() : vnetHeader);
  }

  private queueFrame(index: number, frame: Uint8Array, vnet: Uint8Array | undefined): void {
    this.queue.push({ port: index, frame, vnet });
    fabric.markReady(this);
  }

  /**
   * Impair a port's link (netem's vocabulary, impair/spec.ts): "egress" is
   * what the bridge sends to the port, "ingress" what the port's device
   * sends to the bridge. `undefined` clears it. Any port kind; changeable
   * while frames flow; ports without an impairment are not slowed.
   */
  impair(portOrName: Port | string, spec: ImpairmentSpec | undefined, direction: "egress" | "ingress" | "both" = "both"): void {
    const port = this.resolvePort(portOrName);
    // A bond's link is its members' links: each is impaired alike.
    for (const p of port instanceof BondPort ? this.bonds.members(port) : [port]) this.impairOne(p, spec, direction);
  }

  private impairOne(port: Port, spec: ImpairmentSpec | undefined, direction: "egress" | "ingress" | "both"): void {
    if (port instanceof MemoryPort) {
      port.impair(spec, direction);
      return;
    }
    this.nativeImpairments ??= new NativeImpairments({
      scheduler: this.scheduler,
      transmitStaged: (frames) => this.transmitStaged(frames),
      receiveStaged: (index, frame, vnet) => {
        if (this.closed || (!this.portsByIndex[index] && !this.bonds.isMember(index))) return;
        this.queueFrame(index, frame, vnet);
        if (!fabric.draining) fabric.run("emit");
      },
      countDrop: (index, reason) => void this.counters.drops[index * DROP_REASON_COUNT + reason]!++,
      reportError: (error) => this.reportErrors([error]),
    });
    this.nativeImpairments.set(port.index, spec, direction);
  }

  /** What a port's impairments did, per direction. */
  impairmentStats(portOrName: Port | string): { egress?: LinkStats; ingress?: LinkStats } {
    const port = this.resolvePort(portOrName);
    const stats = (p: Port) => (p instanceof MemoryPort ? p.impairmentStats() : (this.nativeImpairments?.stats(p.index) ?? {}));
    if (!(port instanceof BondPort)) return stats(port);
    const each = this.bonds.members(port).map(stats);
    return { egress: sumLinkStats(each.map((s) => s.egress)), ingress: sumLinkStats(each.map((s) => s.ingress)) };
  }

  /** Copy a native batch of an ingress-impaired port into its link; the frames come back through the queue when due. */
  private holdIngress(count: number): void {
    const { bytes, rxPort, frameOffset, frameLength, slotSize } = this.batch;
    for (let i = 0; i < count; i++) {
      const off = frameOffset[i]!;
      const vnetAt = i * slotSize;
      const hasVnet = bytes[vnetAt] !== 0 || bytes[vnetAt + 1] !== 0;
      this.nativeImpairments!.offerIngress(rxPort[i]!, bytes.slice(off, off + frameLength[i]!), hasVnet ? bytes.slice(vnetAt, vnetAt + VNET_HDR_LEN) : undefined);
    }
    if (fabric.hasWork) fabric.run("emit");
  }

  /** Send frames an egress impairment released, through the idle slab, to their one port each. */
  private transmitStaged(frames: Staged[]): void {
    const dp = this.dp;
    if (!dp || this.closed) return;
    if (this.busy) {
      setImmediate(() => this.transmitStaged(frames));
      return;
    }
    const batch = this.batch;
    for (let start = 0; start < frames.length; start += this.batchSize) {
      const n = Math.min(this.batchSize, frames.length - start);
      let filled = 0;
      for (let k = 0; k < n; k++) {
        const f = frames[start + k]!;
        if (!this.portsByIndex[f.port] && !this.bonds.isMember(f.port)) continue;
        fillSlot(batch, filled, f.port, f.frame, f.vnet);
        batch.frameTag[filled] = f.tag;
        const at = filled * EGRESS_WORDS;
        for (let w = 0; w < EGRESS_WORDS; w++) batch.egress[at + w] = 0;
        batch.egress[at + (f.port >>> 5)] = 1 << (f.port & 31);
        filled++;
      }
      if (filled > 0) dp.transmit(filled);
    }
  }

  /** @internal A frame an in-memory port's impairment (or a wire into it) dropped: counted under `reason`. */
  countDrop(port: MemoryPort, reason: number, length: number): void {
    const i = port.index;
    if (i >= 0 && (this.portsByIndex[i] === port || this.bonds.isMemberPort(port)) && length >= 0) this.counters.drops[i * DROP_REASON_COUNT + reason]!++;
  }

  /** @internal Frames queued on in-memory ports. */
  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /** @internal One batch of queued in-memory frames (memory-fabric.ts). */
  step(max: number, errors: unknown[]): number {
    if (this.closed) {
      this.queue = [];
      this.queueHead = 0;
      return 0;
    }
    const n = Math.min(this.batchSize, max, this.queued);
    const queue = this.queue;
    let filled = 0;
    for (let i = 0; i < n; i++) {
      const q = queue[this.queueHead]!;
      queue[this.queueHead++] = undefined as unknown as QueuedFrame;
      if (this.portsByIndex[q.port] === undefined && !this.bonds.isMember(q.port)) continue; // port removed while queued
      fillSlot(this.batch, filled++, q.port, q.frame, q.vnet);
    }
    if (this.queueHead > 4096 && this.queueHead * 2 > queue.length) {
      this.queue = queue.slice(this.queueHead);
      this.queueHead = 0;
    } else if (this.queueHead === queue.length) {
      queue.length = 0;
      this.queueHead = 0;
    }
    if (filled > 0) {
      try {
        this.process(filled);
      } catch (error) {
        this.outbox = [];
        this.recordInternalError(error);
      }
      if (this.nativeImpairments?.hasReady) this.transmitStaged(this.nativeImpairments.takeReady());
      this.deliverOutbox(errors);
    }
    return n;
  }

  /** @internal Listener errors with no caller to throw to: the `error` event (uncaught without a listener). */
  reportErrors(errors: unknown[]): void {
    const error = errors.length === 1 ? errors[0] : new AggregateError(errors, `${errors.length} frame listeners threw`);
    setImmediate(() => this.emit("error", error instanceof Error ? error : new Error(String(error))));
  }

  /**
   * Resolves when no in-memory frame is queued (on any bridge of this
   * process): what `send()` started has been delivered. Rejects after
   * `timeoutMs` if frames keep moving (a loop).
   */
  settle(timeoutMs?: number): Promise<void> {
    return settleMemory(timeoutMs);
  }

  private recordInternalError(error: unknown): void {
    this.internalErrors++;
    if (this.internalErrors <= 10) this.log.error("internal error in the data path", { err: error });
  }

  // ── life cycle ──────────────────────────────────────────────────────

  /** Keep (default) or stop keeping the process alive for this bridge's ports. */
  ref(): this {
    this.referenced = true;
    this.dp?.ref();
    return this;
  }

  unref(): this {
    this.referenced = false;
    this.dp?.unref();
    return this;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Close every port (removing the TAPs it created unless persistent).
   * Returns the ports' final counters, read after their fds were closed
   * (empty when already closed). Idempotent.
   */
  close(): PortStats[] {
    if (this.closed) return [];
    this.stp.stop();
    this.links?.close();
    this.links = undefined;
    const final: PortStats[] = [];
    for (const port of this.ports) {
      try {
        final.push(this.removePort(port, "closed"));
      } catch (error) {
        this.log.warn("closing port failed", { port: port.label, err: error });
      }
    }
    this.maintenanceTimer.cancel();
    this.sweeper.stop();
    for (const timer of this.recoveryTimers.values()) timer.cancel();
    this.recoveryTimers.clear();
    this.queue = [];
    this.queueHead = 0;
    this.dp?.close();
    this.closed = true;
    return final;
  }

  /** Once a second, beside the data path: an ageing pass in bounded steps, and storm episodes. */
  private maintain(): void {
    this.sweeper.tick();
    const limited: number[] = [];
    for (const p of this.ports) if (this.decider.storm.active[p.index] !== 0) limited.push(p.index);
    this.stormWatch.check(this.counters.drops, limited, (index, kind, active, dropped) => {
      const port = this.labelOfIndex(index);
      const kindName = FLOOD_KIND_NAMES[kind] === "unknownUnicast" ? "unknown-unicast" : FLOOD_KIND_NAMES[kind]!;
      const limit = this.decider.storm.limit(index, kind);
      if (active) this.log.warn("storm control dropping", { port, kind: kindName, limit, droppedFirstSecond: dropped });
      else this.log.info("storm over", { port, kind: kindName, limit, dropped });
      this.emit("storm", { port, index, kind: kindName as "broadcast" | "multicast" | "unknown-unicast", active, limit, dropped });
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new TapbridgeError("ECLOSED", `bridge ${this.name} is closed`);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function stpSettings(s: PortSettings): StpPortSettings {
  const out: StpPortSettings = {};
  if (s.cost !== undefined) out.cost = s.cost;
  if (s.priority !== undefined) out.priority = s.priority;
  if (s.edge !== undefined) out.edge = s.edge;
  if (s.bpduGuard !== undefined) out.bpduGuard = s.bpduGuard;
  if (s.rootGuard !== undefined) out.rootGuard = s.rootGuard;
  return out;
}

function ageingToMs(seconds: number): number {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0 || seconds > AGEING_MAX_SECONDS) {
    throw new TapbridgeError("EINVAL", `ageing time ${seconds} is out of range: use 0 to ${AGEING_MAX_SECONDS} seconds (0 disables learning)`);
  }
  return seconds * 1000;
}

function checkDefaultPvid(vid: number): number {
  return vid === 0 ? 0 : checkVid(vid, "default PVID");
}

function vlanProtocolTpid(protocol: VlanProtocol): number {
  const tpid = Object.hasOwn(VLAN_PROTOCOL_TPID, protocol) ? VLAN_PROTOCOL_TPID[protocol] : undefined;
  if (tpid === undefined) throw new TapbridgeError("EINVAL", `"${String(protocol)}" is not a VLAN protocol: use 802.1Q or 802.1ad`);
  return tpid;
}

/** Largest learning limit accepted (per port and bridge-wide). */
export const MAX_LEARNED_LIMIT = 16_777_216;

function checkCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_LEARNED_LIMIT) {
    throw new TapbridgeError("EINVAL", `${what} ${n} is out of range: use a whole number from 0 (no limit) to ${MAX_LEARNED_LIMIT}`);
  }
}

function checkGroupFwdMask(mask: number): number {
  if (!Number.isInteger(mask) || mask < 0 || mask > 0xffff) throw new TapbridgeError("EINVAL", `group_fwd_mask ${mask} is out of range: use 0 to 0xffff`);
  if (mask & 0x7) throw new TapbridgeError("EINVAL", `group_fwd_mask ${mask} may not forward 01:80:C2:00:00:00..02 (bits 0-2), as in Linux`);
  return mask;
}
