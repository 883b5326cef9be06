/**
 * Hash buckets of a bond and the rebalancer (balance-slb and lacp), after
 * Open vSwitch's bond: 256 buckets, each owned by one member; a frame's hash
 * picks its bucket (hash.ts), the bucket its member. Each bucket counts the
 * bytes sent through it; every rebalance interval the loads are compared and
 * buckets move from the busiest member to the idlest, then the counts are
 * halved (an exponentially decaying load, so old traffic fades).
 *
 * Rules:
 *  - a member that leaves gives each of its buckets to the enabled member
 *    with the least load at that moment (busiest buckets first);
 *  - a member that joins takes a fair share of the idle buckets (no load
 *    yet), so stations that have not spoken yet spread, while running flows
 *    keep their member (and their order) until the rebalancer moves them;
 *  - the rebalancer moves, one at a time, the bucket of the busiest member
 *    whose move best evens the pair, while that pair differs by more than a
 *    tenth of the busier one's load; a bucket carrying at least the whole
 *    difference is never moved (that would only swap the roles).
 *
 * The hot path is two typed-array accesses per frame (`member[b]`,
 * `load[b] += bytes`); everything else runs beside it.
 */
import { BUCKETS } from "./hash.js";

export const NO_MEMBER = 0xff;

export interface BucketMove {
  bucket: number;
  from: number;
  to: number;
  load: number;
}

export class Buckets {
  /** Owner member (slot) of each bucket, NO_MEMBER when none is enabled. */
  readonly member = new Uint8Array(BUCKETS).fill(NO_MEMBER);
  /** Bytes sent through each bucket since (decayed over) the last rebalances. */
  readonly load = new Float64Array(BUCKETS);

  /** Every bucket's member forgotten (mode change). */
  reset(): void {
    this.member.fill(NO_MEMBER);
    this.load.fill(0);
  }

  /** The summed load of each member among `members`. */
  loads(members: readonly number[]): Map<number, number> {
    const out = new Map(members.map((m) => [m, 0]));
    for (let b = 0; b < BUCKETS; b++) {
      const m = this.member[b]!;
      const sum = out.get(m);
      if (sum !== undefined) out.set(m, sum + this.load[b]!);
    }
    return out;
  }

  /**
   * Membership changed: buckets of members no longer in `enabled` (and
   * unowned ones) go to the least loaded enabled members; `joined` members
   * take their share of idle buckets. Returns the buckets that moved.
   */
  update(enabled: readonly number[], joined: readonly number[] = []): BucketMove[] {
    const moves: BucketMove[] = [];
    if (enabled.length === 0) {
      for (let b = 0; b < BUCKETS; b++) {
        if (this.member[b] !== NO_MEMBER) moves.push({ bucket: b, from: this.member[b]!, to: NO_MEMBER, load: this.load[b]! });
      }
      this.member.fill(NO_MEMBER);
      return moves;
    }
    const loads = this.loads(enabled);
    const orphans: number[] = [];
    for (let b = 0; b < BUCKETS; b++) if (!loads.has(this.member[b]!)) orphans.push(b);
    orphans.sort((x, y) => this.load[y]! - this.load[x]! || x - y);
    const ordered = [...enabled].sort((a, b) => a - b);
    let k = 0;
    for (const b of orphans) {
      // Busy buckets to whoever is least loaded now; idle ones dealt out in turn.
      const to = this.load[b] !== 0 ? leastLoaded(loads) : ordered[k++ % ordered.length]!;
      moves.push({ bucket: b, from: this.member[b]!, to, load: this.load[b]! });
      this.member[b] = to;
      loads.set(to, loads.get(to)! + this.load[b]!);
    }
    if (joined.length > 0) {
      // Idle buckets dealt out again in bucket order over every enabled member: each gets its share.
      k = 0;
      for (let b = 0; b < BUCKETS; b++) {
        if (this.load[b] !== 0) continue;
        const to = ordered[k++ % ordered.length]!;
        if (this.member[b] !== to) {
          moves.push({ bucket: b, from: this.member[b]!, to, load: 0 });
          this.member[b] = to;
        }
      }
    }
    return moves;
  }

  /** One rebalance over the enabled members; then the loads decay by half. Returns the moves. */
  rebalance(enabled: readonly number[]): BucketMove[] {
    const moves: BucketMove[] = [];
    if (enabled.length >= 2) {
      const loads = this.loads(enabled);
      for (let round = 0; round < BUCKETS; round++) {
        let from = -1;
        let to = -1;
        for (const [m, load] of loads) {
          if (from < 0 || load > loads.get(from)! || (load === loads.get(from)! && m < from)) from = m;
          if (to < 0 || load < loads.get(to)! || (load === loads.get(to)! && m < to)) to = m;
        }
        const diff = loads.get(from)! - loads.get(to)!;
        if (from === to || diff <= 0 || diff <= loads.get(from)! / 10) break;
        let best = -1;
        let bestGap = diff;
        for (let b = 0; b < BUCKETS; b++) {
          const load = this.load[b]!;
          if (this.member[b] !== from || load <= 0 || load >= diff) continue;
          const gap = Math.abs(diff - 2 * load);
          if (gap < bestGap) {
            best = b;
            bestGap = gap;
          }
        }
        if (best < 0) break;
        const load = this.load[best]!;
        this.member[best] = to;
        loads.set(from, loads.get(from)! - load);
        loads.set(to, loads.get(to)! + load);
        moves.push({ bucket: best, from, to, load });
      }
    }
    for (let b = 0; b < BUCKETS; b++) this.load[b] = Math.floor(this.load[b]! / 2);
    return moves;
  }

  /** The buckets a member owns, with their loads (status). */
  bucketsOf(member: number): { bucket: number; load: number }[] {
    const out: { bucket: number; load: number }[] = [];
    for (let b = 0; b < BUCKETS; b++) if (this.member[b] === member) out.push({ bucket: b, load: this.load[b]! });
    return out;
  }
}

function leastLoaded(loads: Map<number, number>): number {
  let best = -1;
  for (const [m, load] of loads) if (best < 0 || load < loads.get(best)! || (load === loads.get(best)! && m < best)) best = m;
  return best;
}
