/**
 * The host port as a library user holds it — `new HostPort(...)` on a
 * `Bridge`, no daemon — and as `tapbridge run --host-port` makes it:
 *
 *   H: host port hp (10.77.0.1/24) ═╗
 *   g1: t1 10.77.0.2 ═══════════════╬═ Bridge
 *   memory port m (watching) ═══════╝
 *
 * The host stack uses it as its interface on the bridge; frames to its MAC
 * are delivered to it alone from the very first (the in-memory port sees
 * none of them, not even before any reply could have been learned); its MAC
 * is a static local FDB entry a guest cannot move; it is no STP port; a
 * name already taken is refused and the interface left as it was.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge, HostPort, MemoryPort, TapPort } from "../../src/index.js";
import { buildFrame } from "../../src/core/frame.js";
import { Lab, run } from "../../src/testing/lab.js";

const CLI = fileURLToPath(new URL("../../bin/tapbridge.js", import.meta.url));
const lab = new Lab("nmk");
let h = "";
let g1 = "";
const HOST_MAC = "52:54:00:77:00:01";

beforeAll(async () => {
  h = await lab.netns("h");
  g1 = await lab.netns("g1");
});
afterAll(() => lab.destroy());

describe("HostPort on a Bridge (library)", () => {
  it("is the host's interface on the bridge; frames to its MAC reach it alone, from the first one", async () => {
    const bridge = new Bridge({ name: "hp" });
    try {
      const hp = lab.ifname("hp");
      const t1 = lab.ifname("t1");
      bridge.addPort(new TapPort({ name: t1, netns: g1 }));
      const host = bridge.addPort(new HostPort({ name: hp, netns: h, mac: HOST_MAC }));
      const watcher = bridge.addPort(new MemoryPort("m"));
      expect(host.self).toBe(true);
      await lab.address(h, hp, "10.77.0.1/24");
      await lab.address(g1, t1, "10.77.0.2/24");
      expect((await lab.exec(h, ["cat", `/sys/class/net/${hp}/address`])).stdout.trim()).toBe(HOST_MAC);
      // g1 knows the host's MAC before any frame of the host's was seen: its first unicast cannot flood.
      await lab.exec(g1, ["ip", "neigh", "replace", "10.77.0.1", "lladdr", HOST_MAC, "dev", t1, "nud", "permanent"]);
      watcher.take();
      const ping = await lab.exec(g1, ["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.1"], { allowFail: true });
      expect(ping.code, ping.stdout).toBe(0);
      const dstOf = (f: Uint8Array) => [...f.subarray(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join(":");
      const seen = watcher.take();
      expect(seen.length).toBeGreaterThan(0); // it does see the flooded ARP
      const toHost = seen.filter((f) => dstOf(f) === HOST_MAC);
      expect(toHost).toHaveLength(0);

      // A frame claiming the host's MAC as its source teaches the bridge nothing: the local entry stays put.
      watcher.send(buildFrame({ dst: "ff:ff:ff:ff:ff:ff", src: HOST_MAC, ethertype: 0x0800, payload: new Uint8Array(46) }));
      await new Promise((r) => setTimeout(r, 100));
      const entry = bridge.fdbEntries().find((e) => e.mac === HOST_MAC);
      expect(entry?.port).toBe(hp + "@" + h);
      expect(entry?.static).toBe(true);
    } finally {
      bridge.close();
    }
    // The TAP was the bridge's own: it goes with the port.
    expect((await lab.exec(h, ["ip", "link", "show", lab.ifname("hp")], { allowFail: true })).code).not.toBe(0);
  }, 60_000);

  it("refuses a name already in use and leaves that interface alone", async () => {
    const taken = lab.ifname("tk");
    await run(["ip", "-n", h, "tuntap", "add", "dev", taken, "mode", "tap"]);
    const bridge = new Bridge({ name: "hp2" });
    try {
      expect(() => bridge.addPort(new HostPort({ name: taken, netns: h, mac: HOST_MAC }))).toThrow(`interface ${taken}@${h} already exists`);
    } finally {
      bridge.close();
    }
    expect((await lab.exec(h, ["ip", "-br", "link", "show", taken])).stdout).toContain(taken);
  }, 30_000);
});

describe("tapbridge run --host-port", () => {
  it("gives the bridge its interface (named like it) in the namespace asked for, usable with ip addr add, removed on exit", async () => {
    const name = lab.ifname("rb");
    const t2 = lab.ifname("t2");
    const child = spawn(process.execPath, [CLI, "run", "--name", name, "--tap", `${t2}@${g1}`, "--host-port", "--host-netns", h, "--host-mac", "52:54:00:77:00:02"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
    try {
      const deadline = Date.now() + 20_000;
      while (!stderr.includes('"msg":"bridge running"') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(stderr).toContain('"msg":"bridge running"');
      await lab.address(h, name, "10.78.0.1/24");
      await lab.address(g1, t2, "10.78.0.2/24");
      expect((await lab.exec(g1, ["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.78.0.1"], { allowFail: true })).code).toBe(0);
      expect((await lab.exec(h, ["cat", `/sys/class/net/${name}/address`])).stdout.trim()).toBe("52:54:00:77:00:02");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect((await lab.exec(h, ["ip", "link", "show", name], { allowFail: true })).code).not.toBe(0);
  }, 60_000);
});
