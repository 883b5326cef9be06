/**
 * A MAC flood through real ports, as root: trafgen in the attacker's
 * namespace sends broadcast frames from random source MACs into its TAP
 * while two hosts ping each other, and a third host appears mid-flood. With
 * `max-learned` on the attacker's port the newcomer is learned and its
 * traffic is not flooded to the attacker. (test/fdb-flood.test.ts runs a
 * million MACs in memory; this one checks the same through TAPs.)
 */
import { rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { TapPort } from "../../src/io/native-port.js";
import { Lab, run } from "../../src/testing/lab.js";

const lab = new Lab("tfl");
const bridges: Bridge[] = [];
afterAll(async () => {
  for (const b of bridges) b.close();
  await lab.destroy();
});

/** Replies a ping got ("N received"). */
const received = (out: string) => Number(/(\d+) received/.exec(out)?.[1] ?? 0);

async function macOf(ns: string, dev: string): Promise<string> {
  const { stdout } = await run(["ip", "-n", ns, "-j", "link", "show", "dev", dev]);
  return (JSON.parse(stdout) as { address: string }[])[0]!.address;
}

describe("a MAC flood through TAP ports", () => {
  it("max-learned on the flooding port: the newcomer is learned, the hosts keep talking, nothing for the newcomer reaches the attacker", async () => {
    const bridge = new Bridge({ name: "flood" });
    bridges.push(bridge);
    const host = async (tag: string, ip: string | undefined, settings = {}) => {
      const ns = await lab.netns(tag);
      const dev = lab.ifname(tag);
      bridge.addPort(new TapPort({ name: dev, netns: ns }), settings);
      if (ip) await lab.address(ns, dev, `${ip}/24`);
      else await lab.exec(ns, ["ip", "link", "set", "dev", dev, "up"]);
      return { ns, dev, ip: ip ?? "", label: `${dev}@${ns}` };
    };
    // As one would configure an untrusted port: a learning limit, and storm control for its floods.
    const attacker = await host("x", undefined, { maxLearned: 100, stormBroadcast: 500 });
    const a = await host("a", "10.88.0.1");
    const b = await host("b", "10.88.0.2");
    const newcomer = await host("n", "10.88.0.3");

    const conf = path.join(os.tmpdir(), `${lab.id}-flood.cfg`);
    writeFileSync(conf, "{\n  0xff, 0xff, 0xff, 0xff, 0xff, 0xff,\n  0x02, drnd(5),\n  c16(0x88b5),\n  fill(0x00, 46)\n}\n");
    const flood = lab.spawn(attacker.ns, ["trafgen", "--dev", attacker.dev, "--conf", conf, "--cpus", "1", "--num", "60000", "--rate", "20000pps", "--no-sock-mem", "--no-cpu-stats", "--notouch-irq"]);
    const flooded = new Promise((resolve) => flood.once("exit", resolve));
    await new Promise((r) => setTimeout(r, 500));

    // Behaviour, not speed (a shared machine): the hosts reach each other during the flood.
    const talk = await lab.exec(a.ns, ["ping", "-c", "10", "-i", "0.1", "-W", "3", b.ip], { allowFail: true });
    expect(received(talk.stdout)).toBeGreaterThanOrEqual(5);
    const hello = await lab.exec(newcomer.ns, ["ping", "-c", "5", "-i", "0.1", "-W", "3", a.ip], { allowFail: true }); // appears mid-flood
    expect(received(hello.stdout)).toBeGreaterThanOrEqual(1);
    expect(bridge.lookup(await macOf(newcomer.ns, newcomer.dev))?.label).toBe(newcomer.label);

    const before = bridge.portStats(attacker.label).txPackets;
    const unicast = await lab.exec(a.ns, ["ping", "-c", "20", "-i", "0.05", "-W", "3", newcomer.ip], { allowFail: true });
    expect(received(unicast.stdout)).toBeGreaterThanOrEqual(10);
    expect(bridge.portStats(attacker.label).txPackets - before).toBeLessThan(5); // no flood of A→N (at most stray ARP)

    await flooded;
    rmSync(conf, { force: true });
    const fdb = bridge.portStats(attacker.label).fdb;
    console.log(`through TAPs: attacker learned ${fdb.learned}, refused ${fdb.refused}; table ${bridge.fdbStats().entries} entries`);
    expect(fdb.learned).toBe(100);
    expect(fdb.refused).toBeGreaterThan(10_000);
    // Refused learns still forward: the only drops are storm control's.
    expect(Object.keys(bridge.portStats(attacker.label).drops)).toEqual(["storm_broadcast"]);
  }, 60_000);
});
