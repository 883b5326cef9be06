/**
 * Slow protocols codec (IEEE 802.1AX-2008 clause 5.4.2 and 5.5.3, once
 * 802.3ad): LACPDUs and Marker PDUs, and the Ethernet frame that carries
 * them.
 *
 *   dst 01:80:C2:00:00:02 | src member MAC | ethertype 0x8809 | PDU (110 bytes)
 *
 * LACPDU layout (offsets into the PDU, after the ethertype):
 *    0 subtype 0x01   1 version 0x01
 *    2 TLV actor   (type 0x01, length 20): system priority (2), system (6),
 *      key (2), port priority (2), port (2), state (1), reserved (3)
 *   22 TLV partner (type 0x02, length 20): the same fields
 *   42 TLV collector (type 0x03, length 16): max delay (2), reserved (12)
 *   58 TLV terminator (type 0x00, length 0)   60 reserved (50)
 *
 * Marker PDU: subtype 0x02, version 0x01, TLV marker information (0x01) or
 * response (0x02), length 16: requester port (2), system (6), transaction
 * id (4), pad (2); terminator; reserved (90). A responder echoes the
 * information TLV as a response.
 *
 * Decoding accepts what 802.1AX 5.4.12 says a receiver must: a later version
 * with longer TLVs is read by the fields it knows; a wrong subtype, a TLV of
 * the wrong type or a length too short is malformed. Encoding writes exactly
 * 110 bytes, reserved bytes zero.
 */

export const SLOW_PROTOCOLS_MAC = new Uint8Array([0x01, 0x80, 0xc2, 0x00, 0x00, 0x02]);
export const ETH_P_SLOW = 0x8809;
export const SUBTYPE_LACP = 0x01;
export const SUBTYPE_MARKER = 0x02;
export const PDU_LEN = 110;
const ETH_HLEN = 14;

/** Actor/partner state bits (802.1AX 5.4.2.2 item s). */
export const LacpState = {
  activity: 0x01,
  timeout: 0x02,
  aggregation: 0x04,
  synchronization: 0x08,
  collecting: 0x10,
  distributing: 0x20,
  defaulted: 0x40,
  expired: 0x80,
} as const;

export const LACP_STATE_NAMES: readonly [number, string][] = [
  [LacpState.activity, "activity"],
  [LacpState.timeout, "timeout"],
  [LacpState.aggregation, "aggregation"],
  [LacpState.synchronization, "synchronized"],
  [LacpState.collecting, "collecting"],
  [LacpState.distributing, "distributing"],
  [LacpState.defaulted, "defaulted"],
  [LacpState.expired, "expired"],
];

/** The words `ovs-appctl lacp/show` prints for a state byte. */
export function lacpStateWords(state: number): string[] {
  return LACP_STATE_NAMES.filter(([bit]) => state & bit).map(([, name]) => name);
}

/** One side's information in a LACPDU. */
export interface LacpInfo {
  systemPriority: number;
  /** "aa:bb:cc:dd:ee:ff" */
  system: string;
  key: number;
  portPriority: number;
  port: number;
  state: number;
}

export interface Lacpdu {
  type: "lacp";
  version: number;
  actor: LacpInfo;
  partner: LacpInfo;
  collectorMaxDelay: number;
}

export interface MarkerPdu {
  type: "marker";
  version: number;
  /** Information (a request to answer) or response. */
  response: boolean;
  requesterPort: number;
  requesterSystem: string;
  transactionId: number;
}

export interface PduError {
  error: string;
}

export function isPduError<T>(x: T | PduError): x is PduError {
  return typeof (x as PduError).error === "string";
}

export const EMPTY_INFO: Readonly<LacpInfo> = Object.freeze({ systemPriority: 0, system: "00:00:00:00:00:00", key: 0, portPriority: 0, port: 0, state: 0 });

function readMac(b: Uint8Array, at: number): string {
  let s = "";
  for (let i = 0; i < 6; i++) s += (i ? ":" : "") + b[at + i]!.toString(16).padStart(2, "0");
  return s;
}

function writeMac(b: Uint8Array, at: number, mac: string): void {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6) throw new Error(`"${mac}" is not a MAC address`);
  for (let i = 0; i < 6; i++) b[at + i] = parseInt(parts[i]!, 16);
}

function readInfo(v: DataView, b: Uint8Array, at: number): LacpInfo {
  return {
    systemPriority: v.getUint16(at),
    system: readMac(b, at + 2),
    key: v.getUint16(at + 8),
    portPriority: v.getUint16(at + 10),
    port: v.getUint16(at + 12),
    state: b[at + 14]!,
  };
}

function writeInfo(v: DataView, b: Uint8Array, at: number, info: LacpInfo): void {
  v.setUint16(at, info.systemPriority);
  writeMac(b, at + 2, info.system);
  v.setUint16(at + 8, info.key);
  v.setUint16(at + 10, info.portPriority);
  v.setUint16(at + 12, info.port);
  b[at + 14] = info.state & 0xff;
}

/** A LACPDU's 110 bytes. */
export function encodeLacpdu(pdu: Omit<Lacpdu, "type" | "version"> & { version?: number }): Uint8Array {
  const b = new Uint8Array(PDU_LEN);
  const v = new DataView(b.buffer);
  b[0] = SUBTYPE_LACP;
  b[1] = pdu.version ?? 1;
  b[2] = 0x01;
  b[3] = 20;
  writeInfo(v, b, 4, pdu.actor);
  b[22] = 0x02;
  b[23] = 20;
  writeInfo(v, b, 24, pdu.partner);
  b[42] = 0x03;
  b[43] = 16;
  v.setUint16(44, pdu.collectorMaxDelay);
  // 58: terminator (0, 0) and 50 reserved bytes, all zero.
  return b;
}

/** A Marker PDU's 110 bytes. */
export function encodeMarker(m: Omit<MarkerPdu, "type" | "version">): Uint8Array {
  const b = new Uint8Array(PDU_LEN);
  const v = new DataView(b.buffer);
  b[0] = SUBTYPE_MARKER;
  b[1] = 1;
  b[2] = m.response ? 0x02 : 0x01;
  b[3] = 16;
  v.setUint16(4, m.requesterPort);
  writeMac(b, 6, m.requesterSystem);
  v.setUint32(12, m.transactionId >>> 0);
  return b;
}

/** Decode a slow protocols PDU (the bytes after the ethertype). */
export function decodeSlowPdu(pdu: Uint8Array): Lacpdu | MarkerPdu | PduError {
  if (pdu.length < 2) return { error: `${pdu.length} bytes is too short for a slow protocols PDU` };
  const v = new DataView(pdu.buffer, pdu.byteOffset, pdu.byteLength);
  const subtype = pdu[0]!;
  const version = pdu[1]!;
  if (version === 0) return { error: "version 0" };
  if (subtype === SUBTYPE_LACP) {
    // Lengths below are those of version 1; a later version may only make TLVs longer.
    if (pdu.length < 60) return { error: `LACPDU of ${pdu.length} bytes is truncated (at least 60 needed)` };
    if (pdu[2] !== 0x01 || pdu[3]! < 20) return { error: `actor TLV type ${pdu[2]} length ${pdu[3]}` };
    const partnerAt = 2 + pdu[3]!;
    if (partnerAt + 20 > pdu.length || pdu[partnerAt] !== 0x02 || pdu[partnerAt + 1]! < 20) {
      return { error: `partner TLV type ${pdu[partnerAt]} length ${pdu[partnerAt + 1]}` };
    }
    const collectorAt = partnerAt + pdu[partnerAt + 1]!;
    const collector = collectorAt + 4 <= pdu.length && pdu[collectorAt] === 0x03 ? v.getUint16(collectorAt + 2) : 0;
    return { type: "lacp", version, actor: readInfo(v, pdu, 4), partner: readInfo(v, pdu, partnerAt + 2), collectorMaxDelay: collector };
  }
  if (subtype === SUBTYPE_MARKER) {
    if (pdu.length < 18) return { error: `Marker PDU of ${pdu.length} bytes is truncated` };
    const tlv = pdu[2]!;
    if ((tlv !== 0x01 && tlv !== 0x02) || pdu[3]! < 16) return { error: `marker TLV type ${tlv} length ${pdu[3]}` };
    return { type: "marker", version, response: tlv === 0x02, requesterPort: v.getUint16(4), requesterSystem: readMac(pdu, 6), transactionId: v.getUint32(12) };
  }
  return { error: `slow protocol subtype ${subtype} is neither LACP (1) nor Marker (2)` };
}

/** The Ethernet frame for a PDU, from `srcMac` (6 bytes). */
export function slowProtocolsFrame(srcMac: Uint8Array, pdu: Uint8Array): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + pdu.length);
  f.set(SLOW_PROTOCOLS_MAC, 0);
  f.set(srcMac.subarray(0, 6), 6);
  f[12] = ETH_P_SLOW >> 8;
  f[13] = ETH_P_SLOW & 0xff;
  f.set(pdu, ETH_HLEN);
  return f;
}

/**
 * Whether a frame is a slow protocols PDU (to 01:80:C2:00:00:02, ethertype
 * 0x8809, untagged): hot path, reads four words.
 */
export function isSlowProtocolsFrame(view: DataView, offset: number, length: number): boolean {
  return length >= ETH_HLEN + 2 && view.getUint16(offset) === 0x0180 && view.getUint32(offset + 2) === 0xc2000002 && view.getUint16(offset + 12) === ETH_P_SLOW;
}
