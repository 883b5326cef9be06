/**
 * MAC sets for FDB attack tests and benchmarks (test/core/fdb-hash-flood.test.ts, fdb.bench.ts): random ones, and ones crafted
 * to collide — derived from the FDB's own hash (HalfSipHash-1-3) under a key
 * the attacker knows, so that their home slots in a table of `capacity`
 * slots all fall in the first `window` slots.
 */
import { halfSipHash13 } from "../../src/core/fdb-hash.js";

export interface MacSet {
  hi: Uint16Array;
  lo: Uint32Array;
}

/** xorshift32, deterministic. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** n distinct-enough random locally administered unicast MACs (hi = 0x02xx). */
export function randomMacs(n: number, seed = 1): MacSet {
  const next = rng(seed);
  const hi = new Uint16Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    hi[i] = 0x0200 | (next() & 0xff);
    lo[i] = next();
  }
  return { hi, lo };
}

/** n MACs (VLAN 0) whose home under `key` in a table of `capacity` slots is below `window`. Distinct by construction. */
export function craftCollidingMacs(key: Int32Array, n: number, capacity: number, window: number, seed = 7): MacSet {
  const mask = capacity - 1;
  const hi = new Uint16Array(n);
  const lo = new Uint32Array(n);
  const next = rng(seed);
  const h = 0x0266;
  let found = 0;
  // Walk the low word from a random start: every candidate is a new MAC.
  for (let l = next(); found < n; l = (l + 1) >>> 0) {
    if ((halfSipHash13(key, h, l | 0) & mask) < window) {
      hi[found] = h;
      lo[found] = l;
      found++;
    }
  }
  return { hi, lo };
}
