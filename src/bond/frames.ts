/**
 * The few frames a bond builds and recognises itself:
 *  - gratuitous RARP announcing a station after a failover (what Open
 *    vSwitch sends; the bonding driver's num_grat_arp sends ARP, which needs
 *    the station's IP address, unknown to a bridge): broadcast, ethertype
 *    0x8035, "reverse request" with the station's MAC as sender and target,
 *    so every switch on the way learns the MAC on the port it came from;
 *  - ARP probes toward the ARP monitor's targets, and the ARP frames that
 *    prove a member still reaches them;
 *  - gratuitous ARP (sender IP = target IP), which balance-slb lets through
 *    from the switch even for a station learned behind another port: the
 *    station moved.
 * Recognising is done on the batch memory, allocating nothing.
 */

import { parseMac } from "../core/frame.js";

export const ETH_P_ARP = 0x0806;
export const ETH_P_RARP = 0x8035;
const ETH_P_IP = 0x0800;
const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

function writeMacHiLo(b: Uint8Array, at: number, hi: number, lo: number): void {
  b[at] = (hi >>> 8) & 0xff;
  b[at + 1] = hi & 0xff;
  b[at + 2] = lo >>> 24;
  b[at + 3] = (lo >>> 16) & 0xff;
  b[at + 4] = (lo >>> 8) & 0xff;
  b[at + 5] = lo & 0xff;
}

/** Ethernet header (with an 802.1Q/802.1ad tag when `tag` is a tag word, (TPID << 16) | TCI) and ARP body fields. */
function arpLike(ethertype: number, op: number, srcHi: number, srcLo: number, tag: number): { frame: Uint8Array; view: DataView; at: number } {
  const tagged = tag !== 0;
  const frame = new Uint8Array(tagged ? 64 : 60);
  const view = new DataView(frame.buffer);
  frame.set(BROADCAST, 0);
  writeMacHiLo(frame, 6, srcHi, srcLo);
  let at = 12;
  if (tagged) {
    view.setUint32(12, tag >>> 0);
    at = 16;
  }
  view.setUint16(at, ethertype);
  at += 2;
  view.setUint16(at, 1); // Ethernet
  view.setUint16(at + 2, ETH_P_IP);
  frame[at + 4] = 6;
  frame[at + 5] = 4;
  view.setUint16(at + 6, op);
  return { frame, view, at };
}

/** A gratuitous RARP for one station (MAC as hi/lo), optionally tagged. */
export function rarpAnnouncement(macHi: number, macLo: number, tag = 0): Uint8Array {
  const { frame, at } = arpLike(ETH_P_RARP, 3, macHi, macLo, tag);
  writeMacHiLo(frame, at + 8, macHi, macLo); // sender hardware address
  writeMacHiLo(frame, at + 18, macHi, macLo); // target hardware address; both IPs 0
  return frame;
}

/** An ARP request "who has `targetIp`, tell `senderIp`" from a member's MAC (6 bytes). */
export function arpProbe(srcMac: Uint8Array, senderIp: number, targetIp: number): Uint8Array {
  const hi = (srcMac[0]! << 8) | srcMac[1]!;
  const lo = ((srcMac[2]! << 24) | (srcMac[3]! << 16) | (srcMac[4]! << 8) | srcMac[5]!) >>> 0;
  const { frame, view, at } = arpLike(ETH_P_ARP, 1, hi, lo, 0);
  frame.set(srcMac.subarray(0, 6), at + 8);
  view.setUint32(at + 14, senderIp >>> 0);
  view.setUint32(at + 24, targetIp >>> 0); // target hardware address left zero
  return frame;
}

/**
 * Offset of the ARP body of an untagged or single-tagged Ethernet/IPv4 ARP
 * frame, or -1. Hot path.
 */
export function arpBody(view: DataView, offset: number, length: number): number {
  if (length < 42) return -1;
  let at = offset + 12;
  let type = view.getUint16(at);
  if (type === 0x8100 || type === 0x88a8) {
    if (length < 46) return -1;
    at += 4;
    type = view.getUint16(at);
  }
  if (type !== ETH_P_ARP) return -1;
  const body = at + 2;
  if (view.getUint16(body) !== 1 || view.getUint16(body + 2) !== ETH_P_IP || view.getUint8(body + 4) !== 6 || view.getUint8(body + 5) !== 4) return -1;
  return body;
}

/** The ARP sender IP (unsigned), from `arpBody`'s offset. */
export function arpSenderIp(view: DataView, body: number): number {
  return view.getUint32(body + 14);
}

/** Whether an ARP body is a reply (op 2) whose target hardware address is hi/lo. */
export function arpReplyTo(view: DataView, body: number, hi: number, lo: number): boolean {
  return view.getUint16(body + 6) === 2 && view.getUint16(body + 18) === hi && view.getUint32(body + 20) === lo;
}

/** Gratuitous ARP: sender IP equals target IP (request or reply). */
export function isGratuitousArp(view: DataView, body: number): boolean {
  return view.getUint32(body + 14) === view.getUint32(body + 24);
}

/** "02:00:…" → its six bytes. */
export function macBytes(mac: string): Uint8Array {
  const [hi, lo] = parseMac(mac);
  return new Uint8Array([hi >>> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff]);
}

/** A stable locally administered MAC for a bond whose members have none (in-memory members without one). */
export function nameMac(name: string): string {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return [0x02, 0xb0, (h >>> 24) & 0xff, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff].map((b) => b.toString(16).padStart(2, "0")).join(":");
}
