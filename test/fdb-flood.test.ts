/**
 * A MAC flood (issue 6): one port sends a million frames from random source
 * MACs while two legitimate hosts talk, and a third host appears mid-flood.
 * With a per-port limit the newcomer is learned and its traffic is not
 * flooded to the attacker; the table and RSS stay bounded. Without a limit,
 * the default full policy (evict-from-largest-port) gives the same answer;
 * `refuse` (Linux) locks the newcomer out, which is why it is not the default.
 * In memory, through the whole bridge (decide, learn, deliver).
 */
import { describe, expect, it } from "vitest";
import { Bridge, type BridgeOptions } from "../src/bridge.js";
import { buildFrame } from "../src/core/frame.js";
import { MemoryPort } from "../src/ports/memory-port.js";
import type { PortSettings } from "../src/ports/port.js";

const A = "02:00:00:00:0a:01";
const B = "02:00:00:00:0b:01";
const NEW = "02:00:00:00:0c:01";
const FLOOD = 1_000_000;

function flood(options: BridgeOptions, attackerSettings: PortSettings = {}, count = FLOOD) {
  let now = 0;
  const bridge = new Bridge({ clock: () => now, ...options });
  const attacker = bridge.addPort(new MemoryPort("attacker", { keep: 8 }), attackerSettings);
  const a = bridge.addPort(new MemoryPort("a", { keep: 8 }));
  const b = bridge.addPort(new MemoryPort("b", { keep: 8 }));
  const c = bridge.addPort(new MemoryPort("c", { keep: 8 }));
  let toAttacker = 0;
  let newcomerFramesSeenByAttacker = 0;
  attacker.onFrame((f) => {
    toAttacker++;
    if (f[5] === 0x01 && f[4] === 0x0c) newcomerFramesSeenByAttacker++; // frames to NEW
  });
  const bad = buildFrame({ src: "02:66:00:00:00:00", dst: "02:77:77:77:77:77" });
  let x = 0x12345678;
  const rssBefore = process.memoryUsage().rss;
  let rssMax = rssBefore;
  let aToB = 0;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bad[8] = x >>> 24;
    bad[9] = x >>> 16;
    bad[10] = x >>> 8;
    bad[11] = x;
    attacker.send(bad);
    if (i % 1000 === 0) {
      now += 1;
      a.send(buildFrame({ src: A, dst: B }));
      b.send(buildFrame({ src: B, dst: A }));
      aToB++;
    }
    if (i === count / 2) c.send(buildFrame({ src: NEW, dst: A })); // the newcomer appears
    if (i > count / 2 && i % 1000 === 0) a.send(buildFrame({ src: A, dst: NEW }));
    if (i % 100_000 === 0) rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }
  return { bridge, attacker, a, b, c, toAttacker, newcomerFramesSeenByAttacker: () => newcomerFramesSeenByAttacker, rssGrowthMiB: (rssMax - rssBefore) / 2 ** 20, aToB };
}

describe("a MAC flood from one port", () => {
  it("with max-learned on the attacker's port: the newcomer is learned, nothing to it leaks to the attacker, memory stays flat", () => {
    const r = flood({}, { maxLearned: 1000 });
    const { bridge } = r;
    const stats = bridge.fdbStats();
    console.log(`per-port limit: attacker learned ${bridge.portStats("attacker").fdb.learned}, refused ${bridge.portStats("attacker").fdb.refused}, table ${stats.entries} entries (${(stats.memoryBytes / 1024).toFixed(0)} KiB), RSS +${r.rssGrowthMiB.toFixed(0)} MiB`);
    expect(bridge.lookup(NEW)?.name).toBe("c");
    expect(bridge.lookup(A)?.name).toBe("a");
    expect(bridge.lookup(B)?.name).toBe("b");
    expect(r.newcomerFramesSeenByAttacker()).toBe(0);
    expect(bridge.portStats("c").txPackets).toBeGreaterThanOrEqual(499);
    expect(bridge.portStats("attacker").fdb).toMatchObject({ learned: 1000, refused: FLOOD - 1000 });
    expect(stats.entries).toBe(1003);
    expect(stats.evictions).toBe(0);
    expect(r.rssGrowthMiB).toBeLessThan(100);
    bridge.close();
  }, 120_000);

  it("without a limit, a full table evicts from the largest port: the newcomer is learned, the talking hosts stay", () => {
    const r = flood({ maxFdbEntries: 16_384 }, {}, 200_000);
    const { bridge } = r;
    const stats = bridge.fdbStats();
    console.log(`evict-from-largest-port: ${stats.evictions} evictions, all from the attacker: ${bridge.portStats("attacker").fdb.evicted}`);
    expect(bridge.lookup(NEW)?.name).toBe("c");
    expect(bridge.lookup(A)?.name).toBe("a");
    expect(bridge.lookup(B)?.name).toBe("b");
    expect(r.newcomerFramesSeenByAttacker()).toBe(0);
    expect(stats.entries).toBe(16_384);
    expect(bridge.portStats("attacker").fdb.evicted).toBe(stats.evictions);
    expect(stats.evictions).toBeGreaterThan(200_000 - 17_000);
    bridge.close();
  }, 120_000);

  it("refuse (Linux): once the attacker has filled the table, the newcomer is never learned and its traffic floods to the attacker", () => {
    const r = flood({ maxFdbEntries: 16_384, fdbFullPolicy: "refuse" }, {}, 200_000);
    const { bridge } = r;
    expect(bridge.lookup(NEW)).toBeUndefined();
    expect(r.newcomerFramesSeenByAttacker()).toBeGreaterThan(90);
    expect(bridge.fdbStats().refusedFull).toBeGreaterThan(200_000 - 17_000);
    bridge.close();
  }, 120_000);
});
