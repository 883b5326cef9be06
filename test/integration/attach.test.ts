/**
 * Attaching ports, as root: a device is a port of one bridge only (a
 * bridge's own TAP or port cannot join another), Linux's refusals reach the
 * user as sentences, and addPort is all-or-nothing — a port whose settings
 * are refused leaves nothing behind: no fd, no TAP, no interface left up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { PacketPort, TapPort } from "../../src/io/native-port.js";
import { Lab, run } from "../../src/testing/lab.js";

const lab = new Lab("tba");
let ns = "";
const bridges: Bridge[] = [];

beforeAll(async () => {
  ns = await lab.netns("a");
});
afterAll(async () => {
  for (const b of bridges) b.close();
  await lab.destroy();
});

function newBridge(name: string): Bridge {
  const bridge = new Bridge({ name });
  bridges.push(bridge);
  return bridge;
}
const flags = async (dev: string) => Number((await lab.exec(ns, ["cat", `/sys/class/net/${dev}/flags`])).stdout.trim());
const exists = async (dev: string) => (await run(["ip", "-n", ns, "link", "show", "dev", dev], { allowFail: true })).code === 0;

describe("a device is a port of one bridge only", () => {
  it("refuses an interface that is already a port of another bridge, and takes it once released", async () => {
    const a = newBridge("bra");
    const b = newBridge("brb");
    const dev = lab.ifname("v0");
    await lab.veth({ ns, name: dev }, { ns, name: lab.ifname("v1") });
    a.addPort(new PacketPort({ name: dev, netns: ns }));
    expect(() => b.addPort(new PacketPort({ name: dev, netns: ns }))).toThrow(
      expect.objectContaining({ code: "EBUSY", message: `interface ${dev}@${ns} is already a port of bridge bra: a device can be a port of one bridge only` }),
    );
    expect(b.ports).toHaveLength(0);
    a.removePort(`${dev}@${ns}`);
    b.addPort(new PacketPort({ name: dev, netns: ns }));
    expect(b.ports).toHaveLength(1);
    a.close();
    b.close();
  });

  it("refuses a bridge's own TAP as an attached interface, of that bridge or another", () => {
    const a = newBridge("brc");
    const b = newBridge("brd");
    const tap = lab.ifname("t0");
    a.addPort(new TapPort({ name: tap, netns: ns }));
    expect(() => a.addPort(new PacketPort({ name: tap, netns: ns }))).toThrow(`bridge brc already has a port named ${tap}@${ns}`);
    expect(() => b.addPort(new PacketPort({ name: tap, netns: ns }))).toThrow(`interface ${tap}@${ns} is already a port of bridge brc`);
    a.close();
    b.close();
  });

  it("says why Linux refuses a device: loopback, not Ethernet, a bridge, a name with '%'", async () => {
    const bridge = newBridge("bre");
    expect(() => bridge.addPort(new PacketPort({ name: "lo", netns: ns }))).toThrow(
      expect.objectContaining({ code: "EINVAL", message: expect.stringMatching(/^interface lo is the loopback device: a bridge port must be an Ethernet device/) }),
    );
    const kbr = lab.ifname("kb");
    await run(["ip", "-n", ns, "link", "add", kbr, "type", "bridge"]);
    expect(() => bridge.addPort(new PacketPort({ name: kbr, netns: ns }))).toThrow(expect.objectContaining({ code: "ELOOP" }));
    expect(() => bridge.addPort(new TapPort({ name: kbr, netns: ns }))).toThrow(
      expect.objectContaining({ code: "EEXIST", message: `interface ${kbr} already exists and is a bridge device, not a TAP: the name is taken` }),
    );
    expect(() => new TapPort("tap%d")).toThrow(/'%'/);
    expect(() => new PacketPort("eth%d")).toThrow(/'%'/);
    expect(bridge.ports).toHaveLength(0);
    bridge.close();
  });
});

describe("addPort is all-or-nothing", () => {
  it("a TAP whose settings are refused is not left behind, and can be added again", async () => {
    const bridge = newBridge("brf");
    const tap = lab.ifname("t1");
    const added: string[] = [];
    bridge.on("port-added", (e) => added.push(e.port));
    const port = new TapPort({ name: tap, netns: ns });
    expect(() => bridge.addPort(port, { state: "bogus" as never })).toThrow(/is not a port state/);
    expect(bridge.ports).toHaveLength(0);
    expect(port.index).toBe(-1);
    expect(added).toEqual([]);
    expect(await exists(tap)).toBe(false);
    bridge.addPort(port, { hairpin: true });
    expect(bridge.portSettings(`${tap}@${ns}`).hairpin).toBe(true);
    expect(await exists(tap)).toBe(true);
    bridge.close();
  });

  it("an interface that was down and whose settings are refused is down again", async () => {
    const bridge = newBridge("brg");
    const dev = lab.ifname("d0");
    await run(["ip", "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", lab.ifname("d1")]);
    const before = await flags(dev);
    expect(before & 0x1).toBe(0);
    expect(() => bridge.addPort(new PacketPort({ name: dev, netns: ns }), { state: "bogus" as never })).toThrow(/is not a port state/);
    expect(await flags(dev)).toBe(before); // down, not promiscuous
    expect(bridge.ports).toHaveLength(0);
    bridge.addPort(new PacketPort({ name: dev, netns: ns })); // not claimed by the failed attempt
    expect((await flags(dev)) & 0x1).toBe(0x1);
    bridge.close();
  });
});
