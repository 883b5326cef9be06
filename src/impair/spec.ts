/**
 * Link impairments in netem's vocabulary: what a test says about a link.
 *
 * Probabilities are fractions (0.1) or percent strings ("10%"); times are
 * milliseconds (50) or strings with a unit ("50ms", "1s", "250us"); rates
 * are bits per second (100e6) or tc units ("100mbit", "1gbit", "10kbps" —
 * "bps" is bytes, as in tc). `parseNetem("delay 50ms 10ms distribution
 * normal loss 10%")` takes the words of `tc qdisc … netem` itself, so a
 * recipe written for a kernel with netem runs here unchanged.
 *
 * `checkImpairment()` turns any of these into the normal form the engine
 * reads, or throws a TapbridgeError whose sentence names the bad field.
 */
import { TapbridgeError } from "../errors.js";

export type DelayDistribution = "uniform" | "normal" | "pareto" | "paretonormal";

export interface DelaySpec {
  ms: number;
  /** Spread around `ms` (netem's second delay argument). */
  jitterMs?: number;
  /** How the jitter is spread (default uniform, as netem without a table). */
  distribution?: DelayDistribution;
}

export interface GilbertElliott {
  /** Probability of moving from the good to the bad state, per frame (netem p). */
  p: Probability;
  /** Probability of moving from the bad to the good state, per frame (netem r; default 1 - p). */
  r?: Probability;
  /** Loss probability in the bad state (netem 1-h; default 1). */
  lossInBad?: Probability;
  /** Loss probability in the good state (netem 1-k; default 0). */
  lossInGood?: Probability;
}

export interface RateSpec {
  bitsPerSecond: number;
  /** Token bucket depth in bytes (default: one 64 KiB frame, so a GSO frame can pass). */
  burstBytes?: number;
  /** Bytes counted per frame beyond its length (e.g. 24 for preamble, FCS and gap; default 0). */
  overheadBytes?: number;
}

type Probability = number | string;

export interface ImpairmentSpec {
  loss?: Probability | { random: Probability } | { gilbertElliott: GilbertElliott };
  delay?: number | string | DelaySpec;
  /** Probability that a frame skips the delay and overtakes (netem reorder P [gap N]). */
  reorder?: Probability | { probability: Probability; gap?: number };
  duplicate?: Probability;
  /** Probability that one random bit of the frame is flipped. */
  corrupt?: Probability;
  /** Token-bucket rate limit. */
  rate?: number | string | RateSpec;
  /** Frames that may wait in the link (delay and rate queue; netem limit, default 1000). */
  limit?: number;
  /** Hard partition: nothing passes. */
  partition?: boolean;
  /** PRNG seed (default 1): the same seed gives the same faults. */
  seed?: number;
}

/** The engine's normal form. */
export interface Impairment {
  lossRandom: number;
  gilbert: { p: number; r: number; lossInBad: number; lossInGood: number } | undefined;
  delayMs: number;
  jitterMs: number;
  distribution: DelayDistribution;
  reorder: number;
  reorderGap: number;
  duplicate: number;
  corrupt: number;
  rateBps: number;
  burstBits: number;
  overheadBytes: number;
  limit: number;
  partition: boolean;
  seed: number;
}

const bad = (field: string, value: unknown, want: string) =>
  new TapbridgeError("EINVAL", `impairment ${field} ${JSON.stringify(value)} is not valid: use ${want}`);

export function parseProbability(field: string, v: unknown): number {
  let n: number;
  if (typeof v === "number") n = v;
  else if (typeof v === "string" && /^\s*[\d.]+\s*%\s*$/.test(v)) n = parseFloat(v) / 100;
  else throw bad(field, v, 'a fraction from 0 to 1 (0.1) or a percentage ("10%")');
  if (!(n >= 0 && n <= 1)) throw bad(field, v, 'a fraction from 0 to 1 (0.1) or a percentage ("10%")');
  return n;
}

const TIME_UNITS: Record<string, number> = { "": 1, ms: 1, msec: 1, s: 1000, sec: 1000, us: 0.001, usec: 0.001 };

export function parseTime(field: string, v: unknown): number {
  const m = typeof v === "string" ? /^\s*([\d.]+)\s*([a-z]*)\s*$/i.exec(v) : null;
  const n = typeof v === "number" ? v : m && m[2]!.toLowerCase() in TIME_UNITS ? parseFloat(m[1]!) * TIME_UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!(n >= 0 && n <= 3_600_000)) throw bad(field, v, 'milliseconds from 0 to 3600000 (50) or a time with a unit ("50ms", "1s", "250us")');
  return n;
}

const RATE_UNITS: Record<string, number> = {
  "": 1, bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12,
  bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9, kibit: 1024, mibit: 1024 ** 2, gibit: 1024 ** 3,
};

export function parseRate(field: string, v: unknown): number {
  const m = typeof v === "string" ? /^\s*([\d.]+)\s*([a-z]*)\s*$/i.exec(v) : null;
  const n = typeof v === "number" ? v : m && m[2]!.toLowerCase() in RATE_UNITS ? parseFloat(m[1]!) * RATE_UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!(n >= 8 && n <= 1e12)) throw bad(field, v, 'bits per second from 8 to 1e12 (100e6) or a tc rate ("100mbit", "1gbit", "10kbps")');
  return n;
}

function wholeNumber(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw bad(field, v, `a whole number from ${min} to ${max}`);
  return v;
}

/** Any accepted spelling → the normal form. Throws a sentence naming the field. */
export function checkImpairment(spec: ImpairmentSpec): Impairment {
  if (typeof spec !== "object" || spec === null) throw new TapbridgeError("EINVAL", "an impairment is an object such as { delay: 50, loss: 0.1 }");
  const known = new Set(["loss", "delay", "reorder", "duplicate", "corrupt", "rate", "limit", "partition", "seed"]);
  for (const k of Object.keys(spec)) if (!known.has(k)) throw new TapbridgeError("EINVAL", `"${k}" is not an impairment: use ${[...known].join(", ")}`);
  const out: Impairment = {
    lossRandom: 0, gilbert: undefined, delayMs: 0, jitterMs: 0, distribution: "uniform", reorder: 0, reorderGap: 1,
    duplicate: 0, corrupt: 0, rateBps: 0, burstBits: 0, overheadBytes: 0, limit: 1000, partition: false, seed: 1,
  };
  const loss = spec.loss;
  if (loss !== undefined) {
    if (typeof loss === "object" && "gilbertElliott" in loss) {
      const g = loss.gilbertElliott;
      const p = parseProbability("loss.gilbertElliott.p", g.p);
      out.gilbert = {
        p,
        r: g.r === undefined ? 1 - p : parseProbability("loss.gilbertElliott.r", g.r),
        lossInBad: g.lossInBad === undefined ? 1 : parseProbability("loss.gilbertElliott.lossInBad", g.lossInBad),
        lossInGood: g.lossInGood === undefined ? 0 : parseProbability("loss.gilbertElliott.lossInGood", g.lossInGood),
      };
    } else {
      out.lossRandom = parseProbability("loss", typeof loss === "object" ? loss.random : loss);
    }
  }
  const delay = spec.delay;
  if (delay !== undefined) {
    if (typeof delay === "object") {
      out.delayMs = parseTime("delay.ms", delay.ms);
      out.jitterMs = delay.jitterMs === undefined ? 0 : parseTime("delay.jitterMs", delay.jitterMs);
      const d = delay.distribution ?? "uniform";
      if (!["uniform", "normal", "pareto", "paretonormal"].includes(d)) throw bad("delay.distribution", d, "uniform, normal, pareto or paretonormal");
      out.distribution = d;
    } else out.delayMs = parseTime("delay", delay);
  }
  const reorder = spec.reorder;
  if (reorder !== undefined) {
    if (typeof reorder === "object") {
      out.reorder = parseProbability("reorder.probability", reorder.probability);
      out.reorderGap = reorder.gap === undefined ? 1 : wholeNumber("reorder.gap", reorder.gap, 1, 1_000_000);
    } else out.reorder = parseProbability("reorder", reorder);
  }
  if (spec.duplicate !== undefined) out.duplicate = parseProbability("duplicate", spec.duplicate);
  if (spec.corrupt !== undefined) out.corrupt = parseProbability("corrupt", spec.corrupt);
  const rate = spec.rate;
  if (rate !== undefined) {
    const r = typeof rate === "object" ? rate : { bitsPerSecond: parseRate("rate", rate) };
    out.rateBps = parseRate("rate.bitsPerSecond", r.bitsPerSecond);
    out.burstBits = 8 * (r.burstBytes === undefined ? 65_600 : wholeNumber("rate.burstBytes", r.burstBytes, 1, 1 << 30));
    out.overheadBytes = r.overheadBytes === undefined ? 0 : wholeNumber("rate.overheadBytes", r.overheadBytes, 0, 1024);
  }
  if (spec.limit !== undefined) out.limit = wholeNumber("limit", spec.limit, 1, 10_000_000);
  if (spec.partition !== undefined) {
    if (typeof spec.partition !== "boolean") throw bad("partition", spec.partition, "true or false");
    out.partition = spec.partition;
  }
  if (spec.seed !== undefined) out.seed = wholeNumber("seed", spec.seed, 0, 0xffffffff);
  return out;
}

/**
 * The words of `tc qdisc add dev X root netem …` → an ImpairmentSpec:
 * delay TIME [JITTER [CORRELATION]] [distribution NAME], loss [random] P |
 * loss gemodel P [R [1-H [1-K]]], duplicate P, corrupt P, reorder P [gap N],
 * rate RATE, limit N. Correlation percentages are accepted and ignored
 * (netem's own correlation is statistically unsound; use gemodel for bursts).
 */
export function parseNetem(text: string): ImpairmentSpec {
  const w = text.trim().split(/\s+/).filter(Boolean);
  const spec: ImpairmentSpec = {};
  let i = 0;
  const isNum = (s: string | undefined) => s !== undefined && /^[\d.]/.test(s);
  const need = (what: string) => {
    const v = w[i++];
    if (v === undefined) throw new TapbridgeError("EINVAL", `netem "${text}": ${what} is missing`);
    return v;
  };
  while (i < w.length) {
    const word = w[i++]!.toLowerCase();
    switch (word) {
      case "delay":
      case "latency": {
        const d: DelaySpec = { ms: parseTime("delay", need("the delay time")) };
        if (isNum(w[i])) d.jitterMs = parseTime("delay jitter", w[i++]);
        if (isNum(w[i])) i++; // correlation: ignored
        if (w[i] === "distribution") {
          i++;
          d.distribution = need("the distribution name") as DelayDistribution;
        }
        spec.delay = d;
        break;
      }
      case "distribution":
        if (typeof spec.delay !== "object") throw new TapbridgeError("EINVAL", `netem "${text}": distribution comes after delay`);
        spec.delay.distribution = need("the distribution name") as DelayDistribution;
        break;
      case "loss":
      case "drop":
        if (w[i] === "random") i++;
        if (w[i] === "gemodel") {
          i++;
          const g: GilbertElliott = { p: need("gemodel p") };
          if (isNum(w[i])) g.r = w[i++];
          if (isNum(w[i])) g.lossInBad = w[i++];
          if (isNum(w[i])) g.lossInGood = w[i++];
          spec.loss = { gilbertElliott: g };
        } else {
          spec.loss = need("the loss probability");
          if (isNum(w[i])) i++;
        }
        break;
      case "duplicate":
      case "corrupt":
        spec[word] = need(`the ${word} probability`);
        if (isNum(w[i])) i++;
        break;
      case "reorder": {
        const probability = need("the reorder probability");
        if (isNum(w[i])) i++;
        let gap: number | undefined;
        if (w[i] === "gap") {
          i++;
          gap = Number(need("the gap"));
        }
        spec.reorder = gap === undefined ? { probability } : { probability, gap };
        break;
      }
      case "rate":
        spec.rate = need("the rate");
        break;
      case "limit":
        spec.limit = Number(need("the limit"));
        break;
      default:
        throw new TapbridgeError("EINVAL", `netem "${text}": "${word}" is not a netem option (delay, loss, duplicate, corrupt, reorder, rate, limit)`);
    }
  }
  checkImpairment(spec);
  return spec;
}
