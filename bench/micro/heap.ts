/**
 * "The hot path allocates nothing per frame", measured: the decision loop
 * runs a million frames (15 625 batches of 64) once it is optimized, after a
 * full GC; the growth of the young generation (where what running code
 * allocates goes first) and of the whole heap (the JIT's code included) over
 * the run, and the collections during it, are reported. Nothing allocated
 * per frame shows as a few KB and 0 collections; one boxed number per frame
 * (16 bytes) would show as 16 MB, or as scavenges.
 *
 * Steady state, not the warm-up, is what is measured. The loop is warmed up
 * (so V8 has type feedback), then optimized on the spot where V8 allows it
 * (%OptimizeFunctionOnNextCall through --allow-natives-syntax, set at run
 * time) instead of waiting for the concurrent compiler, which a loaded
 * machine may delay past the warm-up: baseline code boxes numbers, and a
 * window measured before the optimized code is installed shows that
 * boxing, not the loop's. Then windows of `frames` frames are measured
 * until one is clean (no collection, young generation grown by less than a
 * byte per frame), at most MAX_WINDOWS; the clean one is reported, or the
 * least allocating if none was. A loop that allocates per frame in its
 * optimized code fails every window alike; only code not yet optimized is
 * given time.
 *
 * What this caught once: a uint32 MAC word of 2^31 or more, passed to an FDB
 * call the optimizer had not inlined, is boxed on the heap — 8 bytes per
 * frame on average, which is why the decision loop reads those words as int32.
 */
import { PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import { decisionRig, prepareBatches, BATCH } from "./harness.js";
import { vlanDecisionRig } from "./vlan.bench.js";
import type { Batch } from "../../src/core/batch.js";

export interface HeapResult {
  name: string;
  frames: number;
  /** heapUsed after minus before, bytes (every space: code the JIT emits meanwhile counts too). */
  heapDeltaBytes: number;
  /** Growth of the young generation (new space), where objects made by running code go first. */
  newSpaceDeltaBytes: number;
  /** Garbage collections (any kind) during the run. */
  gcs: number;
  nsPerFrame: number;
  /** Windows of `frames` frames measured until this one (1: the first was already clean). */
  windows: number;
  /** Whether the decision function was optimized on the spot (natives syntax available). */
  forcedOptimization: boolean;
}

export const FRAMES = 1_000_000;
/** Windows measured at most before the least allocating one is reported. */
export const MAX_WINDOWS = 12;

function exposeGc(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

/**
 * A function that optimizes `f` at its next call (V8 natives syntax, enabled
 * for code compiled from now on), or undefined where V8 refuses it.
 */
function optimizer(): ((f: unknown) => void) | undefined {
  try {
    v8.setFlagsFromString("--allow-natives-syntax");
    const optimize = new Function("f", "%PrepareFunctionForOptimization(f); %OptimizeFunctionOnNextCall(f);") as (f: unknown) => void;
    optimize(() => undefined); // throws SyntaxError now rather than later if the flag did not take
    return optimize;
  } catch {
    return undefined;
  }
}

function newSpaceUsed(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_used_size ?? Number.NaN;
}

const clean = (r: HeapResult) => r.gcs === 0 && r.newSpaceDeltaBytes < r.frames;

async function window(name: string, decide: (batch: Batch, now: number) => void, batches: Batch[], rounds: number, start: number, gc: () => void) {
  gc();
  gc();
  let gcs = 0;
  const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  observer.observe({ entryTypes: ["gc"] });
  const before = process.memoryUsage().heapUsed;
  const youngBefore = newSpaceUsed();
  const t0 = process.hrtime.bigint();
  // `now` advances 1 ms per batch and stays a small integer, so the clock itself allocates nothing here.
  for (let r = 0; r < rounds; r++) decide(batches[r % batches.length]!, start + r);
  const t1 = process.hrtime.bigint();
  const after = process.memoryUsage().heapUsed;
  const youngAfter = newSpaceUsed();
  await new Promise((resolve) => setImmediate(resolve)); // observer entries arrive asynchronously
  observer.disconnect();
  return { name, frames: rounds * BATCH, heapDeltaBytes: after - before, newSpaceDeltaBytes: youngAfter - youngBefore, gcs, nsPerFrame: Number(t1 - t0) / (rounds * BATCH) };
}

/**
 * `hot` are the functions doing the work (the decision method itself), optimized on the spot when
 * V8 allows it; `decide` is the caller that feeds them batches.
 */
async function measure(name: string, decide: (batch: Batch, now: number) => void, hot: unknown[], batches: Batch[], frames: number, gc: () => void): Promise<HeapResult> {
  const rounds = Math.ceil(frames / BATCH);
  for (let r = 0; r < 20_000; r++) decide(batches[r % batches.length]!, r); // warm-up: type feedback for the optimizer
  const optimize = optimizer();
  if (optimize) {
    for (const f of [...hot, decide]) optimize(f);
    decide(batches[0]!, 20_000);
  }
  let best: HeapResult | undefined;
  let start = 30_000;
  for (let w = 1; w <= MAX_WINDOWS; w++) {
    const r: HeapResult = { ...(await window(name, decide, batches, rounds, start, gc)), windows: w, forcedOptimization: optimize !== undefined };
    start += rounds;
    if (clean(r)) return r;
    if (!best || (r.gcs === 0 && best.gcs > 0) || (r.gcs === best.gcs && r.newSpaceDeltaBytes < best.newSpaceDeltaBytes)) best = r;
    // Give a concurrent compile job a moment to finish before the next window.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { ...best!, windows: MAX_WINDOWS };
}

/** Heap growth of the decision loop over `frames` frames: VLAN-unaware, and with VLAN filtering. */
export async function heapDeltas(frames = FRAMES): Promise<HeapResult[]> {
  const gc = exposeGc();
  const out: HeapResult[] = [];
  const plain = decisionRig(4, 65_536);
  const plainBatches = prepareBatches(plain, 64, "flood10");
  out.push(await measure("decide, VLAN-unaware, 10% flood, FDB 64k", (b, now) => plain.decider.decide(b, BATCH, now), [plain.decider.decide], plainBatches, frames, gc));
  for (const mix of ["unicast", "broadcast"] as const) {
    const rig = vlanDecisionRig(4, 65_536, mix);
    out.push(await measure(`decide, VLAN 59 access/trunk, ${mix === "unicast" ? "known unicast" : "broadcast"}, FDB 64k`, (b, now) => rig.decider.decide(b, BATCH, now), [rig.decider.decide], rig.batches, frames, gc));
  }
  return out;
}
