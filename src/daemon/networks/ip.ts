/**
 * IPv4 and IPv6 addresses and prefixes, as networks need them: parse
 * "192.168.122.1/24" or "fd00::1/64", the subnet it lies in, whether two
 * prefixes overlap (an address that clashes with a route the host has),
 * whether an address is inside a prefix (a DHCP range outside its network).
 * Pure; addresses are BigInts so both families share the arithmetic.
 */
import { isIPv4, isIPv6 } from "node:net";
import { TapbridgeError } from "../../errors.js";

export type Family = 4 | 6;

export interface Prefix {
  family: Family;
  /** The address as written (host bits kept: 192.168.122.1/24 is the host's address on its network). */
  address: bigint;
  length: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export function parseIp(text: string): { family: Family; address: bigint } {
  if (isIPv4(text)) {
    const n = text.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { family: 4, address: n };
  }
  if (isIPv6(text)) return { family: 6, address: parseIpv6(text) };
  throw new TapbridgeError("EINVAL", `"${text}" is not an IPv4 or IPv6 address`);
}

function parseIpv6(text: string): bigint {
  let t = text;
  const zone = t.indexOf("%");
  if (zone >= 0) t = t.slice(0, zone);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const n = Number(parseIp(v4[1]!).address);
    t = t.slice(0, v4.index) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = t.includes("::") ? t.split("::") : [t, undefined];
  const h = head ? head.split(":") : [];
  const tl = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - tl.length).fill("0"), ...tl];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function formatIp(family: Family, address: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((address >> s) & 0xffn)).join(".");
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((address >> BigInt(i * 16)) & 0xffffn));
  // The longest run of zero groups (two or more) becomes "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** "192.168.122.1/24" (a bare address is a host prefix: /32, /128). */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  const bits = BITS[ip.family];
  const length = slash < 0 ? bits : Number(text.slice(slash + 1));
  if (!/^\d+$/.test(slash < 0 ? String(bits) : text.slice(slash + 1)) || !Number.isInteger(length) || length < 0 || length > bits) {
    throw new TapbridgeError("EINVAL", `"${text}" has no valid prefix length: use /0 to /${bits}`);
  }
  return { family: ip.family, address: ip.address, length };
}

function mask(family: Family, length: number): bigint {
  const bits = BigInt(BITS[family]);
  return length === 0 ? 0n : ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(length))) - 1n);
}

/** The first address of the prefix's network. */
export function networkOf(p: Prefix): bigint {
  return p.address & mask(p.family, p.length);
}

/** The last address of the prefix's network (IPv4: the broadcast address). */
export function lastOf(p: Prefix): bigint {
  return networkOf(p) | (((1n << BigInt(BITS[p.family])) - 1n) ^ mask(p.family, p.length));
}

export function formatPrefix(p: Prefix, network = false): string {
  return `${formatIp(p.family, network ? networkOf(p) : p.address)}/${p.length}`;
}

export function contains(p: Prefix, family: Family, address: bigint): boolean {
  return p.family === family && (address & mask(p.family, p.length)) === networkOf(p);
}

/** Whether two prefixes share any address (one contains the other). */
export function overlaps(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.length, b.length);
  const m = mask(a.family, shorter);
  return (a.address & m) === (b.address & m);
}

/** IPv4 netmask text for a length (dnsmasq's dhcp-range). */
export function netmask4(length: number): string {
  return formatIp(4, mask(4, length));
}
