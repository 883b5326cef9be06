/**
 * The control protocol's methods: JSON-RPC 2.0, one request object per line
 * (see control-socket.ts for the framing). A method is a name, a zod schema
 * for its `params` (an object; unknown members are refused), and a handler
 * that returns plain data. The names are the CLI's verbs, so a script can
 * speak the protocol directly:
 *
 *   {"jsonrpc":"2.0","id":1,"method":"addif","params":{"bridge":"br0","port":"vif1.0"}}
 *   {"jsonrpc":"2.0","id":1,"result":{"changes":["port vif1.0 added to br0"]}}
 *
 * Errors: -32700 not JSON, -32600 not a request (or too large), -32601
 * unknown method, -32602 bad params (the sentence names the member), -32000
 * the change was refused; `error.data.code` is tapbridge's stable code
 * (ENOENT, EBUSY, ENOTSUP, ECONFIG, …). A refused change leaves the running
 * state as it was.
 */
import { z } from "zod";
import { parsePortSpec } from "../config/port-options.js";
import { TapbridgeError } from "../errors.js";
import { parseMac } from "../core/frame.js";
import { DEFAULT_PARAMS, parseConfig, portEntryFromOptions, type BridgeParams } from "./config.js";
import { networkToYaml } from "./config-save.js";
import { isMacPolicy, type HostPortConfig } from "./host-port.js";
import type { Daemon, ManagedBridge } from "./daemon.js";
import type { NetworkManager } from "./networks/manager.js";
import { fdbRows, linkRows, showBridge, showMacs, showStp, vlanRows, vlanStatsRows, vlanTunnelRows } from "./views.js";

export interface RpcContext {
  daemon: Daemon;
  /** Re-read the config file and apply the difference. */
  reload(): Promise<string[]>;
  /** The running configuration as YAML. */
  save(bridge?: string): string;
  status(): Record<string, unknown>;
  /** The daemon's networks (net-* verbs); absent where a context serves bridges only. */
  networks?: NetworkManager;
}

interface Method<S extends z.ZodType> {
  params: S;
  help: string;
  run(ctx: RpcContext, params: z.infer<S>): unknown;
}

const method = <S extends z.ZodType>(m: Method<S>) => m as unknown as Method<z.ZodType>;

const name = z.string().min(1).max(64);
const vid = z.number().int().min(1).max(4094);
const bridgeOnly = z.strictObject({ bridge: name });
const seconds = (min: number, max: number) => z.strictObject({ bridge: name, seconds: z.number().min(min).max(max) });
const onOff = z.strictObject({ bridge: name, port: name, on: z.boolean() });
const PORT_STATES = ["disabled", "listening", "learning", "forwarding", "blocking"] as const;

function changes(list: string[]) {
  return { changes: list };
}

function setParam(ctx: RpcContext, bridge: string, change: Partial<BridgeParams>) {
  return changes(ctx.daemon.setParams(bridge, change));
}

/** The bridge a port belongs to, by the port's label or name; a host port (`dev BRIDGE … self`) belongs to its bridge. */
function ownerOfDev(ctx: RpcContext, dev: string): ManagedBridge {
  for (const b of ctx.daemon.bridges.values()) {
    if (b.ports.has(dev) || [...b.ports.values()].some((p) => p.entry.name === dev)) return b;
  }
  for (const b of ctx.daemon.bridges.values()) if (b.host && (b.host.port.label === dev || b.host.port.name === dev)) return b;
  throw new TapbridgeError("ENOENT", `${dev} is not a port of any bridge`);
}

/** Refuse port verbs on a host port: it is the bridge's own interface, as Linux's bridge device is no port. */
function notHostPort(b: ManagedBridge, dev: string, verb: string): void {
  if (b.host && (b.host.port.label === dev || b.host.port.name === dev) && !b.ports.has(dev)) {
    throw new TapbridgeError("ENOTSUP", `${dev} is the host port of bridge ${b.name} (Linux's bridge device, "self"): ${verb} applies to the bridge's ports`);
  }
}

function networks(ctx: RpcContext): NetworkManager {
  if (!ctx.networks) throw new TapbridgeError("ENOTSUP", "this daemon runs no networks");
  return ctx.networks;
}

const netName = z.strictObject({ network: name });
const hostPortParams = z.union([
  z.literal(true),
  z.strictObject({ netns: z.string().min(1).max(4096).optional(), mac: z.string().max(32).optional() }),
]);


/** "vm1@ns:hairpin:learning=off" → label and option map; the table checks every option. */
function splitSpec(spec: string): { label: string; options: Record<string, unknown> } {
  const parsed = parsePortSpec(spec);
  const options: Record<string, unknown> = {};
  for (const text of spec.split(":").slice(1)) {
    const eq = text.indexOf("=");
    options[eq < 0 ? text : text.slice(0, eq)] = eq < 0 ? true : text.slice(eq + 1);
  }
  return { label: parsed.label, options };
}

export const METHODS: Record<string, Method<z.ZodType>> = {
  show: method({
    params: z.strictObject({ bridge: name.optional() }),
    help: "bridges, their ids, STP and interfaces (brctl show)",
    run: (ctx, p) => (p.bridge ? [showBridge(ctx.daemon.bridge(p.bridge))] : [...ctx.daemon.bridges.values()].map(showBridge)),
  }),
  showmacs: method({ params: bridgeOnly, help: "the MAC table (brctl showmacs)", run: (ctx, p) => showMacs(ctx.daemon.bridge(p.bridge)) }),
  "fdb.stats": method({ params: bridgeOnly, help: "FDB figures: entries, learned, limits, refusals, evictions, moves, flaps", run: (ctx, p) => ctx.daemon.bridge(p.bridge).bridge.fdbStats() }),
  showstp: method({
    params: bridgeOnly,
    help: "spanning tree state of the bridge and its ports (brctl showstp)",
    run: (ctx, p) => showStp(ctx.daemon.bridge(p.bridge)),
  }),
  stats: method({ params: bridgeOnly, help: "per-port counters and drops by reason", run: (ctx, p) => ctx.daemon.bridge(p.bridge).bridge.stats() }),
  addbr: method({
    params: z.strictObject({ bridge: name, host_port: hostPortParams.optional() }),
    help: "create an empty bridge; host_port: true (or {netns, mac}) gives it its interface in the host, named like it",
    run: (ctx, p) =>
      changes(
        ctx.daemon.addBridge({
          name: checkBridgeName(p.bridge),
          params: { ...DEFAULT_PARAMS },
          pathCost: {},
          portPriority: {},
          attachPatterns: [],
          ports: [],
          ...(p.host_port ? { hostPort: hostPortConfig(p.host_port) } : {}),
        }),
      ),
  }),
  "hostport.add": method({
    params: z.strictObject({ bridge: name, host_port: hostPortParams }),
    help: "give a bridge its interface in the host (a TAP named like it: virbr0, xenbr0)",
    run: (ctx, p) => changes(ctx.daemon.addHostPort(p.bridge, hostPortConfig(p.host_port), "cli")),
  }),
  "hostport.del": method({ params: bridgeOnly, help: "remove a bridge's host port", run: (ctx, p) => changes(ctx.daemon.removeHostPort(p.bridge)) }),
  delbr: method({ params: bridgeOnly, help: "delete a bridge and its ports", run: (ctx, p) => changes(ctx.daemon.deleteBridge(p.bridge)) }),
  addif: method({
    params: z.strictObject({ bridge: name, port: z.string().min(1).max(4096), tap: z.boolean().optional(), persistent: z.boolean().optional() }),
    help: "attach an interface (NAME[@NETNS][:OPT]...), or create a TAP with tap: true",
    run: (ctx, p) => {
      const { label, options } = splitSpec(p.port);
      if (p.persistent && !p.tap) throw new TapbridgeError("EINVAL", "persistent applies to TAP ports (tap: true) only");
      return changes(ctx.daemon.addPort(p.bridge, portEntryFromOptions(p.tap ? "tap" : "attach", label, options, p.persistent ?? false), "cli"));
    },
  }),
  delif: method({ params: z.strictObject({ bridge: name, port: name }), help: "detach a port", run: (ctx, p) => changes(ctx.daemon.deletePort(p.bridge, p.port)) }),
  setageing: method({ params: seconds(0, 1_000_000), help: "FDB ageing time in seconds", run: (ctx, p) => setParam(ctx, p.bridge, { ageingTime: p.seconds }) }),
  stp: method({ params: z.strictObject({ bridge: name, on: z.boolean() }), help: "spanning tree on or off", run: (ctx, p) => setParam(ctx, p.bridge, { stp: p.on }) }),
  setbridgeprio: method({
    params: z.strictObject({ bridge: name, priority: z.number().int().min(0).max(65535) }),
    help: "bridge priority",
    run: (ctx, p) => setParam(ctx, p.bridge, { priority: p.priority }),
  }),
  setfd: method({ params: seconds(2, 30), help: "forward delay", run: (ctx, p) => setParam(ctx, p.bridge, { forwardDelay: p.seconds }) }),
  sethello: method({ params: seconds(1, 10), help: "hello time", run: (ctx, p) => setParam(ctx, p.bridge, { helloTime: p.seconds }) }),
  setmaxage: method({ params: seconds(6, 40), help: "max age", run: (ctx, p) => setParam(ctx, p.bridge, { maxAge: p.seconds }) }),
  setpathcost: method({
    params: z.strictObject({ bridge: name, port: name, cost: z.number().int().min(1).max(65535) }),
    help: "STP path cost of a port",
    run: (ctx, p) => changes(ctx.daemon.setPortStp(p.bridge, p.port, { pathCost: p.cost })),
  }),
  setportprio: method({
    params: z.strictObject({ bridge: name, port: name, priority: z.number().int().min(0).max(63) }),
    help: "STP priority of a port (0 to 63)",
    run: (ctx, p) => changes(ctx.daemon.setPortStp(p.bridge, p.port, { priority: p.priority })),
  }),
  hairpin: method({ params: onOff, help: "hairpin (reflective relay) on a port", run: (ctx, p) => changes(ctx.daemon.setPortOptions(p.bridge, p.port, { hairpin: p.on })) }),
  "fdb.show": method({
    params: z.strictObject({ bridge: name.optional(), brport: name.optional(), vlan: z.number().int().min(0).max(4094).optional() }),
    help: "forwarding entries (bridge fdb show)",
    run: async (ctx, p) => {
      const bridges = p.bridge ? [ctx.daemon.bridge(p.bridge)] : p.brport ? [ownerOfDev(ctx, p.brport)] : [...ctx.daemon.bridges.values()];
      const brport = p.brport ? ownerOfDev(ctx, p.brport).port(p.brport).entry.label : undefined;
      const rows = await Promise.all(bridges.map((b) => fdbRows(b, { ...(brport ? { brport } : {}), ...(p.vlan !== undefined ? { vlan: p.vlan } : {}) })));
      return rows.flat();
    },
  }),
  "fdb.add": method({
    params: z.strictObject({ dev: name, mac: z.string(), vlan: z.number().int().min(0).max(4094).optional(), sticky: z.boolean().optional(), dst: z.string().optional() }),
    help: "a static entry (bridge fdb add MAC dev PORT [vlan N] [sticky] [dst VTEP]); 00:00:00:00:00:00 dst VTEP: a VXLAN flood remote",
    run: (ctx, p) => {
      const b = ownerOfDev(ctx, p.dev);
      notHostPort(b, p.dev, "a static entry");
      const port = b.port(p.dev);
      // Without a VLAN: VLAN 0 and every VLAN of the port, as Linux's `bridge fdb add … master` on a VLAN-filtering bridge.
      b.bridge.addStaticEntry(p.mac, port.port, { ...(p.vlan !== undefined ? { vlan: p.vlan } : {}), sticky: p.sticky ?? false, ...(p.dst !== undefined ? { dst: p.dst } : {}) });
      return changes([`fdb ${p.mac} static on ${port.entry.label} of ${b.name}${p.vlan !== undefined ? ` vlan ${p.vlan}` : ""}${p.dst !== undefined ? ` dst ${p.dst}` : ""}`]);
    },
  }),
  "fdb.del": method({
    params: z.strictObject({ dev: name, mac: z.string(), vlan: z.number().int().min(0).max(4094).optional(), dst: z.string().optional() }),
    help: "delete an entry (bridge fdb del MAC dev PORT [vlan N]); 00:00:00:00:00:00 dst VTEP: a VXLAN flood remote",
    run: (ctx, p) => {
      const b = ownerOfDev(ctx, p.dev);
      parseMac(p.mac);
      if (p.dst !== undefined) {
        if (!b.bridge.deleteFloodRemote(b.port(p.dev).port, p.dst)) throw new TapbridgeError("ENOENT", `${p.dst} is not a flood remote of ${p.dev}`);
        return changes([`fdb 00:00:00:00:00:00 dst ${p.dst} deleted from ${p.dev}`]);
      }
      // Without a VLAN: the entry in every VLAN (Linux: VLAN 0 and the port's VLANs).
      if (!b.bridge.deleteEntry(p.mac, p.vlan)) throw new TapbridgeError("ENOENT", `no FDB entry ${p.mac}${p.vlan ? ` vlan ${p.vlan}` : ""} on ${b.name}`);
      return changes([`fdb ${p.mac} deleted from ${b.name}`]);
    },
  }),
  "link.show": method({
    params: z.strictObject({ dev: name.optional() }),
    help: "bridge ports (bridge link show)",
    run: async (ctx, p) => {
      const bridges = p.dev ? [ownerOfDev(ctx, p.dev)] : [...ctx.daemon.bridges.values()];
      return (await Promise.all(bridges.map((b) => linkRows(b, p.dev)))).flat();
    },
  }),
  "link.set": method({
    params: z.strictObject({
      dev: name,
      learning: z.boolean().optional(),
      flood: z.boolean().optional(),
      mcast_flood: z.boolean().optional(),
      bcast_flood: z.boolean().optional(),
      hairpin: z.boolean().optional(),
      isolated: z.boolean().optional(),
      state: z.enum(PORT_STATES).optional(),
      cost: z.number().int().min(1).max(65535).optional(),
      priority: z.number().int().min(0).max(63).optional(),
    }),
    help: "port flags, state, cost, priority (bridge link set)",
    run: (ctx, p) => {
      const b = ownerOfDev(ctx, p.dev);
      notHostPort(b, p.dev, "bridge link set");
      const label = b.port(p.dev).entry.label;
      const options: Record<string, unknown> = {};
      const names: [keyof typeof p, string][] = [["learning", "learning"], ["flood", "flood"], ["mcast_flood", "mcast-flood"], ["bcast_flood", "bcast-flood"], ["hairpin", "hairpin"], ["isolated", "isolated"]];
      for (const [key, option] of names) if (p[key] !== undefined) options[option] = p[key];
      const said: string[] = [];
      if (Object.keys(options).length) said.push(...ctx.daemon.setPortOptions(b.name, label, options));
      if (p.state !== undefined) {
        if (b.config.params.stp) throw new TapbridgeError("EBUSY", `STP decides the state of ${label}: turn STP off to set it by hand`);
        b.bridge.setPortSettings(label, { state: p.state });
        said.push(`port ${label} of ${b.name}: state ${p.state}`);
      }
      if (p.cost !== undefined || p.priority !== undefined) said.push(...ctx.daemon.setPortStp(b.name, label, { ...(p.cost !== undefined ? { pathCost: p.cost } : {}), ...(p.priority !== undefined ? { priority: p.priority } : {}) }));
      return changes(said);
    },
  }),
  "bond.show": method({
    params: z.strictObject({ bond: name.optional(), bridge: name.optional() }),
    help: "bonds: mode, members, active member, hash buckets and load, LACP actor and partner",
    run: (ctx, p) => {
      const bridges = p.bridge ? [ctx.daemon.bridge(p.bridge)] : [...ctx.daemon.bridges.values()];
      const rows = bridges.flatMap((b) => b.bridge.bondStatus().map((s) => ({ bridge: b.name, ...s })));
      if (p.bond === undefined) return rows;
      const one = rows.filter((r) => r.name === p.bond);
      if (one.length === 0) throw new TapbridgeError("ENOENT", `there is no bond ${p.bond}${p.bridge ? ` on bridge ${p.bridge}` : ""}`);
      return one;
    },
  }),
  "fdb.flush": method({
    params: z.strictObject({ dev: name, brport: name.optional(), vlan: z.number().int().min(0).max(4094).optional() }),
    help: "forget learned entries of a bridge, a port, a VLAN (bridge fdb flush dev BRIDGE|PORT [brport PORT] [vlan N]); static entries stay",
    run: (ctx, p) => {
      const isBridge = ctx.daemon.bridges.has(p.dev);
      const b = isBridge ? ctx.daemon.bridge(p.dev) : ownerOfDev(ctx, p.dev);
      const portName = p.brport ?? (isBridge ? undefined : p.dev);
      const port = portName !== undefined ? b.port(portName) : undefined;
      const n = b.bridge.flushFdb(port?.port, p.vlan !== undefined ? { vlan: p.vlan } : {});
      return changes([`${n} learned entr${n === 1 ? "y" : "ies"} flushed from ${b.name}${port ? ` port ${port.entry.label}` : ""}${p.vlan !== undefined ? ` vlan ${p.vlan}` : ""}`]);
    },
  }),
  "vlan.show": method({
    params: z.strictObject({ dev: name.optional(), vid: z.number().int().min(1).max(4094).optional(), stats: z.boolean().optional() }),
    help: "VLAN membership of ports (bridge vlan show [vid N]); stats: with per-(port, VID) counters (bridge -s vlan show); a VLAN-unaware bridge lists none, as Linux with vlan_filtering 0",
    run: (ctx, p) => {
      const bridges = p.dev ? [ownerOfDev(ctx, p.dev)] : [...ctx.daemon.bridges.values()];
      const only = <R extends { vlans: ({ vlan: number } | { vid: number })[] }>(rows: R[]) =>
        p.vid === undefined ? rows : rows.map((r) => ({ ...r, vlans: r.vlans.filter((v) => ("vid" in v ? v.vid : v.vlan) === p.vid) })).filter((r) => r.vlans.length > 0);
      return p.stats ? only(bridges.flatMap((b) => vlanStatsRows(b, p.dev))) : only(bridges.flatMap((b) => vlanRows(b, p.dev)));
    },
  }),
  "vlan.tunnelshow": method({
    params: z.strictObject({ dev: name.optional() }),
    help: "VXLAN ports' VLAN → VNI maps (bridge vlan tunnelshow)",
    run: (ctx, p) => (p.dev ? [ownerOfDev(ctx, p.dev)] : [...ctx.daemon.bridges.values()]).flatMap((b) => vlanTunnelRows(b, p.dev)),
  }),
  "vlan.add": method({
    params: z.strictObject({ dev: name, vid: vid, vidEnd: vid.optional(), pvid: z.boolean().optional(), untagged: z.boolean().optional() }),
    help: "add a VLAN (vid..vidEnd: a range) to a port, or change its flags (bridge vlan add dev P vid N[-M] [pvid] [untagged])",
    run: (ctx, p) => {
      const b = ownerOfDev(ctx, p.dev);
      return changes(ctx.daemon.changeVlan(b.name, p.dev, { add: { vid: p.vid, ...(p.vidEnd !== undefined ? { vidEnd: p.vidEnd } : {}), pvid: p.pvid ?? false, untagged: p.untagged ?? false } }));
    },
  }),
  "vlan.del": method({
    params: z.strictObject({ dev: name, vid: vid, vidEnd: vid.optional() }),
    help: "remove a VLAN (vid..vidEnd: a range) from a port (bridge vlan del dev P vid N[-M])",
    run: (ctx, p) => changes(ctx.daemon.changeVlan(ownerOfDev(ctx, p.dev).name, p.dev, { del: p.vid, ...(p.vidEnd !== undefined ? { delEnd: p.vidEnd } : {}) })),
  }),
  "net.list": method({
    params: z.strictObject({ all: z.boolean().optional() }),
    help: "networks: active ones, or all defined (virsh net-list [--all])",
    run: (ctx, p) => networks(ctx).list(p.all ?? false),
  }),
  "net.info": method({ params: netName, help: "a network: mode, bridge, addresses, dnsmasq, what it changed (virsh net-info)", run: (ctx, p) => networks(ctx).info(p.network) }),
  "net.dump": method({ params: netName, help: "a network's definition as YAML (virsh net-dumpxml)", run: (ctx, p) => ({ yaml: networkToYaml(networks(ctx).config(p.network)) }) }),
  "net.leases": method({ params: netName, help: "DHCP leases of a network (virsh net-dhcp-leases)", run: (ctx, p) => networks(ctx).leases(p.network) }),
  "net.define": method({
    params: z.strictObject({ yaml: z.string().max(1 << 20), file: z.string().max(4096).optional() }),
    help: "define networks from YAML holding a networks: section (virsh net-define); they start with net.start",
    run: (ctx, p) => {
      const { config } = parseConfig(p.yaml, p.file ?? "network definition");
      const list = config.networks ?? [];
      if (list.length === 0 || config.bridges.length > 0) throw new TapbridgeError("EINVAL", `${p.file ?? "the definition"} must hold a networks: section (and nothing else)`);
      return changes(list.flatMap((n) => networks(ctx).define({ ...n, where: undefined as never })));
    },
  }),
  "net.undefine": method({ params: netName, help: "forget an inactive network (virsh net-undefine)", run: (ctx, p) => changes(networks(ctx).undefine(p.network)) }),
  "net.start": method({ params: netName, help: "start a defined network (virsh net-start)", run: async (ctx, p) => changes(await networks(ctx).exclusive(() => networks(ctx).start(p.network))) }),
  "net.destroy": method({ params: netName, help: "stop a network, undoing all it changed (virsh net-destroy)", run: async (ctx, p) => changes(await networks(ctx).exclusive(() => networks(ctx).destroy(p.network))) }),
  "net.autostart": method({
    params: z.strictObject({ network: name, on: z.boolean() }),
    help: "start the network with the daemon, or not (virsh net-autostart [--disable])",
    run: (ctx, p) => changes(networks(ctx).autostart(p.network, p.on)),
  }),
  save: method({ params: z.strictObject({ bridge: name.optional() }), help: "the running configuration as YAML", run: (ctx, p) => ({ yaml: ctx.save(p.bridge) }) }),
  reload: method({ params: z.strictObject({}), help: "re-read the config file and apply the difference", run: async (ctx) => changes(await ctx.reload()) }),
  status: method({ params: z.strictObject({}), help: "the daemon's pid, version, config file and bridges", run: (ctx) => ctx.status() }),
  methods: method({ params: z.strictObject({}), help: "this list", run: () => Object.fromEntries(Object.entries(METHODS).map(([k, m]) => [k, m.help])) }),
};

function hostPortConfig(p: true | { netns?: string | undefined; mac?: string | undefined }): HostPortConfig {
  const o = p === true ? {} : p;
  const mac = o.mac ?? "stable";
  if (!isMacPolicy(mac)) parseMac(mac);
  return { ...(o.netns ? { netns: o.netns } : {}), mac, options: {}, config: {} };
}

function checkBridgeName(n: string): string {
  if (!/^[^\s/:@]{1,15}$/.test(n)) throw new TapbridgeError("EINVAL", `"${n}" is not a valid bridge name: use 1 to 15 characters without spaces, '/', ':' or '@'`);
  return n;
}

export const RpcError = {
  parse: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  refused: -32000,
} as const;

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: { code?: string };
}

/** Describe the first problem of bad params as a sentence naming the member. */
export function describeParams(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const at = issue.path.length ? `params.${issue.path.join(".")}` : "params";
      if (issue.code === "unrecognized_keys") return `${at}: unknown member${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
      if (issue.code === "invalid_type") return `${at}: expected ${issue.expected}${issue.path.length ? "" : " (an object)"}`;
      if (issue.code === "too_big") return `${at}: must be at most ${issue.maximum}`;
      if (issue.code === "too_small") return `${at}: must be at least ${issue.minimum}`;
      return `${at}: ${issue.message}`;
    })
    .join("; ");
}
