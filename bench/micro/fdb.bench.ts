/**
 * src/fdb.ts: learn + lookup, the two FDB calls the decision loop makes per
 * frame, at 1k, 64k and 1M entries. One op = 64 frames (a batch): for each,
 * refresh a known source and look up a known destination, in a random order
 * fixed in advance (so the cost of the random numbers is not measured).
 */
import { Fdb } from "../../src/core/fdb.js";
import { BATCH, blackhole, macs, type MicroResult, type MicroTask, random, runTasks } from "./harness.js";

export const SIZES = [1_000, 65_536, 1_048_576];

export function fdbTasks(sizes = SIZES): MicroTask[] {
  return sizes.map((size) => {
    const fdb = new Fdb({ maxEntries: size * 2, initialCapacity: size });
    const hosts = macs(size);
    for (let i = 0; i < size; i++) fdb.learn(0, hosts.hi[i]!, hosts.lo[i]!, i & 7, 0);
    const ORDER = 1 << 16;
    const rnd = random(size);
    const order = new Uint32Array(ORDER);
    for (let i = 0; i < ORDER; i++) order[i] = Math.floor(rnd() * size);
    const { hi, lo } = hosts;
    let at = 0;
    let now = 0;
    return {
      name: `learn+lookup, ${label(size)} entries`,
      framesPerOp: BATCH,
      note: `table ${(fdb.memoryBytes / 2 ** 20).toFixed(1)} MiB`,
      fn: () => {
        let sum = 0;
        now += 1;
        for (let f = 0; f < BATCH; f++) {
          const s = order[at]!;
          const d = order[(at + 1) & (ORDER - 1)]!;
          at = (at + 2) & (ORDER - 1);
          fdb.learn(0, hi[s]!, lo[s]!, s & 7, now);
          sum += fdb.lookup(0, hi[d]!, lo[d]!, now);
        }
        blackhole.n += sum;
      },
    };
  });
}

export function label(n: number): string {
  return n >= 1 << 20 ? `${n / 2 ** 20}M` : n >= 1024 && n % 1024 === 0 ? `${n / 1024}k` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

export function run(timeMs: number, sizes = SIZES): Promise<MicroResult[]> {
  return runTasks("fdb", fdbTasks(sizes), timeMs);
}
