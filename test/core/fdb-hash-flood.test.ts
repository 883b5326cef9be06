/**
 * Hash flooding (issue 6): MACs crafted to collide, DERIVED from the hash the
 * table uses — HalfSipHash-1-3 — under the key an attacker could know. The
 * control shows the derivation works: a table whose key is that public key
 * is flooded (long probes, refused learns). The table as the bridge builds
 * it (a secret random key) takes the same MACs like random ones.
 *
 * Tests assert work, not time: probes per lookup and slots per ageing step.
 * The wall-clock figures (event-loop delay during ageing) are measured and
 * printed for the record with a generous bound; bench/micro/fdb.bench.ts
 * times lookups of crafted and random MACs.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { Fdb, MAX_PROBE } from "../../src/core/fdb.js";
import { halfSipHash13 } from "../../src/core/fdb-hash.js";
import { FdbSweeper, SWEEP_STEP_SLOTS } from "../../src/maintenance.js";
import { craftCollidingMacs, randomMacs } from "../../bench/micro/crafted-macs.js";
import { schedulerWithClock } from "../../src/scheduler.js";

const ENTRIES = 65_536;
/** The attacker's guess at the key: the key a table would have if it were public (here, all zero). */
const PUBLIC_KEY = new Int32Array(2);

function meanProbes(fdb: Fdb, macs: { hi: Uint16Array; lo: Uint32Array }): { mean: number; max: number } {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < macs.lo.length; i++) {
    const p = fdb.probes(0, macs.hi[i]!, macs.lo[i]!);
    sum += p;
    if (p > max) max = p;
  }
  return { mean: sum / macs.lo.length, max };
}

describe("hash flooding", () => {
  // 65 536 MACs whose home slot, under the public key, lies in the first 1024 of the 131 072 slots.
  const crafted = craftCollidingMacs(PUBLIC_KEY, ENTRIES, 2 * ENTRIES, 1024);
  const random = randomMacs(ENTRIES, 42);

  it("derives its MACs from the table's own hash: under the public key they all share 1024 home slots", () => {
    for (let i = 0; i < ENTRIES; i += 97) expect(halfSipHash13(PUBLIC_KEY, crafted.hi[i]!, crafted.lo[i]! | 0) & (2 * ENTRIES - 1)).toBeLessThan(1024);
  });

  it("control: a table with the public key is flooded — probes pile up to the bound and learns are refused", () => {
    const fdb = new Fdb({ maxEntries: ENTRIES, hashKey: PUBLIC_KEY });
    for (let i = 0; i < ENTRIES; i++) fdb.learn(0, crafted.hi[i]!, crafted.lo[i]!, 1, 0);
    const attacked = meanProbes(fdb, crafted);
    const baseline = new Fdb({ maxEntries: ENTRIES, hashKey: PUBLIC_KEY });
    for (let i = 0; i < ENTRIES; i++) baseline.learn(0, random.hi[i]!, random.lo[i]!, 1, 0);
    const calm = meanProbes(baseline, random);
    console.log(`public key: crafted MACs ${attacked.mean.toFixed(2)} probes/lookup (max ${attacked.max}), random ${calm.mean.toFixed(2)}; refused ${fdb.refusedProbe} of ${ENTRIES}`);
    expect(attacked.mean).toBeGreaterThan(10 * calm.mean); // what "within 2x" must fail for such a table
    expect(attacked.max).toBe(MAX_PROBE); // ... yet never beyond the bound
    expect(fdb.refusedProbe).toBeGreaterThan(ENTRIES / 2);
  });

  it("a table with its own secret key takes the crafted MACs like random ones: probes within 2x, nothing refused", () => {
    const attacked = new Fdb({ maxEntries: ENTRIES });
    for (let i = 0; i < ENTRIES; i++) attacked.learn(0, crafted.hi[i]!, crafted.lo[i]!, 1, 0);
    const calm = new Fdb({ maxEntries: ENTRIES });
    for (let i = 0; i < ENTRIES; i++) calm.learn(0, random.hi[i]!, random.lo[i]!, 1, 0);
    const a = meanProbes(attacked, crafted);
    const c = meanProbes(calm, random);
    console.log(`secret key: crafted MACs ${a.mean.toFixed(2)} probes/lookup (max ${a.max}, longest run ${attacked.longestRun()}), random ${c.mean.toFixed(2)} (max ${c.max}, longest run ${calm.longestRun()})`);
    expect(attacked.size).toBe(ENTRIES);
    expect(attacked.learnRefused).toBe(0);
    expect(a.mean).toBeLessThanOrEqual(2 * c.mean);
    expect(a.max).toBeLessThan(MAX_PROBE);
  });

  it("ages 65 536 crafted entries out in bounded steps on the event loop, which keeps turning", async () => {
    let now = 0;
    const fdb = new Fdb({ maxEntries: ENTRIES, ageingMs: 1000 });
    for (let i = 0; i < ENTRIES; i++) fdb.learn(0, crafted.hi[i]!, crafted.lo[i]!, i & 3, now);
    const run = fdb.longestRun();
    now = 5000;
    const sweeper = new FdbSweeper(fdb, schedulerWithClock(() => now));
    let turns = 0;
    const ticker = setInterval(() => turns++, 1);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const started = performance.now();
    sweeper.tick();
    while (sweeper.busy) await new Promise((r) => setImmediate(r));
    const took = performance.now() - started;
    delay.disable();
    clearInterval(ticker);
    const maxDelayMs = delay.max / 1e6;
    const { steps, maxStepWork } = sweeper;
    console.log(`ageing 65536 crafted entries: ${steps} steps, at most ${maxStepWork} slots each, longest step ${sweeper.maxStepMs.toFixed(2)} ms, whole sweep ${took.toFixed(0)} ms, event-loop delay max ${maxDelayMs.toFixed(1)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms)`);
    expect(fdb.size).toBe(0);
    expect(fdb.agedOut).toBe(ENTRIES);
    expect(maxStepWork).toBeLessThanOrEqual(SWEEP_STEP_SLOTS + run + 1);
    expect(steps).toBeGreaterThanOrEqual(Math.floor(fdb.tableCapacity / (SWEEP_STEP_SLOTS + run + 1)));
    expect(maxDelayMs).toBeLessThan(1000); // a generous bound (a shared machine): 20 600 ms in one go before
    sweeper.stop();
  });
});
