/**
 * src/forward.ts: Decider.decide(), the per-batch decision loop, on batches
 * of 64 frames with an FDB of 64k learned hosts on 4 ports. Mixes: every
 * destination known (the steady state), one frame in ten flooded (unknown
 * unicast), every frame broadcast, and a batch of one flow (bulk traffic:
 * the FDB's memos answer the repeats). 64 prepared batches rotate, so sources and
 * destinations spread over the table as real traffic would.
 *
 * Target (printed, not asserted): learn + lookup inside the decision loop at
 * ≥ 6 M frames/s with 64k entries (issue 6: with the keyed hash).
 */
import { BATCH, decisionRig, type MicroResult, type MicroTask, type Mix, prepareBatches, runTasks } from "./harness.js";
import { label } from "./fdb.bench.js";

export const TARGET_FPS = 6e6;

export function decideTask(name: string, portCount: number, fdbSize: number, mix: Mix, batchCount = 64): MicroTask & { memoryBytes: number } {
  const rig = decisionRig(portCount, fdbSize);
  const batches = prepareBatches(rig, batchCount, mix);
  const decider = rig.decider;
  let at = 0;
  let now = 1;
  return {
    name,
    framesPerOp: BATCH,
    memoryBytes: rig.fdb.memoryBytes,
    fn: () => {
      decider.decide(batches[at]!, BATCH, now);
      at = (at + 1) % batchCount;
      now += 0.001;
    },
  };
}

export function forwardTasks(fdbSize = 65_536): MicroTask[] {
  const size = label(fdbSize);
  return [
    { ...decideTask(`decide, known unicast, FDB ${size}, 4 ports`, 4, fdbSize, "unicast"), target: { framesPerSecond: TARGET_FPS, text: "≥ 6 M frames/s" } },
    decideTask(`decide, 10% flood, FDB ${size}, 4 ports`, 4, fdbSize, "flood10"),
    decideTask(`decide, broadcast, FDB ${size}, 4 ports`, 4, fdbSize, "broadcast"),
    decideTask(`decide, one flow per batch, FDB ${size}, 4 ports`, 4, fdbSize, "flow"),
  ];
}

export function run(timeMs: number): Promise<MicroResult[]> {
  return runTasks("forward", forwardTasks(), timeMs);
}
