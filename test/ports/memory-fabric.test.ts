/**
 * In-memory delivery: loops behave like L2 loops (bounded work per call,
 * timers keep firing, counters show the storm), listener errors reach the
 * test, link loss flushes, virtual time drives ageing.
 */
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { buildFrame } from "../../src/core/frame.js";
import { RUN_BUDGET } from "../../src/ports/memory-fabric.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

const noNative = () => {
  throw new Error("no addon in unit tests");
};
const H = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, "0")}`;
const BCAST = "ff:ff:ff:ff:ff:ff";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two bridges joined by two cables (a loop), a host on each. */
function loop() {
  const x = new Bridge({ name: "x", native: noNative });
  const y = new Bridge({ name: "y", native: noNative });
  const hx = x.addPort(new MemoryPort("hx"));
  const hy = y.addPort(new MemoryPort("hy", { keep: 16 }));
  const cables = [0, 1].map((i) => {
    const px = x.addPort(new MemoryPort(`x${i}`, { keep: 0 }));
    const py = y.addPort(new MemoryPort(`y${i}`, { keep: 0 }));
    px.onFrame((f) => py.send(f));
    py.onFrame((f) => px.send(f));
    return { px, py };
  });
  return { x, y, hx, hy, cables };
}

describe("in-memory delivery", () => {
  it("a loop between two bridges storms like a real L2 loop: send returns, timers fire, counters grow, cutting the loop ends it", async () => {
    const { x, y, hx, hy, cables } = loop();
    const t0 = performance.now();
    hx.send(buildFrame({ src: H(1), dst: BCAST }));
    expect(performance.now() - t0).toBeLessThan(5_000); // bounded, not hung (behaviour, generous)
    const atSend = x.portStats("x0").rxPackets + x.portStats("x1").rxPackets;
    expect(atSend).toBeGreaterThan(0);

    let fired = 0;
    await new Promise<void>((resolve) => setTimeout(() => (fired++, resolve()), 20));
    expect(fired).toBe(1);
    const later = x.portStats("x0").rxPackets + x.portStats("x1").rxPackets;
    expect(later).toBeGreaterThan(atSend); // still storming while the timer ran
    expect(hy.take().length).toBeGreaterThan(1); // the host sees the broadcast again and again

    cables[1]!.px.setLinkUp(false);
    cables[1]!.py.setLinkUp(false);
    await x.settle(10_000);
    const settled = x.portStats("x0").rxPackets;
    await sleep(20);
    expect(x.portStats("x0").rxPackets).toBe(settled);
    expect(x.internalErrors + y.internalErrors).toBe(0);
    x.close();
    y.close();
  });

  it("bounds the queue of a bridge and counts what does not fit as memory_queue_full", async () => {
    const b = new Bridge({ native: noNative, memoryQueueLimit: 100 });
    const src = b.addPort(new MemoryPort("src", { keep: 0 }));
    // Every broadcast reaching a fan makes it send 10 more: the storm grows far beyond what the queue holds.
    const fans = [1, 2].map((n) => {
      const fan = b.addPort(new MemoryPort(`fan${n}`, { keep: 0 }));
      fan.onFrame(() => {
        for (let i = 0; i < 10; i++) fan.send(buildFrame({ src: H(n + 1), dst: BCAST }));
      });
      return fan;
    });
    src.send(buildFrame({ src: H(1), dst: BCAST }));
    await sleep(10);
    const full = b.stats().reduce((n, s) => n + (s.drops.memory_queue_full ?? 0), 0);
    expect(full).toBeGreaterThan(0);
    fans[0]!.setLinkUp(false); // break the feedback; the storm dies out
    await b.settle(10_000);
    b.close();
  });

  it("a listener that throws fails the send that drove it; the other ports still get the frame; nothing counts as internal", () => {
    const b = new Bridge({ native: noNative });
    const a = b.addPort(new MemoryPort("a"));
    const p = b.addPort(new MemoryPort("p"));
    const q = b.addPort(new MemoryPort("q"));
    p.onFrame(() => {
      throw new Error("expected 1 to be 2");
    });
    let second = 0;
    p.onFrame(() => second++);
    expect(() => a.send(buildFrame({ src: H(1), dst: BCAST }))).toThrow("expected 1 to be 2");
    expect(second).toBe(1);
    expect(q.take()).toHaveLength(1);
    expect(b.internalErrors).toBe(0);
    // The bridge keeps working.
    expect(() => q.send(buildFrame({ src: H(3), dst: H(1) }))).not.toThrow();
    expect(a.take()).toHaveLength(1);
    b.close();
  });

  it("an error thrown where no caller waits (a continuation) is emitted as an error event", async () => {
    const b = new Bridge({ native: noNative, memoryQueueLimit: 100_000 });
    const a = b.addPort(new MemoryPort("a", { keep: 0 }));
    const z = b.addPort(new MemoryPort("z", { keep: 0 }));
    let seen = 0;
    z.onFrame(() => {
      if (++seen === RUN_BUDGET + 10) throw new Error("late failure");
    });
    const error = once(b, "error");
    let burst = false;
    a.onFrame(() => {
      if (burst) return;
      burst = true;
      for (let i = 0; i < RUN_BUDGET + 100; i++) a.send(buildFrame({ src: H(1), dst: BCAST }));
    });
    z.send(buildFrame({ src: H(2), dst: BCAST })); // reaches a, which queues more than one call drains
    expect(seen).toBeLessThan(RUN_BUDGET + 10);
    const [e] = (await error) as [Error];
    expect(e.message).toBe("late failure");
    expect(b.internalErrors).toBe(0);
    b.close();
  });

  it("a port whose link goes down leaves forwarding and its learned entries are flushed; up restores it", () => {
    const b = new Bridge({ native: noNative });
    const a = b.addPort(new MemoryPort("a"));
    const c = b.addPort(new MemoryPort("c"));
    const events: string[] = [];
    b.on("port-down", (e) => events.push(`down ${e.port} ${e.reason} ${e.flushed}`));
    b.on("port-up", (e) => events.push(`up ${e.port}`));
    c.send(buildFrame({ src: H(3), dst: BCAST }));
    c.send(buildFrame({ src: H(4), dst: BCAST }));
    expect(b.lookup(H(3))?.name).toBe("c");
    c.setLinkUp(false);
    expect(c.linkUp).toBe(false);
    expect(b.lookup(H(3))).toBeUndefined();
    expect(b.portSettings("c").state).toBe("disabled");
    a.send(buildFrame({ src: H(1), dst: H(3) }));
    expect(c.take()).toHaveLength(0);
    c.setLinkUp(true);
    a.send(buildFrame({ src: H(1), dst: H(3) }));
    expect(c.take()).toHaveLength(1);
    expect(events).toEqual(["down c carrier 2", "up c"]);
    b.close();
  });

  it("a port added with its link down starts disabled", () => {
    const b = new Bridge({ native: noNative });
    b.addPort(new MemoryPort("a", { linkUp: false }));
    expect(b.portLinkUp("a")).toBe(false);
    expect(b.portSettings("a").state).toBe("disabled");
    b.close();
  });

  it("virtual time drives FDB ageing: five minutes pass instantly", () => {
    const clock = new VirtualClock();
    const b = new Bridge({ native: noNative, scheduler: clock });
    const a = b.addPort(new MemoryPort("a"));
    b.addPort(new MemoryPort("c"));
    a.send(buildFrame({ src: H(1), dst: BCAST }));
    clock.advance(299_000);
    expect(b.fdbEntries().map((e) => e.mac)).toEqual([H(1)]);
    expect(b.fdbEntries()[0]!.ageing).toBe(299);
    clock.advance(2_000);
    expect(b.fdbEntries()).toEqual([]);
    b.close();
    expect(clock.pending).toBe(0); // close cancels the sweep
  });
});

describe("VirtualClock", () => {
  it("runs timers in due order, same-time timers in start order, repeating ones every period", () => {
    const clock = new VirtualClock(1000);
    const seen: string[] = [];
    clock.after(30, () => seen.push(`b@${clock.now()}`));
    clock.after(10, () => {
      seen.push(`a@${clock.now()}`);
      clock.after(5, () => seen.push(`a2@${clock.now()}`));
    });
    clock.after(30, () => seen.push(`c@${clock.now()}`));
    const t = clock.every(25, () => seen.push(`e@${clock.now()}`));
    const cancelled = clock.after(20, () => seen.push("never"));
    cancelled.cancel();
    expect(clock.advance(60)).toBe(6);
    expect(seen).toEqual(["a@1010", "a2@1015", "e@1025", "b@1030", "c@1030", "e@1050"]);
    expect(clock.now()).toBe(1060);
    t.cancel();
    expect(clock.pending).toBe(0);
    expect(() => clock.advance(-1)).toThrow(/cannot advance/);
  });
});

describe("drop events", () => {
  it("are off by default; sampleDrops(n) reports one of every n drops with its reason, after the batch", async () => {
    const b = new Bridge({ native: noNative });
    const a = b.addPort(new MemoryPort("a"));
    b.addPort(new MemoryPort("c"));
    const seen: string[] = [];
    b.on("drop", (e) => seen.push(`${e.port} ${e.reason} ${e.src} ${e.every}`));
    a.send(buildFrame({ src: BCAST, dst: H(2) }));
    await sleep(5);
    expect(seen).toEqual([]);
    b.sampleDrops(2);
    for (let i = 0; i < 4; i++) a.send(buildFrame({ src: "01:00:5e:00:00:01", dst: H(2) }));
    a.send(buildFrame({ src: H(1), dst: "01:80:c2:00:00:0e" }));
    a.send(buildFrame({ src: H(1), dst: "01:80:c2:00:00:0e" }));
    expect(seen).toEqual([]); // emitted after the batch, never inside it
    await sleep(5);
    expect(seen).toEqual(["a invalid_source 01:00:5e:00:00:01 2", "a invalid_source 01:00:5e:00:00:01 2", "a link_local 02:00:00:00:00:01 2"]);
    expect(() => b.sampleDrops(-1)).toThrow(/drop sampling -1 is not valid/);
    b.sampleDrops(0);
    b.close();
  });
});

describe("MAC events", () => {
  it("mac-learned, fdb-move and mac-expired follow a station's life, only while someone listens", async () => {
    const clock = new VirtualClock();
    const b = new Bridge({ native: noNative, scheduler: clock, ageingTime: 10 });
    const a = b.addPort(new MemoryPort("a"));
    const c = b.addPort(new MemoryPort("c"));
    a.send(buildFrame({ src: H(7), dst: BCAST })); // nobody listens yet
    const seen: string[] = [];
    b.on("mac-learned", (e) => seen.push(`learned ${e.mac} ${e.port}`));
    b.on("fdb-move", (e) => seen.push(`moved ${e.mac} ${e.from}>${e.to}`));
    b.on("mac-expired", (e) => seen.push(`expired ${e.mac} ${e.port}`));
    a.send(buildFrame({ src: H(1), dst: BCAST }));
    c.send(buildFrame({ src: H(1), dst: BCAST }));
    clock.advance(11_000);
    await sleep(5);
    expect(seen.slice(0, 2)).toEqual([`learned ${H(1)} a`, `moved ${H(1)} a>c`]);
    expect(seen.slice(2).sort()).toEqual([`expired ${H(1)} c`, `expired ${H(7)} a`]); // the sweep goes in table order
    b.removeAllListeners("mac-learned");
    a.send(buildFrame({ src: H(2), dst: BCAST }));
    await sleep(5);
    expect(seen).toHaveLength(4);
    b.close();
  });
});
