/**
 * Frame builders for what harnesses test: Ethernet with 802.1Q / 802.1ad
 * tags, ARP, IPv4, IPv6, ICMP and ICMPv6 echo, UDP, TCP, DHCP/BOOTP, LLDP
 * and raw STP BPDUs. Each layer builder returns bytes and takes its payload
 * as bytes, so layers compose (`ethernet({ payload: ipv4({ payload: udp(…) }) })`);
 * the shortcuts at the end (`arpRequest`, `udp4`, `ping4`, `dhcpDiscover`, …)
 * build the whole frame. Checksums (IPv4 header, ICMP, UDP, TCP, ICMPv6) are
 * computed. Frames are padded to 60 bytes, as a NIC would.
 *
 * STP: `stpBpdu` frames a BPDU with src/stp's codec (re-exported from
 * tapbridge/testing as encodeBpdu / decodeBpdu); it is not repeated here.
 */
import { ETH_P_8021AD, ETH_P_8021Q } from "../core/frame.js";
import { bpduFrame, encodeBpdu, type Bpdu } from "../stp/bpdu.js";
import { TapbridgeError } from "../errors.js";

export type Bytes = Uint8Array;

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_LLDP = 0x88cc;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const BROADCAST = "ff:ff:ff:ff:ff:ff";

export function mac(text: string): Bytes {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text.trim());
  if (!m) throw new TapbridgeError("EINVAL", `"${text}" is not a MAC address (expected six hex bytes like 52:54:00:12:34:56)`);
  return Uint8Array.from(m.slice(1), (h) => parseInt(h, 16));
}

export function ipv4Address(text: string): Bytes {
  const parts = text.split(".");
  const b = parts.map(Number);
  if (parts.length !== 4 || b.some((x, i) => !/^\d{1,3}$/.test(parts[i]!) || x > 255)) throw new TapbridgeError("EINVAL", `"${text}" is not an IPv4 address`);
  return Uint8Array.from(b);
}

export function ipv6Address(text: string): Bytes {
  const bad = () => new TapbridgeError("EINVAL", `"${text}" is not an IPv6 address`);
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) throw bad();
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill("0"), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) throw bad();
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function concat(...parts: (Bytes | number[])[]): Bytes {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const u16 = (v: number) => [(v >>> 8) & 0xff, v & 0xff];
const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const bytesOf = (p: Bytes | string | undefined) => (typeof p === "string" ? new TextEncoder().encode(p) : (p ?? new Uint8Array(0)));

/** The Internet checksum (RFC 1071) of `data`, starting from `initial` (a pseudo-header sum). */
export function internetChecksum(data: Bytes, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < data.length; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (data.length & 1) sum += data[data.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pseudoSum(src: Bytes, dst: Bytes, protocol: number, length: number): number {
  let sum = 0;
  for (const a of [src, dst]) for (let i = 0; i < a.length; i += 2) sum += (a[i]! << 8) | a[i + 1]!;
  return sum + protocol + (length >>> 16) + (length & 0xffff);
}

export interface VlanTag {
  vid: number;
  pcp?: number;
  dei?: boolean;
  /** 0x8100 (802.1Q, default) or 0x88a8 (802.1ad S-tag). */
  tpid?: number;
}

export interface EthernetOptions {
  dst: string;
  src: string;
  /** One 802.1Q tag (a VID or a tag). */
  vlan?: number | VlanTag;
  /** 802.1ad: the outer S-tag (TPID 0x88a8) then the inner C-tag. */
  qinq?: { outer: number | VlanTag; inner: number | VlanTag };
  ethertype: number;
  payload?: Bytes | string;
  /** Pad to 60 bytes (default true). */
  pad?: boolean;
}

function tag(t: number | VlanTag, tpid: number): number[] {
  const v = typeof t === "number" ? { vid: t } : t;
  if (!Number.isInteger(v.vid) || v.vid < 0 || v.vid > 4095) throw new TapbridgeError("EINVAL", `VLAN ID ${v.vid} is out of range: use 0 to 4095`);
  return [...u16(v.tpid ?? tpid), ...u16(((v.pcp ?? 0) & 7) << 13 | (v.dei ? 0x1000 : 0) | v.vid)];
}

export function ethernet(o: EthernetOptions): Bytes {
  const tags = o.qinq ? [...tag(o.qinq.outer, ETH_P_8021AD), ...tag(o.qinq.inner, ETH_P_8021Q)] : o.vlan !== undefined ? tag(o.vlan, ETH_P_8021Q) : [];
  const frame = concat(mac(o.dst), mac(o.src), tags, u16(o.ethertype), bytesOf(o.payload));
  if (o.pad === false || frame.length >= 60) return frame;
  return concat(frame, new Uint8Array(60 - frame.length));
}

export interface ArpOptions {
  op: "request" | "reply";
  senderMac: string;
  senderIp: string;
  targetMac?: string;
  targetIp: string;
}

export function arp(o: ArpOptions): Bytes {
  return concat(u16(1), u16(ETH_P_IP), [6, 4], u16(o.op === "request" ? 1 : 2), mac(o.senderMac), ipv4Address(o.senderIp), mac(o.targetMac ?? "00:00:00:00:00:00"), ipv4Address(o.targetIp));
}

export interface Ipv4Options {
  src: string;
  dst: string;
  protocol: number;
  payload: Bytes;
  ttl?: number;
  id?: number;
  dscp?: number;
  dontFragment?: boolean;
}

export function ipv4(o: Ipv4Options): Bytes {
  const h = new Uint8Array(20);
  h.set([0x45, (o.dscp ?? 0) << 2, ...u16(20 + o.payload.length), ...u16(o.id ?? 0), o.dontFragment ? 0x40 : 0, 0, o.ttl ?? 64, o.protocol, 0, 0]);
  h.set(ipv4Address(o.src), 12);
  h.set(ipv4Address(o.dst), 16);
  h.set(u16(internetChecksum(h)), 10);
  return concat(h, o.payload);
}

export interface Ipv6Options {
  src: string;
  dst: string;
  nextHeader: number;
  payload: Bytes;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
}

export function ipv6(o: Ipv6Options): Bytes {
  const tc = o.trafficClass ?? 0;
  const fl = o.flowLabel ?? 0;
  return concat(u32((6 << 28) | (tc << 20) | fl), u16(o.payload.length), [o.nextHeader, o.hopLimit ?? 64], ipv6Address(o.src), ipv6Address(o.dst), o.payload);
}

/** Source and destination addresses for L4 checksums (IPv4 or IPv6, told apart by their form). */
export interface Pseudo {
  src: string;
  dst: string;
}

const addr = (a: string) => (a.includes(":") ? ipv6Address(a) : ipv4Address(a));

export function udp(o: { sport: number; dport: number; payload?: Bytes | string }, ip?: Pseudo): Bytes {
  const payload = bytesOf(o.payload);
  const seg = concat(u16(o.sport), u16(o.dport), u16(8 + payload.length), [0, 0], payload);
  if (ip) {
    let c = internetChecksum(seg, pseudoSum(addr(ip.src), addr(ip.dst), IPPROTO_UDP, seg.length));
    if (c === 0) c = 0xffff;
    seg.set(u16(c), 6);
  }
  return seg;
}

export type TcpFlag = "FIN" | "SYN" | "RST" | "PSH" | "ACK" | "URG";
const TCP_BITS: Record<TcpFlag, number> = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32 };

export function tcp(o: { sport: number; dport: number; seq?: number; ack?: number; flags?: TcpFlag[]; window?: number; payload?: Bytes | string }, ip: Pseudo): Bytes {
  const payload = bytesOf(o.payload);
  const flags = (o.flags ?? ["SYN"]).reduce((f, n) => f | TCP_BITS[n], 0);
  const seg = concat(u16(o.sport), u16(o.dport), u32(o.seq ?? 0), u32(o.ack ?? 0), [0x50, flags], u16(o.window ?? 65535), [0, 0, 0, 0], payload);
  seg.set(u16(internetChecksum(seg, pseudoSum(addr(ip.src), addr(ip.dst), IPPROTO_TCP, seg.length))), 16);
  return seg;
}

export function icmpEcho(o: { type: "request" | "reply"; id?: number; seq?: number; payload?: Bytes | string }): Bytes {
  const msg = concat([o.type === "request" ? 8 : 0, 0, 0, 0], u16(o.id ?? 1), u16(o.seq ?? 1), bytesOf(o.payload));
  msg.set(u16(internetChecksum(msg)), 2);
  return msg;
}

export function icmpv6Echo(o: { type: "request" | "reply"; id?: number; seq?: number; payload?: Bytes | string }, ip: Pseudo): Bytes {
  const msg = concat([o.type === "request" ? 128 : 129, 0, 0, 0], u16(o.id ?? 1), u16(o.seq ?? 1), bytesOf(o.payload));
  msg.set(u16(internetChecksum(msg, pseudoSum(ipv6Address(ip.src), ipv6Address(ip.dst), IPPROTO_ICMPV6, msg.length))), 2);
  return msg;
}

export const DhcpMessageType = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;
export type DhcpMessageTypeName = keyof typeof DhcpMessageType;

export interface DhcpOptions {
  op?: "request" | "reply";
  xid: number;
  chaddr: string;
  messageType: DhcpMessageTypeName;
  ciaddr?: string;
  yiaddr?: string;
  siaddr?: string;
  /** Option 50. */
  requestedIp?: string;
  /** Option 54. */
  serverId?: string;
  /** Option 12. */
  hostname?: string;
  /** Option 55 (default: subnet mask, router, DNS, lease time). */
  parameters?: number[];
  /** Any other options, by code. */
  options?: Record<number, Bytes>;
  broadcast?: boolean;
}

/** A BOOTP/DHCP message (RFC 2131), to put in udp({ sport: 68, dport: 67 }). */
export function dhcp(o: DhcpOptions): Bytes {
  const b = new Uint8Array(240);
  b.set([o.op === "reply" ? 2 : 1, 1, 6, 0, ...u32(o.xid >>> 0), 0, 0, o.broadcast ? 0x80 : 0, 0]);
  b.set(ipv4Address(o.ciaddr ?? "0.0.0.0"), 12);
  b.set(ipv4Address(o.yiaddr ?? "0.0.0.0"), 16);
  b.set(ipv4Address(o.siaddr ?? "0.0.0.0"), 20);
  b.set(mac(o.chaddr), 28);
  b.set([99, 130, 83, 99], 236);
  const opts: number[] = [53, 1, DhcpMessageType[o.messageType]];
  const put = (code: number, v: Bytes | number[]) => opts.push(code, v.length, ...v);
  if (o.requestedIp) put(50, ipv4Address(o.requestedIp));
  if (o.serverId) put(54, ipv4Address(o.serverId));
  if (o.hostname) put(12, [...new TextEncoder().encode(o.hostname)]);
  if (o.op !== "reply") put(55, o.parameters ?? [1, 3, 6, 51]);
  for (const [code, v] of Object.entries(o.options ?? {})) put(Number(code), v);
  opts.push(255);
  return concat(b, opts);
}

/** LLDPDU (IEEE 802.1AB): chassis ID (MAC), port ID (interface name), TTL, optional system name. */
export function lldp(o: { chassisMac: string; portId: string; ttl?: number; systemName?: string }): Bytes {
  const tlv = (type: number, value: Bytes | number[]) => [...u16((type << 9) | value.length), ...value];
  const text = (s: string) => [...new TextEncoder().encode(s)];
  return Uint8Array.from([
    ...tlv(1, [4, ...mac(o.chassisMac)]),
    ...tlv(2, [5, ...text(o.portId)]),
    ...tlv(3, u16(o.ttl ?? 120)),
    ...(o.systemName ? tlv(5, text(o.systemName)) : []),
    ...tlv(0, []),
  ]);
}

/**
 * A BPDU frame to 01:80:C2:00:00:00 (802.3 + LLC 42 42 03), built with
 * src/stp's codec: `bpdu` is a decoded BPDU (config, RST or TCN; see
 * stp/bpdu.ts) or the raw body. Padded to 60 bytes, as on a wire.
 */
export function stpBpdu(o: { src: string; bpdu: Bpdu | Bytes }): Bytes {
  const body = o.bpdu instanceof Uint8Array ? o.bpdu : encodeBpdu(o.bpdu);
  const frame = bpduFrame(mac(o.src), body);
  return frame.length >= 60 ? frame : concat(frame, new Uint8Array(60 - frame.length));
}

// ── whole frames ──────────────────────────────────────────────────────

interface L2 {
  srcMac: string;
  dstMac?: string;
  vlan?: number | VlanTag;
  qinq?: EthernetOptions["qinq"];
}

const l2 = (o: L2, ethertype: number, payload: Bytes) =>
  ethernet({ src: o.srcMac, dst: o.dstMac ?? BROADCAST, ethertype, payload, ...(o.vlan !== undefined ? { vlan: o.vlan } : {}), ...(o.qinq ? { qinq: o.qinq } : {}) });

export function arpRequest(o: L2 & { srcIp: string; targetIp: string }): Bytes {
  return l2(o, ETH_P_ARP, arp({ op: "request", senderMac: o.srcMac, senderIp: o.srcIp, targetIp: o.targetIp }));
}

export function arpReply(o: L2 & { srcIp: string; dstMac: string; dstIp: string }): Bytes {
  return l2(o, ETH_P_ARP, arp({ op: "reply", senderMac: o.srcMac, senderIp: o.srcIp, targetMac: o.dstMac, targetIp: o.dstIp }));
}

export function udp4(o: L2 & { srcIp: string; dstIp: string; sport: number; dport: number; payload?: Bytes | string; ttl?: number }): Bytes {
  const ip = { src: o.srcIp, dst: o.dstIp };
  return l2(o, ETH_P_IP, ipv4({ ...ip, protocol: IPPROTO_UDP, ttl: o.ttl ?? 64, payload: udp(o, ip) }));
}

export function udp6(o: L2 & { srcIp: string; dstIp: string; sport: number; dport: number; payload?: Bytes | string }): Bytes {
  const ip = { src: o.srcIp, dst: o.dstIp };
  return l2(o, ETH_P_IPV6, ipv6({ ...ip, nextHeader: IPPROTO_UDP, payload: udp(o, ip) }));
}

export function tcp4(o: L2 & { srcIp: string; dstIp: string; sport: number; dport: number; seq?: number; ack?: number; flags?: TcpFlag[]; payload?: Bytes | string }): Bytes {
  const ip = { src: o.srcIp, dst: o.dstIp };
  return l2(o, ETH_P_IP, ipv4({ ...ip, protocol: IPPROTO_TCP, payload: tcp(o, ip) }));
}

export function ping4(o: L2 & { srcIp: string; dstIp: string; id?: number; seq?: number; reply?: boolean; payload?: Bytes | string }): Bytes {
  return l2(o, ETH_P_IP, ipv4({ src: o.srcIp, dst: o.dstIp, protocol: IPPROTO_ICMP, payload: icmpEcho({ ...o, type: o.reply ? "reply" : "request" }) }));
}

export function ping6(o: L2 & { srcIp: string; dstIp: string; id?: number; seq?: number; reply?: boolean; payload?: Bytes | string }): Bytes {
  const ip = { src: o.srcIp, dst: o.dstIp };
  return l2(o, ETH_P_IPV6, ipv6({ ...ip, nextHeader: IPPROTO_ICMPV6, payload: icmpv6Echo({ ...o, type: o.reply ? "reply" : "request" }, ip) }));
}

/** DHCP from a client (0.0.0.0:68 → 255.255.255.255:67, broadcast). */
export function dhcpClient(o: Omit<DhcpOptions, "chaddr" | "op"> & { mac: string; vlan?: number | VlanTag }): Bytes {
  return udp4({ srcMac: o.mac, dstMac: BROADCAST, ...(o.vlan !== undefined ? { vlan: o.vlan } : {}), srcIp: "0.0.0.0", dstIp: "255.255.255.255", sport: 68, dport: 67, payload: dhcp({ ...o, chaddr: o.mac }) });
}

export function dhcpDiscover(o: { mac: string; xid: number; hostname?: string; vlan?: number | VlanTag }): Bytes {
  return dhcpClient({ ...o, messageType: "DISCOVER" });
}

export function dhcpRequest(o: { mac: string; xid: number; requestedIp: string; serverId: string; hostname?: string; vlan?: number | VlanTag }): Bytes {
  return dhcpClient({ ...o, messageType: "REQUEST" });
}

export function lldpFrame(o: { srcMac: string; portId: string; ttl?: number; systemName?: string }): Bytes {
  return ethernet({ src: o.srcMac, dst: "01:80:c2:00:00:0e", ethertype: ETH_P_LLDP, payload: lldp({ chassisMac: o.srcMac, ...o }) });
}
