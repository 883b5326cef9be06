/**
 * Shared pieces of the microbenchmarks: a decision loop wired up without a
 * Bridge (FDB, port table, counters, Decider — exactly what Bridge builds),
 * deterministic MAC sets, prepared batches, and a runner that times tasks
 * with tinybench and reports per frame.
 *
 * A task's function handles `framesPerOp` frames per call (a batch of 64, as
 * the dataplane hands them over), so ns/frame = time per call / framesPerOp.
 */
import { Bench } from "tinybench";
import { allocateBatch, type Batch, fillSlot } from "../../src/core/batch.js";
import { Counters } from "../../src/core/counters.js";
import { Fdb } from "../../src/core/fdb.js";
import { Decider } from "../../src/core/forward.js";
import { DEFAULT_PORT_FLAGS, PortFlag, PortState, PortTable } from "../../src/core/port-table.js";
import type { VlanTable } from "../../src/core/vlan.js";

export interface MicroTask {
  name: string;
  framesPerOp: number;
  fn: () => void;
  /** Printed beside the result (e.g. FDB memory). */
  note?: string;
  target?: { framesPerSecond: number; text: string };
}

export interface MicroResult {
  module: string;
  name: string;
  nsPerFrame: number;
  framesPerSecond: number;
  /** Relative margin of error of the mean, in percent. */
  rme: number;
  samples: number;
  note?: string;
  target?: string;
  targetMet?: boolean;
  notImplemented?: boolean;
}

export const BATCH = 64;
/** Small slots: micro frames are 60 bytes, and 64 prepared batches must fit in cache-sized memory. */
export const MICRO_SLOT = 256;

/** Deterministic xorshift, so every run measures the same addresses. */
export function random(seed = 0x9e3779b9): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** n distinct locally-administered unicast MACs as [hi, lo] pairs (hi = 0x02xx). */
export function macs(n: number): { hi: Uint16Array; lo: Uint32Array } {
  const hi = new Uint16Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    hi[i] = 0x0200 | ((i >>> 24) & 0xff);
    lo[i] = (Math.imul(i, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
  }
  // (i * odd constant) is a bijection on 32 bits, so the low words are distinct.
  return { hi, lo };
}

export interface DecisionRig {
  fdb: Fdb;
  ports: PortTable;
  counters: Counters;
  decider: Decider;
  hosts: { hi: Uint16Array; lo: Uint32Array };
  hostPort: Uint16Array;
}

/**
 * A decision loop with `portCount` forwarding ports and `fdbSize` learned
 * hosts spread over them; with `vlan`, VLAN filtering on that table and the
 * hosts learned in `vid`.
 */
export function decisionRig(portCount: number, fdbSize: number, vlan?: { table: VlanTable; vid: number }): DecisionRig {
  const fdb = new Fdb({ maxEntries: Math.max(fdbSize * 2, 1024), initialCapacity: fdbSize });
  const ports = new PortTable();
  for (let p = 0; p < portCount; p++) {
    ports.flags[p] = PortFlag.present | DEFAULT_PORT_FLAGS;
    ports.state[p] = PortState.forwarding;
    ports.mtu[p] = 1500;
  }
  ports.recompute();
  const counters = new Counters();
  const decider = new Decider(fdb, ports, counters, { stpEnabled: false, groupFwdMask: 0, vlanFiltering: vlan !== undefined }, undefined, vlan?.table);
  const hosts = macs(fdbSize);
  const hostPort = new Uint16Array(fdbSize);
  for (let i = 0; i < fdbSize; i++) {
    hostPort[i] = i % portCount;
    fdb.learn(vlan?.vid ?? 0, hosts.hi[i]!, hosts.lo[i]!, hostPort[i]!, 0);
  }
  return { fdb, ports, counters, decider, hosts, hostPort };
}

const frameBytes = new Uint8Array(60);
const frameView = new DataView(frameBytes.buffer);

/** A 60-byte IPv4-ethertype frame from (srcHi, srcLo) to (dstHi, dstLo). */
export function rawFrame(dstHi: number, dstLo: number, srcHi: number, srcLo: number): Uint8Array {
  frameView.setUint16(0, dstHi);
  frameView.setUint32(2, dstLo);
  frameView.setUint16(6, srcHi);
  frameView.setUint32(8, srcLo);
  frameView.setUint16(12, 0x0800);
  return frameBytes;
}

export type Mix = "unicast" | "flood10" | "broadcast" | "flow";

/**
 * `count` batches of BATCH frames between random hosts of the rig. "unicast":
 * every destination is known; "flood10": one frame in ten goes to an unknown
 * unicast MAC (flooded); "broadcast": every frame is broadcast; "flow": a
 * batch is 64 frames of one (source, destination) pair, as a bulk transfer
 * hands them over. Each frame enters on the port its source was learned on.
 */
export function prepareBatches(rig: DecisionRig, count: number, mix: Mix, seed = 7): Batch[] {
  const rnd = random(seed);
  const n = rig.hosts.lo.length;
  const out: Batch[] = [];
  for (let b = 0; b < count; b++) {
    const batch = allocateBatch(BATCH, MICRO_SLOT);
    const flowS = Math.floor(rnd() * n);
    const flowD = Math.floor(rnd() * n);
    for (let i = 0; i < BATCH; i++) {
      const s = mix === "flow" ? flowS : Math.floor(rnd() * n);
      let d = mix === "flow" ? flowD : Math.floor(rnd() * n);
      if (rig.hostPort[d] === rig.hostPort[s]) d = (d + 1) % n; // a local destination would be dropped, not forwarded
      let dstHi = rig.hosts.hi[d]!;
      let dstLo = rig.hosts.lo[d]!;
      if (mix === "broadcast") [dstHi, dstLo] = [0xffff, 0xffffffff];
      else if (mix === "flood10" && i % 10 === 0) [dstHi, dstLo] = [0x02ff, (0xdead0000 + i) >>> 0];
      fillSlot(batch, i, rig.hostPort[s]!, rawFrame(dstHi, dstLo, rig.hosts.hi[s]!, rig.hosts.lo[s]!));
    }
    out.push(batch);
  }
  return out;
}

/** Time tasks with tinybench; `timeMs` per task (plus a short warm-up). */
export async function runTasks(module: string, tasks: MicroTask[], timeMs: number): Promise<MicroResult[]> {
  const bench = new Bench({ time: timeMs, warmupTime: Math.max(20, timeMs / 5), iterations: 16 } as ConstructorParameters<typeof Bench>[0]);
  for (const t of tasks) bench.add(t.name, t.fn);
  await bench.run();
  const results: MicroResult[] = [];
  for (const t of tasks) {
    const task = bench.getTask(t.name);
    const r = task?.result as { state?: string; period?: number; latency?: { rme?: number; samplesCount?: number }; error?: unknown } | undefined;
    if (!r || r.state !== "completed" || !r.period) {
      throw new Error(`microbenchmark "${t.name}" did not complete: ${String(r?.error ?? r?.state ?? "no result")}`);
    }
    const nsPerFrame = (r.period * 1e6) / t.framesPerOp;
    const framesPerSecond = 1e9 / nsPerFrame;
    const result: MicroResult = { module, name: t.name, nsPerFrame, framesPerSecond, rme: r.latency?.rme ?? Number.NaN, samples: r.latency?.samplesCount ?? 0 };
    if (t.note) result.note = t.note;
    if (t.target) {
      result.target = t.target.text;
      result.targetMet = framesPerSecond >= t.target.framesPerSecond;
    }
    results.push(result);
  }
  return results;
}

/** Sink for values a benchmark computes, so the JIT cannot drop the work. */
export const blackhole = { n: 0 };
