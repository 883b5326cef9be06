/**
 * A VXLAN port (RFC 7348): the bridge's side of an overlay that reaches other
 * hosts' bridges — the kernel's `vxlan` device, Open vSwitch, hardware VTEPs —
 * over UDP (port 4789). The addon owns the socket (native/vxlan.h); frames
 * cross it in the same batches as every other port's.
 *
 * Forwarding is the kernel's vxlan with `learning`: a MAC heard from a remote
 * VTEP is learned with that remote (core/fdb.ts keeps it per entry), a known
 * unicast goes to its remote only, and unknown unicast, broadcast and
 * multicast go to every flood remote — the `remotes` given here and those
 * added later with `fdb append 00:00:00:00:00:00 dst ADDR` (head-end
 * replication). On a VLAN-aware bridge `vniMap` carries VLANs as VNIs (as
 * Linux's vlan_tunnel): a frame of VID 59 leaves untagged in VNI 10059, and a
 * frame received in VNI 10059 enters VLAN 59.
 *
 * The port's MTU is the overlay MTU: the underlay interface's MTU less the
 * outer headers (50 bytes over IPv4, 70 over IPv6).
 */
import { isIP } from "node:net";
import { TapbridgeError, describeNativeError } from "../errors.js";
import { NativePort } from "../io/native-port.js";
import { netnsPath } from "../io/netns.js";
import type { NativeDataplane, VxlanPortCounters, VxlanRemoteInfo } from "../io/native-binding.js";
import { checkVid } from "../core/vlan-spec.js";
import { VNI_MAX, VXLAN_PORT } from "../core/vxlan.js";
import { checkIfname, type PortSettings } from "./port.js";
import { hasVlanSpec } from "../core/vlan-spec.js";
import type { PortConfig } from "../config/port-options.js";

export interface VxlanPortOptions {
  /** The port's name in the bridge (no device of that name is created). */
  name: string;
  /** The VNI (0-16777215). Optional with `vniMap`: then only mapped VLANs are carried. */
  vni?: number;
  /** Local VTEP address, IPv4 or IPv6: the UDP socket binds it. */
  local: string;
  /** Remote VTEPs that get every flood (Linux's `remote`, or `fdb append 00:00:00:00:00:00 dst`). */
  remotes?: string[];
  /** A multicast group that gets every flood (Linux's `group ADDR`), joined on the underlay interface. */
  group?: string;
  /** UDP port (default 4789, IANA's). */
  port?: number;
  /** Network namespace of the underlay (the socket is opened there). */
  netns?: string;
  /** VID → VNI (vni-map=59:10059,89:10089). */
  vniMap?: ReadonlyMap<number, number>;
  /**
   * IPv4: outer UDP checksums on (the default, as the kernel's vxlan; GSO
   * frames then leave as UDP GSO, one send per 64 segments), or off: zero
   * checksums, as RFC 7348 allows — what a peer on the same machine that
   * reads a veth with AF_PACKET (OVS's userspace datapath) needs, since the
   * kernel leaves the checksum to the veth's offload. IPv6 always has them.
   */
  udpCsum?: boolean;
}

export class VxlanPort extends NativePort {
  readonly kind = "vxlan" as const;
  readonly vni: number;
  readonly local: string;
  readonly udpPort: number;
  readonly vniMap: ReadonlyMap<number, number>;
  readonly udpCsum: boolean;
  private readonly initialRemotes: string[];
  readonly group: string | undefined;
  private dp: NativeDataplane | undefined;
  /** Remote addresses by id, as last read from the addon. */
  private addresses: string[] = [];

  constructor(options: VxlanPortOptions) {
    super(checkIfname(options.name, "VXLAN port name"), options.netns);
    const o = options;
    const where = `VXLAN port ${o.name}`;
    if (o.vni === undefined && (o.vniMap?.size ?? 0) === 0) throw new TapbridgeError("EINVAL", `${where} needs a VNI: vni=N (0 to ${VNI_MAX}) or vni-map=VID:VNI,...`);
    if (o.vni !== undefined) checkVni(o.vni, where);
    const family = isIP(o.local);
    if (family === 0) throw new TapbridgeError("EINVAL", `${where}: local address "${o.local}" is not an IPv4 or IPv6 address`);
    for (const r of o.remotes ?? []) checkRemote(r, family, where);
    if (o.group !== undefined) {
      checkRemote(o.group, family, where);
      if (!isMulticast(o.group)) throw new TapbridgeError("EINVAL", `${where}: group ${o.group} is not a multicast address (224.0.0.0/4 or ff00::/8)`);
    }
    if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535)) throw new TapbridgeError("EINVAL", `${where}: UDP port ${o.port} is out of range: use 1 to 65535`);
    for (const [vid, vni] of o.vniMap ?? []) {
      checkVid(vid, `${where}: vni-map VID ${vid}`);
      checkVni(vni, `${where}: vni-map ${vid}:${vni}`);
      if (vni === 0) throw new TapbridgeError("EINVAL", `${where}: vni-map ${vid}:0: a mapped VNI is 1 to ${VNI_MAX}`);
      if (vni === o.vni) throw new TapbridgeError("EINVAL", `${where}: VNI ${vni} is both the port's vni= and mapped to VLAN ${vid}: give it one meaning`);
    }
    const vnis = [...(o.vniMap?.values() ?? [])];
    if (new Set(vnis).size !== vnis.length) throw new TapbridgeError("EINVAL", `${where}: vni-map maps two VLANs to one VNI`);
    this.vni = o.vni ?? -1;
    this.local = o.local;
    this.udpPort = o.port ?? VXLAN_PORT;
    this.vniMap = new Map(o.vniMap ?? []);
    this.udpCsum = o.udpCsum ?? true;
    this.initialRemotes = [...new Set(o.remotes ?? [])];
    this.group = o.group;
  }

  /** IP version of the underlay (4 or 6). */
  get family(): 4 | 6 {
    return isIP(this.local) as 4 | 6;
  }

  open(dp: NativeDataplane, index: number): void {
    if (!dp.openVxlan) throw new TapbridgeError("ENATIVE", `the tapbridge addon has no VXLAN support: run "npm rebuild tapbridge"`);
    const path = this.netns ? netnsPath(this.netns) : undefined;
    try {
      const opened = dp.openVxlan(index, {
        local: this.local,
        port: this.udpPort,
        vni: this.vni >= 0 ? this.vni : 0,
        udpCsum: this.udpCsum,
        ...(path ? { netnsPath: path } : {}),
      });
      this.mtu = opened.mtu;
      this.vnetHdr = false;
    } catch (error) {
      throw describeNativeError(error, `opening VXLAN port ${this.label} on ${this.local} port ${this.udpPort}`, this.label);
    }
    this.dp = dp;
    this.index = index; // the addon's calls below take it; the bridge sets it again
    try {
      for (const r of this.initialRemotes) dp.vxlanRemote!(index, r, true);
      if (this.group !== undefined) dp.vxlanJoinGroup!(index, this.group);
      if (this.vniMap.size > 0) {
        // Frames of VIDs the map does not name leave in the port's own VNI (if any).
        const map = new Uint32Array(4096).fill(this.vni > 0 ? this.vni : 0);
        for (const [vid, vni] of this.vniMap) map[vid] = vni;
        dp.vxlanSetVniMap!(index, map);
      }
    } catch (error) {
      dp.closePort(index, false, true);
      this.dp = undefined;
      throw describeNativeError(error, `configuring VXLAN port ${this.label}`, this.label);
    }
  }

  /** No device to claim: the socket's address and port are the port's identity (a second bind fails EADDRINUSE). */
  override attach(dp: NativeDataplane, index: number): void {
    this.open(dp, index);
  }

  override close(dp: NativeDataplane, undo = false): void {
    if (this.index >= 0) dp.closePort(this.index, false, undo);
    this.dp = undefined;
  }

  private get opened(): NativeDataplane {
    if (!this.dp || this.index < 0) throw new TapbridgeError("ENOENT", `VXLAN port ${this.label} is not open`);
    return this.dp;
  }

  /**
   * The id of a remote VTEP (added if new). `flood`: put it on (true) or
   * take it off (false) the flood list — `bridge fdb append/del
   * 00:00:00:00:00:00 dst ADDR`.
   */
  remote(address: string, flood?: boolean): number {
    checkRemote(address, this.family, `VXLAN port ${this.label}`);
    const dp = this.opened;
    return flood === undefined ? dp.vxlanRemote!(this.index, address) : dp.vxlanRemote!(this.index, address, flood);
  }

  /** Every remote the port knows, configured or heard from, with counters. */
  remotes(): VxlanRemoteInfo[] {
    const list = this.opened.vxlanRemotes!(this.index);
    this.addresses = list.map((r) => r.address);
    return list;
  }

  /** The address of remote `id` (for `fdb show`'s dst), or undefined. */
  remoteAddress(id: number): string | undefined {
    if (id < 0) return undefined;
    if (id >= this.addresses.length && this.dp && this.index >= 0) this.remotes();
    return this.addresses[id];
  }

  counters(): VxlanPortCounters | undefined {
    return this.dp && this.index >= 0 ? this.dp.vxlanStats!(this.index) : undefined;
  }
}

/** The port a `--vxlan NAME:vni=…:local=…` spec (or a config file's vxlan entry) describes. */
export function vxlanPortFromConfig(name: string, netns: string | undefined, config: PortConfig): VxlanPort {
  if (config.local === undefined) throw new TapbridgeError("EINVAL", `VXLAN port ${name} needs local=ADDR (the local VTEP address)`);
  if (netns !== undefined && config.underlayNetns !== undefined && netns !== config.underlayNetns) {
    throw new TapbridgeError("EINVAL", `VXLAN port ${name}: two namespaces given (@${netns} and netns=${config.underlayNetns})`);
  }
  const ns = config.underlayNetns ?? netns;
  return new VxlanPort({
    name,
    local: config.local,
    ...(config.vni !== undefined ? { vni: config.vni } : {}),
    ...(config.remotes ? { remotes: config.remotes } : {}),
    ...(config.udpPort !== undefined ? { port: config.udpPort } : {}),
    ...(ns !== undefined ? { netns: ns } : {}),
    ...(config.vniMap ? { vniMap: config.vniMap } : {}),
    ...(config.udpCsum !== undefined ? { udpCsum: config.udpCsum } : {}),
    ...(config.group !== undefined ? { group: config.group } : {}),
  });
}

/**
 * The VLANs a VXLAN port with a VNI map joins unless its settings name VLANs
 * themselves: every mapped VID untagged (the VNI is the tag on the wire),
 * and the default PVID too when the port also has a VNI of its own.
 */
export function vxlanPortSettings(port: VxlanPort, settings: PortSettings, defaultPvid: number): PortSettings {
  if (port.vniMap.size === 0 || hasVlanSpec(settings)) return settings;
  const vids = [...port.vniMap.keys()];
  if (port.vni >= 0 && defaultPvid > 0 && !port.vniMap.has(defaultPvid)) return { ...settings, pvid: defaultPvid, untagged: [defaultPvid, ...vids] };
  return { ...settings, untagged: vids };
}

function isMulticast(address: string): boolean {
  if (isIP(address) === 6) return address.toLowerCase().startsWith("ff");
  const first = Number(address.split(".")[0]);
  return first >= 224 && first <= 239;
}

function checkVni(vni: number, where: string): void {
  if (!Number.isInteger(vni) || vni < 0 || vni > VNI_MAX) throw new TapbridgeError("EINVAL", `${where}: VNI ${vni} is out of range: use 0 to ${VNI_MAX}`);
}

function checkRemote(address: string, family: number, where: string): void {
  const f = isIP(address);
  if (f === 0) throw new TapbridgeError("EINVAL", `${where}: remote "${address}" is not an IPv4 or IPv6 address`);
  if (f !== family) throw new TapbridgeError("EINVAL", `${where}: remote ${address} is IPv${f} but the local address is IPv${family}: one VXLAN port speaks one family`);
}
