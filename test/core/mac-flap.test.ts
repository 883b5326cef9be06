import { describe, expect, it } from "vitest";
import { FlapDetector } from "../../src/core/mac-flap.js";

const HI = 0x0200;
const LO = 0x12345678;

describe("FlapDetector", () => {
  it("reports a MAC that moves more than N times within the window, once, blaming the port that took it from home", () => {
    const d = new FlapDetector({ moves: 3, windowMs: 10_000 });
    // Home is port 1 (the first move starts from it); the spoofer is port 2.
    expect(d.onMove(0, HI, LO, 1, 2, 0)).toBe(-1);
    expect(d.onMove(0, HI, LO, 2, 1, 100)).toBe(-1);
    expect(d.onMove(0, HI, LO, 1, 2, 200)).toBe(-1);
    expect(d.onMove(0, HI, LO, 2, 1, 300)).toBe(2); // 4th move: more than 3; back home, so the other port is blamed
    expect(d.last).toEqual({ home: 1, moves: 4 });
    for (let t = 400; t < 9000; t += 100) expect(d.onMove(0, HI, LO, t % 200 ? 1 : 2, t % 200 ? 2 : 1, t)).toBe(-1);
    expect(d.detected).toBe(1);
    expect(d.blamed[2]).toBe(1);
    expect(d.blamed[1]).toBe(0);
  });

  it("does not count moves spread wider than the window", () => {
    const d = new FlapDetector({ moves: 2, windowMs: 1000 });
    for (let i = 0; i < 20; i++) expect(d.onMove(0, HI, LO, i % 2, (i + 1) % 2, i * 1500)).toBe(-1);
    expect(d.detected).toBe(0);
  });

  it("counts in windows: a new window starts over, a reported episode stays reported until the MAC is quiet", () => {
    const d = new FlapDetector({ moves: 2, windowMs: 1000 });
    expect(d.onMove(0, HI, LO, 1, 2, 0)).toBe(-1);
    expect(d.onMove(0, HI, LO, 2, 1, 900)).toBe(-1);
    expect(d.onMove(0, HI, LO, 1, 2, 1200)).toBe(-1); // window [0, 1000] is over: counting restarts at 1
    expect(d.onMove(0, HI, LO, 2, 1, 1300)).toBe(-1);
    expect(d.onMove(0, HI, LO, 1, 2, 1400)).toBe(2);
    expect(d.onMove(0, HI, LO, 2, 1, 2300)).toBe(-1); // still flapping in a new window: not reported again
    expect(d.onMove(0, HI, LO, 1, 2, 2600)).toBe(-1);
    expect(d.onMove(0, HI, LO, 2, 1, 2700)).toBe(-1);
    // Quiet for more than a window: a new episode, reported again when it crosses the threshold.
    expect(d.onMove(0, HI, LO, 1, 3, 5000)).toBe(-1);
    expect(d.onMove(0, HI, LO, 3, 1, 5100)).toBe(-1);
    expect(d.onMove(0, HI, LO, 1, 3, 5200)).toBe(3);
    expect(d.detected).toBe(2);
  });

  it("keeps MACs and VLANs apart, and turns off with moves 0", () => {
    // A fixed hash key: with a random one, two of these three movers share a slot of the direct-mapped table
    // about once in 340 runs, and the later evicts the earlier (as designed), which this test is not about.
    const d = new FlapDetector({ moves: 1, windowMs: 1000 }, Int32Array.of(0x1234567, 0x7654321));
    expect(d.onMove(1, HI, LO, 1, 2, 0)).toBe(-1);
    expect(d.onMove(2, HI, LO, 1, 2, 1)).toBe(-1);
    expect(d.onMove(1, HI, LO + 1, 1, 2, 2)).toBe(-1);
    expect(d.onMove(1, HI, LO, 2, 1, 3)).toBe(2);
    const off = new FlapDetector({ moves: 0, windowMs: 1000 });
    for (let i = 0; i < 100; i++) expect(off.onMove(0, HI, LO, i % 2, (i + 1) % 2, i)).toBe(-1);
  });
});
