/**
 * How cost grows: the decision loop as the FDB grows from 1k to 1M MACs
 * (with the table's memory), and as the bridge grows from 2 to 64 ports. Both
 * in memory, timed like the microbenchmarks. The third axis — TCP through one
 * tapbridge with 2 to 16 TAP ports — needs namespaces and lives in main.ts.
 */
import { label } from "./micro/fdb.bench.js";
import { decideTask } from "./micro/forward.bench.js";
import { runTasks } from "./micro/harness.js";

export interface ScalingPoint {
  x: number;
  nsPerFrame: number;
  framesPerSecond: number;
  memoryBytes?: number;
}

export const FDB_SIZES = [1_024, 16_384, 65_536, 262_144, 1_048_576];
export const PORT_COUNTS = [2, 4, 8, 16, 32, 64];

export async function fdbScaling(timeMs: number): Promise<ScalingPoint[]> {
  const out: ScalingPoint[] = [];
  for (const size of FDB_SIZES) {
    // One size at a time, so at most one 1M-entry table (and its batches) is alive.
    const task = decideTask(`decide, known unicast, FDB ${label(size)}`, 4, size, "unicast");
    const [r] = await runTasks("scaling", [task], timeMs);
    out.push({ x: size, nsPerFrame: r!.nsPerFrame, framesPerSecond: r!.framesPerSecond, memoryBytes: task.memoryBytes });
  }
  return out;
}

export async function portScaling(timeMs: number): Promise<ScalingPoint[]> {
  const out: ScalingPoint[] = [];
  for (const ports of PORT_COUNTS) {
    const task = decideTask(`decide, 10% flood, ${ports} ports`, ports, 65_536, "flood10");
    const [r] = await runTasks("scaling", [task], timeMs);
    out.push({ x: ports, nsPerFrame: r!.nsPerFrame, framesPerSecond: r!.framesPerSecond });
  }
  return out;
}
