/**
 * BPDU codec: configuration and topology change notification BPDUs
 * (802.1D-1998 clause 9) and rapid spanning tree BPDUs (802.1D-2004 9.3.3),
 * and the 802.3/LLC frame that carries them.
 *
 *   dst 01:80:C2:00:00:00 | src port MAC | length (802.3) | 42 42 03 | BPDU
 *
 * BPDU layout (offsets into the BPDU, after the LLC header):
 *    0 protocol id (0x0000)   2 version (0 STP, 2 RSTP)   3 type (0x00 config, 0x80 TCN, 0x02 RST)
 *    4 flags: 0x01 TC, 0x02 proposal, 0x0c role, 0x10 learning, 0x20 forwarding, 0x40 agreement, 0x80 TC ack
 *    5 root id (8)   13 root path cost (4)   17 bridge id (8)   25 port id (2)
 *   27 message age  29 max age  31 hello time  33 forward delay  (1/256 s each)
 *   35 version 1 length (RST only, 0)
 *
 * Lengths are 35 (config), 4 (TCN) and 36 (RST). A received BPDU is
 * classified as 802.1D-2004 9.3.4 says: the type decides, a longer BPDU is
 * accepted (later versions may append fields), a shorter one is malformed.
 * Times are carried in milliseconds here and rounded to 1/256 s on the wire.
 */
import type { BridgeId } from "./ids.js";
import { readBridgeId, writeBridgeId } from "./ids.js";

export const BPDU_GROUP_MAC = new Uint8Array([0x01, 0x80, 0xc2, 0x00, 0x00, 0x00]);
export const LLC_STP = [0x42, 0x42, 0x03] as const;
const ETH_HLEN = 14;
const LLC_LEN = 3;

export const BpduType = { config: 0x00, tcn: 0x80, rst: 0x02 } as const;
export const CONFIG_BPDU_LEN = 35;
export const TCN_BPDU_LEN = 4;
export const RST_BPDU_LEN = 36;

export const BpduFlag = {
  topologyChange: 0x01,
  proposal: 0x02,
  roleMask: 0x0c,
  learning: 0x10,
  forwarding: 0x20,
  agreement: 0x40,
  topologyChangeAck: 0x80,
} as const;

/** Port role as encoded in RST BPDU flags (bits 2-3). */
export const BpduRole = { unknown: 0, alternateOrBackup: 1, root: 2, designated: 3 } as const;

export interface ConfigBpdu {
  type: "config" | "rst";
  /** Protocol version as received (0 for STP, 2 for RSTP; higher versions are treated as 2). */
  version: number;
  flags: number;
  rootId: BridgeId;
  rootPathCost: number;
  bridgeId: BridgeId;
  portId: number;
  /** Milliseconds. */
  messageAge: number;
  maxAge: number;
  helloTime: number;
  forwardDelay: number;
}

export interface TcnBpdu {
  type: "tcn";
  version: number;
}

export type Bpdu = ConfigBpdu | TcnBpdu;

/** Why a frame is not a BPDU this bridge can act on. */
export interface BpduError {
  error: string;
}

export function isBpduError<T>(x: T | BpduError): x is BpduError {
  return typeof (x as BpduError).error === "string";
}

const toTicks = (ms: number) => Math.min(0xffff, Math.max(0, Math.round((ms * 256) / 1000)));
const fromTicks = (ticks: number) => (ticks * 1000) / 256;

/** The BPDU bytes (no Ethernet or LLC header). */
export function encodeBpdu(bpdu: Bpdu): Uint8Array {
  if (bpdu.type === "tcn") return new Uint8Array([0, 0, 0, BpduType.tcn]);
  const rst = bpdu.type === "rst";
  const out = new Uint8Array(rst ? RST_BPDU_LEN : CONFIG_BPDU_LEN);
  const view = new DataView(out.buffer);
  out[2] = rst ? 2 : 0;
  out[3] = rst ? BpduType.rst : BpduType.config;
  // An STP configuration BPDU carries only the TC and TC ack flags.
  out[4] = rst ? bpdu.flags & 0x7f : bpdu.flags & (BpduFlag.topologyChange | BpduFlag.topologyChangeAck);
  writeBridgeId(out, 5, bpdu.rootId);
  view.setUint32(13, bpdu.rootPathCost >>> 0);
  writeBridgeId(out, 17, bpdu.bridgeId);
  view.setUint16(25, bpdu.portId);
  view.setUint16(27, toTicks(bpdu.messageAge));
  view.setUint16(29, toTicks(bpdu.maxAge));
  view.setUint16(31, toTicks(bpdu.helloTime));
  view.setUint16(33, toTicks(bpdu.forwardDelay));
  return out;
}

/** Decode BPDU bytes (after the LLC header). */
export function decodeBpdu(b: Uint8Array): Bpdu | BpduError {
  if (b.length < TCN_BPDU_LEN) return { error: `truncated BPDU (${b.length} bytes, at least 4 needed)` };
  if (b[0] !== 0 || b[1] !== 0) return { error: `protocol identifier ${((b[0]! << 8) | b[1]!).toString(16).padStart(4, "0")} is not 0000` };
  const version = b[2]!;
  const type = b[3]!;
  if (type === BpduType.tcn) return { type: "tcn", version };
  if (type === BpduType.config || (type === BpduType.rst && version >= 2)) {
    const rst = type === BpduType.rst;
    const need = rst ? RST_BPDU_LEN : CONFIG_BPDU_LEN;
    if (b.length < need) return { error: `truncated ${rst ? "RST" : "configuration"} BPDU (${b.length} bytes, ${need} needed)` };
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return {
      type: rst ? "rst" : "config",
      version,
      flags: b[4]!,
      rootId: readBridgeId(b, 5),
      rootPathCost: view.getUint32(13),
      bridgeId: readBridgeId(b, 17),
      portId: view.getUint16(25),
      messageAge: fromTicks(view.getUint16(27)),
      maxAge: fromTicks(view.getUint16(29)),
      helloTime: fromTicks(view.getUint16(31)),
      forwardDelay: fromTicks(view.getUint16(33)),
    };
  }
  return { error: `unknown BPDU type 0x${type.toString(16).padStart(2, "0")} (version ${version})` };
}

/** Wrap BPDU bytes in an 802.3 frame to the bridge group address, unpadded as Linux sends it (a NIC pads short frames; veths and TAPs carry them as they are). */
export function bpduFrame(srcMac: Uint8Array, bpdu: Uint8Array): Uint8Array {
  const length = LLC_LEN + bpdu.length;
  const frame = new Uint8Array(ETH_HLEN + length);
  frame.set(BPDU_GROUP_MAC, 0);
  frame.set(srcMac.subarray(0, 6), 6);
  frame[12] = length >> 8;
  frame[13] = length & 0xff;
  frame.set(LLC_STP, ETH_HLEN);
  frame.set(bpdu, ETH_HLEN + LLC_LEN);
  return frame;
}

/**
 * The BPDU bytes inside a frame to 01:80:C2:00:00:00, or why there are none:
 * an Ethernet II frame, a short 802.3 length, an LLC header other than
 * 42 42 03, or a length field longer than the frame.
 */
export function bpduPayload(frame: Uint8Array): Uint8Array | BpduError {
  if (frame.length < ETH_HLEN + LLC_LEN) return { error: `truncated frame (${frame.length} bytes)` };
  const length = (frame[12]! << 8) | frame[13]!;
  if (length > 1500) return { error: `ethertype 0x${length.toString(16).padStart(4, "0")} where an 802.3 length belongs` };
  if (frame[14] !== LLC_STP[0] || frame[15] !== LLC_STP[1] || frame[16] !== LLC_STP[2]) return { error: "LLC header is not 42 42 03" };
  if (length < LLC_LEN || ETH_HLEN + length > frame.length) return { error: `802.3 length ${length} does not fit the ${frame.length}-byte frame` };
  return frame.subarray(ETH_HLEN + LLC_LEN, ETH_HLEN + length);
}
