/**
 * The daemon's networks: which are defined (the config file's `networks:`,
 * and `tapbridge net-define`), which run, and everything they changed on
 * the host, kept in the state file while they run.
 *
 * Life cycle, after virsh: define → start (net-start, or autostart with the
 * daemon) → destroy (net-destroy, and every network at daemon shutdown) →
 * undefine. A reload makes the defined networks those of the file: a
 * network that went or changed is stopped (and a changed one started
 * again), a new one with autostart is started. Checks that need the system
 * run for every network a reload would start before anything changes, so a
 * reload that cannot work is refused whole.
 *
 * After a crash, the start of the next daemon finds the state file the dead
 * one left and undoes every action in it (networks.undo.ts), then starts
 * what its config says — a clean start, with dnsmasq's leases kept.
 *
 * One operation at a time: requests that change networks wait for each
 * other (they run commands and await them).
 */
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { TapbridgeError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { DEFAULT_PARAMS, portEntryFromOptions } from "../config.js";
import type { Daemon } from "../daemon.js";
import { checkNetworks, hasHostPort, type NetworkConfig } from "./config.js";
import { isOurDnsmasq, readLeases, type Lease } from "./dnsmasq.js";
import { parseIp } from "./ip.js";
import { HostNs } from "./host-ns.js";
import { NetworkRun, networkDir } from "./network.js";
import { emptyState, StateFile, type Action, type StateData } from "./state.js";
import { SysctlLedger } from "./sysctls.js";
import { undoAll, type BridgeSide } from "./undo.js";

export interface NetworkRow {
  name: string;
  active: boolean;
  autostart: boolean;
  persistent: boolean;
  mode: string;
  bridge: string;
}

export interface NetworkPlan {
  next: NetworkConfig[];
  /** The host port namespace of each bridge the config names. */
  hostNetns: Map<string, string | undefined>;
  /** Definitions of the networks it stops, to start them again if the rest of the reload fails. */
  previous: Map<string, NetworkConfig>;
  /** Running networks that go or change. */
  stop: string[];
  /** Networks to start once the bridges are applied. */
  start: NetworkConfig[];
}

export class NetworkManager {
  private defined = new Map<string, NetworkConfig>();
  private readonly runs = new Map<string, NetworkRun>();
  private state: StateData = emptyState();
  private readonly file: StateFile;
  readonly ledger: SysctlLedger;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly bridges: BridgeSide;

  constructor(
    private readonly daemon: Daemon,
    readonly runtimeDir: string,
    private readonly log: Logger,
  ) {
    this.file = new StateFile(join(runtimeDir, "networks", "state.json"));
    this.ledger = new SysctlLedger(() => this.state, () => this.save(), log);
    this.bridges = bridgeSide(daemon);
  }

  /** Run `fn` after every operation before it. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private save(): void {
    this.state.pid = process.pid;
    this.file.write(this.state);
  }

  // ── after a crash ───────────────────────────────────────────────────

  /** Undo what a daemon that died left (its state file); returns what was done, for the log. */
  async recover(): Promise<string[]> {
    let leftover: StateData | undefined;
    try {
      leftover = this.file.read();
    } catch (error) {
      this.log.error("network state file unreadable: nothing recovered", { file: this.file.path, err: error });
      return [];
    }
    if (!leftover) return [];
    if (leftover.pid !== process.pid && isLiveDaemon(leftover.pid)) {
      throw new TapbridgeError("EBUSY", `another tapbridge daemon (pid ${leftover.pid}) runs networks from ${this.runtimeDir}: stop it first`);
    }
    this.state = leftover;
    const said: string[] = [];
    for (const name of Object.keys(leftover.networks).reverse()) {
      const n = leftover.networks[name]!;
      const failed = await undoAll([...n.actions], { network: name, ns: new HostNs(n.netns), ledger: this.ledger, log: this.log }, (left) => {
        n.actions = left;
        this.save();
      });
      delete leftover.networks[name];
      this.save();
      said.push(`network ${name}: what the last daemon left was undone (${n.mode}, bridge ${n.bridge})${failed.length ? `; failed: ${failed.join("; ")}` : ""}`);
    }
    await this.ledger.restoreAll();
    this.state = emptyState();
    this.save();
    if (said.length) this.log.warn("networks cleaned after a crash", { changes: said });
    return said;
  }

  // ── the config file ─────────────────────────────────────────────────

  /** What a config's networks would change (`bridges`: the config's, for their host ports' namespaces). */
  plan(next: NetworkConfig[], bridges: { name: string; hostPort?: { netns?: string } }[] = []): NetworkPlan {
    const byName = new Map(next.map((n) => [n.name, n]));
    const stop: string[] = [];
    const start: NetworkConfig[] = [];
    for (const [name, run] of this.runs) {
      const n = byName.get(name);
      if (n && sameNetwork(n, run.config)) continue;
      stop.push(name);
      if (n) start.push(n);
    }
    for (const n of next) if (n.autostart && !this.runs.has(n.name) && (!this.defined.has(n.name) || !sameNetwork(n, this.defined.get(n.name)!))) start.push(n);
    const hostNetns = new Map(bridges.map((b) => [b.name, b.hostPort?.netns]));
    const previous = new Map(stop.map((name) => [name, this.runs.get(name)!.config]));
    return { next, hostNetns, previous, stop, start };
  }

  /** Read-only checks of every network a plan starts (throws the first problem). */
  async preflight(plan: NetworkPlan): Promise<void> {
    for (const n of plan.start) await this.newRun(n, plan.hostNetns.has(n.bridge) ? plan.hostNetns.get(n.bridge) : undefined).preflight();
  }

  /** The rest of a reload failed: the networks it stopped run again as they were. */
  async restartStopped(plan: NetworkPlan): Promise<void> {
    for (const [name, config] of plan.previous) {
      try {
        await this.startRun(config);
      } catch (error) {
        this.log.error("a network stopped by a failed reload did not start again", { network: name, err: error });
      }
    }
  }

  async stopPlanned(plan: NetworkPlan): Promise<string[]> {
    const said: string[] = [];
    for (const name of plan.stop) said.push(...(await this.stopRun(name)));
    return said;
  }

  /** Start what the plan starts and take its definitions. A network that fails is undone and named in the error. */
  async startPlanned(plan: NetworkPlan): Promise<string[]> {
    this.defined = new Map(plan.next.map((n) => [n.name, n]));
    const said: string[] = [];
    for (const n of plan.start) said.push(await this.startRun(n));
    return said;
  }

  // ── virsh's verbs ───────────────────────────────────────────────────

  list(all: boolean): NetworkRow[] {
    const names = new Set([...this.defined.keys(), ...this.runs.keys()]);
    return [...names]
      .sort()
      .map((name) => {
        const c = this.runs.get(name)?.config ?? this.defined.get(name)!;
        return { name, active: this.runs.has(name), autostart: c.autostart, persistent: this.defined.has(name), mode: c.mode, bridge: c.bridge };
      })
      .filter((r) => all || r.active);
  }

  config(name: string): NetworkConfig {
    const c = this.defined.get(name) ?? this.runs.get(name)?.config;
    if (!c) throw new TapbridgeError("ENOENT", `network ${name} is not defined (tapbridge net-list --all lists them)`);
    return c;
  }

  /** The defined networks (what `save` writes). */
  definitions(): NetworkConfig[] {
    return [...this.defined.values()];
  }

  info(name: string): Record<string, unknown> {
    const c = this.config(name);
    const run = this.runs.get(name);
    return {
      name,
      active: run !== undefined,
      persistent: this.defined.has(name),
      autostart: c.autostart,
      mode: c.mode,
      bridge: c.bridge,
      hostPort: hasHostPort(c.mode) ? c.bridge : null,
      addresses: c.addresses,
      uplink: c.uplink ?? null,
      dhcp: c.dhcp ? `${c.dhcp.start}-${c.dhcp.end}` : null,
      dnsmasqPid: run?.dnsmasqPid ?? null,
      directory: networkDir(this.runtimeDir, name),
      changes: run ? run.actions.map(describeAction) : [],
      ...(run && !sameNetwork(run.config, this.defined.get(name) ?? run.config) ? { pending: "the definition changed: it applies at the next start" } : {}),
    };
  }

  /** Running networks that run dnsmasq, and whether it is still alive. */
  dnsmasqHealth(): [network: string, up: boolean][] {
    const out: [string, boolean][] = [];
    for (const [name, run] of this.runs) {
      const d = run.actions.find((a): a is Extract<Action, { kind: "dnsmasq" }> => a.kind === "dnsmasq");
      if (d) out.push([name, isOurDnsmasq(d.pid, d.conf)]);
    }
    return out;
  }

  /** Running networks that serve DHCP, with the size of their range. */
  dhcpNetworks(): { name: string; size: number }[] {
    const out: { name: string; size: number }[] = [];
    for (const [name, run] of this.runs) {
      const d = run.config.dhcp;
      if (d) out.push({ name, size: Number(parseIp(d.end).address - parseIp(d.start).address) + 1 });
    }
    return out;
  }

  leases(name: string): Lease[] {
    this.config(name);
    return readLeases(networkDir(this.runtimeDir, name));
  }

  /** net-define: add or replace a definition (a running network keeps its old one until restarted). */
  define(config: NetworkConfig): string[] {
    const others = [...this.defined.values()].filter((n) => n.name !== config.name);
    const problems: string[] = [];
    const bridges = [...this.daemon.bridges.values()].map((b) => ({ name: b.name, ...(b.config.hostPort ? { hostPort: b.config.hostPort } : {}), ports: b.config.ports }));
    checkNetworks([...others, config], bridges, (_path, sentence) => problems.push(sentence));
    if (problems.length) throw new TapbridgeError("EINVAL", problems.join("; "));
    const was = this.defined.has(config.name);
    this.defined.set(config.name, config);
    return [`network ${config.name} ${was ? "redefined" : "defined"}${this.runs.has(config.name) ? " (it runs with its old definition until restarted)" : ""}`];
  }

  undefine(name: string): string[] {
    this.config(name);
    if (this.runs.has(name)) throw new TapbridgeError("EBUSY", `network ${name} is active: stop it first (tapbridge net-destroy ${name})`);
    this.defined.delete(name);
    return [`network ${name} undefined`];
  }

  autostart(name: string, on: boolean): string[] {
    const c = this.config(name);
    if (this.defined.has(name)) this.defined.set(name, { ...c, autostart: on });
    return [`network ${name}: autostart ${on ? "on" : "off"}`];
  }

  async start(name: string): Promise<string[]> {
    const c = this.config(name);
    if (this.runs.has(name)) throw new TapbridgeError("EEXIST", `network ${name} is already active`);
    return [await this.startRun(c)];
  }

  async destroy(name: string): Promise<string[]> {
    this.config(name);
    if (!this.runs.has(name)) throw new TapbridgeError("ENOENT", `network ${name} is not active`);
    return this.stopRun(name);
  }

  /** Shutdown: every network stops, the last started first. */
  async stopAll(): Promise<void> {
    for (const name of [...this.runs.keys()].reverse()) await this.stopRun(name);
  }

  // ── runs ────────────────────────────────────────────────────────────

  private newRun(n: NetworkConfig, plannedNetns?: string): NetworkRun {
    const netns = plannedNetns ?? this.daemon.bridges.get(n.bridge)?.host?.port.netns ?? this.daemon.bridges.get(n.bridge)?.config.hostPort?.netns;
    return new NetworkRun(n, netns, {
      bridges: this.bridges,
      ledger: this.ledger,
      log: this.log,
      dir: networkDir(this.runtimeDir, n.name),
      recorded: (actions: Action[]) => {
        const entry = this.state.networks[n.name];
        if (entry) entry.actions = [...actions];
        this.save();
      },
    });
  }

  private async startRun(n: NetworkConfig): Promise<string> {
    const run = this.newRun(n);
    this.state.networks[n.name] = { ...(run.netns !== undefined ? { netns: run.netns } : {}), bridge: n.bridge, mode: n.mode, startedAt: new Date().toISOString(), actions: [] };
    try {
      await run.start();
    } catch (error) {
      delete this.state.networks[n.name];
      this.save();
      throw error;
    }
    this.runs.set(n.name, run);
    this.log.info("network started", { network: n.name, mode: n.mode, bridge: n.bridge, addresses: n.addresses, uplink: n.uplink ?? null, dnsmasqPid: run.dnsmasqPid ?? null, actions: run.actions.length });
    return `network ${n.name} started (${n.mode}, bridge ${n.bridge})`;
  }

  private async stopRun(name: string): Promise<string[]> {
    const run = this.runs.get(name);
    if (!run) return [];
    const failed = await run.stop();
    this.runs.delete(name);
    delete this.state.networks[name];
    this.save();
    this.log.info("network stopped", { network: name, ...(failed.length ? { failed } : {}) });
    return [`network ${name} stopped${failed.length ? ` (not all undone: ${failed.join("; ")})` : ""}`];
  }
}

function sameNetwork(a: NetworkConfig, b: NetworkConfig): boolean {
  const strip = ({ where: _w, autostart: _a, ...rest }: NetworkConfig) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

function describeAction(a: Action): string {
  switch (a.kind) {
    case "bridge":
      return `bridge ${a.bridge} created`;
    case "host-port":
      return `host port ${a.name} created`;
    case "port":
      return `${a.label} attached to ${a.bridge}`;
    case "private":
      return `ports of ${a.bridge} isolated from one another`;
    case "rename":
      return `${a.from} renamed ${a.to}`;
    case "address":
      return `address ${a.cidr} on ${a.dev}`;
    case "moved-address":
      return `address ${a.cidr} moved from ${a.from} to ${a.to}`;
    case "moved-route":
      return `route ${a.spec.join(" ")} moved from ${a.from} to ${a.to}`;
    case "sysctl":
      return `sysctl ${a.key} held`;
    case "nft":
      return `nftables table ${a.family} ${a.table}`;
    case "dnsmasq":
      return `dnsmasq pid ${a.pid}`;
  }
}

/** Whether a pid is a running tapbridge daemon. */
function isLiveDaemon(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.some((w) => w.includes("tapbridge")) && argv.includes("daemon");
  } catch {
    return false;
  }
}

/** What networks ask of the daemon's bridges. */
function bridgeSide(daemon: Daemon): BridgeSide {
  return {
    hasBridge: (b) => daemon.bridges.has(b),
    createBridge: (b, network) => void daemon.addBridge({ name: b, params: { ...DEFAULT_PARAMS }, pathCost: {}, portPriority: {}, attachPatterns: [], ports: [], createdBy: network }),
    deleteBridge: (b, network) => {
      if (daemon.bridges.get(b)?.config.createdBy === network) daemon.deleteBridge(b, true);
    },
    hostPort: (b) => {
      const h = daemon.bridges.get(b)?.host;
      return h && { label: h.port.label, name: h.port.name, ...(h.port.netns !== undefined ? { netns: h.port.netns } : {}), mac: h.port.mac ?? "", origin: h.origin };
    },
    addHostPort: (b, netns, mac, uplinkMac) => {
      daemon.addHostPort(b, { ...(netns !== undefined ? { netns } : {}), mac, options: {}, config: {} }, "network", uplinkMac);
      return { mac: daemon.bridge(b).host!.port.mac ?? "" };
    },
    removeHostPort: (b) => {
      if (daemon.bridges.get(b)?.host?.origin === "network") daemon.removeHostPort(b, true);
    },
    hasPort: (b, label) => daemon.bridges.get(b)?.ports.has(label) ?? false,
    addPort: (b, label, options) => void daemon.addPort(b, portEntryFromOptions("attach", label, options), "network"),
    deletePort: (b, label) => {
      if (daemon.bridges.get(b)?.ports.get(label)?.origin === "network") daemon.deletePort(b, label, true);
    },
    setPrivate: (b, on) => daemon.setPortDefaults(b, on ? { isolated: true } : {}),
    setNetwork: (b, network) => {
      const m = daemon.bridges.get(b);
      if (m) m.network = network;
    },
  };
}
