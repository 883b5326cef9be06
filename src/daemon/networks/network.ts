/**
 * Starting one network: checks first (nothing changes until every one has
 * passed), then the steps of its mode, each recorded before it is carried
 * out (state.ts), in an order whose reverse is a correct stop:
 *
 *   rename the uplink (bridge mode, rename-uplink)
 *   → the bridge, when bridges: does not list it
 *   → its host port (every mode but isolated)
 *   → the uplink as a bridge port (bridge; isolated with an uplink)
 *   → guests isolated from one another (isolated, private)
 *   → the uplink's own stack cut off, its addresses and routes moved to the
 *     host port (bridge, move-addresses)
 *   → the network's addresses on the host port
 *   → sysctls: ip_forward (nat, route), IPv6 forwarding, proxy_arp (route)
 *   → the nft table (nat, route, host-only)
 *   → dnsmasq (host-only, nat, route, with DHCP or DNS)
 *
 * A step that fails undoes the steps before it, so a refused start leaves
 * nothing behind.
 */
import { join } from "node:path";
import { TapbridgeError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { addAddress, addRoute, checkClashes, deleteAddress, deleteRoute, movableAddresses, movableRoutes, renameKeepingRoutes } from "./addresses.js";
import { hasHostPort, type NetworkConfig } from "./config.js";
import { missingForDnsmasq } from "./caps.js";
import { startDnsmasq } from "./dnsmasq.js";
import { HostNs, ifaceKey, requireTool } from "./host-ns.js";
import { parsePrefix } from "./ip.js";
import { networkRuleset, tableName, uplinkStealRuleset } from "./nft.js";
import type { Action } from "./state.js";
import type { SysctlLedger } from "./sysctls.js";
import { undoAll, type BridgeSide, type UndoContext } from "./undo.js";

export interface RunContext {
  bridges: BridgeSide;
  ledger: SysctlLedger;
  log: Logger;
  /** The network's directory for dnsmasq's files. */
  dir: string;
  /** Called after each recorded action (the manager rewrites the state file). */
  recorded(actions: Action[]): void;
}

/** Whether the network runs dnsmasq. */
export function runsDnsmasq(net: NetworkConfig): boolean {
  return (net.mode === "nat" || net.mode === "host-only" || net.mode === "route") && (net.dhcp !== undefined || net.dns);
}

export class NetworkRun {
  readonly actions: Action[] = [];
  readonly ns: HostNs;
  dnsmasqPid: number | undefined;

  constructor(
    readonly config: NetworkConfig,
    readonly netns: string | undefined,
    private readonly ctx: RunContext,
  ) {
    this.ns = new HostNs(netns);
  }

  get hostPortName(): string {
    return this.config.bridge;
  }

  /** The interface that is the uplink while the network runs (renamed, when asked). */
  get uplinkName(): string | undefined {
    return this.config.renameUplink ?? this.config.uplink;
  }

  private undoContext(): UndoContext {
    return { network: this.config.name, ns: this.ns, ledger: this.ctx.ledger, log: this.ctx.log, bridges: this.ctx.bridges };
  }

  private record(a: Action): void {
    this.actions.push(a);
    this.ctx.recorded(this.actions);
  }

  /** Every check that needs the system, before anything changes. */
  async preflight(): Promise<{ dnsmasq?: string; uplinkMac?: string; uplinkUp: boolean }> {
    const net = this.config;
    const ns = this.ns;
    requireTool("ip", `network ${net.name} needs iproute2`);
    if (net.mode === "nat" || net.mode === "route" || net.mode === "host-only" || (net.mode === "bridge" && net.moveAddresses)) {
      requireTool("nft", `network ${net.name} (${net.mode}) keeps its firewall rules in an nftables table of its own`);
    }
    const dnsmasq = runsDnsmasq(net) ? requireTool("dnsmasq", `network ${net.name} serves ${net.dhcp ? "DHCP and DNS" : "DNS"} to its guests with it`) : undefined;
    const missing = dnsmasq ? missingForDnsmasq() : [];
    if (missing.length) {
      throw new TapbridgeError(
        "EPERM",
        `network ${net.name} runs dnsmasq, which needs ${missing.join(", ")} from the daemon (to bind the DHCP and DNS ports, drop to user nobody, and be stopped): give the daemon these capabilities (packaging/tapbridge.service.d/networks.conf does for the systemd unit)`,
      );
    }
    let uplinkMac: string | undefined;
    let uplinkUp = false;
    if (net.uplink !== undefined) {
      const link = await ns.link(net.uplink);
      if (!link) throw new TapbridgeError("ENODEV", `uplink ${net.uplink} of network ${net.name} does not exist in ${ns.where}`);
      uplinkMac = link.address;
      uplinkUp = link.flags.includes("UP");
      if (net.renameUplink && (await ns.link(net.renameUplink))) {
        throw new TapbridgeError("EEXIST", `network ${net.name} would rename ${net.uplink} to ${net.renameUplink}, but ${ns.where} already has an interface ${net.renameUplink}`);
      }
    }
    if (hasHostPort(net.mode)) {
      const host = this.ctx.bridges.hostPort(net.bridge);
      if (host && host.netns !== this.netns) {
        throw new TapbridgeError("EINVAL", `network ${net.name} serves ${ns.where}, but the host port of bridge ${net.bridge} is in ${host.netns === undefined ? "the daemon's namespace" : `namespace ${host.netns}`}`);
      }
      // The name must be free, or become free by the rename (Xen: the bridge takes the NIC's name).
      if (!host && net.renameUplink === undefined) {
        const taken = await ns.link(this.hostPortName);
        if (taken) throw new TapbridgeError("EEXIST", `interface ${this.hostPortName} already exists in ${ns.where}: network ${net.name}'s host port needs that name (it is named like the bridge)`);
      }
      const ignore = [this.hostPortName, ...(net.moveAddresses && net.uplink ? [net.uplink] : [])];
      await checkClashes(ns, net.name, net.addresses, ignore);
    }
    return { ...(dnsmasq ? { dnsmasq } : {}), ...(uplinkMac ? { uplinkMac } : {}), uplinkUp };
  }

  async start(): Promise<void> {
    const found = await this.preflight();
    try {
      await this.steps(found);
    } catch (error) {
      const failed = await undoAll(this.actions.splice(0), this.undoContext(), (left) => this.ctx.recorded(left));
      if (this.ctx.bridges.hasBridge(this.config.bridge)) this.ctx.bridges.setNetwork(this.config.bridge, undefined);
      if (failed.length) this.ctx.log.error("a network that failed to start was not fully undone", { network: this.config.name, failed });
      throw error;
    }
  }

  private async steps(found: { dnsmasq?: string; uplinkMac?: string; uplinkUp: boolean }): Promise<void> {
    const net = this.config;
    const ns = this.ns;
    const b = this.ctx.bridges;
    const h = this.hostPortName;
    if (net.renameUplink && net.uplink) {
      this.record({ kind: "rename", from: net.uplink, to: net.renameUplink, up: found.uplinkUp });
      await renameKeepingRoutes(ns, net.uplink, net.renameUplink, found.uplinkUp);
    }
    if (!b.hasBridge(net.bridge)) {
      this.record({ kind: "bridge", bridge: net.bridge });
      b.createBridge(net.bridge, net.name);
    }
    b.setNetwork(net.bridge, net.name);
    if (hasHostPort(net.mode) && !b.hostPort(net.bridge)) {
      this.record({ kind: "host-port", bridge: net.bridge, name: h, ...(this.netns !== undefined ? { netns: this.netns } : {}) });
      const policy = net.mode === "bridge" && net.moveAddresses ? "uplink" : "stable";
      b.addHostPort(net.bridge, this.netns, policy, found.uplinkMac);
    }
    const uplink = this.uplinkName;
    if ((net.mode === "bridge" || net.mode === "isolated") && uplink !== undefined) {
      const label = this.netns !== undefined ? `${uplink}@${this.netns}` : uplink;
      if (!b.hasPort(net.bridge, label)) {
        this.record({ kind: "port", bridge: net.bridge, label });
        b.addPort(net.bridge, label, net.private ? { isolated: false } : {});
      }
    }
    if (net.mode === "isolated" && net.private) {
      this.record({ kind: "private", bridge: net.bridge });
      b.setPrivate(net.bridge, true);
    }
    if (net.mode === "bridge" && net.moveAddresses && uplink !== undefined) await this.moveAddresses(uplink);
    for (const cidr of net.addresses) {
      this.record({ kind: "address", dev: h, cidr });
      await addAddress(ns, h, cidr, parsePrefix(cidr).family === 6 ? ["nodad"] : []);
    }
    await this.sysctls();
    const rules = networkRuleset({ network: net.name, mode: net.mode, hostPort: h, ...(uplink !== undefined ? { uplink } : {}), addresses: net.addresses });
    if (rules) {
      this.record({ kind: "nft", family: "inet", table: tableName(net.name) });
      await ns.must(["nft", "-f", "-"], `loading nftables table inet ${tableName(net.name)}`, rules);
    }
    if (found.dnsmasq) {
      const started = await startDnsmasq(ns, found.dnsmasq, {
        network: net.name,
        hostPort: h,
        dir: this.ctx.dir,
        addresses: net.addresses,
        ...(net.dhcp ? { dhcp: net.dhcp } : {}),
        dns: net.dns,
        ...(net.domain ? { domain: net.domain } : {}),
        noRouter: net.mode === "host-only",
      });
      this.dnsmasqPid = started.pid;
      this.record({ kind: "dnsmasq", pid: started.pid, pidFile: started.pidFile, conf: started.conf, dir: this.ctx.dir });
    }
  }

  /** Xen's network-bridge: the uplink's addresses and routes to the host port; the uplink's own stack stops receiving. */
  private async moveAddresses(uplink: string): Promise<void> {
    const ns = this.ns;
    const h = this.hostPortName;
    const net = this.config;
    this.record({ kind: "nft", family: "netdev", table: tableName(net.name) });
    await ns.must(["nft", "-f", "-"], `loading nftables table netdev ${tableName(net.name)}`, uplinkStealRuleset(net.name, uplink));
    const routes = [...movableRoutes(await ns.routes(4, uplink), 4), ...movableRoutes(await ns.routes(6, uplink), 6)];
    for (const r of routes) {
      this.record({ kind: "moved-route", from: uplink, to: h, family: r.family, spec: r.spec });
      await deleteRoute(ns, r, uplink);
    }
    // Off the uplink secondaries first (deleting a primary takes its secondaries with it), onto the host port in the
    // uplink's order, so the primary stays primary. The records run primary first when undone: deleting it from the
    // host port takes the rest along, and each goes back onto the uplink in the order it had.
    const moving = movableAddresses(await ns.addresses(uplink));
    for (const a of [...moving].reverse()) {
      this.record({ kind: "moved-address", from: uplink, to: h, cidr: a.cidr, family: a.family, args: a.args });
      await deleteAddress(ns, uplink, a.cidr);
    }
    for (const a of moving) await addAddress(ns, h, a.cidr, a.args);
    for (const r of routes) await addRoute(ns, r, h);
    this.ctx.log.info("uplink addresses moved to the host port", { network: net.name, uplink, hostPort: h, routes: routes.length });
  }

  private async sysctls(): Promise<void> {
    const net = this.config;
    const wants: [string, string][] = [];
    const v6 = net.addresses.some((a) => parsePrefix(a).family === 6);
    if (net.mode === "nat" || net.mode === "route") {
      wants.push(["net.ipv4.ip_forward", "1"]);
      if (v6) wants.push(["net.ipv6.conf.all.forwarding", "1"]);
    }
    if (net.mode === "route" && net.proxyArp && net.uplink !== undefined) wants.push([ifaceKey("ipv4", net.uplink, "proxy_arp"), "1"]);
    // host-only: besides the nft table's drop, the host port forwards nothing it receives (IPv4's per-interface gate).
    if (net.mode === "host-only") wants.push([ifaceKey("ipv4", this.hostPortName, "forwarding"), "0"]);
    for (const [key, value] of wants) {
      this.record({ kind: "sysctl", key });
      await this.ctx.ledger.acquire(net.name, this.ns, key, value);
    }
  }

  /** Undo everything, in reverse. Returns the sentences of undos that failed (each logged). */
  async stop(): Promise<string[]> {
    if (this.ctx.bridges.hasBridge(this.config.bridge)) this.ctx.bridges.setNetwork(this.config.bridge, undefined);
    return undoAll(this.actions.splice(0), this.undoContext(), (left) => this.ctx.recorded(left));
  }
}

/** A network's directory under the runtime directory. */
export function networkDir(runtimeDir: string, name: string): string {
  return join(runtimeDir, "networks", name);
}
