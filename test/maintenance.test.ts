/**
 * What runs beside the data path: the ageing sweep in bounded steps on the
 * event loop, and storm-control episodes reported once a second.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Bridge } from "../src/bridge.js";
import type { StormEvent } from "../src/bridge-events.js";
import { Fdb } from "../src/core/fdb.js";
import { buildFrame } from "../src/core/frame.js";
import { DROP_REASON_COUNT, DropReason } from "../src/core/reasons.js";
import { createLogger } from "../src/log.js";
import { FdbSweeper, StormWatch, SWEEP_STEP_SLOTS } from "../src/maintenance.js";
import { MemoryPort } from "../src/ports/memory-port.js";
import { schedulerWithClock } from "../src/scheduler.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("FdbSweeper", () => {
  it("ages a table out in steps chained through the event loop, none larger than its budget", async () => {
    let now = 0;
    const fdb = new Fdb({ maxEntries: 200_000, ageingMs: 1000 });
    for (let i = 0; i < 150_000; i++) fdb.learn(0, 0x0200, i * 7 + 1, i % 5, now);
    const run = fdb.longestRun();
    const sweeper = new FdbSweeper(fdb, schedulerWithClock(() => now));
    now = 500;
    sweeper.tick();
    while (sweeper.busy) await new Promise((r) => setImmediate(r));
    expect(fdb.size).toBe(150_000); // nothing old enough yet
    now = 2000;
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    sweeper.tick();
    expect(sweeper.busy).toBe(true);
    sweeper.tick(); // a pass under way is not started twice
    while (sweeper.busy) await new Promise((r) => setImmediate(r));
    expect(fdb.size).toBe(0);
    expect(timerRan).toBe(true);
    expect(sweeper.maxStepWork).toBeLessThanOrEqual(SWEEP_STEP_SLOTS + run + 1);
    expect(sweeper.steps).toBeGreaterThan(1);
    sweeper.stop();
  });

  it("does nothing for an empty table", () => {
    const sweeper = new FdbSweeper(new Fdb(), schedulerWithClock(() => 0));
    sweeper.tick();
    expect(sweeper.busy).toBe(false);
    expect(sweeper.steps).toBe(0);
  });
});

describe("StormWatch", () => {
  it("reports an episode once when drops start and once, with its total, when a second passes without", () => {
    const drops = new Float64Array(256 * DROP_REASON_COUNT);
    const watch = new StormWatch();
    const seen: string[] = [];
    const report = (port: number, kind: number, active: boolean, dropped: number) => seen.push(`${port}:${kind}:${active}:${dropped}`);
    const at = (port: number, reason: number) => port * DROP_REASON_COUNT + reason;
    watch.check(drops, [3], report);
    drops[at(3, DropReason.stormBroadcast)] = 100;
    watch.check(drops, [3], report);
    drops[at(3, DropReason.stormBroadcast)] = 250;
    drops[at(3, DropReason.stormUnknownUnicast)] = 7;
    watch.check(drops, [3], report);
    watch.check(drops, [3], report);
    expect(seen).toEqual(["3:0:true:100", "3:2:true:7", "3:0:false:250", "3:2:false:7"]);
  });
});

describe("storm episodes on a bridge", () => {
  it("announces a storm on a limited port once when it starts and once when it ends, and logs both", () => {
    vi.useFakeTimers();
    let now = 0;
    const lines: Record<string, unknown>[] = [];
    const bridge = new Bridge({ clock: () => now, logger: createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }) });
    const a = bridge.addPort(new MemoryPort("a", { keep: 4 }), { stormBroadcast: 1000 });
    bridge.addPort(new MemoryPort("b", { keep: 4 }));
    const events: StormEvent[] = [];
    bridge.on("storm", (e) => events.push(e));
    const storm = buildFrame({ src: "02:00:00:00:00:0a", dst: "ff:ff:ff:ff:ff:ff" });
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < 5000; i++) {
        now += 0.2; // 5000 frames/s offered
        a.send(storm);
      }
      vi.advanceTimersByTime(1000);
    }
    vi.advanceTimersByTime(1000);
    const dropped = bridge.portStats(a).drops.storm_broadcast!;
    expect(dropped).toBeGreaterThan(11_500);
    expect(events.map((e) => [e.port, e.kind, e.active, e.limit])).toEqual([
      ["a", "broadcast", true, 1000],
      ["a", "broadcast", false, 1000],
    ]);
    expect(events[1]!.dropped).toBe(dropped);
    expect(lines.filter((l) => l.msg === "storm control dropping")).toHaveLength(1);
    expect(lines.find((l) => l.msg === "storm over")).toMatchObject({ port: "a", kind: "broadcast", dropped });
    bridge.close();
  });
});
