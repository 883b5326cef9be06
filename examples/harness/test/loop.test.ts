import { BROADCAST, ethernet, topology } from "tapbridge/testing";
import { expect, test } from "vitest";

test("a loop storm is bounded and reported: the process stays responsive, counters show it, cutting a link ends it", async () => {
  const t = await topology(topology.ring(3));
  try {
    const started = performance.now();
    t.port("h1").send(ethernet({ src: "02:00:00:00:00:01", dst: BROADCAST, ethertype: 0x88b5 }));
    expect(performance.now() - started).toBeLessThan(5000); // send returns: the storm continues in the background

    const received = () => [...t.bridges.values()].flatMap((b) => b.stats()).reduce((n, s) => n + s.rxPackets, 0);
    const before = received();
    await new Promise((r) => setTimeout(r, 50)); // a timer fires while the storm goes on
    const during = received();
    expect(during).toBeGreaterThan(before); // the storm went on around the timer
    expect(during).toBeGreaterThan(1000); // visible in the counters
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
