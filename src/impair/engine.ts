/**
 * The fate of each frame on an impaired link, decided in netem's order
 * (net/sched/sch_netem.c, netem_enqueue): partition → duplicate → loss →
 * corrupt → queue limit → delay (with jitter, or a reorder that skips it) →
 * rate. Pure: time is the caller's `now` (ms), randomness a seeded Prng, so
 * the same seed and frames give the same faults.
 *
 * - Loss: independent (`loss 10%`) or Gilbert-Elliott (`loss gemodel p r
 *   1-h 1-k`): a good and a bad state, the transition drawn first on each
 *   frame, then the loss in the new state's probability — bursts of mean
 *   length 1/r.
 * - Delay: base ± jitter, drawn from the distribution (uniform, normal, or
 *   netem's heavy-tailed pareto / paretonormal), never below zero. Jitter
 *   reorders frames, as netem does.
 * - Reorder: with probability P (every `gap`-th frame at most) a frame is
 *   sent without the delay and overtakes the ones waiting.
 * - Rate: a token bucket in bits (depth `burst`), which turns into a
 *   departure time per frame: a frame leaves when the bucket holds its size,
 *   after the frames queued before it. With `limit` frames waiting, the next
 *   is dropped (impair_queue_full).
 */
import { Prng } from "../core/prng.js";
import { DropReason } from "../core/reasons.js";
import type { Impairment } from "./spec.js";

/** What happens to one frame; `copies` 0 means dropped for `reason`. */
export interface Verdict {
  copies: number;
  reason: number;
  /** Due times (ms) of copy 0 and copy 1. */
  due0: number;
  due1: number;
  /** Bit to flip in copy 0 (-1: none). */
  corruptBit: number;
  reordered: boolean;
}

export class ImpairmentEngine {
  private prng: Prng;
  private bad = false;
  private reorderCounter = 0;
  private tokens = 0;
  private tokensAt = 0;
  private lastDeparture = -Infinity;

  constructor(public config: Impairment) {
    this.prng = new Prng(config.seed);
    this.tokens = config.burstBits;
  }

  /** Change the impairment while running; a new seed restarts the random sequence. */
  reconfigure(config: Impairment): void {
    if (config.seed !== this.config.seed) this.prng = new Prng(config.seed);
    if (config.rateBps !== this.config.rateBps || config.burstBits !== this.config.burstBits) {
      this.tokens = config.burstBits;
      this.lastDeparture = -Infinity;
    }
    this.config = config;
  }

  /** Decide for a frame of `length` bytes offered at `now`, with `queued` frames already waiting. */
  decide(length: number, now: number, queued: number, v: Verdict): Verdict {
    const c = this.config;
    const rnd = this.prng;
    v.copies = 0;
    v.corruptBit = -1;
    v.reordered = false;
    if (c.partition) {
      v.reason = DropReason.partitioned;
      return v;
    }
    let copies = 1;
    if (c.duplicate > 0 && rnd.next() < c.duplicate) copies++;
    if (this.lost()) copies--;
    if (copies === 0) {
      v.reason = DropReason.impairLoss;
      return v;
    }
    if (c.corrupt > 0 && rnd.next() < c.corrupt) v.corruptBit = rnd.int(length * 8);
    if (queued + copies > c.limit) {
      copies = c.limit - queued;
      if (copies <= 0) {
        v.reason = DropReason.impairQueueFull;
        return v;
      }
    }
    v.copies = copies;
    v.due0 = this.due(length, now, v);
    if (copies > 1) v.due1 = this.due(length, now, v);
    return v;
  }

  private lost(): boolean {
    const c = this.config;
    const rnd = this.prng;
    const g = c.gilbert;
    if (g) {
      if (!this.bad) {
        if (rnd.next() < g.p) this.bad = true;
      } else if (rnd.next() < g.r) this.bad = false;
      const p = this.bad ? g.lossInBad : g.lossInGood;
      return p > 0 && rnd.next() < p;
    }
    return c.lossRandom > 0 && rnd.next() < c.lossRandom;
  }

  private due(length: number, now: number, v: Verdict): number {
    const c = this.config;
    let delay = c.delayMs;
    if (c.jitterMs > 0) delay = Math.max(0, delay + c.jitterMs * this.spread());
    if (c.reorder > 0 && delay > 0) {
      if (this.reorderCounter < c.reorderGap - 1 || this.prng.next() >= c.reorder) this.reorderCounter++;
      else {
        this.reorderCounter = 0;
        delay = 0;
        v.reordered = true;
      }
    }
    let start = now;
    if (c.rateBps > 0) start = this.depart(length, now);
    return start + delay;
  }

  /** Token bucket: when a frame of `length` bytes can leave, queued behind the earlier ones. */
  private depart(length: number, now: number): number {
    const c = this.config;
    const bits = (length + c.overheadBytes) * 8;
    const t0 = Math.max(now, this.lastDeparture);
    const perMs = c.rateBps / 1000;
    let tokens = Math.min(c.burstBits, this.tokens + (t0 - this.tokensAt) * perMs);
    let at = t0;
    if (tokens < bits) {
      at = t0 + (bits - tokens) / perMs;
      tokens = bits;
    }
    this.tokens = tokens - bits;
    this.tokensAt = at;
    this.lastDeparture = at;
    return at;
  }

  /** A draw with mean 0 and spread 1 from the configured distribution. */
  private spread(): number {
    const rnd = this.prng;
    switch (this.config.distribution) {
      case "normal":
        return rnd.normal();
      case "pareto":
        return pareto(rnd);
      case "paretonormal":
        return 0.25 * rnd.normal() + 0.75 * pareto(rnd);
      default:
        return 2 * rnd.next() - 1;
    }
  }
}

/** Pareto (shape 3), shifted and scaled to mean 0 and standard deviation 1: a long tail of late frames. */
function pareto(rnd: Prng): number {
  let u = 0;
  while (u === 0) u = rnd.next();
  const x = Math.pow(u, -1 / 3); // mean 1.5, sd sqrt(3)/2
  return (x - 1.5) / 0.8660254;
}

export function newVerdict(): Verdict {
  return { copies: 0, reason: 0, due0: 0, due1: 0, corruptBit: -1, reordered: false };
}
