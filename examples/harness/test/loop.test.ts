import { BROADCAST, ethernet, topology } from "tapbridge/testing";
import { expect, test } from "vitest";

test("a loop storm is bounded and reported: the process stays responsive, counters show it, cutting a link ends it", async () => {
  const t = await topology(topology.ring(3));
  try {
    const started = performance.now();
    t.port("h1").send(ethernet({ src: "02:00:00:00:00:01", dst: BROADCAST, ethertype: 0x88b5 }));
    expect(performance.now() - started).toBeLessThan(5000); // send returns: the storm continues in the background

    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await new Promise((r) => setTimeout(r, 100));
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(1); // timers fire during the storm

    const stormed = [...t.bridges.values()].flatMap((b) => b.stats()).reduce((n, s) => n + s.rxPackets, 0);
    expect(stormed).toBeGreaterThan(1000); // visible in the counters
    expect(t.port("h2").received.length).toBeGreaterThan(1); // hosts see the same broadcast again and again

    t.link(0).cut();
    await t.settle(10_000);
    const after = t.bridge("s1").portStats("s1-s2-0").rxPackets;
    await new Promise((r) => setTimeout(r, 20));
    expect(t.bridge("s1").portStats("s1-s2-0").rxPackets).toBe(after);
  } finally {
    await t.destroy();
  }
});
