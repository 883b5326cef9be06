/**
 * Matching, waiting and live capture for tests.
 *
 * A FrameMatch is a partial DecodedFrame (`{ dhcp: { messageType: "OFFER" } }`,
 * `{ vlan: 10, arp: {} }` — an empty object means "has this layer") or a
 * predicate. Strings compare case-insensitively (MACs, addresses).
 *
 * `waitForFrame(port, match, { timeoutMs })` resolves with the first frame
 * that matches — already received by an in-memory port and not yet taken,
 * or arriving later — and on timeout rejects with a message that lists what
 * did arrive, one line per frame. While it waits, an `error` event of the
 * port's bridge (a listener that threw) rejects it with that error.
 *
 * `capture(port, match)` is the live tap: an async iterator of matching
 * frames. In-memory ports are read as their host sees them (after egress
 * impairments); other ports through `bridge.mirror` (pass `{ bridge }`).
 */
import type { Bridge } from "../bridge.js";
import { TapbridgeError } from "../errors.js";
import { FrameQueue } from "../ports/frame-queue.js";
import { MemoryPort } from "../ports/memory-port.js";
import type { Port } from "../ports/port.js";
import { decodeFrame, describeFrame, type DecodedFrame } from "./decode.js";

type DeepPartial<T> = T extends Uint8Array ? T : T extends (infer U)[] ? U[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
export type FrameMatch = DeepPartial<DecodedFrame> | ((frame: DecodedFrame) => boolean);

export function matches(frame: DecodedFrame, match: FrameMatch | undefined): boolean {
  if (match === undefined) return true;
  if (typeof match === "function") return match(frame);
  return subset(frame, match);
}

function subset(actual: unknown, want: unknown): boolean {
  if (want === undefined) return true;
  if (typeof want === "string") return typeof actual === "string" && actual.toLowerCase() === want.toLowerCase();
  if (want instanceof Uint8Array) return actual instanceof Uint8Array && actual.length === want.length && actual.every((b, i) => b === want[i]);
  if (Array.isArray(want)) return Array.isArray(actual) && want.every((w) => actual.some((a) => subset(a, w)));
  if (typeof want === "object" && want !== null) {
    if (typeof actual !== "object" || actual === null) return false;
    return Object.entries(want).every(([k, w]) => subset((actual as Record<string, unknown>)[k], w));
  }
  return actual === want;
}

/** A predicate on raw bytes, for MemoryPort.capture(filter) and the like. */
export function matcher(match: FrameMatch): (frame: Uint8Array) => boolean {
  return (frame) => matches(decodeFrame(frame), match);
}

export interface CapturedFrame {
  frame: Uint8Array;
  decoded: DecodedFrame;
  /** "out": the bridge sent it to the port; "in": the port sent it to the bridge. */
  direction: "in" | "out";
  /** For an "in" frame the bridge sent nowhere: the drop reason. */
  dropped?: string;
}

export interface CaptureOptions {
  /** The port's bridge (found by itself for an attached in-memory port). */
  bridge?: Bridge;
  /** Which frames: "out" (to the port, default), "in" (from it) or "both". */
  direction?: "in" | "out" | "both";
  /** Frames buffered while nobody reads (default 10 000; the oldest go first). */
  limit?: number;
}

function bridgeOf(port: Port, options: CaptureOptions): Bridge | undefined {
  if (options.bridge) return options.bridge;
  return port instanceof MemoryPort ? (port.sink as unknown as Bridge | undefined) : undefined;
}

/** The live tap: matching frames of `port` as an async iterator. */
export function capture(port: Port, match?: FrameMatch, options: CaptureOptions = {}): FrameQueue<CapturedFrame> {
  const direction = options.direction ?? "out";
  let stop: () => void = () => undefined;
  const queue = new FrameQueue<CapturedFrame>(() => stop(), options.limit);
  const offer = (c: CapturedFrame) => {
    if (matches(c.decoded, match)) queue.push(c);
  };
  if (port instanceof MemoryPort && direction === "out") {
    stop = port.onFrame((frame) => offer({ frame, decoded: decodeFrame(frame), direction: "out" }));
  } else {
    const bridge = bridgeOf(port, options);
    if (!bridge) throw new TapbridgeError("EINVAL", `capturing ${port.label} needs its bridge: pass { bridge }`);
    stop = bridge.mirror(port, (m) => {
      if (direction !== "both" && m.direction !== direction) return;
      offer({ frame: m.frame, decoded: decodeFrame(m.frame), direction: m.direction, ...(m.dropped ? { dropped: m.dropped } : {}) });
    });
  }
  return queue;
}

export interface WaitOptions extends CaptureOptions {
  /** Default 2000 ms. */
  timeoutMs?: number;
  /** Look at frames an in-memory port already holds (default true). */
  includeReceived?: boolean;
}

/** The first frame of `port` that matches; rejects after timeoutMs listing what arrived. */
export async function waitForFrame(port: Port, match: FrameMatch, options: WaitOptions = {}): Promise<DecodedFrame> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const seen: string[] = [];
  if (port instanceof MemoryPort && options.includeReceived !== false && (options.direction ?? "out") === "out") {
    for (const r of port.received) {
      const d = decodeFrame(r.data);
      if (matches(d, match)) return d;
      seen.push(describeFrame(d));
    }
  }
  const tap = capture(port, undefined, options);
  const bridge = bridgeOf(port, options);
  let onError: ((e: Error) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<DecodedFrame>((resolve, reject) => {
      timer = setTimeout(() => {
        const shown = seen.slice(-20).map((s, i) => `  ${seen.length - Math.min(20, seen.length) + i + 1}. ${s}`);
        const what = typeof match === "function" ? "the predicate" : JSON.stringify(match);
        reject(
          new TapbridgeError(
            "ETIMEDOUT",
            `no frame matching ${what} reached ${port.label} within ${timeoutMs} ms; ` +
              (seen.length === 0 ? "no frame arrived at all" : `${seen.length} other frame${seen.length === 1 ? "" : "s"} arrived:\n${shown.join("\n")}`),
          ),
        );
      }, timeoutMs);
      if (bridge) {
        onError = (e: Error) => reject(e);
        bridge.on("error", onError);
      }
      void (async () => {
        for await (const c of tap) {
          if (matches(c.decoded, match)) return resolve(c.decoded);
          seen.push(`${c.direction === "in" ? "[in] " : ""}${describeFrame(c.decoded)}${c.dropped ? ` (dropped: ${c.dropped})` : ""}`);
        }
      })();
    });
  } finally {
    if (timer) clearTimeout(timer);
    if (bridge && onError) bridge.off("error", onError);
    tap.close();
  }
}
