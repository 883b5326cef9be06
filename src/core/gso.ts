/**
 * Which GSO frames the bridge can forward: those whose virtio-net header
 * describes a TCP or UDP header the addon could segment if an egress port
 * needs it (a port without virtio-net headers, or any port for a tunnelled
 * frame, which the kernel would refuse whole). The rule is native/gso.cc's
 * GsoPlanFrame, restated here so the decision core can drop what transmit
 * could not send, under its own reason, at ingress; test/io/gso.test.ts
 * checks on random frames that the two agree. Change both or neither.
 *
 * Accepted: gso_type TCPv4, TCPv6 or UDP_L4; NEEDS_CSUM with csum_offset 16
 * (TCP) or 6 (UDP); gso_size > 0; up to two VLAN tags; an IPv4 or IPv6
 * header (IPv6 extension headers allowed, fragments not); at most one
 * tunnel: IP-in-IP, or UDP / GRE-without-checksum followed by the inner IP
 * header at once or behind a tunnel header and an inner Ethernet header
 * naming it, ending at csum_start, its length reaching the end of the frame,
 * with no IP-in-IP header right before it; the innermost IP version matching
 * a TCP gso_type; headers through L4 no longer than 256 bytes.
 */
import { Vnet } from "./abi.js";

export const MAX_GSO_HEADERS = 256;

/** True when the GSO frame at `offset` (virtio-net header at `vnetAt`) can be forwarded. */
export function gsoSegmentable(bytes: Uint8Array, view: DataView, vnetAt: number, offset: number, len: number): boolean {
  const gso = bytes[vnetAt + 1]! & ~Vnet.GSO_ECN;
  if (gso !== Vnet.GSO_TCPV4 && gso !== Vnet.GSO_TCPV6 && gso !== GSO_UDP_L4) return false;
  if (!(bytes[vnetAt]! & Vnet.FLAG_NEEDS_CSUM)) return false;
  const l4 = view.getUint16(vnetAt + Vnet.csumStart, true);
  const proto = gso === GSO_UDP_L4 ? 17 : 6;
  if (view.getUint16(vnetAt + Vnet.csumOffset, true) !== (proto === 6 ? 16 : 6)) return false;
  if (view.getUint16(vnetAt + Vnet.gsoSize, true) === 0 || len < 14 || len < l4 + (proto === 6 ? 20 : 8)) return false;
  const f = offset;
  const rd16 = (at: number) => view.getUint16(f + at);

  let pos = 14;
  let type = rd16(12);
  for (let tags = 0; (type === 0x8100 || type === 0x88a8) && tags < 2; tags++) {
    if (len < pos + 4) return false;
    type = rd16(pos + 2);
    pos += 4;
  }
  let v4: boolean;
  if (type === 0x0800) v4 = true;
  else if (type === 0x86dd) v4 = false;
  else return false;

  let nIp = 0;
  let innerV4 = v4;
  for (;;) {
    let next: number;
    let nh: number;
    if (v4) {
      if (len < pos + 20 || bytes[f + pos]! >> 4 !== 4) return false;
      const ihl = (bytes[f + pos]! & 0xf) * 4;
      if (ihl < 20 || len < pos + ihl || (rd16(pos + 6) & 0x3fff) !== 0) return false;
      next = pos + ihl;
      nh = bytes[f + pos + 9]!;
    } else {
      if (len < pos + 40 || bytes[f + pos]! >> 4 !== 6) return false;
      nh = bytes[f + pos + 6]!;
      next = pos + 40;
      while ((nh === 0 || nh === 43 || nh === 60) && next < l4) {
        if (len < next + 8) return false;
        const hl = (bytes[f + next + 1]! + 1) * 8;
        nh = bytes[f + next]!;
        next += hl;
      }
    }
    nIp++;
    innerV4 = v4;
    if (next === l4) {
      if (nh !== proto) return false;
      break;
    }
    if (next > l4 || nIp === 2) return false;
    if (nh === 4 || nh === 41) {
      pos = next;
      v4 = nh === 4;
      continue;
    }
    let from: number;
    if (nh === 17) {
      if (next + 8 > l4) return false;
      from = next + 8;
    } else if (nh === 47) {
      const greFlags = bytes[f + next]!;
      if (next + 4 > l4 || greFlags & 0x80) return false;
      from = next + 4 + (greFlags & 0x20 ? 4 : 0) + (greFlags & 0x10 ? 4 : 0);
      if (from > l4) return false;
    } else {
      return false;
    }
    const inner = findInnerIp(bytes, view, f, len, from, l4, proto);
    if (inner === undefined) return false;
    innerV4 = inner;
    break;
  }
  if ((gso === Vnet.GSO_TCPV4 && !innerV4) || (gso === Vnet.GSO_TCPV6 && innerV4)) return false;
  let hdrs: number;
  if (proto === 6) {
    if (len < l4 + 20) return false;
    const doff = (bytes[f + l4 + 12]! >> 4) * 4;
    if (doff < 20 || len < l4 + doff) return false;
    hdrs = l4 + doff;
  } else {
    if (len < l4 + 8) return false;
    hdrs = l4 + 8;
  }
  return hdrs <= MAX_GSO_HEADERS;
}

const GSO_UDP_L4 = 5;

/** An IPv4 header at q, not a fragment, carrying p1 or p2, whose length reaches the end of the frame. */
function ipv4At(bytes: Uint8Array, view: DataView, f: number, len: number, q: number, ihl: number, p1: number, p2: number): boolean {
  const proto = bytes[f + q + 9];
  return bytes[f + q] === (0x40 | (ihl / 4)) && (proto === p1 || proto === p2) && view.getUint16(f + q + 2) === len - q && (view.getUint16(f + q + 6) & 0x3fff) === 0;
}

function ipv6At(bytes: Uint8Array, view: DataView, f: number, len: number, q: number, p1: number, p2: number): boolean {
  const nh = bytes[f + q + 6];
  return bytes[f + q]! >> 4 === 6 && (nh === p1 || nh === p2) && view.getUint16(f + q + 4) === len - q - 40;
}

/** An IP-in-IP header ending at q: the signature of a second tunnel. */
function tunnelIpEndsAt(bytes: Uint8Array, view: DataView, f: number, len: number, from: number, q: number): boolean {
  for (let ihl = 20; ihl <= 60 && q >= from + ihl; ihl += 4) if (ipv4At(bytes, view, f, len, q - ihl, ihl, 4, 41)) return true;
  return q >= from + 40 && ipv6At(bytes, view, f, len, q - 40, 4, 41);
}

/**
 * The inner IP header of a UDP or GRE tunnel, ending at l4, right at `from`
 * or behind an inner Ethernet header naming it: true for IPv4, false for
 * IPv6, undefined for none.
 */
function findInnerIp(bytes: Uint8Array, view: DataView, f: number, len: number, from: number, l4: number, proto: number): boolean | undefined {
  const placed = (q: number, ethertype: number) =>
    (q === from || (q >= from + 14 && view.getUint16(f + q - 2) === ethertype)) && !tunnelIpEndsAt(bytes, view, f, len, from, q);
  for (let ihl = 20; ihl <= 60; ihl += 4) {
    if (l4 < from + ihl) break;
    const q = l4 - ihl;
    if (ipv4At(bytes, view, f, len, q, ihl, proto, proto) && placed(q, 0x0800)) return true;
  }
  if (l4 >= from + 40 && ipv6At(bytes, view, f, len, l4 - 40, proto, proto) && placed(l4 - 40, 0x86dd)) return false;
  return undefined;
}
