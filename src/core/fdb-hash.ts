/**
 * The FDB's hash: keyed, so that nobody who does not know the key can pick
 * MAC addresses that collide.
 *
 * A fixed hash is a gift to an attacker on any port: with an invertible mix
 * (what the table used before), 65 536 MACs crafted to share a bucket made
 * every lookup walk the whole cluster and froze forwarding for 853 ms. With
 * a secret random key, the attacker's MACs land like random ones.
 *
 * The function is HalfSipHash-1-3 (Aumasson & Bernstein's SipHash on 32-bit
 * words, one compression round, three finalisation rounds, a 64-bit key):
 * the keyed hash Linux uses as `hsiphash` for hash-table keys on 32-bit
 * machines, which is what JavaScript's integer arithmetic is. SipHash-1-3
 * proper needs 64-bit words; emulated on pairs of 32-bit integers it cost
 * 22 ns a hash against 10 ns for this one and 1 ns for the old mix (node 20,
 * this machine), and the decision loop hashes twice per frame. The input is
 * the 64-bit word (VID << 48 | MAC): two 4-byte blocks, then the length
 * block. The output is 32 bits.
 *
 * Allocation-free: integers in locals, the key in a 2-word Int32Array.
 * Every table draws its own key (crypto.getRandomValues), and a fresh one
 * whenever it grows.
 */

/** A 64-bit HalfSipHash key as two little-endian 32-bit words. */
export type HashKey = Int32Array;

export function randomHashKey(): HashKey {
  const key = new Int32Array(2);
  globalThis.crypto.getRandomValues(key);
  return key;
}

/**
 * Message words per round: block 1 (lo), block 2 (hi), the length block
 * (8 bytes), then the three finalisation rounds (nothing injected; v2 ^= 0xff
 * before the first). Written per call into a preallocated array, so the
 * rounds are one loop: small enough for V8 to inline into the FDB's probes
 * (an unrolled version was not inlined and boxed its 32-bit result).
 */
const BLOCK = new Int32Array(6);
BLOCK[2] = 8 << 24;
const FINAL = new Int32Array([0, 0, 0, 0xff, 0, 0]);

/** HalfSipHash-1-3 of the 8-byte message (lo as bytes 0-3, hi as bytes 4-7, little endian), 32-bit result. */
export function halfSipHash13(key: HashKey, hi: number, lo: number): number {
  BLOCK[0] = lo;
  BLOCK[1] = hi;
  let v0 = key[0]!;
  let v1 = key[1]!;
  let v2 = 0x6c796765 ^ v0;
  let v3 = 0x74656462 ^ v1;
  for (let r = 0; r < 6; r++) {
    const m = BLOCK[r]!;
    v2 ^= FINAL[r]!;
    v3 ^= m;
    v0 = (v0 + v1) | 0; v1 = (v1 << 5) | (v1 >>> 27); v1 ^= v0; v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0; v3 = (v3 << 8) | (v3 >>> 24); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = (v3 << 7) | (v3 >>> 25); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = (v1 << 13) | (v1 >>> 19); v1 ^= v2; v2 = (v2 << 16) | (v2 >>> 16);
    v0 ^= m;
  }
  return v1 ^ v3;
}
