/**
 * src/core/fdb.ts: learn + lookup, the two FDB calls the decision loop makes
 * per frame, at 1k, 64k and 1M entries. One op = 64 frames (a batch): for
 * each, refresh a known source and look up a known destination, in a random
 * order fixed in advance (so the cost of the random numbers is not measured).
 *
 * Hash flooding: lookups in a table of 64k MACs crafted to collide (derived
 * from the FDB's HalfSipHash-1-3 under the key an attacker would guess),
 * against 64k random MACs — in a table with its own secret key (the bridge's:
 * target, within 2x of random) and, as the control, in a table whose key is
 * the guessed one (the attack lands; the probe bound caps it).
 */
import { Fdb } from "../../src/core/fdb.js";
import { craftCollidingMacs, type MacSet, randomMacs } from "./crafted-macs.js";
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

const FLOOD_SIZE = 65_536;
/** The attacker's guess at the key (what a table with a public key would use). */
const GUESSED_KEY = new Int32Array(2);

function lookupTask(name: string, fdb: Fdb, set: MacSet): MicroTask {
  const n = set.lo.length;
  const ORDER = 1 << 16;
  const rnd = random(0x5eed);
  const order = new Uint32Array(ORDER);
  for (let i = 0; i < ORDER; i++) order[i] = Math.floor(rnd() * n);
  const { hi, lo } = set;
  let at = 0;
  return {
    name,
    framesPerOp: BATCH,
    note: `${fdb.size} entries, ${fdb.learnRefused} refused`,
    fn: () => {
      let sum = 0;
      for (let f = 0; f < BATCH; f++) {
        const d = order[at]!;
        at = (at + 1) & (ORDER - 1);
        sum += fdb.lookup(0, hi[d]!, lo[d]!, 1);
      }
      blackhole.n += sum;
    },
  };
}

/** Lookup cost with random vs crafted MACs (64k each). */
export function floodTasks(): MicroTask[] {
  const crafted = craftCollidingMacs(GUESSED_KEY, FLOOD_SIZE, 2 * FLOOD_SIZE, 1024);
  const randoms = randomMacs(FLOOD_SIZE, 42);
  const table = (set: MacSet, hashKey?: Int32Array) => {
    const fdb = new Fdb({ maxEntries: FLOOD_SIZE, ...(hashKey ? { hashKey } : {}) });
    for (let i = 0; i < FLOOD_SIZE; i++) fdb.learn(0, set.hi[i]!, set.lo[i]!, i & 3, 0);
    return fdb;
  };
  return [
    lookupTask("lookup, 64k random MACs", table(randoms), randoms),
    lookupTask("lookup, 64k crafted MACs (secret key)", table(crafted), crafted),
    lookupTask("lookup, 64k crafted MACs (public key: control)", table(crafted, GUESSED_KEY), crafted),
  ];
}

export function label(n: number): string {
  return n >= 1 << 20 ? `${n / 2 ** 20}M` : n >= 1024 && n % 1024 === 0 ? `${n / 1024}k` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

export async function run(timeMs: number, sizes = SIZES): Promise<MicroResult[]> {
  const results = await runTasks("fdb", fdbTasks(sizes), timeMs);
  const flood = await runTasks("fdb", floodTasks(), timeMs);
  const random = flood[0]!.nsPerFrame;
  flood[1]!.target = "within 2x of random MACs";
  flood[1]!.targetMet = flood[1]!.nsPerFrame <= 2 * random;
  for (const r of flood.slice(1)) r.note = `${r.note}; ${(r.nsPerFrame / random).toFixed(2)}x random`;
  return [...results, ...flood];
}
