/**
 * Every impairment's statistics under a fixed seed, end to end: host → bridge
 * x → impaired wire → bridge y → host, on virtual time.
 */
import { describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { buildFrame } from "../../src/core/frame.js";
import { parseNetem, checkImpairment, type ImpairmentSpec } from "../../src/impair/spec.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { wire } from "../../src/testing/wire.js";

const noNative = () => {
  throw new Error("no addon in unit tests");
};

function path(spec: ImpairmentSpec) {
  const clock = new VirtualClock();
  const x = new Bridge({ name: "x", native: noNative, scheduler: clock });
  const y = new Bridge({ name: "y", native: noNative, scheduler: clock });
  const src = x.addPort(new MemoryPort("src"));
  const dst = y.addPort(new MemoryPort("dst", { keep: 0 }));
  const w = wire(x.addPort(new MemoryPort("x1")), y.addPort(new MemoryPort("y1")), { aToB: spec });
  const arrivals: { seq: number; at: number; frame: Uint8Array }[] = [];
  dst.onFrame((f) => arrivals.push({ seq: new DataView(f.buffer, f.byteOffset).getUint32(14), at: clock.now(), frame: f }));
  const frame = (seq: number, size = 60) => {
    const payload = new Uint8Array(Math.max(4, size - 14));
    new DataView(payload.buffer).setUint32(0, seq);
    return buildFrame({ src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", payload });
  };
  /** Send n frames, one every `gapMs`, then let everything in flight arrive. */
  const run = (n: number, gapMs = 1, size = 60) => {
    for (let i = 0; i < n; i++) {
      src.send(frame(i, size));
      if (gapMs > 0) clock.advance(gapMs);
    }
    clock.advance(60_000);
    return arrivals;
  };
  return { clock, x, y, src, dst, w, arrivals, run, frame };
}

const within = (value: number, expected: number, margin: number) => {
  expect(value).toBeGreaterThanOrEqual(expected - margin);
  expect(value).toBeLessThanOrEqual(expected + margin);
};

describe("impairments (seeded, virtual time)", () => {
  it("random loss: 10% of 10 000 frames within 3 sigma, counted as impair_loss; the same seed loses the same frames", () => {
    const a = path({ loss: "10%", seed: 7 });
    const got = a.run(10_000, 0);
    const lost = 10_000 - got.length;
    within(lost, 1000, 90); // sigma = sqrt(10000 * 0.1 * 0.9) = 30
    expect(a.w.stats().aToB.lost).toBe(lost);
    expect(a.y.portStats("y1").drops.impair_loss).toBe(lost);
    const b = path({ loss: 0.1, seed: 7 });
    expect(b.run(10_000, 0).map((f) => f.seq)).toEqual(got.map((f) => f.seq));
    const c = path({ loss: 0.1, seed: 8 });
    expect(c.run(10_000, 0).map((f) => f.seq)).not.toEqual(got.map((f) => f.seq));
  });

  it("Gilbert-Elliott loss comes in bursts: loss p/(p+r), mean burst 1/r", () => {
    const { run } = path({ loss: { gilbertElliott: { p: 0.01, r: 0.25 } }, seed: 3 });
    const seqs = new Set(run(20_000, 0).map((f) => f.seq));
    const bursts: number[] = [];
    let current = 0;
    for (let i = 0; i < 20_000; i++) {
      if (!seqs.has(i)) current++;
      else if (current > 0) bursts.push(current), (current = 0);
    }
    const lossRate = (20_000 - seqs.size) / 20_000;
    within(lossRate, 0.01 / 0.26, 0.01);
    const meanBurst = bursts.reduce((s, b) => s + b, 0) / bursts.length;
    within(meanBurst, 4, 1);
    // Random loss of the same rate has bursts of about 1.
    expect(meanBurst).toBeGreaterThan(2.5);
  });

  it("delay with normal jitter: mean and spread as asked; uniform jitter stays within its bounds", () => {
    const n = path({ delay: { ms: 50, jitterMs: 10, distribution: "normal" }, seed: 5 });
    const sent = new Map<number, number>();
    for (let i = 0; i < 5000; i++) {
      sent.set(i, n.clock.now());
      n.src.send(n.frame(i));
      n.clock.advance(1);
    }
    n.clock.advance(1000);
    const d = n.arrivals.map((f) => f.at - sent.get(f.seq)!);
    expect(d).toHaveLength(5000);
    const mean = d.reduce((s, v) => s + v, 0) / d.length;
    const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / d.length);
    within(mean, 50, 1);
    within(sd, 10, 1);
    // Jitter larger than the gap between frames reorders them, as in netem.
    expect(n.arrivals.some((f, i) => i > 0 && f.seq < n.arrivals[i - 1]!.seq)).toBe(true);

    const u = path({ delay: "20ms", seed: 5 });
    u.w.impair({ delay: { ms: 20, jitterMs: 5 } });
    const t0 = u.clock.now();
    u.src.send(u.frame(0));
    u.clock.advance(100);
    within(u.arrivals[0]!.at - t0, 20, 5);
  });

  it("reorder: about P of the frames skip the delay and overtake", () => {
    const { run, w } = path({ delay: 10, reorder: "25%", seed: 11 });
    const got = run(4000, 1);
    expect(got).toHaveLength(4000);
    within(w.stats().aToB.reordered / 4000, 0.25, 0.03);
    const overtaking = got.filter((f, i) => i + 1 < got.length && f.seq > got[i + 1]!.seq).length;
    expect(overtaking).toBeGreaterThan(500);
  });

  it("duplication adds copies; corruption flips exactly one bit", () => {
    const d = path({ duplicate: 0.05, seed: 2 });
    within(d.run(10_000, 0).length - 10_000, 500, 70);
    const c = path({ corrupt: 0.02, seed: 2 });
    const got = c.run(5000, 0);
    const bitsOff = (f: { seq: number; frame: Uint8Array }) => {
      const want = c.frame(f.seq);
      let bits = 0;
      for (let i = 0; i < want.length; i++) for (let x = want[i]! ^ f.frame[i]!; x; x &= x - 1) bits++;
      return bits;
    };
    const corrupted = got.filter((f) => bitsOff(f) > 0);
    // A flipped bit in the source MAC can make it a group address, which the bridge drops: count what arrived.
    within(corrupted.length, 100, 40);
    expect(corrupted.every((f) => bitsOff(f) === 1)).toBe(true);
    expect(c.w.stats().aToB.corrupted).toBeGreaterThanOrEqual(corrupted.length);
  });

  it("rate limit: a token bucket in bit/s paces frames; what exceeds the queue limit is dropped", () => {
    const { run, arrivals, y } = path({ rate: "10mbit", limit: 2000 });
    run(1000, 0, 1250); // 1000 frames of 10 000 bits, all at once
    expect(arrivals).toHaveLength(1000);
    // After the bucket's first burst, frames leave at the rate.
    const span = arrivals.at(-1)!.at - arrivals[100]!.at;
    const bps = (899 * 1250 * 8) / (span / 1000);
    within(bps / 1e6, 10, 0.1);
    const q = path({ rate: { bitsPerSecond: 10e6 }, limit: 100 });
    q.run(1000, 0, 1250);
    // The bucket's depth (64 KiB: 52 such frames) leaves at once, 100 wait, the rest are dropped.
    expect(q.arrivals.length).toBe(52 + 100);
    expect(q.y.portStats("y1").drops.impair_queue_full).toBe(1000 - q.arrivals.length);
    expect(y.internalErrors).toBe(0);
  });

  it("a partition drops everything while the carrier stays up; heal restores; cut() drops the carrier and flushes", () => {
    const p = path({});
    p.w.partition();
    p.run(10, 0);
    expect(p.arrivals).toHaveLength(0);
    expect(p.y.portStats("y1").drops.partitioned).toBe(10);
    expect(p.y.portLinkUp("y1")).toBe(true);
    p.w.heal();
    p.run(10, 0);
    expect(p.arrivals).toHaveLength(10);
    expect(p.y.lookup("02:00:00:00:00:01")?.name).toBe("y1");
    p.w.cut();
    expect(p.y.portLinkUp("y1")).toBe(false);
    expect(p.y.lookup("02:00:00:00:00:01")).toBeUndefined();
    p.w.restore();
    p.run(1, 0);
    expect(p.arrivals).toHaveLength(11);
  });

  it("changes while running keep frames in flight", () => {
    const p = path({ delay: 100 });
    p.src.send(p.frame(1));
    p.w.impair({ delay: 1 });
    p.src.send(p.frame(2));
    p.clock.advance(10);
    expect(p.arrivals.map((f) => f.seq)).toEqual([2]);
    p.clock.advance(100);
    expect(p.arrivals.map((f) => f.seq)).toEqual([2, 1]);
  });

  it("reads netem's own words, and says what is wrong with a bad impairment", () => {
    expect(parseNetem("delay 50ms 10ms distribution normal loss 10% duplicate 1% reorder 25% gap 5 rate 100mbit limit 500")).toEqual({
      delay: { ms: 50, jitterMs: 10, distribution: "normal" },
      loss: "10%",
      duplicate: "1%",
      reorder: { probability: "25%", gap: 5 },
      rate: "100mbit",
      limit: 500,
    });
    expect(parseNetem("loss gemodel 1% 10% 70% 0.1%")).toEqual({ loss: { gilbertElliott: { p: "1%", r: "10%", lossInBad: "70%", lossInGood: "0.1%" } } });
    expect(checkImpairment({ rate: "1gbit" }).rateBps).toBe(1e9);
    expect(checkImpairment({ delay: "1s" }).delayMs).toBe(1000);
    expect(() => checkImpairment({ loss: 1.5 })).toThrow(/impairment loss 1.5 is not valid: use a fraction from 0 to 1/);
    expect(() => checkImpairment({ delay: "fast" } as ImpairmentSpec)).toThrow(/impairment delay "fast"/);
    expect(() => checkImpairment({ lag: 5 } as unknown as ImpairmentSpec)).toThrow(/"lag" is not an impairment/);
    expect(() => parseNetem("delay 10ms slot 5")).toThrow(/"slot" is not a netem option/);
  });

  it("an in-memory port can be impaired on its own, per direction", () => {
    const clock = new VirtualClock();
    const b = new Bridge({ native: noNative, scheduler: clock });
    const a = b.addPort(new MemoryPort("a"));
    const c = b.addPort(new MemoryPort("c")).impair({ delay: 30 }, "egress");
    a.send(buildFrame({ src: "02:00:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff" }));
    expect(c.take()).toHaveLength(0);
    clock.advance(30);
    expect(c.take()).toHaveLength(1);
    a.impair({ loss: 1 }, "ingress");
    a.send(buildFrame({ src: "02:00:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff" }));
    expect(c.take()).toHaveLength(0);
    expect(b.portStats("a").drops.impair_loss).toBe(1);
    a.impair(undefined);
    c.impair(undefined);
    a.send(buildFrame({ src: "02:00:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff" }));
    expect(c.take()).toHaveLength(1);
  });
});
