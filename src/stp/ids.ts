/**
 * Bridge and port identifiers (802.1D 9.2.5, 9.2.7) and the priority vector
 * comparisons both engines make.
 *
 * A bridge identifier is 8 bytes: a 2-byte priority and the bridge's MAC. It
 * is kept as a bigint so that "lower is better" is one compare, exactly as
 * the bytes compare on the wire (memcmp in Linux). A port identifier is 2
 * bytes: the port priority in the high byte and the port number (1..255) in
 * the low byte — the layout Linux prints as "8001" for port 1 at priority
 * 128 — kept as a number.
 */
import { parseMac } from "../core/frame.js";

export type BridgeId = bigint;

export function makeBridgeId(priority: number, mac: string): BridgeId {
  const [hi, lo] = parseMac(mac);
  return (BigInt(priority & 0xffff) << 48n) | (BigInt(hi) << 32n) | BigInt(lo >>> 0);
}

export function bridgePriority(id: BridgeId): number {
  return Number(id >> 48n);
}

export function bridgeMac(id: BridgeId): string {
  const hex = (id & 0xffff_ffff_ffffn).toString(16).padStart(12, "0");
  return hex.replace(/(..)(?!$)/g, "$1:");
}

/** "8000.0011223344ff", as brctl and /sys/class/net/BR/bridge/bridge_id print it. */
export function formatBridgeId(id: BridgeId): string {
  const hex = id.toString(16).padStart(16, "0");
  return `${hex.slice(0, 4)}.${hex.slice(4)}`;
}

export function readBridgeId(bytes: Uint8Array, offset: number): BridgeId {
  let id = 0n;
  for (let i = 0; i < 8; i++) id = (id << 8n) | BigInt(bytes[offset + i]!);
  return id;
}

export function writeBridgeId(bytes: Uint8Array, offset: number, id: BridgeId): void {
  for (let i = 7; i >= 0; i--) {
    bytes[offset + i] = Number(id & 0xffn);
    id >>= 8n;
  }
}

export function makePortId(priority: number, portNo: number): number {
  return ((priority & 0xff) << 8) | (portNo & 0xff);
}

/** "8001", as brctl prints port and designated port identifiers. */
export function formatPortId(id: number): string {
  return id.toString(16).padStart(4, "0");
}

/**
 * A spanning tree priority vector (802.1D-2004 17.6): root bridge, root
 * path cost, designated bridge, designated port, and the port it arrived on.
 */
export interface PriorityVector {
  rootId: BridgeId;
  rootPathCost: number;
  designatedBridgeId: BridgeId;
  designatedPortId: number;
  /** The receiving (bridge) port's own identifier; 0 where it does not take part. */
  bridgePortId: number;
}

/** <0: a is better (numerically lower), 0: equal, >0: a is worse. */
export function compareVectors(a: PriorityVector, b: PriorityVector): number {
  if (a.rootId !== b.rootId) return a.rootId < b.rootId ? -1 : 1;
  if (a.rootPathCost !== b.rootPathCost) return a.rootPathCost - b.rootPathCost;
  if (a.designatedBridgeId !== b.designatedBridgeId) return a.designatedBridgeId < b.designatedBridgeId ? -1 : 1;
  if (a.designatedPortId !== b.designatedPortId) return a.designatedPortId - b.designatedPortId;
  return a.bridgePortId - b.bridgePortId;
}

export function sameVector(a: PriorityVector, b: PriorityVector): boolean {
  return a.rootId === b.rootId && a.rootPathCost === b.rootPathCost && a.designatedBridgeId === b.designatedBridgeId &&
    a.designatedPortId === b.designatedPortId && a.bridgePortId === b.bridgePortId;
}
