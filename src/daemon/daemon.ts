/**
 * The daemon's state: several bridges in one process, each a `Bridge` plus
 * the configuration it runs with (a BridgeConfig kept current by every
 * change, so `tapbridge save` writes exactly what runs).
 *
 * Every change is a small step on the running dataplane — a port added or
 * removed, a setting changed — never a rebuild, so traffic on the other
 * ports goes on. `apply(config)` (start and reload) diffs the running state
 * against a config and carries the difference out as such steps; each step
 * records its undo, and if one fails (an interface that is not there) the
 * steps already taken are undone in reverse, leaving everything as it was.
 */
import { vxlanPortFromConfig } from "../ports/vxlan-port.js";
import { Bridge } from "../bridge.js";
import { DEFAULT_FULL_POLICY } from "../core/fdb.js";
import { DEFAULT_MAC_FLAP, type MacFlapOptions } from "../fdb-guard.js";
import { applyPortOptionValue, checkPortConfig, type PortConfig } from "../config/port-options.js";
import { formatVidList } from "../core/vlan-spec.js";
import { TapbridgeError } from "../errors.js";
import { HostPort } from "../io/host-port.js";
import { PacketPort, TapPort } from "../io/native-port.js";
import type { NativeBinding } from "../io/native-binding.js";
import { silentLogger, type Logger } from "../log.js";
import type { Port } from "../ports/port.js";
import { BondPort } from "../ports/bond-port.js";
import type { StpOptions } from "../stp/bridge-stp.js";
import type { PortVlanSpec } from "../core/vlan-spec.js";
import { exec, netnsPrefix } from "./exec.js";
import { DEFAULT_PARAMS, type BridgeConfig, type BridgeParams, type DaemonConfig, type KeyPath, type PortEntry } from "./config.js";
import { chooseMac, lowestPortMac, type HostPortConfig } from "./host-port.js";

/** Who asked for a port: the config file, the CLI, an attach pattern, or a network (its uplink, its host port). */
export type PortOrigin = "config" | "cli" | "auto" | "network";

/** A bridge's own interface in the host (io/host-port.ts). */
export interface ManagedHost {
  port: HostPort;
  config: HostPortConfig;
  origin: PortOrigin;
}

export interface ManagedPort {
  entry: PortEntry;
  port: Port;
  origin: PortOrigin;
}

export class ManagedBridge {
  readonly ports = new Map<string, ManagedPort>();
  host: ManagedHost | undefined;
  /** The network running on this bridge, if any (daemon/networks). */
  network: string | undefined;
  /** Settings ports take unless their own options say otherwise (a private network's `isolated`). */
  portDefaults: PortConfig = {};
  constructor(
    readonly bridge: Bridge,
    public config: BridgeConfig,
  ) {}

  get name(): string {
    return this.bridge.name;
  }

  port(label: string): ManagedPort {
    const p = this.ports.get(label) ?? [...this.ports.values()].find((m) => m.entry.name === label);
    if (!p) throw new TapbridgeError("ENOENT", `bridge ${this.name} has no port ${label}`);
    return p;
  }
}

export interface DaemonOptions {
  logger?: Logger;
  native?: NativeBinding | (() => NativeBinding);
  /** Change a host port's device MAC (Linux's lowest-port rule follows the ports); runs `ip link set` by default. */
  setDeviceMac?: (netns: string | undefined, ifname: string, mac: string) => Promise<void>;
}

/** One step of a change, with its undo. */
interface Step {
  say: string;
  undo: () => void;
}

/** Port settings with every default filled in, so that an option removed from the config goes back to its default. */
const SETTING_DEFAULTS: PortConfig = { learning: true, flood: true, mcastFlood: true, bcastFlood: true, hairpin: false, isolated: false };

export class Daemon {
  readonly bridges = new Map<string, ManagedBridge>();
  readonly log: Logger;
  private readonly native: DaemonOptions["native"];
  private readonly setDeviceMac: NonNullable<DaemonOptions["setDeviceMac"]>;

  constructor(options: DaemonOptions = {}) {
    this.log = options.logger ?? silentLogger;
    this.native = options.native;
    this.setDeviceMac = options.setDeviceMac ?? setMacWithIp;
  }

  bridge(name: string): ManagedBridge {
    const b = this.bridges.get(name);
    if (!b) throw new TapbridgeError("ENOENT", `bridge ${name} does not exist`);
    return b;
  }

  /** Which bridge has a port of this label (or this host port), if any. */
  ownerOf(label: string): ManagedBridge | undefined {
    for (const b of this.bridges.values()) if (b.ports.has(label) || b.host?.port.label === label) return b;
    return undefined;
  }

  // ── bridges ─────────────────────────────────────────────────────────

  addBridge(config: BridgeConfig): string[] {
    return this.transaction((steps) => this.stepAddBridge(config, steps));
  }

  /** Delete a bridge; one a network runs on is the network's (`byNetwork`: the network itself, stopping). */
  deleteBridge(name: string, byNetwork = false): string[] {
    const managed = this.bridge(name);
    if (managed.network && !byNetwork) throw new TapbridgeError("EBUSY", `bridge ${name} carries network ${managed.network}: stop the network first (tapbridge net-destroy ${managed.network})`);
    return this.transaction((steps) => this.stepDeleteBridge(managed, steps));
  }

  private stepAddBridge(config: BridgeConfig, steps: Step[]): void {
    if (this.bridges.has(config.name)) throw located(new TapbridgeError("EEXIST", `bridge ${config.name} already exists`), config.where);
    const bridge = new Bridge({
      name: config.name,
      logger: this.log.child({ bridge: config.name }),
      ageingTime: config.params.ageingTime,
      ...(config.fdbMaxEntries !== undefined ? { maxFdbEntries: config.fdbMaxEntries } : {}),
      ...(config.groupFwdMask !== undefined ? { groupFwdMask: config.groupFwdMask } : {}),
      ...(config.fdbMaxLearned !== undefined ? { fdbMaxLearned: config.fdbMaxLearned } : {}),
      ...(config.fdbFullPolicy !== undefined ? { fdbFullPolicy: config.fdbFullPolicy } : {}),
      ...(config.macFlap !== undefined ? { macFlap: config.macFlap } : {}),
      ...(config.params.stp ? { stp: stpOptions(config.params) } : {}),
      ...(config.vlanFiltering !== undefined ? { vlanFiltering: config.vlanFiltering } : {}),
      ...(config.vlanProtocol !== undefined ? { vlanProtocol: VLAN_PROTOCOLS[config.vlanProtocol] } : {}),
      ...(config.defaultPvid !== undefined ? { defaultPvid: config.defaultPvid } : {}),
      ...(this.native ? { native: this.native } : {}),
    });
    const managed = new ManagedBridge(bridge, { ...config, ports: [], pathCost: {}, portPriority: {} });
    this.bridges.set(config.name, managed);
    bridge.on("port-removed", (e) => this.portGone(managed, e.port, e.reason));
    bridge.on("port-reattached", (e) => this.portBack(managed, e.port));
    steps.push({
      say: `bridge ${config.name} added`,
      undo: () => {
        bridge.close();
        this.bridges.delete(config.name);
      },
    });
    bridge.on("port-added", () => this.followLowestPort(managed));
    bridge.on("port-removed", () => this.followLowestPort(managed));
    Object.assign(managed.config.pathCost, config.pathCost);
    Object.assign(managed.config.portPriority, config.portPriority);
    delete managed.config.hostPort;
    if (config.hostPort) this.stepAddHostPort(managed, config.hostPort, "config", steps);
    for (const entry of config.ports) this.stepAddPort(managed, entry, "config", steps);
  }

  private stepDeleteBridge(managed: ManagedBridge, steps: Step[]): void {
    // Ports first, each undoable; then the (empty) bridge, re-created on undo.
    for (const p of [...managed.ports.values()]) this.stepDeletePort(managed, p, steps);
    if (managed.host) this.stepRemoveHostPort(managed, steps);
    const { hostPort: _, ...rest } = managed.config;
    const config = { ...rest, ports: [] };
    managed.bridge.close();
    this.bridges.delete(managed.name);
    steps.push({ say: `bridge ${managed.name} deleted`, undo: () => this.stepAddBridge(config, []) });
  }

  // ── host port ───────────────────────────────────────────────────────

  /** Give a bridge its own interface in the host (`uplinkMac`: what `mac: uplink` means, from a network). */
  addHostPort(bridgeName: string, config: HostPortConfig, origin: PortOrigin = "cli", uplinkMac?: string): string[] {
    const managed = this.bridge(bridgeName);
    return this.transaction((steps) => this.stepAddHostPort(managed, config, origin, steps, uplinkMac));
  }

  removeHostPort(bridgeName: string, byNetwork = false): string[] {
    const managed = this.bridge(bridgeName);
    if (!managed.host) throw new TapbridgeError("ENOENT", `bridge ${bridgeName} has no host port`);
    if (managed.network && !byNetwork) throw new TapbridgeError("EBUSY", `the host port of ${bridgeName} carries network ${managed.network}: stop the network first (tapbridge net-destroy ${managed.network})`);
    return this.transaction((steps) => this.stepRemoveHostPort(managed, steps));
  }

  private stepAddHostPort(managed: ManagedBridge, config: HostPortConfig, origin: PortOrigin, steps: Step[], uplinkMac?: string): void {
    if (managed.host) throw new TapbridgeError("EEXIST", `bridge ${managed.name} already has a host port (${managed.host.port.label})`);
    const label = config.netns ? `${managed.name}@${config.netns}` : managed.name;
    const owner = this.ownerOf(label);
    if (owner) throw new TapbridgeError("EBUSY", `interface ${label} is a port of bridge ${owner.name}: the host port of ${managed.name} needs that name`);
    const mac = chooseMac(config.mac, managed.name, managed.bridge, uplinkMac);
    const port = new HostPort({ name: managed.name, ...(config.netns ? { netns: config.netns } : {}), mac, ...(config.mtu ? { mtu: config.mtu } : {}) });
    try {
      managed.bridge.addPort(port, { ...config.config });
    } catch (error) {
      throw located(error, managed.config.where && [...managed.config.where, "host-port"]);
    }
    managed.host = { port, config, origin };
    if (origin === "config" || origin === "cli") managed.config = { ...managed.config, hostPort: config };
    this.refreshStpAddress(managed);
    this.log.info("host port added", { bridge: managed.name, port: port.label, mac: port.mac });
    steps.push({ say: `host port ${port.label} (${port.mac}) added to ${managed.name}`, undo: () => this.removeHostQuietly(managed) });
  }

  private stepRemoveHostPort(managed: ManagedBridge, steps: Step[]): void {
    const host = managed.host;
    if (!host) return;
    this.removeHostQuietly(managed);
    steps.push({ say: `host port ${host.port.label} removed from ${managed.name}`, undo: () => this.stepAddHostPort(managed, host.config, host.origin, [], host.port.mac) });
  }

  private removeHostQuietly(managed: ManagedBridge): void {
    const host = managed.host;
    if (!host) return;
    managed.host = undefined;
    const { hostPort: _, ...rest } = managed.config;
    managed.config = rest;
    if (!managed.bridge.isClosed && host.port.index >= 0) managed.bridge.removePort(host.port, "deleted");
  }

  /**
   * A reload's `host-port:` for a bridge that runs: added, removed (unless a network runs on it: then the network
   * keeps it), VLANs changed in place, or — another namespace, MAC or MTU — opened afresh when no network uses it.
   * A bridge a network created becomes the file's when the file lists it.
   */
  private stepHostPortKey(managed: ManagedBridge, want: BridgeConfig, steps: Step[]): void {
    if (managed.config.createdBy) {
      const by = managed.config.createdBy;
      delete managed.config.createdBy;
      steps.push({ say: "", undo: () => (managed.config = { ...managed.config, createdBy: by }) });
    }
    const host = managed.host;
    const next = want.hostPort;
    if (!next) {
      if (!host || (host.origin !== "config" && host.origin !== "cli")) return;
      if (managed.network) {
        const origin = host.origin;
        host.origin = "network";
        const { hostPort: _, ...rest } = managed.config;
        managed.config = rest;
        steps.push({ say: "", undo: () => ((host.origin = origin), (managed.config = { ...managed.config, hostPort: host.config })) });
        return;
      }
      this.stepRemoveHostPort(managed, steps);
      return;
    }
    if (!host) return this.stepAddHostPort(managed, next, "config", steps);
    if (host.config.netns !== next.netns || host.config.mtu !== next.mtu || host.config.mac !== next.mac) {
      if (managed.network) {
        throw located(new TapbridgeError("EBUSY", `the host port of bridge ${managed.name} carries network ${managed.network}: stop it (tapbridge net-destroy ${managed.network}) to change the host port's namespace, MAC or MTU`), want.where && [...want.where, "host-port"]);
      }
      this.stepRemoveHostPort(managed, steps);
      return this.stepAddHostPort(managed, next, "config", steps);
    }
    if (!sameOptions(host.config.options, next.options)) this.stepHostVlans(managed, next, steps);
    const origin = host.origin;
    host.origin = "config";
    managed.config = { ...managed.config, hostPort: next };
    steps.push({ say: "", undo: () => (host.origin = origin) });
  }

  /** The host port's VLANs (a reload that changes `host-port:` VLAN keys; `bridge vlan … self`). */
  private stepHostVlans(managed: ManagedBridge, config: HostPortConfig, steps: Step[]): void {
    const host = managed.host!;
    const before = host.config;
    managed.bridge.setPortVlans(host.port, pickVlans(config));
    host.config = config;
    if (managed.config.hostPort) managed.config = { ...managed.config, hostPort: config };
    steps.push({
      say: `host port ${host.port.label} of ${managed.name}: VLANs ${fmt(before.options)} → ${fmt(config.options)}`,
      undo: () => {
        managed.bridge.setPortVlans(host.port, pickVlans(before));
        host.config = before;
        if (managed.config.hostPort) managed.config = { ...managed.config, hostPort: before };
      },
    });
  }

  /** With STP on, the bridge identifier carries the host port's MAC, as Linux's carries the bridge device's. */
  private refreshStpAddress(managed: ManagedBridge): void {
    const mac = managed.host?.port.mac;
    if (mac && managed.config.params.stp) managed.bridge.setStp({ ...stpOptions(managed.config.params), address: mac });
  }

  /** Linux's lowest-port rule: the host port's MAC follows the bridge's attached interfaces. */
  private followLowestPort(managed: ManagedBridge): void {
    const host = managed.host;
    if (!host || host.config.mac !== "lowest-port" || host.port.index < 0 || managed.bridge.isClosed) return;
    const mac = lowestPortMac(managed.bridge);
    if (!mac || mac === host.port.mac) return;
    const was = host.port.mac;
    managed.bridge.localAddresses.setMac(host.port, mac);
    this.refreshStpAddress(managed);
    this.log.info("host port MAC follows the lowest port MAC", { bridge: managed.name, port: host.port.label, from: was, to: mac });
    this.setDeviceMac(host.port.netns, host.port.name, mac).catch((error: unknown) =>
      this.log.warn("host port MAC not changed on the device", { bridge: managed.name, port: host.port.label, mac, err: error }),
    );
  }

  // ── ports ───────────────────────────────────────────────────────────

  addPort(bridgeName: string, entry: PortEntry, origin: PortOrigin = "cli"): string[] {
    const managed = this.bridge(bridgeName);
    const present = managed.ports.get(entry.label);
    // A hook script and auto-attach may both add the same interface: the second adds nothing, but a
    // hook's options (a VM's VLAN, say) replace those of a port the pattern attached first.
    if (present && present.entry.kind === entry.kind && present.entry.persistent === entry.persistent) {
      if (present.origin === "auto" && origin !== "auto") present.origin = origin;
      if (sameOptions(present.entry.options, entry.options) || origin === "auto") return [];
      return this.transaction((steps) => this.stepPortOptions(managed, present, entry.options, steps));
    }
    return this.transaction((steps) => this.stepAddPort(managed, entry, origin, steps));
  }

  deletePort(bridgeName: string, label: string, byNetwork = false): string[] {
    const managed = this.bridge(bridgeName);
    const p = managed.port(label);
    if (p.origin === "network" && !byNetwork) {
      throw new TapbridgeError("EBUSY", `${p.entry.label} is the uplink of network ${managed.network ?? "?"}: stop the network to detach it (tapbridge net-destroy ${managed.network ?? "NAME"})`);
    }
    return this.transaction((steps) => this.stepDeletePort(managed, p, steps));
  }

  private stepAddPort(managed: ManagedBridge, entry: PortEntry, origin: PortOrigin, steps: Step[]): void {
    const owner = this.ownerOf(entry.label);
    if (owner) {
      throw new TapbridgeError("EBUSY", `interface ${entry.label} is already a port of bridge ${owner.name}${owner === managed ? "" : ": delete it there first (tapbridge delif " + owner.name + " " + entry.label + ")"}`);
    }
    let port: Port;
    try {
      port =
        entry.kind === "tap"
          ? new TapPort({ name: entry.name, ...(entry.netns ? { netns: entry.netns } : {}), persist: entry.persistent, ...(entry.mtu ? { mtu: entry.mtu } : {}), ...(entry.mac ? { mac: entry.mac } : {}) })
          : entry.kind === "bond"
            ? new BondPort({ name: entry.name, members: entry.members ?? [], ...(entry.netns ? { netns: entry.netns } : {}) })
            : entry.kind === "vxlan"
              ? vxlanPortFromConfig(entry.name, entry.netns, entry.config)
              : new PacketPort({ name: entry.name, ...(entry.netns ? { netns: entry.netns } : {}) });
      managed.bridge.addPort(port, { ...managed.portDefaults, ...entry.config, ...stpPortSettings(managed.config, entry.label) });
    } catch (error) {
      throw located(error, entry.where);
    }
    const mp: ManagedPort = { entry, port, origin };
    managed.ports.set(entry.label, mp);
    managed.config.ports.push(entry);
    steps.push({
      say: `port ${entry.label} added to ${managed.name}`,
      undo: () => this.removeQuietly(managed, entry.label),
    });
  }

  private stepDeletePort(managed: ManagedBridge, p: ManagedPort, steps: Step[]): void {
    this.removeQuietly(managed, p.entry.label, "deleted");
    steps.push({ say: `port ${p.entry.label} removed from ${managed.name}`, undo: () => this.stepAddPort(managed, p.entry, p.origin, []) });
  }

  private removeQuietly(managed: ManagedBridge, label: string, reason = "undone"): void {
    const p = managed.ports.get(label);
    if (!p) return;
    managed.ports.delete(label);
    managed.config.ports = managed.config.ports.filter((e) => e.label !== label);
    delete managed.config.pathCost[label];
    delete managed.config.portPriority[label];
    if (managed.bridge.isClosed) return;
    if (p.port.index >= 0) managed.bridge.removePort(p.port, reason);
    else managed.bridge.cancelReattach(label);
  }

  /**
   * The bridge closed a port by itself: its device or namespace was deleted.
   * An auto-attached port is forgotten (its pattern takes it again if it
   * returns); a configured one stays in the configuration, detached, and
   * the bridge re-attaches it when its device is back.
   */
  private portGone(managed: ManagedBridge, label: string, reason: string): void {
    if (reason === "removed" || reason === "closed") return;
    const p = managed.ports.get(label);
    if (!p) return;
    if (p.origin === "auto") {
      managed.ports.delete(label);
      managed.config.ports = managed.config.ports.filter((e) => e.label !== label);
      this.log.info("auto-attached port detached", { bridge: managed.name, port: label, reason });
    }
  }

  private portBack(managed: ManagedBridge, label: string): void {
    const p = managed.ports.get(label);
    const port = managed.bridge.findPort(label);
    if (p && port) p.port = port;
  }

  /** Change port options by name (`hairpin: true`, `learning: false`), live. Options not named keep their values. */
  setPortOptions(bridgeName: string, label: string, changes: Record<string, unknown>): string[] {
    const managed = this.bridge(bridgeName);
    const p = managed.port(label);
    return this.transaction((steps) => this.stepPortOptions(managed, p, { ...p.entry.options, ...changes }, steps));
  }

  private stepPortOptions(managed: ManagedBridge, p: ManagedPort, options: Record<string, unknown>, steps: Step[]): void {
    const config: PortConfig = {};
    for (const [key, value] of Object.entries(options)) applyPortOptionValue(config, key, value);
    checkPortConfig(config);
    const before = p.entry;
    // An option that goes away must take its default again; the six port flags are set in place,
    // anything else (VLANs, storm limits, …) by opening the port afresh — that port only.
    const dropped = Object.keys(before.options).filter((k) => !(k in options) && !(optionField(k) in SETTING_DEFAULTS));
    if (dropped.length > 0) {
      const cost = managed.config.pathCost[before.label];
      const prio = managed.config.portPriority[before.label];
      this.removeQuietly(managed, before.label, "reconfigured");
      this.stepAddPort(managed, { ...before, options: { ...options }, config }, p.origin, []);
      if (cost !== undefined) managed.config.pathCost[before.label] = cost;
      if (prio !== undefined) managed.config.portPriority[before.label] = prio;
      const now = managed.ports.get(before.label)!;
      steps.push({
        say: `port ${before.label} of ${managed.name}: reopened without ${dropped.join(", ")}`,
        undo: () => {
          this.removeQuietly(managed, before.label, "undone");
          this.stepAddPort(managed, before, now.origin, []);
        },
      });
      return;
    }
    managed.bridge.setPortSettings(p.port, { ...SETTING_DEFAULTS, ...managed.portDefaults, ...config });
    p.entry = { ...before, options: { ...options }, config };
    managed.config.ports = managed.config.ports.map((e) => (e.label === before.label ? p.entry : e));
    const changed = Object.keys({ ...before.options, ...options }).filter((k) => before.options[k] !== options[k]);
    steps.push({
      say: `port ${before.label} of ${managed.name}: ${changed.map((k) => `${k} ${fmt(before.options[k])} → ${fmt(options[k])}`).join(", ") || "unchanged"}`,
      undo: () => {
        managed.bridge.setPortSettings(p.port, { ...SETTING_DEFAULTS, ...managed.portDefaults, ...before.config });
        p.entry = before;
        managed.config.ports = managed.config.ports.map((e) => (e.label === before.label ? before : e));
      },
    });
  }

  /**
   * Flags every port of the bridge takes unless its own options set them (a private network: `{ isolated: true }`),
   * applied to the ports there now and to those that come; `{}` takes them back.
   */
  setPortDefaults(bridgeName: string, defaults: PortConfig): void {
    const managed = this.bridge(bridgeName);
    const before = managed.portDefaults;
    managed.portDefaults = { ...defaults };
    const keys = new Set([...Object.keys(before), ...Object.keys(defaults)]) as Set<keyof PortConfig>;
    for (const p of managed.ports.values()) {
      if (p.port.index < 0) continue;
      const change: PortConfig = {};
      for (const k of keys) if (p.entry.config[k] === undefined) (change as Record<string, unknown>)[k] = defaults[k] ?? (SETTING_DEFAULTS as Record<string, unknown>)[k];
      if (Object.keys(change).length) managed.bridge.setPortSettings(p.port, change);
    }
  }

  /** STP path cost / port priority of a port (kept for showstp and save; applied by STP when the build has it). */
  setPortStp(bridgeName: string, label: string, what: { pathCost?: number; priority?: number }): string[] {
    const managed = this.bridge(bridgeName);
    const p = managed.port(label);
    const said: string[] = [];
    managed.bridge.setPortSettings(p.port, {
      ...(what.pathCost !== undefined ? { cost: what.pathCost } : {}),
      ...(what.priority !== undefined ? { priority: linuxToStpPriority(what.priority) } : {}),
    });
    if (what.pathCost !== undefined) {
      managed.config.pathCost[p.entry.label] = what.pathCost;
      said.push(`port ${p.entry.label} of ${managed.name}: path-cost ${what.pathCost}`);
    }
    if (what.priority !== undefined) {
      managed.config.portPriority[p.entry.label] = what.priority;
      said.push(`port ${p.entry.label} of ${managed.name}: port-priority ${what.priority}`);
    }
    return said;
  }

  // ── bridge parameters ───────────────────────────────────────────────

  setParams(bridgeName: string, changes: Partial<BridgeParams>): string[] {
    const managed = this.bridge(bridgeName);
    return this.transaction((steps) => this.stepParams(managed, { ...managed.config.params, ...changes }, steps));
  }

  private stepParams(managed: ManagedBridge, params: BridgeParams, steps: Step[]): void {
    const before = managed.config.params;
    const changed = (Object.keys(params) as (keyof BridgeParams)[]).filter((k) => params[k] !== before[k]);
    if (changed.length === 0) return;
    // Spanning tree: started, stopped, or its parameters changed in place (ranges are checked by setStp; a refusal changes nothing).
    const stpChanged = changed.some((k) => k !== "ageingTime") && (params.stp || before.stp);
    if (stpChanged) managed.bridge.setStp(params.stp ? withAddress(stpOptions(params), managed) : false);
    if (params.ageingTime !== before.ageingTime) managed.bridge.ageingTime = params.ageingTime;
    managed.config = { ...managed.config, params };
    steps.push({
      say: `bridge ${managed.name}: ${changed.map((k) => `${PARAM_KEYS[k]} ${fmt(before[k])} → ${fmt(params[k])}`).join(", ")}`,
      undo: () => {
        if (stpChanged) managed.bridge.setStp(before.stp ? withAddress(stpOptions(before), managed) : false);
        managed.bridge.ageingTime = before.ageingTime;
        managed.config = { ...managed.config, params: before };
      },
    });
  }

  /**
   * fdb-max-learned, fdb-full-policy and the mac-flap-* keys, changed in place
   * (absent: no limit but fdb-max-entries; evict-from-largest-port; the flap defaults).
   */
  private stepFdbKeys(managed: ManagedBridge, want: BridgeConfig, steps: Step[]): void {
    const before = { maxLearned: managed.config.fdbMaxLearned, fullPolicy: managed.config.fdbFullPolicy, macFlap: managed.config.macFlap };
    const after = { maxLearned: want.fdbMaxLearned, fullPolicy: want.fdbFullPolicy, macFlap: want.macFlap };
    const changed: string[] = [];
    if (after.maxLearned !== before.maxLearned) changed.push(`fdb-max-learned ${fmt(before.maxLearned)} → ${fmt(after.maxLearned)}`);
    if (after.fullPolicy !== before.fullPolicy) changed.push(`fdb-full-policy ${fmt(before.fullPolicy)} → ${fmt(after.fullPolicy)}`);
    const flapText = (f: MacFlapOptions | undefined) => (f ? Object.entries(f).map(([k, v]) => `${k} ${v}`).join(", ") : undefined);
    if (flapText(after.macFlap) !== flapText(before.macFlap)) changed.push(`mac-flap ${fmt(flapText(before.macFlap))} → ${fmt(flapText(after.macFlap))}`);
    if (changed.length === 0) return;
    const apply = (o: typeof before) =>
      managed.bridge.setFdbOptions({ maxLearned: o.maxLearned ?? 0, fullPolicy: o.fullPolicy ?? DEFAULT_FULL_POLICY, macFlap: { ...DEFAULT_MAC_FLAP, ...o.macFlap } });
    try {
      apply(after);
    } catch (error) {
      throw located(error, want.where);
    }
    const keep = (o: typeof before) => {
      const config = { ...managed.config, fdbMaxLearned: o.maxLearned, fdbFullPolicy: o.fullPolicy, macFlap: o.macFlap };
      if (o.maxLearned === undefined) delete config.fdbMaxLearned;
      if (o.fullPolicy === undefined) delete config.fdbFullPolicy;
      if (o.macFlap === undefined) delete config.macFlap;
      managed.config = config;
    };
    keep(after);
    steps.push({
      say: `bridge ${managed.name}: ${changed.join(", ")}`,
      undo: () => {
        apply(before);
        keep(before);
      },
    });
  }

  /** default-pvid, changed in place: ports still in the old default VLAN move to the new one (Linux default_pvid). */
  private stepDefaultPvid(managed: ManagedBridge, want: BridgeConfig, steps: Step[]): void {
    const before = managed.config.defaultPvid;
    if (want.defaultPvid === before) return;
    const bridge = managed.bridge;
    const was = bridge.defaultPvid;
    bridge.defaultPvid = want.defaultPvid ?? 1;
    managed.config = { ...managed.config, ...(want.defaultPvid !== undefined ? { defaultPvid: want.defaultPvid } : {}) };
    if (want.defaultPvid === undefined) delete managed.config.defaultPvid;
    steps.push({
      say: `bridge ${managed.name}: default-pvid ${fmt(before)} → ${fmt(want.defaultPvid)}`,
      undo: () => {
        bridge.defaultPvid = was;
        managed.config = { ...managed.config, ...(before !== undefined ? { defaultPvid: before } : {}) };
        if (before === undefined) delete managed.config.defaultPvid;
      },
    });
  }

  /** vlan-filtering and vlan-protocol, changed in place. */
  private stepVlanKeys(managed: ManagedBridge, want: BridgeConfig, steps: Step[]): void {
    const before = { filtering: managed.config.vlanFiltering, protocol: managed.config.vlanProtocol };
    const bridge = managed.bridge;
    const was = { filtering: bridge.vlanFiltering, protocol: bridge.vlanProtocol };
    try {
      if (want.vlanFiltering !== before.filtering && want.vlanFiltering !== undefined) bridge.vlanFiltering = want.vlanFiltering;
      if (want.vlanProtocol !== before.protocol) bridge.vlanProtocol = VLAN_PROTOCOLS[want.vlanProtocol ?? "802.1q"];
    } catch (error) {
      throw located(error, want.where && [...want.where, "vlan-filtering"]);
    }
    if (want.vlanFiltering === before.filtering && want.vlanProtocol === before.protocol) return;
    managed.config = { ...managed.config, vlanFiltering: want.vlanFiltering!, vlanProtocol: want.vlanProtocol! };
    steps.push({
      say: `bridge ${managed.name}: vlan-filtering ${fmt(before.filtering)} → ${fmt(want.vlanFiltering)}, vlan-protocol ${fmt(before.protocol)} → ${fmt(want.vlanProtocol)}`,
      undo: () => {
        bridge.vlanProtocol = was.protocol;
        if (bridge.vlanFiltering !== was.filtering) bridge.vlanFiltering = was.filtering;
        managed.config = { ...managed.config, vlanFiltering: before.filtering!, vlanProtocol: before.protocol! };
      },
    });
  }

  /** `bridge vlan add/del`: change a port's VLANs live; the port's options follow in Linux terms (vlans, untagged, pvid). */
  /**
   * `bridge vlan add|del dev PORT vid N[-M]`: a VID or a range of them (all
   * or nothing: a range to delete must be wholly the port's; a PVID is one VID).
   */
  changeVlan(
    bridgeName: string,
    label: string,
    change: { add?: { vid: number; vidEnd?: number; pvid: boolean; untagged: boolean }; del?: number; delEnd?: number },
  ): string[] {
    const managed = this.bridge(bridgeName);
    // The host port is `dev BRIDGE … self` in Linux's words.
    const host = managed.host && (label === managed.host.port.label || label === managed.host.port.name) ? managed.host : undefined;
    const p = host ? { port: host.port, entry: { label: host.port.label, options: host.config.options } } : managed.port(label);
    const bridge = managed.bridge;
    const range = (from: number, to = from) => {
      if (to < from) throw new TapbridgeError("EINVAL", `the VLAN range ${from}-${to} runs backwards (write ${to}-${from})`);
      return Array.from({ length: to - from + 1 }, (_, i) => from + i);
    };
    if (change.add) {
      const vids = range(change.add.vid, change.add.vidEnd);
      if (change.add.pvid && vids.length > 1) throw new TapbridgeError("EINVAL", `a range of VLANs (${change.add.vid}-${change.add.vidEnd}) cannot be the PVID: a port has one PVID`);
      for (const vid of vids) bridge.addVlan(p.port, vid, change.add);
    }
    if (change.del !== undefined) {
      const vids = range(change.del, change.delEnd);
      const member = new Set(bridge.vlans().find((v) => v.port === p.port.label)?.vlans.map((v) => v.vid) ?? []);
      const missing = vids.filter((v) => !member.has(v));
      if (missing.length) throw new TapbridgeError("ENOENT", `port ${p.entry.label} is not a member of VLAN ${missing.length === 1 ? missing[0] : formatVidList(missing)}`);
      for (const vid of vids) bridge.deleteVlan(p.port, vid);
    }
    const entries = bridge.vlans().find((v) => v.port === p.port.label)?.vlans ?? [];
    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(p.entry.options)) if (!VLAN_OPTION_KEYS.has(k)) options[k] = v;
    const tagged = entries.filter((e) => !e.untagged).map((e) => e.vid);
    const untagged = entries.filter((e) => e.untagged).map((e) => e.vid);
    const pvid = entries.find((e) => e.pvid)?.vid;
    const list = (vids: number[]) => (vids.length === 1 ? vids[0] : vids);
    if (tagged.length) options.vlans = list(tagged);
    if (untagged.length) options.untagged = list(untagged);
    if (pvid !== undefined) options.pvid = pvid;
    const config: PortConfig = {};
    for (const [key, value] of Object.entries(options)) applyPortOptionValue(config, key, value);
    if (host) {
      host.config = { ...host.config, options, config };
      if (managed.config.hostPort) managed.config = { ...managed.config, hostPort: host.config };
    } else {
      const mp = p as ManagedPort;
      mp.entry = { ...mp.entry, options, config };
      managed.config.ports = managed.config.ports.map((e) => (e.label === mp.entry.label ? mp.entry : e));
    }
    const vids = (from: number, to?: number) => (to !== undefined && to !== from ? `${from}-${to}` : `${from}`);
    return [
      change.add
        ? `port ${p.entry.label} of ${managed.name}: vlan ${vids(change.add.vid, change.add.vidEnd)}${change.add.pvid ? " pvid" : ""}${change.add.untagged ? " untagged" : ""} added`
        : `port ${p.entry.label} of ${managed.name}: vlan ${vids(change.del!, change.delEnd)} deleted`,
    ];
  }

  // ── whole configurations ────────────────────────────────────────────

  /**
   * Make the running state match `config`: bridges and ports that are not
   * in it go (auto-attached ports of a bridge that stays are kept), new ones
   * come, changed settings change in place. All or nothing.
   */
  apply(config: DaemonConfig): string[] {
    return this.transaction((steps) => {
      const wanted = new Map(config.bridges.map((b) => [b.name, b]));
      // What goes: ports not wanted where they are (or wanted with another kind, netns, persistence).
      const leaving: { managed: ManagedBridge; p: ManagedPort }[] = [];
      for (const managed of this.bridges.values()) {
        const want = wanted.get(managed.name);
        const keep = new Map((want?.ports ?? []).map((e) => [e.label, e]));
        for (const p of managed.ports.values()) {
          const next = keep.get(p.entry.label);
          // A network's uplink stays while the network runs; the network detaches it when it stops.
          const stays = p.origin === "network" || (want !== undefined && (next ? samePort(p.entry, next) : p.origin === "auto" && matchesAny(p.entry.name, want.attachPatterns)));
          if (!stays) leaving.push({ managed, p });
        }
      }
      const leavingLabels = new Set(leaving.map((l) => l.p.entry.label));
      // Phase 1: everything that may fail and disturbs no running port — new bridges, new ports, settings.
      // A failure here is undone without having touched the traffic of any port that was running.
      const afterRemovals: { bridge: string; entry: PortEntry }[] = [];
      for (const want of config.bridges) {
        let managed = this.bridges.get(want.name);
        if (!managed) {
          this.stepAddBridge({ ...want, ports: [] }, steps);
          managed = this.bridge(want.name);
        } else {
          try {
            this.stepParams(managed, want.params, steps);
          } catch (error) {
            throw located(error, want.where && [...want.where, "parameters"]);
          }
          this.stepVlanKeys(managed, want, steps);
          this.stepDefaultPvid(managed, want, steps);
          this.stepFdbKeys(managed, want, steps);
          this.stepHostPortKey(managed, want, steps);
        }
        for (const entry of want.ports) {
          const p = managed.ports.get(entry.label);
          if (p && !leavingLabels.has(entry.label)) {
            p.origin = "config";
            if (!sameOptions(p.entry.options, entry.options)) this.stepPortOptions(managed, p, entry.options, steps);
            const now = managed.ports.get(entry.label)!;
            now.entry = { ...now.entry, where: entry.where! };
            const cost = want.pathCost[entry.label];
            const prio = want.portPriority[entry.label];
            if ((cost !== undefined && cost !== managed.config.pathCost[entry.label]) || (prio !== undefined && prio !== managed.config.portPriority[entry.label])) {
              const was = { cost: managed.config.pathCost[entry.label], prio: managed.config.portPriority[entry.label] };
              this.setPortStp(want.name, entry.label, { ...(cost !== undefined ? { pathCost: cost } : {}), ...(prio !== undefined ? { priority: prio } : {}) });
              steps.push({
                say: `port ${entry.label} of ${want.name}: path-cost ${fmt(was.cost)} → ${fmt(cost)}, port-priority ${fmt(was.prio)} → ${fmt(prio)}`,
                undo: () => this.setPortStp(want.name, entry.label, { ...(was.cost !== undefined ? { pathCost: was.cost } : {}), ...(was.prio !== undefined ? { priority: was.prio } : {}) }),
              });
            }
          } else if (leavingLabels.has(entry.label)) afterRemovals.push({ bridge: want.name, entry });
          else this.stepAddPort(managed, entry, "config", steps);
        }
        const before = managed.config;
        const m = managed;
        managed.config = { ...managed.config, attachPatterns: want.attachPatterns, pathCost: { ...want.pathCost }, portPriority: { ...want.portPriority } };
        steps.push({
          say: before.attachPatterns.join(",") !== want.attachPatterns.join(",") ? `bridge ${want.name}: attach-patterns ${fmt(want.attachPatterns)}` : "",
          undo: () => (m.config = { ...m.config, attachPatterns: before.attachPatterns, pathCost: before.pathCost, portPriority: before.portPriority }),
        });
      }
      // Phase 2: what goes.
      for (const { managed, p } of leaving) if (managed.ports.get(p.entry.label) === p) this.stepDeletePort(managed, p, steps);
      // A bridge a network created is the network's to remove; so becomes one the file no longer lists while a network runs on it.
      for (const managed of [...this.bridges.values()]) {
        if (wanted.has(managed.name) || managed.config.createdBy) continue;
        if (managed.network) {
          const m = managed;
          m.config = { ...m.config, createdBy: m.network! };
          steps.push({ say: "", undo: () => delete m.config.createdBy });
        } else this.stepDeleteBridge(managed, steps);
      }
      // Phase 3: ports that had to leave first (moved to another bridge, or changed kind).
      for (const { bridge, entry } of afterRemovals) this.stepAddPort(this.bridge(bridge), entry, "config", steps);
    });
  }

  /**
   * The running state as a config (what `tapbridge save` writes). Auto-attached ports are left out: they come back by
   * pattern; so are what networks made (their bridges, uplinks, host ports): the networks bring them back.
   */
  runningConfig(base: Omit<DaemonConfig, "bridges"> = {}): DaemonConfig {
    return {
      ...base,
      bridges: [...this.bridges.values()]
        .filter((b) => !b.config.createdBy)
        .map((b) => ({ ...b.config, ports: [...b.ports.values()].filter((p) => p.origin !== "auto" && p.origin !== "network").map((p) => p.entry) })),
    };
  }

  close(): void {
    for (const b of this.bridges.values()) b.bridge.close();
    this.bridges.clear();
  }

  /** Run steps; on an error undo them in reverse and rethrow. Returns what was done. */
  private transaction(body: (steps: Step[]) => void): string[] {
    const steps: Step[] = [];
    try {
      body(steps);
    } catch (error) {
      for (const step of steps.reverse()) {
        try {
          step.undo();
        } catch (undoError) {
          this.log.error("undoing a change failed", { change: step.say, err: undoError });
        }
      }
      throw error;
    }
    return steps.map((s) => s.say).filter((say) => say !== "");
  }
}

/** The PortConfig field an option name sets ("mcast-flood" → "mcastFlood"). */
function optionField(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

const VLAN_PROTOCOLS = { "802.1q": "802.1Q", "802.1ad": "802.1ad" } as const;
const VLAN_OPTION_KEYS = new Set(["access", "trunk", "native", "pvid", "vlans", "untagged"]);

const PARAM_KEYS: Record<keyof BridgeParams, string> = {
  stp: "stp",
  stpProtocol: "stp-protocol",
  priority: "priority",
  forwardDelay: "forward-delay",
  helloTime: "hello-time",
  maxAge: "max-age",
  ageingTime: "ageing-time",
};

function fmt(v: unknown): string {
  return v === undefined ? "(default)" : typeof v === "string" ? v : JSON.stringify(v);
}

function samePort(a: PortEntry, b: PortEntry): boolean {
  return a.kind === b.kind && a.name === b.name && a.netns === b.netns && a.persistent === b.persistent && a.mtu === b.mtu && a.mac === b.mac &&
    (a.members ?? []).join(",") === (b.members ?? []).join(",");
}

function sameOptions(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return false;
  return true;
}

/** Shell-style match of an interface name: `*`, `?` and `[...]`. */
export function matchesAny(name: string, patterns: string[]): boolean {
  return patterns.some((p) => globToRegExp(p).test(name));
}

export function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        const body = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
        re += `[${body.startsWith("!") ? "^" + body.slice(1) : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** An error found while applying a config entry, with where the entry is in the file. */
export class LocatedError extends TapbridgeError {
  constructor(
    readonly where: KeyPath,
    cause: TapbridgeError,
  ) {
    super(cause.code, cause.message, cause);
    this.name = "LocatedError";
  }
}

function located(error: unknown, where: KeyPath | undefined): unknown {
  return where && error instanceof TapbridgeError && !(error instanceof LocatedError) ? new LocatedError(where, error) : error;
}

/** STP options with the host port's MAC as the bridge address, when there is a host port. */
function withAddress(options: StpOptions, managed: ManagedBridge): StpOptions {
  const mac = managed.host?.port.mac;
  return mac ? { ...options, address: mac } : options;
}

/** The VLAN keys of a host port's config, as setPortVlans takes them (none: the default PVID). */
function pickVlans(config: HostPortConfig): PortVlanSpec {
  const c = config.config;
  const spec: PortVlanSpec = {};
  for (const key of ["access", "trunk", "native", "pvid", "vlans", "untagged"] as const) if (c[key] !== undefined) (spec as Record<string, unknown>)[key] = c[key];
  return Object.keys(spec).length ? spec : { pvid: 1, untagged: [1] };
}

/** `ip link set dev NAME address MAC`, in the namespace of the host port. */
async function setMacWithIp(netns: string | undefined, ifname: string, mac: string): Promise<void> {
  const r = await exec([...netnsPrefix(netns), "ip", "link", "set", "dev", ifname, "address", mac]);
  if (r.code !== 0) throw new TapbridgeError("ECOMMAND", `ip link set dev ${ifname} address ${mac} failed: ${r.stderr.trim()}`);
}

/** The bridge's spanning tree options from its parameters. */
function stpOptions(p: BridgeParams): StpOptions {
  return { protocol: p.stpProtocol, priority: p.priority, helloTime: p.helloTime, maxAge: p.maxAge, forwardDelay: p.forwardDelay };
}

/**
 * Port priority: brctl, sysfs and netplan speak Linux's 0-63 (port id =
 * priority << 10 | port number); the STP engine and the `priority=` port
 * option speak 802.1D's byte (port id = priority << 8 | number): ×4.
 */
export function linuxToStpPriority(p: number): number {
  return p * 4;
}

export function stpToLinuxPriority(p: number): number {
  return Math.floor(p / 4);
}

/** netplan's path-cost / port-priority of a port, as port settings. */
function stpPortSettings(config: BridgeConfig, label: string): { cost?: number; priority?: number } {
  const cost = config.pathCost[label];
  const prio = config.portPriority[label];
  return { ...(cost !== undefined ? { cost } : {}), ...(prio !== undefined ? { priority: linuxToStpPriority(prio) } : {}) };
}

export { DEFAULT_PARAMS };
