/**
 * "The hot path allocates nothing per frame", measured: the decision loop
 * runs a million frames (15 625 batches of 64) after a warm-up (until it is
 * optimized) and a full GC; the growth of the young generation (where what
 * running code allocates goes first) and of the whole heap (the JIT's code
 * included) over the run, and the collections during it, are reported.
 * Nothing allocated per frame shows as a few KB and 0 collections; one
 * boxed number per frame (16 bytes) would show as 16 MB, or as scavenges.
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
}

export const FRAMES = 1_000_000;

function exposeGc(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

function newSpaceUsed(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_used_size ?? Number.NaN;
}

async function measure(name: string, decide: (batch: Batch, now: number) => void, batches: Batch[], frames: number, gc: () => void): Promise<HeapResult> {
  const rounds = Math.ceil(frames / BATCH);
  for (let r = 0; r < 20_000; r++) decide(batches[r % batches.length]!, r); // warm-up: until the loop is optimized
  gc();
  gc();
  let gcs = 0;
  const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  observer.observe({ entryTypes: ["gc"] });
  const before = process.memoryUsage().heapUsed;
  const youngBefore = newSpaceUsed();
  const t0 = process.hrtime.bigint();
  // `now` advances 1 ms per batch and stays a small integer, so the clock itself allocates nothing here.
  for (let r = 0; r < rounds; r++) decide(batches[r % batches.length]!, 30_000 + r);
  const t1 = process.hrtime.bigint();
  const after = process.memoryUsage().heapUsed;
  const youngAfter = newSpaceUsed();
  await new Promise((resolve) => setImmediate(resolve)); // observer entries arrive asynchronously
  observer.disconnect();
  return { name, frames: rounds * BATCH, heapDeltaBytes: after - before, newSpaceDeltaBytes: youngAfter - youngBefore, gcs, nsPerFrame: Number(t1 - t0) / (rounds * BATCH) };
}

/** Heap growth of the decision loop over `frames` frames: VLAN-unaware, and with VLAN filtering. */
export async function heapDeltas(frames = FRAMES): Promise<HeapResult[]> {
  const gc = exposeGc();
  const out: HeapResult[] = [];
  const plain = decisionRig(4, 65_536);
  const plainBatches = prepareBatches(plain, 64, "flood10");
  out.push(await measure("decide, VLAN-unaware, 10% flood, FDB 64k", (b, now) => plain.decider.decide(b, BATCH, now), plainBatches, frames, gc));
  for (const mix of ["unicast", "broadcast"] as const) {
    const rig = vlanDecisionRig(4, 65_536, mix);
    out.push(await measure(`decide, VLAN 59 access/trunk, ${mix === "unicast" ? "known unicast" : "broadcast"}, FDB 64k`, (b, now) => rig.decider.decide(b, BATCH, now), rig.batches, frames, gc));
  }
  return out;
}
