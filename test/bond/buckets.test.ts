/**
 * Hash buckets and the rebalancer: membership changes move only what they
 * must, the rebalancer evens measured load without swapping roles, and
 * loads decay.
 */
import { describe, expect, it } from "vitest";
import { Buckets, NO_MEMBER } from "../../src/bond/buckets.js";
import { BUCKETS } from "../../src/bond/hash.js";

function owners(b: Buckets): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 0; i < BUCKETS; i++) out.set(b.member[i]!, (out.get(b.member[i]!) ?? 0) + 1);
  return out;
}

describe("bucket assignment", () => {
  it("the first member takes every bucket; a member that joins takes its share of the idle ones only", () => {
    const b = new Buckets();
    expect(b.update([0], [0]).length).toBe(BUCKETS);
    expect(owners(b)).toEqual(new Map([[0, BUCKETS]]));
    b.load[7] = 5000; // a running flow keeps its member
    b.update([0, 1], [1]);
    expect(b.member[7]).toBe(0);
    const o = owners(b);
    expect(o.get(0)! + o.get(1)!).toBe(BUCKETS);
    expect(Math.abs(o.get(0)! - o.get(1)!)).toBeLessThanOrEqual(2);
    // Idle buckets are dealt in bucket order: even to the first member, odd to the second.
    expect(b.member[2]).toBe(0);
    expect(b.member[3]).toBe(1);
  });

  it("a member that leaves gives busy buckets to the least loaded, idle ones in turn", () => {
    const b = new Buckets();
    b.update([0, 1, 2], [0, 1, 2]);
    for (let i = 0; i < BUCKETS; i++) b.load[i] = 0;
    const mine = b.bucketsOf(2).map((x) => x.bucket);
    b.load[mine[0]!] = 900;
    b.load[mine[1]!] = 100;
    const zeroBusy = b.bucketsOf(0)[0]!.bucket;
    b.load[zeroBusy] = 500;
    const moves = b.update([0, 1]);
    expect(moves.every((m) => m.from === 2)).toBe(true);
    expect(moves.length).toBe(mine.length);
    expect(b.member[mine[0]!]).toBe(1); // 900 to the idle member
    expect(b.member[mine[1]!]).toBe(0); // then 100 to the one with 500 (vs 900)
    expect(b.bucketsOf(2)).toEqual([]);
    // No member left: nothing owns anything.
    b.update([]);
    expect(owners(b)).toEqual(new Map([[NO_MEMBER, BUCKETS]]));
  });
});

describe("rebalancer", () => {
  it("moves the buckets that best even the busiest and the idlest member, then halves the loads", () => {
    const b = new Buckets();
    b.update([0, 1], [0, 1]);
    // Member 0 carries 100 + 60 + 30 + 10 = 200, member 1 carries 20.
    const zero = b.bucketsOf(0).map((x) => x.bucket);
    const one = b.bucketsOf(1).map((x) => x.bucket);
    [100, 60, 30, 10].forEach((load, k) => (b.load[zero[k]!] = load));
    b.load[one[0]!] = 20;
    const moves = b.rebalance([0, 1]);
    // Difference 180: moving 100 leaves 100 vs 120 (gap 20) — the best single move; then 30 vs… within 10%? 100/120: gap 20 > 12, so one more: 10 → 90 vs 130? worse; stops.
    expect(moves[0]).toMatchObject({ bucket: zero[0], from: 0, to: 1, load: 100 });
    const loads = b.loads([0, 1]);
    expect(Math.abs(loads.get(0)! - loads.get(1)!)).toBeLessThanOrEqual(30);
    // Loads decayed by half.
    expect(b.load[zero[0]!]).toBe(50);
  });

  it("never moves a bucket that carries the whole difference (one elephant flow stays put)", () => {
    const b = new Buckets();
    b.update([0, 1], [0, 1]);
    b.load[b.bucketsOf(0)[0]!.bucket] = 1_000_000;
    expect(b.rebalance([0, 1])).toEqual([]);
  });

  it("leaves a pair within 10% alone, and does nothing with fewer than two members", () => {
    const b = new Buckets();
    b.update([0, 1], [0, 1]);
    b.load[b.bucketsOf(0)[0]!.bucket] = 105;
    b.load[b.bucketsOf(1)[0]!.bucket] = 100;
    b.load[b.bucketsOf(1)[1]!.bucket] = 0;
    expect(b.rebalance([0, 1])).toEqual([]);
    b.load[b.bucketsOf(0)[0]!.bucket] = 500;
    expect(b.rebalance([0])).toEqual([]);
  });

  it("spreads many small flows of one busy member over three", () => {
    const b = new Buckets();
    b.update([0], [0]);
    for (let i = 0; i < 60; i++) b.load[i] = 1000 + i;
    b.update([0, 1, 2], [1, 2]);
    const moves = b.rebalance([0, 1, 2]);
    expect(moves.length).toBeGreaterThan(10);
    const loads = [...b.loads([0, 1, 2]).values()];
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThan(0.1 * Math.max(...loads) + 1100);
  });
});
