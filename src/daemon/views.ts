/**
 * What the read verbs show, as plain data (the control socket's replies):
 * `show`, `showmacs`, `showstp`, `fdb show`, `link show`, `vlan show`. The
 * CLI lays these out as brctl and iproute2's `bridge` do; `-j` prints the
 * `bridge -j` shapes, which these objects already have.
 *
 * Numbering and identifiers follow the Linux bridge: port numbers are the
 * bridge's port index + 1; the bridge id is the priority and the bridge's
 * MAC (the host port's, or else the lowest port MAC); a port id is (port
 * priority << 10) | port number; the default path cost comes from the link
 * speed (Linux port_cost()).
 *
 * The host port is shown as Linux shows the bridge device ("self"): not
 * among `show`'s interfaces, `link show`'s ports or `showstp`'s; in `vlan
 * show` under the bridge's name with its own VLANs; its MAC as a local
 * entry — "is local? yes" in `showmacs`, `permanent` in `fdb show`.
 */
import type { FdbRecord } from "../fdb-dump.js";
import { VxlanPort } from "../ports/vxlan-port.js";
import { stpToLinuxPriority } from "./daemon.js";
import { exec } from "./exec.js";
import type { ManagedBridge, ManagedPort } from "./daemon.js";

export interface ShowBridge {
  name: string;
  id: string;
  stp: boolean;
  interfaces: string[];
}

export interface MacRow {
  port_no: number;
  mac: string;
  is_local: boolean;
  ageing_timer: number;
}

/** `bridge -j fdb show` keys. */
export interface FdbRow {
  mac: string;
  ifname: string;
  vlan?: number;
  /** VXLAN ports: the remote VTEP (as `bridge fdb show` prints it for a vxlan device). */
  dst?: string;
  flags: string[];
  master: string;
  state: string;
}

export interface StpBridgeView {
  name: string;
  bridge_id: string;
  designated_root: string;
  root_port: number;
  path_cost: number;
  max_age: number;
  bridge_max_age: number;
  hello_time: number;
  bridge_hello_time: number;
  forward_delay: number;
  bridge_forward_delay: number;
  ageing_time: number;
  hello_timer: number;
  tcn_timer: number;
  topology_change_timer: number;
  gc_timer: number;
  flags: string[];
  ports: StpPortView[];
}

export interface StpPortView {
  name: string;
  port_no: number;
  port_id: string;
  state: string;
  designated_root: string;
  path_cost: number;
  designated_bridge: string;
  message_age_timer: number;
  designated_port: string;
  forward_delay_timer: number;
  designated_cost: number;
  hold_timer: number;
  flags: string[];
  /** Printed by brctl as " hairpin mode 1" under the port. */
  hairpin: boolean;
}

/** `bridge -j link show` keys (plus the -d details). */
export interface LinkRow {
  ifindex: number;
  link?: string;
  ifname: string;
  flags: string[];
  mtu: number;
  master: string;
  state: string;
  priority: number;
  cost: number;
  hairpin: boolean;
  learning: boolean;
  flood: boolean;
  mcast_flood: boolean;
  bcast_flood: boolean;
  isolated: boolean;
}

export function bridgeId(managed: ManagedBridge): string {
  if (managed.config.params.stp) return managed.bridge.stpStatus().bridge.bridgeId;
  const macs = managed.bridge.ports.map((p) => p.mac).filter((m): m is string => m !== undefined).sort();
  const mac = (managed.host?.port.mac ?? macs[0] ?? "00:00:00:00:00:00").replace(/:/g, "");
  return `${managed.config.params.priority.toString(16).padStart(4, "0")}.${mac}`;
}

export function showBridge(managed: ManagedBridge): ShowBridge {
  return {
    name: managed.name,
    id: bridgeId(managed),
    stp: managed.config.params.stp,
    interfaces: [...managed.ports.values()].filter(attached).map((p) => p.entry.label).sort(byteOrder),
  };
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A port whose device is there (a configured port whose device was deleted waits, detached, to be re-attached). */
export function attached(p: ManagedPort): boolean {
  return p.port.index >= 0;
}

export function portNumber(p: ManagedPort): number {
  return p.port.index + 1;
}

/**
 * Every FDB entry (of one port, of one VLAN), read in chunks that yield to
 * the event loop between them (Bridge.fdbChunks), so a table of a million
 * entries never stalls forwarding while it is listed.
 */
async function entries(managed: ManagedBridge, filter: { brport?: string; vlan?: number } = {}): Promise<FdbRecord[]> {
  const all: FdbRecord[] = [];
  const host = managed.host?.port;
  const port = filter.brport === undefined ? undefined : filter.brport === host?.label ? host : managed.ports.get(filter.brport)?.port;
  if (filter.brport !== undefined && (!port || port.index < 0)) return all;
  for await (const chunk of managed.bridge.fdbChunks({ ...(port ? { port } : {}), ...(filter.vlan !== undefined ? { vlan: filter.vlan } : {}) })) all.push(...chunk);
  return all;
}

export async function showMacs(managed: ManagedBridge): Promise<MacRow[]> {
  const numbers = new Map([...managed.ports.values()].map((p) => [p.port.label, portNumber(p)]));
  const host = managed.host?.port;
  if (host && host.index >= 0) numbers.set(host.label, host.index + 1);
  const local = managed.bridge.localAddresses;
  // Like the kernel's brforward, one row per entry: a VLAN-aware bridge lists its address once per VLAN.
  const rows = (await entries(managed)).map((e) => ({ port_no: numbers.get(e.port) ?? 0, mac: e.mac, is_local: local.isLocal(e.mac, e.port), ageing_timer: e.static ? 0 : e.ageing }));
  return rows.sort((a, b) => byteOrder(a.mac, b.mac) || a.port_no - b.port_no);
}

export async function fdbRows(managed: ManagedBridge, filter: { brport?: string; vlan?: number } = {}): Promise<FdbRow[]> {
  const local = managed.bridge.localAddresses;
  return (await entries(managed, filter)).map((e) => {
    const isLocal = local.isLocal(e.mac, e.port);
    return {
      mac: e.mac,
      ifname: e.port,
      ...(e.vlan ? { vlan: e.vlan } : {}),
      ...(e.dst !== undefined ? { dst: e.dst } : {}),
      flags: e.sticky && !isLocal ? ["sticky"] : [],
      master: managed.name,
      state: isLocal ? "permanent" : e.static ? "static" : "",
    };
  }).concat(floodRows(managed, filter.brport));
}

/** VXLAN ports' flood remotes, as the kernel lists them: 00:00:00:00:00:00 dst ADDR, permanent. */
function floodRows(managed: ManagedBridge, brport: string | undefined): FdbRow[] {
  return managed.bridge.ports
    .filter((p) => p.kind === "vxlan" && (brport === undefined || p.label === brport))
    .flatMap((p) => managed.bridge.vxlanRemotes(p).filter((r) => r.flood).map((r) => ({ mac: "00:00:00:00:00:00", ifname: p.label, dst: r.address, flags: [], master: managed.name, state: "permanent" })));
}

/**
 * `brctl showstp`, from the bridge's spanning tree status. With STP off the
 * bridge is its own root and every port designated (as Linux shows it), with
 * the times and priority the daemon keeps for when STP is turned on.
 */
export function showStp(managed: ManagedBridge): StpBridgeView {
  const status = managed.bridge.stpStatus();
  const params = managed.config.params;
  const off = status.protocol === "off";
  const b = status.bridge;
  const id = off ? bridgeId(managed) : b.bridgeId;
  const byIndex = new Map([...managed.ports.values()].filter(attached).map((p) => [p.port.index, p]));
  const ports = status.ports.filter((p) => byIndex.has(p.index)).sort((x, y) => x.portNo - y.portNo);
  return {
    name: managed.name,
    bridge_id: id,
    designated_root: off ? id : b.designatedRoot,
    root_port: b.rootPort,
    path_cost: b.rootPathCost,
    max_age: off ? params.maxAge : b.maxAge,
    bridge_max_age: off ? params.maxAge : b.bridgeMaxAge,
    hello_time: off ? params.helloTime : b.helloTime,
    bridge_hello_time: off ? params.helloTime : b.bridgeHelloTime,
    forward_delay: off ? params.forwardDelay : b.forwardDelay,
    bridge_forward_delay: off ? params.forwardDelay : b.bridgeForwardDelay,
    ageing_time: params.ageingTime,
    hello_timer: b.helloTimer,
    tcn_timer: b.tcnTimer,
    topology_change_timer: b.topologyChangeTimer,
    gc_timer: 0,
    flags: [...(b.topologyChange ? ["TOPOLOGY_CHANGE"] : []), ...(b.topologyChangeDetected ? ["TOPOLOGY_CHANGE_DETECTED"] : [])],
    ports: ports.map((s) => {
      const p = byIndex.get(s.index)!;
      const portId = s.portId;
      return {
        name: p.entry.label,
        port_no: s.portNo,
        port_id: portId,
        state: s.state,
        designated_root: off ? id : s.designatedRoot,
        path_cost: s.pathCost,
        designated_bridge: off ? id : s.designatedBridge,
        message_age_timer: s.messageAgeTimer,
        designated_port: off ? portId : s.designatedPort,
        forward_delay_timer: s.forwardDelayTimer,
        designated_cost: s.designatedCost,
        hold_timer: s.holdTimer,
        flags: [...(s.topologyChangeAck ? ["TOPOLOGY_CHANGE_ACK"] : []), ...(s.configPending ? ["CONFIG_PENDING"] : [])],
        hairpin: managed.bridge.portSettings(p.port).hairpin,
      };
    }),
  };
}

interface IpLink {
  ifindex: number;
  ifname: string;
  link?: string;
  link_index?: number;
  flags: string[];
  mtu: number;
}

/** `ip -j link show` of every namespace the bridge's ports live in, by port label. */
async function ipLinks(managed: ManagedBridge): Promise<Map<string, IpLink>> {
  const byLabel = new Map<string, IpLink>();
  const namespaces = new Set([...managed.ports.values()].map((p) => p.entry.netns));
  for (const ns of namespaces) {
    const r = await exec(["ip", "-j", ...(ns ? ["-n", ns] : []), "link", "show"]);
    if (r.code !== 0) continue;
    const links = JSON.parse(r.stdout) as IpLink[];
    const byIndex = new Map(links.map((l) => [l.ifindex, l.ifname]));
    for (const link of links) {
      // iproute2's bridge names the link's peer by its ifindex in this namespace, even when the peer is in another.
      if (!link.link && link.link_index !== undefined && link.link_index !== link.ifindex) link.link = byIndex.get(link.link_index) ?? `if${link.link_index}`;
      byLabel.set(ns ? `${link.ifname}@${ns}` : link.ifname, link);
    }
  }
  return byLabel;
}

export async function linkRows(managed: ManagedBridge, dev?: string): Promise<LinkRow[]> {
  const links = await ipLinks(managed);
  const stp = new Map(managed.bridge.stpStatus().ports.map((s) => [s.index, s]));
  const rows: LinkRow[] = [];
  const ports = [...managed.ports.values()].filter((p) => attached(p) && (dev === undefined || p.entry.label === dev || p.entry.name === dev));
  for (const p of ports.sort((a, b) => (a.port.ifindex ?? 0) - (b.port.ifindex ?? 0))) {
    const link = links.get(p.entry.label);
    const s = managed.bridge.portSettings(p.port);
    rows.push({
      ifindex: link?.ifindex ?? p.port.ifindex ?? 0,
      ...(link?.link ? { link: link.link } : {}),
      ifname: p.entry.label,
      flags: link?.flags ?? [],
      mtu: link?.mtu ?? p.port.mtu,
      master: managed.name,
      state: s.state,
      priority: stpToLinuxPriority(stp.get(p.port.index)?.priority ?? 128),
      cost: stp.get(p.port.index)?.pathCost ?? 100,
      hairpin: s.hairpin,
      learning: s.learning,
      flood: s.flood,
      mcast_flood: s.mcastFlood,
      bcast_flood: s.bcastFlood,
      isolated: s.isolated,
    });
  }
  return rows;
}

/** `bridge -j vlan show` rows: a port's VIDs with "PVID" / "Egress Untagged" flags; none while the bridge is VLAN-unaware. */
export function vlanRows(managed: ManagedBridge, dev?: string): { ifname: string; vlans: { vlan: number; flags?: string[] }[] }[] {
  return portVlans(managed, dev).map((v) => ({
    ifname: v.ifname,
    vlans: v.vlans.map((e) => {
      const flags = vlanFlags(e);
      return flags.length ? { vlan: e.vid, flags } : { vlan: e.vid };
    }),
  }));
}

/** A port's VLAN ↔ tunnel (VNI) map, as `bridge -j vlan tunnelshow` lists it. */
export interface VlanTunnelRow {
  ifname: string;
  tunnels: { vlan: number; tunid: number }[];
}

/** `bridge vlan tunnelshow`: the vni-map of each VXLAN port that has one. */
export function vlanTunnelRows(managed: ManagedBridge, dev?: string): VlanTunnelRow[] {
  return managed.bridge.ports
    .filter((p): p is VxlanPort => p instanceof VxlanPort && p.vniMap.size > 0 && (dev === undefined || p.label === dev))
    .map((p) => ({ ifname: p.label, tunnels: [...p.vniMap].sort((a, b) => a[0] - b[0]).map(([vlan, tunid]) => ({ vlan, tunid })) }));
}

/** `bridge -s -j vlan show` rows: as vlanRows, keyed "vid", with each (port, VID)'s packet and byte counters. */
export interface VlanStatsRow {
  ifname: string;
  vlans: { vid: number; flags?: string[]; rx_bytes: number; rx_packets: number; tx_bytes: number; tx_packets: number }[];
}

export function vlanStatsRows(managed: ManagedBridge, dev?: string): VlanStatsRow[] {
  return portVlans(managed, dev).map((v) => ({
    ifname: v.ifname,
    vlans: v.vlans.map((e) => {
      const flags = vlanFlags(e);
      return { vid: e.vid, ...(flags.length ? { flags } : {}), rx_bytes: e.rxBytes, rx_packets: e.rxPackets, tx_bytes: e.txBytes, tx_packets: e.txPackets };
    }),
  }));
}

function vlanFlags(e: { pvid: boolean; untagged: boolean }): string[] {
  return [...(e.pvid ? ["PVID"] : []), ...(e.untagged ? ["Egress Untagged"] : [])];
}

/** The attached ports' VLANs (all, or of `dev`) under their config labels; none while the bridge is VLAN-unaware. */
function portVlans(managed: ManagedBridge, dev?: string) {
  if (!managed.bridge.vlanFiltering) return [];
  const labels = new Map([...managed.ports.values()].filter(attached).map((p) => [p.port.label, p.entry.label]));
  const host = managed.host?.port;
  if (host && host.index >= 0) labels.set(host.label, host.label);
  return managed.bridge
    .vlans()
    .filter((v) => labels.has(v.port) && (dev === undefined || v.port === dev || labels.get(v.port) === dev || v.port.split("@")[0] === dev))
    .map((v) => ({ ifname: labels.get(v.port)!, vlans: v.vlans }));
}
