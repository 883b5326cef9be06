/**
 * Spanning tree parameters: defaults, the ranges Linux accepts, the error
 * sentence for a value outside them, and default path costs by link speed.
 *
 * Bridge times are given in seconds (brctl, ip-link and the config file use
 * seconds) and kept in milliseconds. Ranges are Linux's: hello 1-10 s,
 * forward delay 2-30 s, max age 6-40 s, bridge priority 0-65535, port
 * priority 0-255, path cost 1-65535 for STP and 1-200 000 000 for RSTP.
 */
import { TapbridgeError } from "../errors.js";

export type StpProtocol = "stp" | "rstp";

export interface StpBridgeParams {
  /** Bridge priority, 0-65535 (default 32768). */
  priority: number;
  /** Seconds, 1-10 (default 2). */
  helloTime: number;
  /** Seconds, 6-40 (default 20). */
  maxAge: number;
  /** Seconds, 2-30 (default 15). */
  forwardDelay: number;
}

export const DEFAULT_BRIDGE_PARAMS: StpBridgeParams = { priority: 32768, helloTime: 2, maxAge: 20, forwardDelay: 15 };

export interface StpPortParams {
  /** Port priority, 0-255 (default 128): the high byte of the port identifier. */
  priority: number;
  /** Path cost; undefined: the default for the link speed. */
  pathCost: number | undefined;
  /** RSTP: an edge port (adminEdge): forwards at once, until it hears a BPDU. */
  edge: boolean;
  /** RSTP: detect edge ports by BPDU silence (autoEdge, default true). */
  autoEdge: boolean;
  /** A BPDU received here disables the port (Linux bpdu_guard). */
  bpduGuard: boolean;
  /** The port never becomes root port (Linux root_block). */
  rootGuard: boolean;
}

export const DEFAULT_PORT_PARAMS: StpPortParams = { priority: 128, pathCost: undefined, edge: false, autoEdge: true, bpduGuard: false, rootGuard: false };

export const RANGES = {
  priority: { min: 0, max: 65535 },
  helloTime: { min: 1, max: 10 },
  maxAge: { min: 6, max: 40 },
  forwardDelay: { min: 2, max: 30 },
  portPriority: { min: 0, max: 255 },
  stpPathCost: { min: 1, max: 65535 },
  rstpPathCost: { min: 1, max: 200_000_000 },
} as const;

function check(value: unknown, what: string, range: { min: number; max: number }, unit: string, integer: boolean): number {
  const ok = typeof value === "number" && Number.isFinite(value) && value >= range.min && value <= range.max && (!integer || Number.isInteger(value));
  if (!ok) {
    throw new TapbridgeError("EINVAL", `${what} ${String(value)} is out of range: use ${integer ? "a whole number " : ""}from ${range.min} to ${range.max}${unit}`);
  }
  return value as number;
}

/** Check bridge parameters, filling defaults; throws a TapbridgeError naming the first bad one. */
export function checkBridgeParams(p: Partial<StpBridgeParams>, base: StpBridgeParams = DEFAULT_BRIDGE_PARAMS): StpBridgeParams {
  return {
    priority: p.priority === undefined ? base.priority : check(p.priority, "bridge priority", RANGES.priority, "", true),
    helloTime: p.helloTime === undefined ? base.helloTime : check(p.helloTime, "hello time", RANGES.helloTime, " seconds", false),
    maxAge: p.maxAge === undefined ? base.maxAge : check(p.maxAge, "max age", RANGES.maxAge, " seconds", false),
    forwardDelay: p.forwardDelay === undefined ? base.forwardDelay : check(p.forwardDelay, "forward delay", RANGES.forwardDelay, " seconds", false),
  };
}

export function checkPortPriority(value: number): number {
  return check(value, "port priority", RANGES.portPriority, "", true);
}

export function checkPathCost(value: number, protocol: StpProtocol): number {
  return check(value, `${protocol === "rstp" ? "RSTP" : "STP"} path cost`, protocol === "rstp" ? RANGES.rstpPathCost : RANGES.stpPathCost, "", true);
}

/**
 * Default path cost for a link speed in Mb/s. STP: Linux's table (10 Gb/s 2,
 * 1 Gb/s 4, 100 Mb/s 19, anything else 100 — TAP devices report 10 Mb/s).
 * RSTP: 802.1D-2004 17.14, 20 000 000 000 / speed in kb/s... i.e.
 * 20 000 000 / Mb/s, 2 000 000 for an unknown speed (taken as 10 Mb/s).
 */
export function defaultPathCost(speedMbps: number | undefined, protocol: StpProtocol): number {
  if (protocol === "rstp") {
    if (!speedMbps || speedMbps <= 0) return 2_000_000;
    return Math.max(1, Math.min(200_000_000, Math.round(20_000_000 / speedMbps)));
  }
  switch (speedMbps) {
    case 10000:
      return 2;
    case 1000:
      return 4;
    case 100:
      return 19;
    default:
      return 100;
  }
}
