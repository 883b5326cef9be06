/**
 * Listing the FDB in chunks: every entry once, chunks bounded, the event
 * loop turning between chunks; and the SIGUSR1 status report's layout
 * ("status" with counters, "fdb" lines, "fdb end"). A million-entry dump is
 * measured (event-loop delay, RSS) and the figures printed for the record.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { Bridge } from "../src/bridge.js";
import { DEFAULT_CHUNK, dumpStatus } from "../src/fdb-dump.js";
import { createLogger } from "../src/log.js";
import { MemoryPort } from "../src/ports/memory-port.js";

function bridgeWith(entries: number, ports = 4) {
  const bridge = new Bridge({ clock: () => 0, maxFdbEntries: Math.max(entries + 16, 1024) });
  const list = Array.from({ length: ports }, (_, i) => bridge.addPort(new MemoryPort(`d${i}`)));
  for (let i = 0; i < entries; i++) bridge.fdb.learn(i % 3, 0x0200 | (i >>> 24), (Math.imul(i, 0x9e3779b1) ^ 0x5bd1e995) >>> 0, i % ports, 0);
  return { bridge, ports: list };
}

describe("streamed FDB listing", () => {
  it("yields every entry exactly once in bounded chunks, turning the event loop in between", async () => {
    const { bridge } = bridgeWith(50_000);
    bridge.addStaticEntry("02:aa:00:00:00:01", "d2", { vlan: 7 });
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const seen = new Set<string>();
    let chunks = 0;
    const walk = bridge.fdbChunks({ chunkSize: 500 });
    let result;
    for (;;) {
      const next = await walk.next();
      if (next.done) {
        result = next.value;
        break;
      }
      expect(next.value.length).toBeLessThanOrEqual(500);
      for (const r of next.value) seen.add(`${r.vlan}/${r.mac}`);
      chunks++;
    }
    clearInterval(ticker);
    expect(seen.size).toBe(50_001);
    expect(result).toEqual({ entries: 50_001, chunks, interrupted: false });
    expect(chunks).toBeGreaterThanOrEqual(101);
    expect(turns).toBeGreaterThan(10); // timers ran while the walk was under way
    bridge.close();
  });

  it("filters by port and VLAN, and shows what fdbEntries shows", async () => {
    const { bridge } = bridgeWith(3000);
    const mine: string[] = [];
    for await (const chunk of bridge.fdbChunks({ port: "d1", vlan: 2 })) for (const r of chunk) mine.push(`${r.port}/${r.vlan}/${r.mac}`);
    const expected = bridge.fdbEntries().filter((r) => r.port === "d1" && r.vlan === 2).map((r) => `${r.port}/${r.vlan}/${r.mac}`);
    expect(mine.sort()).toEqual(expected.sort());
    expect(mine.length).toBe(250);
    expect(() => bridge.fdbChunks({ port: "nope" })).toThrow(/has no port nope/);
    bridge.close();
  });

  it("SIGUSR1's report: a status line with counters, then fdb lines of at most 512 entries, then fdb end", async () => {
    const { bridge } = bridgeWith(5000);
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const first = dumpStatus(bridge, log);
    const second = dumpStatus(bridge, log); // while the first still streams: counters only
    await Promise.all([first, second]);
    const statuses = lines.filter((l) => l.msg === "status");
    expect(statuses).toHaveLength(2);
    expect(statuses[0]!.fdb).toBeUndefined();
    expect(statuses[0]).toMatchObject({ internalErrors: 0, fdbStats: { entries: 5000, learned: 5000, fullPolicy: "evict-from-largest-port" } });
    expect((statuses[0]!.ports as unknown[]).length).toBe(4);
    expect(statuses[1]!.fdbDump).toBeNull();
    const id = statuses[0]!.fdbDump;
    const chunks = lines.filter((l) => l.msg === "fdb");
    expect(chunks.every((c) => c.dump === id && (c.entries as unknown[]).length <= DEFAULT_CHUNK)).toBe(true);
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    expect(chunks.reduce((n, c) => n + (c.entries as unknown[]).length, 0)).toBe(5000);
    expect(lines.at(-1)).toMatchObject({ msg: "fdb end", dump: id, entries: 5000, chunks: chunks.length, interrupted: false });
    bridge.close();
  });

  it("dumps a million entries without holding the event loop or the memory (figures printed)", async () => {
    const { bridge } = bridgeWith(1_048_576);
    let bytes = 0;
    let longest = 0;
    let lines = 0;
    const log = createLogger({
      write: (l) => {
        bytes += l.length;
        longest = Math.max(longest, l.length);
        lines++;
      },
    });
    // Behaviour, not time: something else scheduled on the event loop gets its turn between chunks.
    let turns = 0;
    let ticking = true;
    // The time between two turns of this ticker is what forwarding would wait at most (a chunk's work, or the OS's preemption).
    const gaps: number[] = [];
    let last = performance.now();
    const tick = () => {
      turns++;
      const now = performance.now();
      gaps.push(now - last);
      last = now;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    globalThis.gc?.();
    const rss0 = process.memoryUsage().rss;
    let rssMax = rss0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 5);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const started = performance.now();
    await dumpStatus(bridge, log);
    const took = performance.now() - started;
    delay.disable();
    clearInterval(sampler);
    ticking = false;
    const grew = (rssMax - rss0) / 2 ** 20;
    gaps.sort((a, b) => a - b);
    const gap = (q: number) => gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))]!.toFixed(2);
    console.log(
      `dump of 1048576 entries: ${took.toFixed(0)} ms, ${(bytes / 2 ** 20).toFixed(1)} MiB of log in lines of at most ${(longest / 1024).toFixed(0)} KiB, ` +
        `event-loop delay max ${(delay.max / 1e6).toFixed(1)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms), ` +
        `gap between two turns median ${gap(0.5)} ms, p99 ${gap(0.99)} ms, max ${gap(1)} ms over ${gaps.length} turns, RSS +${grew.toFixed(0)} MiB`,
    );
    expect(longest).toBeLessThan(200 * 1024);
    expect(turns).toBeGreaterThanOrEqual(lines - 3); // a turn between any two chunks
    expect(grew).toBeLessThan(150); // the report: RSS grew 144 MB with one 12.6 MB line before
    // The record, with a generous bound (a shared machine): no stall near the length of the dump itself.
    expect(delay.max / 1e6).toBeLessThan(Math.max(1000, took / 4));
    bridge.close();
  }, 60_000);
});
