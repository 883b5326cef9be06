/**
 * The topology builder with real hosts (root): a namespace behind a TAP and
 * a namespace behind a veth (AF_PACKET) on one bridge, an in-memory host on
 * a second bridge joined by an impaired trunk. Ping crosses, destroy()
 * removes the namespaces.
 */
import { describe, expect, it } from "vitest";
import { run } from "../../src/testing/lab.js";
import { topology } from "../../src/testing/topology.js";

describe("topology with namespace hosts (root)", () => {
  it("builds TAP and veth hosts that ping each other across an impaired trunk, and destroy() removes them", async () => {
    const t = await topology({
      bridges: ["s1", "s2"],
      hosts: {
        a: { bridge: "s1", kind: "netns", ip: "10.78.0.1/24" },
        b: { bridge: "s2", kind: "veth", ip: "10.78.0.2/24" },
        m: { bridge: "s2" },
      },
      links: [{ a: "s1", b: "s2", impair: { delay: 10 } }],
      tag: "tbt",
    });
    const namespaces = [t.host("a").netns!, t.host("b").netns!];
    try {
      const ping = await t.lab.exec(namespaces[0]!, ["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.78.0.2"], { allowFail: true });
      expect(ping.code, ping.stdout + ping.stderr).toBe(0);
      const rtt = Number(/= [\d.]+\/([\d.]+)\//.exec(ping.stdout)![1]);
      expect(rtt).toBeGreaterThan(18); // 10 ms each way over the trunk
      expect(t.host("a").port.kind).toBe("tap");
      expect(t.host("b").port.kind).toBe("packet");
      expect(t.port("m").received.length).toBeGreaterThan(0); // the ARP broadcast reached the in-memory host
    } finally {
      await t.destroy();
    }
    const left = (await run(["ip", "netns", "list"])).stdout;
    for (const ns of namespaces) expect(left).not.toContain(ns);
  });
});
