import { describe, expect, it } from "vitest";
import { arpRequest, BROADCAST, ethernet } from "../../src/testing/frames.js";
import { waitForFrame } from "../../src/testing/match.js";
import { topology } from "../../src/testing/topology.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

describe("topology builder (in-memory hosts)", () => {
  it("two switches with a trunk: hosts reach each other; a partition stops them; heal restores", async () => {
    const clock = new VirtualClock();
    const t = await topology({ ...topology.twoSwitches(2), scheduler: clock });
    try {
      const [h1, h3] = [t.port("h1"), t.port("h3")];
      h1.send(arpRequest({ srcMac: "02:00:00:00:00:01", srcIp: "10.0.0.1", targetIp: "10.0.0.3" }));
      await t.settle();
      expect((await waitForFrame(h3, { arp: { senderIp: "10.0.0.1" } })).src).toBe("02:00:00:00:00:01");
      t.link(0).partition();
      h3.take();
      h1.send(arpRequest({ srcMac: "02:00:00:00:00:01", srcIp: "10.0.0.1", targetIp: "10.0.0.3" }));
      await t.settle();
      expect(h3.take()).toHaveLength(0);
      expect(t.bridge("s2").portStats("s2-s1-0").drops.partitioned).toBe(1);
      t.link(0).heal();
      h1.send(arpRequest({ srcMac: "02:00:00:00:00:01", srcIp: "10.0.0.1", targetIp: "10.0.0.3" }));
      await t.settle();
      expect(h3.take()).toHaveLength(1);
    } finally {
      await t.destroy();
    }
  });

  it("a ring without STP storms; cutting one link ends it; destroy closes everything", async () => {
    const t = await topology(topology.ring(3));
    try {
      t.port("h1").send(ethernet({ src: "02:00:00:00:00:01", dst: BROADCAST, ethertype: 0x88b5 }));
      await new Promise((r) => setTimeout(r, 20));
      const rx = t.bridge("s1").portStats("s1-s2-0").rxPackets;
      expect(rx).toBeGreaterThan(10);
      t.link(2).cut();
      await t.settle(10_000);
      expect(t.bridge("s3").portLinkUp("s3-s1-2")).toBe(false);
    } finally {
      await t.destroy();
    }
    expect([...t.bridges.values()].every((b) => b.isClosed)).toBe(true);
  });

  it("line and star shapes, and a clear error for an unknown name", async () => {
    const line = await topology(topology.line(3));
    expect([...line.bridges.keys()]).toEqual(["s1", "s2", "s3"]);
    expect(line.wires).toHaveLength(2);
    await line.destroy();
    const star = await topology(topology.star(4));
    expect(star.bridge("s1").ports.map((p) => p.name)).toEqual(["h1", "h2", "h3", "h4"]);
    expect(() => star.host("h9")).toThrow(/no host h9 \(it has h1, h2, h3, h4\)/);
    await star.destroy();
  });
});

describe("a ring with spanning tree (virtual time)", () => {
  it("STP blocks one link of the ring: a broadcast reaches every host once and the bridges settle", async () => {
    const clock = new VirtualClock();
    const spec = topology.ring(3);
    spec.scheduler = clock;
    spec.bridges = Object.fromEntries((spec.bridges as string[]).map((name, i) => [name, { stp: { address: `02:00:00:00:0b:0${i + 1}`, helloTime: 1, forwardDelay: 4, maxAge: 6 } }]));
    const t = await topology(spec);
    try {
      // Listening and learning take 2 x forward delay; let the BPDUs flow.
      await clock.advanceAndSettle(20_000, { step: 500, timeoutMs: 10_000 });
      const states = [...t.bridges.values()].flatMap((b) => b.stpStatus().ports.filter((p) => p.name.includes("-s")).map((p) => p.state));
      expect(states.filter((s) => s === "blocking")).toHaveLength(1);
      const data = (h: string) => t.port(h).take().filter((f) => f[12] === 0x88 && f[13] === 0xb5);
      data("h2");
      data("h3");
      t.port("h1").send(ethernet({ src: "02:00:00:00:00:01", dst: BROADCAST, ethertype: 0x88b5 }));
      await t.settle(10_000); // no storm: the queues drain
      expect(data("h2")).toHaveLength(1);
      expect(data("h3")).toHaveLength(1);
    } finally {
      await t.destroy();
    }
  });
});
