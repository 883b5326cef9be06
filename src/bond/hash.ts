/**
 * Transmit hashing of a bond: which of the 256 hash buckets a frame belongs
 * to. Buckets, not members, are what the hash picks (buckets.ts maps each to
 * a member and moves them by load), so a member that leaves or joins moves
 * whole buckets and every other flow keeps its member and its order.
 *
 *  - balance-slb: source MAC and VLAN (as Open vSwitch's SLB): every frame
 *    of one station leaves through one member, so the external switch sees
 *    each MAC on one port and needs no configuration;
 *  - lacp (balance-tcp): destination and source MAC, VLAN, ethertype, and
 *    for IPv4/IPv6 the addresses, protocol and — for TCP, UDP and SCTP,
 *    unless an IPv4 fragment — the ports: one flow, one member, flows of one
 *    station spread. Allowed only once the partner aggregates: it must
 *    accept a station on any member.
 *
 * The mix is MurmurHash3's 32-bit block step and finaliser on integers read
 * straight from the batch (no allocation, no strings). A fixed basis keeps
 * assignments stable across restarts; nobody outside chooses which member a
 * flow takes by crafting it beyond what they could by sending more.
 */
export const BUCKET_BITS = 8;
export const BUCKETS = 1 << BUCKET_BITS;
export const BUCKET_MASK = BUCKETS - 1;

const BASIS_SLB = 0x9747b28c;
const BASIS_L234 = 0x5bd1e995;

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** balance-slb: the bucket of a station (MAC as hi 16 / lo 32 bits) in a VLAN. */
export function slbBucket(macHi: number, macLo: number, vid: number): number {
  return finish(mix(mix(mix(BASIS_SLB, macHi), macLo), vid)) & BUCKET_MASK;
}

/**
 * The frame's VLAN for hashing: its tag word's VID when the bridge filters
 * VLANs (`tag` != 0), else the VID of an 802.1Q/802.1ad header it carries,
 * else 0.
 */
export function frameVid(view: DataView, offset: number, length: number, tag: number): number {
  if (tag !== 0) return tag & 0xfff;
  if (length < 18) return 0;
  const type = view.getUint16(offset + 12);
  return type === 0x8100 || type === 0x88a8 ? view.getUint16(offset + 14) & 0xfff : 0;
}

/** balance-slb: the bucket of a frame, by its source MAC and VLAN. */
export function slbFrameBucket(view: DataView, offset: number, length: number, tag: number): number {
  return slbBucket(view.getUint16(offset + 6), view.getUint32(offset + 8), frameVid(view, offset, length, tag));
}

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_SCTP = 132;

function hasPorts(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP;
}

/** lacp (balance-tcp): the 32-bit hash of a frame's L2, L3 and L4 identity. */
export function l234Hash(view: DataView, offset: number, length: number, tag: number): number {
  const end = offset + length;
  let h = mix(BASIS_L234, view.getUint16(offset));
  h = mix(h, view.getUint32(offset + 2));
  h = mix(h, view.getUint16(offset + 6));
  h = mix(h, view.getUint32(offset + 8));
  h = mix(h, frameVid(view, offset, length, tag));
  let at = offset + 12;
  let type = view.getUint16(at);
  while ((type === 0x8100 || type === 0x88a8) && at + 6 <= end) {
    at += 4;
    type = view.getUint16(at);
  }
  h = mix(h, type);
  const l3 = at + 2;
  if (type === 0x0800 && l3 + 20 <= end) {
    const ihl = (view.getUint8(l3) & 0x0f) * 4;
    const proto = view.getUint8(l3 + 9);
    h = mix(h, view.getUint32(l3 + 12));
    h = mix(h, view.getUint32(l3 + 16));
    h = mix(h, proto);
    const fragment = (view.getUint16(l3 + 6) & 0x3fff) !== 0;
    if (!fragment && hasPorts(proto) && ihl >= 20 && l3 + ihl + 4 <= end) h = mix(h, view.getUint32(l3 + ihl));
  } else if (type === 0x86dd && l3 + 40 <= end) {
    for (let w = 8; w < 40; w += 4) h = mix(h, view.getUint32(l3 + w));
    const next = view.getUint8(l3 + 6);
    h = mix(h, next);
    if (hasPorts(next) && l3 + 44 <= end) h = mix(h, view.getUint32(l3 + 40));
  }
  return finish(h);
}

/** lacp: the bucket of a frame. */
export function l234Bucket(view: DataView, offset: number, length: number, tag: number): number {
  return l234Hash(view, offset, length, tag) & BUCKET_MASK;
}
