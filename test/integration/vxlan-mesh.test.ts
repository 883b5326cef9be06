/**
 * Three VTEPs in a full mesh of static remotes, as root: tapbridge on hosts A
 * and B, the kernel's vxlan (in a kernel bridge) on host C, all on one
 * underlay switch (a kernel bridge namespace). A broadcast from any guest
 * reaches every other guest exactly once (head-end replication to each
 * remote; a frame from a VTEP is never sent on to another VTEP). Flood
 * remotes can be added and removed at run time (`fdb append` / `fdb del`
 * 00:00:00:00:00:00 dst …), and a static entry can name a VTEP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { buildFrame } from "../../src/core/frame.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import { VxlanPort } from "../../src/ports/vxlan-port.js";
import { Lab } from "../../src/testing/lab.js";

const lab = new Lab("tbm");
const bridges: Bridge[] = [];
const UNDER = { a: "10.94.0.1", b: "10.94.0.2", c: "10.94.0.3" };
const MAC = { a: "02:00:00:94:00:0a", b: "02:00:00:94:00:0b", c: "02:00:00:94:00:0c" };
let hostC = "";
let guestC = "";
let a: { bridge: Bridge; guest: MemoryPort; vx: VxlanPort };
let b: { bridge: Bridge; guest: MemoryPort; vx: VxlanPort };

async function tapbridgeHost(tag: "a" | "b", ns: string) {
  const bridge = new Bridge({ name: `mesh${tag}` });
  bridges.push(bridge);
  const others = (["a", "b", "c"] as const).filter((h) => h !== tag).map((h) => UNDER[h]);
  const vx = bridge.addPort(new VxlanPort({ name: "vx7", vni: 7, local: UNDER[tag], remotes: others, netns: ns }));
  const guest = bridge.addPort(new MemoryPort(`g${tag}`));
  return { bridge, guest, vx };
}

beforeAll(async () => {
  const sw = await lab.netns("sw");
  await lab.exec(sw, ["ip", "link", "add", "sw0", "type", "bridge"]);
  await lab.exec(sw, ["ip", "link", "set", "sw0", "up"]);
  const hosts: Record<string, string> = {};
  for (const h of ["a", "b", "c"] as const) {
    hosts[h] = await lab.netns(`h${h}`);
    await lab.veth({ ns: sw, name: lab.ifname(`s${h}`) }, { ns: hosts[h]!, name: lab.ifname(`u${h}`), address: `${UNDER[h]}/24` });
    await lab.exec(sw, ["ip", "link", "set", lab.ifname(`s${h}`), "master", "sw0"]);
  }
  hostC = hosts.c!;
  guestC = await lab.netns("gc");
  await lab.exec(hostC, ["ip", "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"]);
  await lab.exec(hostC, ["ip", "link", "set", "br0", "up"]);
  await lab.exec(hostC, ["ip", "link", "add", "vx0", "type", "vxlan", "id", "7", "local", UNDER.c, "dstport", "4789", "learning"]);
  for (const dst of [UNDER.a, UNDER.b]) await lab.exec(hostC, ["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", dst]);
  await lab.exec(hostC, ["ip", "link", "set", "vx0", "master", "br0", "up"]);
  await lab.veth({ ns: hostC, name: lab.ifname("pc") }, { ns: guestC, name: lab.ifname("gc"), mtu: 1450 });
  await lab.exec(guestC, ["ip", "link", "set", lab.ifname("gc"), "address", MAC.c]);
  await lab.exec(hostC, ["ip", "link", "set", lab.ifname("pc"), "master", "br0"]);
  a = await tapbridgeHost("a", hosts.a!);
  b = await tapbridgeHost("b", hosts.b!);
});

afterAll(async () => {
  for (const br of bridges) br.close();
  await lab.destroy();
});

const until = async (what: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
};

/** Frames of ethertype 0x88b5 from `src` seen by guest C's tcpdump while `send` runs. */
async function seenAtC(src: string, send: () => void): Promise<number> {
  const dump = lab.spawn(guestC, ["tcpdump", "-i", lab.ifname("gc"), "-n", "-l", "-e", "ether", "proto", "0x88b5", "and", "ether", "src", src]);
  let text = "";
  dump.stdout!.on("data", (d: Buffer) => (text += d.toString()));
  let listening = false;
  dump.stderr!.on("data", (d: Buffer) => (listening ||= d.toString().includes("listening")));
  await until(() => listening, 20_000);
  send();
  await new Promise((r) => setTimeout(r, 1500));
  dump.kill("SIGINT");
  await new Promise((r) => dump.once("exit", r));
  return text.split("\n").filter((l) => l.includes(src)).length;
}

const probe = (src: string) => buildFrame({ src, dst: "ff:ff:ff:ff:ff:ff", ethertype: 0x88b5, payload: "mesh" });

describe("a full mesh of VTEPs: tapbridge, tapbridge, the kernel", () => {
  it("delivers a broadcast from each guest to every other guest exactly once", async () => {
    for (const g of [a.guest, b.guest]) g.take();
    expect(await seenAtC(MAC.a, () => a.guest.send(probe(MAC.a)))).toBe(1);
    await until(() => b.guest.received.length > 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.guest.take().filter((f) => f.length > 0 && f[6] === 0x02 && f[11] === 0x0a)).toHaveLength(1);
    expect(a.guest.take()).toHaveLength(0); // nothing came back

    // From the kernel's guest: to A and B once each.
    await lab.exec(guestC, ["ip", "link", "set", lab.ifname("gc"), "up"]);
    const send = await lab.exec(guestC, ["/usr/bin/python3", "-c", `
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((${JSON.stringify(lab.ifname("gc"))}, 0))
s.send(bytes.fromhex("ffffffffffff" + ${JSON.stringify(MAC.c.replaceAll(":", ""))} + "88b5") + b"mesh" + bytes(42))
`], { allowFail: true });
    expect(send.code, send.stderr).toBe(0);
    await until(() => a.guest.received.length > 0 && b.guest.received.length > 0);
    await new Promise((r) => setTimeout(r, 500));
    expect(a.guest.take().filter((f) => f[11] === 0x0c)).toHaveLength(1);
    expect(b.guest.take().filter((f) => f[11] === 0x0c)).toHaveLength(1);
    // Each tapbridge learned C's guest behind C's VTEP.
    expect(a.bridge.fdbEntries().find((e) => e.mac === MAC.c)).toMatchObject({ dst: UNDER.c });
    expect(b.bridge.fdbEntries().find((e) => e.mac === MAC.c)).toMatchObject({ dst: UNDER.c });
  });

  it("adds and removes flood remotes at run time, and sends a static entry to the VTEP it names", async () => {
    // B stops flooding to C: A's broadcast still reaches C once (from A), B's no longer does.
    expect(b.bridge.deleteFloodRemote(b.vx, UNDER.c)).toBe(true);
    expect(b.bridge.vxlanRemotes(b.vx).filter((r) => r.flood).map((r) => r.address)).toEqual([UNDER.a]);
    expect(await seenAtC(MAC.b, () => b.guest.send(probe(MAC.b)))).toBe(0);
    b.bridge.addStaticEntry("00:00:00:00:00:00", b.vx, { dst: UNDER.c });
    expect(await seenAtC(MAC.b, () => b.guest.send(probe(MAC.b)))).toBe(1);

    // A static MAC behind C's VTEP: unicast goes to C only (B's guest never sees it).
    a.bridge.addStaticEntry("02:00:00:94:00:99", a.vx, { dst: UNDER.c });
    expect(a.bridge.fdbEntries().find((e) => e.mac === "02:00:00:94:00:99")).toMatchObject({ static: true, dst: UNDER.c });
    b.guest.take();
    const before = a.vx.remotes().find((r) => r.address === UNDER.c)!.txPackets;
    a.guest.send(buildFrame({ src: MAC.a, dst: "02:00:00:94:00:99", ethertype: 0x88b5, payload: "unicast" }));
    await until(() => a.vx.remotes().find((r) => r.address === UNDER.c)!.txPackets > before);
    expect(a.vx.remotes().find((r) => r.address === UNDER.c)!.txPackets).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.guest.take().filter((f) => f[5] === 0x99)).toHaveLength(0);
  });
});
