/**
 * Frame parser for tests: bytes → a plain object with one field per layer
 * that is present (`arp`, `ipv4`, `udp`, `dhcp`, …), MACs and addresses as
 * lower-case strings, so a test can compare with `toMatchObject` or a
 * FrameMatch (match.ts), and a failure message can print what arrived
 * (`describeFrame`, one tcpdump-like line).
 *
 * Lenient: a truncated or unknown layer stops the parse there; what was
 * read so far is returned. Never throws on frame contents.
 */
import { DhcpMessageType, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, ETH_P_LLDP, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, internetChecksum } from "./frames.js";

export interface DecodedTag {
  tpid: number;
  vid: number;
  pcp: number;
  dei: boolean;
}

export interface DecodedFrame {
  length: number;
  dst: string;
  src: string;
  /** Tags from the outside in. */
  tags: DecodedTag[];
  /** VID of the outermost tag, if tagged. */
  vlan?: number;
  /** EtherType after the tags (or the 802.3 length). */
  ethertype: number;
  arp?: { op: "request" | "reply" | number; senderMac: string; senderIp: string; targetMac: string; targetIp: string };
  ipv4?: { src: string; dst: string; protocol: number; ttl: number; id: number; totalLength: number; checksumOk: boolean };
  ipv6?: { src: string; dst: string; nextHeader: number; hopLimit: number; payloadLength: number };
  icmp?: { type: number; code: number; echo?: "request" | "reply"; id?: number; seq?: number };
  icmpv6?: { type: number; code: number; echo?: "request" | "reply"; id?: number; seq?: number };
  udp?: { sport: number; dport: number; length: number };
  tcp?: { sport: number; dport: number; seq: number; ack: number; flags: string[]; window: number };
  dhcp?: {
    op: "request" | "reply";
    xid: number;
    chaddr: string;
    ciaddr: string;
    yiaddr: string;
    siaddr: string;
    messageType?: string;
    serverId?: string;
    requestedIp?: string;
    leaseTime?: number;
    subnetMask?: string;
    router?: string;
    options: Record<number, Uint8Array>;
  };
  lldp?: { chassisId: string; portId: string; ttl: number; systemName?: string };
  /** 802.3 + LLC 42 42 03; `body` decodes with decodeBpdu (src/stp's codec). */
  stp?: { protocol: number; version: number; type: "config" | "tcn" | "rst" | number; flags: number; body: Uint8Array };
  /** The innermost payload (after L4, or after the last header read). */
  payload: Uint8Array;
}

const hex = (b: number) => b.toString(16).padStart(2, "0");
const macAt = (f: Uint8Array, o: number) => Array.from(f.subarray(o, o + 6), hex).join(":");
const ip4At = (f: Uint8Array, o: number) => Array.from(f.subarray(o, o + 4)).join(".");
function ip6At(f: Uint8Array, o: number): string {
  const g = Array.from({ length: 8 }, (_, i) => ((f[o + 2 * i]! << 8) | f[o + 2 * i + 1]!).toString(16));
  // Longest run of zero groups → "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === "0") j++;
    if (j - i > bestLen) (best = i), (bestLen = j - i);
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return g.join(":");
  return `${g.slice(0, best).join(":")}::${g.slice(best + bestLen).join(":")}`;
}

export function decodeFrame(frame: Uint8Array): DecodedFrame {
  const f = frame;
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const out: DecodedFrame = { length: f.length, dst: "", src: "", tags: [], ethertype: 0, payload: new Uint8Array(0) };
  if (f.length < 14) {
    out.payload = f;
    return out;
  }
  out.dst = macAt(f, 0);
  out.src = macAt(f, 6);
  let at = 12;
  let type = v.getUint16(at);
  while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && at + 6 <= f.length) {
    const tci = v.getUint16(at + 2);
    out.tags.push({ tpid: type, vid: tci & 0xfff, pcp: tci >>> 13, dei: (tci & 0x1000) !== 0 });
    at += 4;
    type = v.getUint16(at);
  }
  if (out.tags.length) out.vlan = out.tags[0]!.vid;
  out.ethertype = type;
  at += 2;
  out.payload = f.subarray(at);
  if (type === ETH_P_ARP && f.length >= at + 28) {
    const op = v.getUint16(at + 6);
    out.arp = { op: op === 1 ? "request" : op === 2 ? "reply" : op, senderMac: macAt(f, at + 8), senderIp: ip4At(f, at + 14), targetMac: macAt(f, at + 18), targetIp: ip4At(f, at + 24) };
  } else if (type === ETH_P_IP && f.length >= at + 20 && f[at]! >> 4 === 4) {
    const ihl = (f[at]! & 15) * 4;
    const total = v.getUint16(at + 2);
    out.ipv4 = { src: ip4At(f, at + 12), dst: ip4At(f, at + 16), protocol: f[at + 9]!, ttl: f[at + 8]!, id: v.getUint16(at + 4), totalLength: total, checksumOk: internetChecksum(f.subarray(at, at + ihl)) === 0 };
    const end = Math.min(f.length, at + Math.max(total, ihl));
    l4(out, f, v, out.ipv4.protocol, at + ihl, end);
  } else if (type === ETH_P_IPV6 && f.length >= at + 40) {
    const len = v.getUint16(at + 4);
    out.ipv6 = { src: ip6At(f, at + 8), dst: ip6At(f, at + 24), nextHeader: f[at + 6]!, hopLimit: f[at + 7]!, payloadLength: len };
    l4(out, f, v, out.ipv6.nextHeader, at + 40, Math.min(f.length, at + 40 + len));
  } else if (type === ETH_P_LLDP) {
    out.lldp = lldpOf(f, v, at);
  } else if (type <= 1500 && f[at] === 0x42 && f[at + 1] === 0x42 && f[at + 2] === 0x03 && f.length >= at + 7) {
    const b = at + 3;
    const t = f[b + 3]!;
    out.stp = { protocol: v.getUint16(b), version: f[b + 2]!, type: t === 0 ? "config" : t === 0x80 ? "tcn" : t === 2 ? "rst" : t, flags: f[b + 4] ?? 0, body: f.subarray(b, Math.min(f.length, at + type)) };
  }
  return out;
}

function l4(out: DecodedFrame, f: Uint8Array, v: DataView, proto: number, at: number, end: number): void {
  out.payload = f.subarray(at, end);
  if (proto === IPPROTO_UDP && end - at >= 8) {
    out.udp = { sport: v.getUint16(at), dport: v.getUint16(at + 2), length: v.getUint16(at + 4) };
    out.payload = f.subarray(at + 8, end);
    if ((out.udp.dport === 67 || out.udp.dport === 68 || out.udp.sport === 67) && end - at >= 8 + 240) out.dhcp = dhcpOf(f, v, at + 8, end);
  } else if (proto === IPPROTO_TCP && end - at >= 20) {
    const fl = f[at + 13]!;
    const names = ["FIN", "SYN", "RST", "PSH", "ACK", "URG"].filter((_, i) => fl & (1 << i));
    out.tcp = { sport: v.getUint16(at), dport: v.getUint16(at + 2), seq: v.getUint32(at + 4), ack: v.getUint32(at + 8), flags: names, window: v.getUint16(at + 14) };
    out.payload = f.subarray(at + (f[at + 12]! >> 4) * 4, end);
  } else if ((proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) && end - at >= 4) {
    const type = f[at]!;
    const m: NonNullable<DecodedFrame["icmp"]> = { type, code: f[at + 1]! };
    const [req, rep] = proto === IPPROTO_ICMP ? [8, 0] : [128, 129];
    if ((type === req || type === rep) && end - at >= 8) {
      m.echo = type === req ? "request" : "reply";
      m.id = v.getUint16(at + 4);
      m.seq = v.getUint16(at + 6);
      out.payload = f.subarray(at + 8, end);
    }
    if (proto === IPPROTO_ICMP) out.icmp = m;
    else out.icmpv6 = m;
  }
}

const DHCP_NAMES = Object.fromEntries(Object.entries(DhcpMessageType).map(([k, n]) => [n, k]));

function dhcpOf(f: Uint8Array, v: DataView, at: number, end: number): DecodedFrame["dhcp"] {
  if (v.getUint32(at + 236) !== 0x63825363) return undefined;
  const options: Record<number, Uint8Array> = {};
  for (let o = at + 240; o < end; ) {
    const code = f[o]!;
    if (code === 255) break;
    if (code === 0) {
      o++;
      continue;
    }
    const len = f[o + 1] ?? 0;
    options[code] = f.slice(o + 2, o + 2 + len);
    o += 2 + len;
  }
  const ip = (b?: Uint8Array) => (b && b.length >= 4 ? ip4At(b, 0) : undefined);
  const d: NonNullable<DecodedFrame["dhcp"]> = {
    op: f[at] === 2 ? "reply" : "request",
    xid: v.getUint32(at + 4),
    ciaddr: ip4At(f, at + 12),
    yiaddr: ip4At(f, at + 16),
    siaddr: ip4At(f, at + 20),
    chaddr: macAt(f, at + 28),
    options,
  };
  if (options[53]) d.messageType = DHCP_NAMES[options[53][0]!] ?? String(options[53][0]);
  const set = <K extends keyof typeof d>(k: K, val: (typeof d)[K] | undefined) => val !== undefined && (d[k] = val);
  set("serverId", ip(options[54]));
  set("requestedIp", ip(options[50]));
  set("subnetMask", ip(options[1]));
  set("router", ip(options[3]));
  if (options[51]?.length === 4) d.leaseTime = new DataView(options[51].buffer, options[51].byteOffset).getUint32(0);
  return d;
}

function lldpOf(f: Uint8Array, v: DataView, at: number): DecodedFrame["lldp"] {
  const l: NonNullable<DecodedFrame["lldp"]> = { chassisId: "", portId: "", ttl: 0 };
  const text = (o: number, n: number) => new TextDecoder().decode(f.subarray(o, o + n));
  for (let o = at; o + 2 <= f.length; ) {
    const h = v.getUint16(o);
    const type = h >> 9;
    const len = h & 0x1ff;
    const val = o + 2;
    if (type === 0) break;
    if (type === 1) l.chassisId = f[val] === 4 && len === 7 ? macAt(f, val + 1) : text(val + 1, len - 1);
    else if (type === 2) l.portId = f[val] === 3 && len === 7 ? macAt(f, val + 1) : text(val + 1, len - 1);
    else if (type === 3) l.ttl = v.getUint16(val);
    else if (type === 5) l.systemName = text(val, len);
    o = val + len;
  }
  return l;
}

/** One line, tcpdump-like: "02:..:01 > ff:..:ff vlan 10, ARP who-has 10.0.0.2 tell 10.0.0.1 (60 bytes)". */
export function describeFrame(frame: Uint8Array | DecodedFrame): string {
  const d = frame instanceof Uint8Array ? decodeFrame(frame) : frame;
  const tags = d.tags.map((t) => `${t.tpid === 0x8100 ? "vlan" : `tag 0x${t.tpid.toString(16)}`} ${t.vid}${t.pcp ? ` p${t.pcp}` : ""}`).join(", ");
  let what: string;
  if (d.arp) what = d.arp.op === "request" ? `ARP who-has ${d.arp.targetIp} tell ${d.arp.senderIp}` : `ARP ${d.arp.senderIp} is-at ${d.arp.senderMac}`;
  else if (d.dhcp) what = `DHCP ${d.dhcp.messageType ?? "?"} xid 0x${d.dhcp.xid.toString(16)}${d.dhcp.yiaddr !== "0.0.0.0" ? ` yiaddr ${d.dhcp.yiaddr}` : ""}`;
  else if (d.ipv4 || d.ipv6) {
    const ip = (d.ipv4 ?? d.ipv6)!;
    const l4 = d.udp ? `UDP ${d.udp.sport} > ${d.udp.dport}` : d.tcp ? `TCP ${d.tcp.sport} > ${d.tcp.dport} [${d.tcp.flags.join(",")}]` : d.icmp || d.icmpv6 ? `ICMP${d.icmpv6 ? "v6" : ""} ${(d.icmp ?? d.icmpv6)!.echo ? `echo ${(d.icmp ?? d.icmpv6)!.echo} seq ${(d.icmp ?? d.icmpv6)!.seq}` : `type ${(d.icmp ?? d.icmpv6)!.type}`}` : `proto ${d.ipv4?.protocol ?? d.ipv6?.nextHeader}`;
    what = `${d.ipv4 ? "IPv4" : "IPv6"} ${ip.src} > ${ip.dst} ${l4}`;
  } else if (d.lldp) what = `LLDP ${d.lldp.chassisId} port ${d.lldp.portId}`;
  else if (d.stp) what = `STP ${d.stp.type} BPDU`;
  else what = `ethertype 0x${d.ethertype.toString(16).padStart(4, "0")}`;
  return `${d.src} > ${d.dst}${tags ? ` ${tags},` : ""} ${what} (${d.length} bytes)`;
}
