/**
 * Ethernet frame constants and MAC address helpers.
 *
 * On the hot path a MAC is two numbers read straight from the batch memory:
 * `hi` = first two bytes (16 bits), `lo` = last four bytes (unsigned 32 bits).
 * The group bit (multicast/broadcast) is bit 8 of `hi`.
 */
import { TapbridgeError } from "../errors.js";

export const ETH_HLEN = 14;
export const VLAN_HLEN = 4;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const MIN_FRAME = 60;

/** 01:80:C2:00:00:0X — the IEEE 802.1D reserved group addresses. */
export const LINK_LOCAL_HI = 0x0180;
export const LINK_LOCAL_LO_PREFIX = 0xc2000000;

export function isGroupHi(hi: number): boolean {
  return (hi & 0x0100) !== 0;
}

/** "aa:bb:cc:dd:ee:ff" (also accepts '-' separators and upper case) → [hi, lo]. */
export function parseMac(text: string): [number, number] {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text.trim());
  if (!m) throw new TapbridgeError("EINVAL", `"${text}" is not a MAC address (expected six hex bytes like 52:54:00:12:34:56)`);
  const b = m.slice(1).map((h) => parseInt(h, 16));
  return [(b[0]! << 8) | b[1]!, ((b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]!) >>> 0];
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function formatMac(hi: number, lo: number): string {
  return `${HEX[(hi >>> 8) & 0xff]}:${HEX[hi & 0xff]}:${HEX[lo >>> 24]}:${HEX[(lo >>> 16) & 0xff]}:${HEX[(lo >>> 8) & 0xff]}:${HEX[lo & 0xff]}`;
}

export function macFromBytes(bytes: Uint8Array, offset = 0): string {
  return formatMac((bytes[offset]! << 8) | bytes[offset + 1]!, readU32(bytes, offset + 2));
}

export function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/** Build an Ethernet frame (padded to 60 bytes) — for tests, demos and library users. */
export function buildFrame(options: {
  dst: string;
  src: string;
  ethertype?: number;
  vlan?: { vid: number; pcp?: number; dei?: boolean; tpid?: number };
  payload?: Uint8Array | string;
  pad?: boolean;
}): Uint8Array {
  const payload = typeof options.payload === "string" ? new TextEncoder().encode(options.payload) : (options.payload ?? new Uint8Array(0));
  const tagLen = options.vlan ? VLAN_HLEN : 0;
  const rawLen = ETH_HLEN + tagLen + payload.length;
  const frame = new Uint8Array(options.pad === false ? rawLen : Math.max(MIN_FRAME, rawLen));
  const [dh, dl] = parseMac(options.dst);
  const [sh, sl] = parseMac(options.src);
  const view = new DataView(frame.buffer);
  view.setUint16(0, dh);
  view.setUint32(2, dl);
  view.setUint16(6, sh);
  view.setUint32(8, sl);
  let at = 12;
  if (options.vlan) {
    const { vid, pcp = 0, dei = false, tpid = ETH_P_8021Q } = options.vlan;
    view.setUint16(12, tpid);
    view.setUint16(14, ((pcp & 7) << 13) | (dei ? 0x1000 : 0) | (vid & 0xfff));
    at = 16;
  }
  view.setUint16(at, options.ethertype ?? 0x88b5);
  frame.set(payload, at + 2);
  return frame;
}
