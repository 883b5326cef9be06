/**
 * Ports follow their devices, for real, as root: link down/up, carrier loss
 * on the far side of a veth, a deleted interface that comes back, a TAP
 * whose namespace is deleted. Behaviour is asserted; how long things took is
 * measured and logged, never asserted.
 */
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import type { BridgeEventMap } from "../../src/bridge-events.js";
import { PacketPort, TapPort } from "../../src/io/native-port.js";
import { createLogger } from "../../src/log.js";
import { Lab, run } from "../../src/testing/lab.js";

const lab = new Lab("tbl");
let bridgeNs = "";
const bridges: Bridge[] = [];

beforeAll(async () => {
  bridgeNs = await lab.netns("br");
});
afterAll(async () => {
  for (const b of bridges) b.close();
  await lab.destroy();
});

function newBridge() {
  const lines: string[] = [];
  const bridge = new Bridge({ name: "linktest", logger: createLogger({ level: "info", write: (l) => lines.push(l) }) });
  bridges.push(bridge);
  return { bridge, lines };
}

/** The next event of that name, or a failure after a generous bound (machines here are shared). */
async function next<K extends keyof BridgeEventMap>(bridge: Bridge, name: K, match: (e: BridgeEventMap[K][0]) => boolean = () => true): Promise<BridgeEventMap[K][0]> {
  const signal = AbortSignal.timeout(30_000);
  for (;;) {
    const [event] = (await once(bridge as never, name, { signal })) as [BridgeEventMap[K][0]];
    if (match(event)) return event;
  }
}

async function vethHost(bridge: Bridge, n: number, net: number) {
  const ns = await lab.netns(`v${net}x${n}`);
  const inside = lab.ifname(`h${net}${n}`);
  const outside = lab.ifname(`p${net}${n}`);
  const ip = `10.67.${net}.${n}`;
  await lab.veth({ ns: bridgeNs, name: outside }, { ns, name: inside, address: `${ip}/24` });
  bridge.addPort(new PacketPort({ name: outside, netns: bridgeNs }));
  return { ns, ip, port: outside, label: `${outside}@${bridgeNs}`, inside };
}

const pingOnce = (from: { ns: string }, to: { ip: string }) =>
  lab.exec(from.ns, ["ping", "-c", "1", "-W", "1", to.ip], { allowFail: true }).then((r) => r.code === 0);

/** Ping until it answers (at most ~30 tries); returns the time it took, in ms. */
async function pingUntilAnswered(from: { ns: string }, to: { ip: string }): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < 30; i++) if (await pingOnce(from, to)) return performance.now() - t0;
  throw new Error(`no answer from ${to.ip}`);
}

const portsOf = (bridge: Bridge) => bridge.fdbEntries().map((e) => e.port);

describe("ports follow their links", () => {
  it("link down/up on an attached veth: entries flushed on the way down, ping resumes after", async () => {
    const { bridge, lines } = newBridge();
    const a = await vethHost(bridge, 1, 1);
    const b = await vethHost(bridge, 2, 1);
    expect(await pingUntilAnswered(a, b)).toBeGreaterThanOrEqual(0);
    expect(portsOf(bridge)).toContain(a.label);

    const down = next(bridge, "port-down", (e) => e.port === a.label);
    await run(["ip", "-n", bridgeNs, "link", "set", a.port, "down"]);
    const event = await down;
    expect(event.reason).toBe("admin");
    expect(event.flushed).toBeGreaterThanOrEqual(1);
    expect(portsOf(bridge)).not.toContain(a.label);
    expect(bridge.portSettings(a.label).state).toBe("disabled");
    expect(lines.some((l) => l.includes('"msg":"port link down"') && l.includes(a.port))).toBe(true);

    const up = next(bridge, "port-up", (e) => e.port === a.label);
    const t0 = performance.now();
    await run(["ip", "-n", bridgeNs, "link", "set", a.port, "up"]);
    await up;
    const toEvent = performance.now() - t0;
    const gap = toEvent + (await pingUntilAnswered(a, b));
    console.log(`link down/up: port up ${toEvent.toFixed(0)} ms and ping answered ${gap.toFixed(0)} ms after "ip link set up"`);
    expect(bridge.portSettings(a.label).state).toBe("forwarding");
    expect(bridge.portStats(a.label)).toMatchObject({ linkDowns: 1, linkFlushed: event.flushed });
    // The AF_PACKET socket reported ENETDOWN when the device went down: it was read and polling restarted.
    expect(bridge.dataplaneStats()!.pollErrors).toBeGreaterThanOrEqual(1);
    bridge.close();
  });

  it("carrier loss on the far side of a veth flushes the port's entries and stops sending to it", async () => {
    const { bridge } = newBridge();
    const a = await vethHost(bridge, 1, 2);
    const b = await vethHost(bridge, 2, 2);
    await pingUntilAnswered(a, b);
    expect(portsOf(bridge)).toContain(a.label);

    const down = next(bridge, "port-down", (e) => e.port === a.label);
    await lab.exec(a.ns, ["ip", "link", "set", a.inside, "down"]);
    const event = await down;
    expect(event.reason).toBe("carrier");
    expect(event.flushed).toBeGreaterThanOrEqual(1);
    expect(portsOf(bridge)).not.toContain(a.label);

    const sentBefore = bridge.portStats(a.label).txPackets;
    const rxBefore = bridge.portStats(b.label).rxPackets;
    // Broadcasts from b would be flooded to a if a still counted as a forwarding port.
    await lab.exec(b.ns, ["ping", "-b", "-c", "5", "-i", "0.2", "-W", "1", "10.67.2.255"], { allowFail: true });
    expect(bridge.portStats(b.label).rxPackets).toBeGreaterThan(rxBefore);
    expect(bridge.portStats(a.label).txPackets).toBe(sentBefore);

    const up = next(bridge, "port-up", (e) => e.port === a.label);
    await lab.exec(a.ns, ["ip", "link", "set", a.inside, "up"]);
    expect((await up).reason).toBe("carrier");
    await pingUntilAnswered(a, b);
    bridge.close();
  });

  it("ip link del of an attached veth closes the port; a veth re-created with that name is re-attached and carries ping", async () => {
    const { bridge, lines } = newBridge();
    const a = await vethHost(bridge, 1, 3);
    const b = await vethHost(bridge, 2, 3);
    bridge.setPortSettings(a.label, { hairpin: true });
    await pingUntilAnswered(a, b);

    const removed = next(bridge, "port-removed", (e) => e.port === a.label);
    await run(["ip", "-n", bridgeNs, "link", "del", a.port]);
    expect((await removed).reason).toBe("deleted");
    expect(bridge.findPort(a.label)).toBeUndefined();
    expect(portsOf(bridge)).not.toContain(a.label);
    expect(lines.some((l) => l.includes('"msg":"port device deleted; closing the port"') && l.includes(a.port))).toBe(true);

    const back = next(bridge, "port-reattached", (e) => e.port === a.label);
    const t0 = performance.now();
    await lab.veth({ ns: bridgeNs, name: a.port }, { ns: a.ns, name: a.inside, address: `${a.ip}/24` });
    await back;
    const gap = performance.now() - t0 + (await pingUntilAnswered(a, b));
    console.log(`re-attach: ping answered ${gap.toFixed(0)} ms after the veth was re-created`);
    expect(bridge.findPort(a.label)).toBeDefined();
    expect(bridge.portSettings(a.label).hairpin).toBe(true); // with the settings it had
    expect(lines.some((l) => l.includes('"msg":"port re-attached"'))).toBe(true);
    bridge.close();
  });

  it("an attached interface with reattach=off stays closed when its device returns", async () => {
    const { bridge } = newBridge();
    const ns = await lab.netns("v4x1");
    const outside = lab.ifname("p41");
    await lab.veth({ ns: bridgeNs, name: outside }, { ns, name: lab.ifname("h41") });
    bridge.addPort(new PacketPort({ name: outside, netns: bridgeNs }), { reattach: false });
    const removed = next(bridge, "port-removed");
    await run(["ip", "-n", bridgeNs, "link", "del", outside]);
    expect((await removed).reason).toBe("deleted");
    await lab.veth({ ns: bridgeNs, name: outside }, { ns, name: lab.ifname("h41") });
    await new Promise((r) => setTimeout(r, 500));
    expect(bridge.ports).toHaveLength(0);
    bridge.close();
  });

  it("a TAP whose namespace is deleted is closed and logged, its entries gone, the other port untouched", async () => {
    const { bridge, lines } = newBridge();
    const ns = await lab.netns("t5");
    const tap = lab.ifname("t51");
    const label = `${tap}@${ns}`;
    bridge.addPort(new TapPort({ name: tap, netns: ns }));
    const otherNs = await lab.netns("t6");
    const other = bridge.addPort(new TapPort({ name: lab.ifname("t61"), netns: otherNs }));
    await lab.address(ns, tap, "10.67.5.1/24");
    await lab.address(otherNs, other.name, "10.67.5.2/24");
    await pingUntilAnswered({ ns }, { ip: "10.67.5.2" });
    expect(portsOf(bridge)).toContain(label);

    const removed = next(bridge, "port-removed", (e) => e.port === label);
    await run(["ip", "netns", "del", ns]);
    // The device's end, its fd's end and the namespace's own event race; whichever is seen
    // first, the port is closed once, as its namespace's (src/io/link-follower.ts).
    expect((await removed).reason).toBe("netns-deleted");
    expect(bridge.findPort(label)).toBeUndefined();
    expect(bridge.ports).toEqual([other]);
    expect(portsOf(bridge)).not.toContain(label);
    expect(lines.filter((l) => l.includes('"msg":"port\'s network namespace was deleted; closing the port"') && l.includes(tap))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('"msg":"port removed"') && l.includes(tap))).toHaveLength(1);
    expect(bridge.portSettings(other.label).state).toBe("forwarding");
    bridge.close();
  });
});
