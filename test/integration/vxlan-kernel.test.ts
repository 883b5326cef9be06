/**
 * VXLAN interop with the kernel's vxlan device, as root, for real. Two
 * "hosts" share an underlay veth: host A runs a Bridge with a VXLAN port and
 * a TAP guest; host B has the kernel's vxlan (VNI 42, learning on) enslaved
 * to a kernel bridge with a veth guest. Guests ping and run iperf3 TCP;
 * tcpdump on the underlay decodes VXLAN with VNI 42; each side learned the
 * other's guest with the other's underlay address. Nothing asserts timing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { TapPort } from "../../src/io/native-port.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import { VxlanPort } from "../../src/ports/vxlan-port.js";
import { Lab } from "../../src/testing/lab.js";

const lab = new Lab("tbx");
const bridges: Bridge[] = [];
let hostA = "";
let hostB = "";
let guestA = "";
let guestB = "";
const UNDER_A = "10.98.0.1";
const UNDER_B = "10.98.0.2";
const GUEST_A = "10.97.0.1";
const GUEST_B = "10.97.0.2";
const GUEST_B_MAC = "02:00:00:97:00:02";

async function kernelBridgeOracle(ns: string, br: string) {
  await lab.exec(ns, ["ip", "link", "add", br, "type", "bridge", "mcast_snooping", "0"]);
  await lab.exec(ns, ["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0", "net.bridge.bridge-nf-call-arptables=0"], { allowFail: true });
  await lab.exec(ns, ["ip", "link", "set", br, "up"]);
}

beforeAll(async () => {
  hostA = await lab.netns("ha");
  hostB = await lab.netns("hb");
  guestA = await lab.netns("ga");
  guestB = await lab.netns("gb");
  await lab.veth({ ns: hostA, name: lab.ifname("ua"), address: `${UNDER_A}/24` }, { ns: hostB, name: lab.ifname("ub"), address: `${UNDER_B}/24` });
  // Host B: kernel vxlan (learning) in a kernel bridge, a veth guest.
  await kernelBridgeOracle(hostB, "br0");
  await lab.exec(hostB, ["ip", "link", "add", "vx0", "type", "vxlan", "id", "42", "local", UNDER_B, "remote", UNDER_A, "dstport", "4789", "learning"]);
  await lab.exec(hostB, ["ip", "link", "set", "vx0", "master", "br0", "up"]);
  await lab.veth({ ns: hostB, name: lab.ifname("pb") }, { ns: guestB, name: lab.ifname("gb"), address: `${GUEST_B}/24`, mtu: 1450 });
  await lab.exec(guestB, ["ip", "link", "set", lab.ifname("gb"), "address", GUEST_B_MAC]);
  await lab.exec(hostB, ["ip", "link", "set", lab.ifname("pb"), "master", "br0"]);
});

afterAll(async () => {
  for (const b of bridges) b.close();
  await lab.destroy();
});

describe("a VXLAN port and the kernel's vxlan device", () => {
  it("carries ping and iperf3 TCP between guests; both sides learn the other's guest with its VTEP", async () => {
    const bridge = new Bridge({ name: "vxa" });
    bridges.push(bridge);
    const vx = bridge.addPort(new VxlanPort({ name: "vx42", vni: 42, local: UNDER_A, remotes: [UNDER_B], netns: hostA }));
    expect(vx.mtu).toBe(1450);
    const tap = lab.ifname("ta");
    bridge.addPort(new TapPort({ name: tap, netns: guestA, mtu: 1450 }));
    await lab.address(guestA, tap, `${GUEST_A}/24`);

    const capture = lab.spawn(hostA, ["tcpdump", "-i", lab.ifname("ua"), "-n", "-c", "4", "-l", "udp", "port", "4789"]);
    let dump = "";
    capture.stdout!.on("data", (d: Buffer) => (dump += d.toString()));
    const captured = new Promise<void>((resolve) => capture.once("exit", () => resolve()));
    await new Promise((r) => setTimeout(r, 1000)); // tcpdump listening

    const ping = await lab.exec(guestA, ["ping", "-c", "3", "-i", "0.2", "-W", "2", GUEST_B], { allowFail: true });
    expect(ping.stdout).toMatch(/ 0% packet loss/);
    await Promise.race([captured, new Promise((r) => setTimeout(r, 20_000))]);
    capture.kill();
    expect(dump).toMatch(/VXLAN, flags \[I\] \(0x08\), vni 42/);

    // The kernel learned A's guest behind A's underlay address ...
    const { stdout: kernelFdb } = await lab.exec(hostB, ["bridge", "fdb", "show", "dev", "vx0"]);
    const macA = (await lab.exec(guestA, ["cat", `/sys/class/net/${tap}/address`])).stdout.trim();
    expect(kernelFdb).toContain(`${macA} dst ${UNDER_A}`);
    // ... and tapbridge learned B's guest with B's.
    const entry = bridge.fdbEntries().find((e) => e.mac === GUEST_B_MAC);
    expect(entry).toMatchObject({ port: `vx42@${hostA}`, dst: UNDER_B });

    // A → B (GSO frames cut to the overlay MTU by tapbridge) and B → A (the kernel's super-frames made GSO again).
    for (const reverse of [false, true]) {
      const server = await lab.iperfServer(guestB, GUEST_B);
      try {
        const r = await lab.exec(guestA, ["iperf3", "-c", GUEST_B, "-t", "2", "-J", ...(reverse ? ["-R"] : [])], { allowFail: true, timeoutMs: 30_000 });
        const report = JSON.parse(r.stdout || "{}") as { end?: { sum_received?: { bytes: number } }; error?: string };
        expect(report.error, r.stderr).toBeUndefined();
        expect(report.end!.sum_received!.bytes).toBeGreaterThan(1_000_000);
      } finally {
        await stopServer(server);
      }
    }
    const stats = bridge.portStats(vx);
    expect(stats.txSegmented).toBeGreaterThan(0); // the guest's GSO frames were cut to the overlay MTU
    expect(Object.keys(stats.drops).filter((r) => r.startsWith("vxlan"))).toEqual([]);
    bridge.close();
  });
});

describe("a VXLAN port over IPv6 and the kernel's vxlan device", () => {
  it("carries ping and TCP over an IPv6 underlay, the remote learned by its IPv6 address", async () => {
    const ha = await lab.netns("h6a", { ipv6: true });
    const hb = await lab.netns("h6b", { ipv6: true });
    const ga = await lab.netns("g6a");
    const gb = await lab.netns("g6b");
    const [ua, ub] = [lab.ifname("6a"), lab.ifname("6b")];
    await lab.veth({ ns: ha, name: ua }, { ns: hb, name: ub });
    await lab.exec(ha, ["ip", "-6", "addr", "add", "fd42::1/64", "dev", ua, "nodad"]);
    await lab.exec(hb, ["ip", "-6", "addr", "add", "fd42::2/64", "dev", ub, "nodad"]);
    await kernelBridgeOracle(hb, "br6");
    await lab.exec(hb, ["ip", "link", "add", "vx6", "type", "vxlan", "id", "42", "local", "fd42::2", "remote", "fd42::1", "dstport", "4789", "learning"]);
    await lab.exec(hb, ["ip", "link", "set", "vx6", "master", "br6", "up"]);
    await lab.veth({ ns: hb, name: lab.ifname("6p") }, { ns: gb, name: lab.ifname("6g"), address: "10.86.0.2/24", mtu: 1430 });
    await lab.exec(hb, ["ip", "link", "set", lab.ifname("6p"), "master", "br6"]);

    const bridge = new Bridge({ name: "vx6" });
    bridges.push(bridge);
    const vx = bridge.addPort(new VxlanPort({ name: "vx6", vni: 42, local: "fd42::1", remotes: ["fd42::2"], netns: ha }));
    expect(vx.mtu).toBe(1430); // 1500 less 70 over IPv6
    const tap = lab.ifname("6t");
    bridge.addPort(new TapPort({ name: tap, netns: ga, mtu: 1430 }));
    await lab.address(ga, tap, "10.86.0.1/24");
    const ping = await lab.exec(ga, ["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.86.0.2"], { allowFail: true });
    expect(ping.stdout).toMatch(/ 0% packet loss/);
    const guestMac = (await lab.exec(gb, ["cat", `/sys/class/net/${lab.ifname("6g")}/address`])).stdout.trim();
    expect(bridge.fdbEntries().find((e) => e.mac === guestMac)).toMatchObject({ dst: "fd42::2" });
    const server = await lab.iperfServer(gb, "10.86.0.2");
    try {
      const r = await lab.exec(ga, ["iperf3", "-c", "10.86.0.2", "-t", "2", "-J"], { allowFail: true, timeoutMs: 30_000 });
      const report = JSON.parse(r.stdout || "{}") as { end?: { sum_received?: { bytes: number } }; error?: string };
      expect(report.error, r.stderr).toBeUndefined();
      expect(report.end!.sum_received!.bytes).toBeGreaterThan(1_000_000);
    } finally {
      await stopServer(server);
    }
    bridge.close();
  });
});

describe("a VXLAN port flooding to a multicast group, and the kernel's vxlan in that group", () => {
  it("reaches the kernel's guest through the group, then by unicast to the learned VTEP", async () => {
    const ha = await lab.netns("hma");
    const hb = await lab.netns("hmb");
    const ga = await lab.netns("gma");
    const gb = await lab.netns("gmb");
    const [ua, ub] = [lab.ifname("ma"), lab.ifname("mb")];
    await lab.veth({ ns: ha, name: ua, address: "10.85.0.1/24" }, { ns: hb, name: ub, address: "10.85.0.2/24" });
    await kernelBridgeOracle(hb, "brm");
    await lab.exec(hb, ["ip", "link", "add", "vxm", "type", "vxlan", "id", "42", "local", "10.85.0.2", "group", "239.1.1.42", "dev", ub, "dstport", "4789", "learning"]);
    await lab.exec(hb, ["ip", "link", "set", "vxm", "master", "brm", "up"]);
    await lab.veth({ ns: hb, name: lab.ifname("mp") }, { ns: gb, name: lab.ifname("mg"), address: "10.84.0.2/24", mtu: 1450 });
    await lab.exec(hb, ["ip", "link", "set", lab.ifname("mp"), "master", "brm"]);

    const bridge = new Bridge({ name: "vxm" });
    bridges.push(bridge);
    const vx = bridge.addPort(new VxlanPort({ name: "vxm", vni: 42, local: "10.85.0.1", group: "239.1.1.42", netns: ha }));
    const tap = lab.ifname("mt");
    bridge.addPort(new TapPort({ name: tap, netns: ga, mtu: 1450 }));
    await lab.address(ga, tap, "10.84.0.1/24");
    const ping = await lab.exec(ga, ["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.84.0.2"], { allowFail: true });
    expect(ping.stdout).toMatch(/ 0% packet loss/);
    const remotes = vx.remotes();
    expect(remotes.find((r) => r.address === "239.1.1.42")).toMatchObject({ flood: true });
    expect(remotes.find((r) => r.address === "239.1.1.42")!.txPackets).toBeGreaterThan(0); // the ARP request went to the group
    expect(remotes.find((r) => r.address === "10.85.0.2")).toMatchObject({ learned: true }); // the reply came from B's VTEP
    bridge.close();
  });
});

describe("outer UDP source ports", () => {
  it("differ between inner flows and stay the same within one (entropy for ECMP)", async () => {
    const ha = await lab.netns("hea");
    const hb = await lab.netns("heb");
    const [ua, ub] = [lab.ifname("ea"), lab.ifname("eb")];
    await lab.veth({ ns: ha, name: ua, address: "10.83.0.1/24" }, { ns: hb, name: ub, address: "10.83.0.2/24" });
    const bridge = new Bridge({ name: "vxe" });
    bridges.push(bridge);
    bridge.addPort(new VxlanPort({ name: "vxe", vni: 42, local: "10.83.0.1", remotes: ["10.83.0.2"], netns: ha }));
    const guest = bridge.addPort(new MemoryPort("g"));
    const capture = lab.spawn(hb, ["tcpdump", "-i", ub, "-n", "-l", "-c", "48", "udp", "dst", "port", "4789"]);
    let dump = "";
    capture.stdout!.on("data", (d: Buffer) => (dump += d.toString()));
    const done = new Promise((r) => capture.once("exit", r));
    await new Promise((r) => setTimeout(r, 1000));
    // 16 UDP flows (inner source ports 1000..1015), each sent three times.
    for (let round = 0; round < 3; round++) {
      for (let f = 0; f < 16; f++) guest.send(udpFrame(1000 + f));
    }
    await Promise.race([done, new Promise((r) => setTimeout(r, 15_000))]);
    capture.kill();
    const sports = dump.split("\n").map((l) => /10\.83\.0\.1\.(\d+) > 10\.83\.0\.2\.4789/.exec(l)?.[1]).filter((p): p is string => p !== undefined);
    expect(sports).toHaveLength(48);
    const byFlow = Array.from({ length: 16 }, (_, f) => new Set([sports[f], sports[16 + f], sports[32 + f]]));
    for (const s of byFlow) expect(s.size).toBe(1); // one flow, one source port
    expect(new Set(sports).size).toBeGreaterThan(1); // flows spread over ports
    bridge.close();
  });
});

/** An IPv4/UDP frame from 10.0.0.1:sport to 10.0.0.2:9, broadcast (so it floods to the remote). */
function udpFrame(sport: number): Uint8Array {
  const f = new Uint8Array(60);
  f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
  f.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  f.set([sport >> 8, sport & 0xff, 0, 9, 0, 8, 0, 0], 34);
  return f;
}

describe("malformed datagrams on a VXLAN port's socket", () => {
  it("are counted under their reason and dropped; the port keeps forwarding", async () => {
    const ha = await lab.netns("hxa");
    const hb = await lab.netns("hxb");
    const [ua, ub] = [lab.ifname("xa"), lab.ifname("xb")];
    await lab.veth({ ns: ha, name: ua, address: "10.82.0.1/24" }, { ns: hb, name: ub, address: "10.82.0.2/24" });
    const bridge = new Bridge({ name: "vxx" });
    bridges.push(bridge);
    const vx = bridge.addPort(new VxlanPort({ name: "vxx", vni: 42, local: "10.82.0.1", netns: ha }));
    const guest = bridge.addPort(new MemoryPort("g"));
    const frame = "ffffffffffff" + "020000000001" + "88b5" + "00".repeat(46);
    const payloads = [
      "0800", // short: 2 bytes
      "08000000" + "00002a00", // a header and no frame
      "0c000000" + "00002a00" + frame, // flags other than I
      "08000000" + "00002a01" + frame, // reserved low byte set
      "08000000" + "00002b00" + frame, // VNI 43
      "08000000" + "00002a00" + frame, // good
    ];
    const script = `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor p in ${JSON.stringify(payloads)}:\n    s.sendto(bytes.fromhex(p), ("10.82.0.1", 4789))\n`;
    const sent = await lab.exec(hb, ["/usr/bin/python3", "-c", script], { allowFail: true });
    expect(sent.code, sent.stderr).toBe(0);
    const end = Date.now() + 10_000;
    while (guest.received.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(bridge.portStats(vx).drops).toEqual({ vxlan_short: 2, vxlan_bad_header: 2, vxlan_unknown_vni: 1 });
    expect(guest.take()).toHaveLength(1); // the good one
    expect(vx.remotes().find((r) => r.address === "10.82.0.2")).toMatchObject({ learned: true, rxPackets: 6 });
    bridge.close();
  });
});

/** Stop an iperf3 server and wait until it is gone, so the next one's listening socket is its own (a one-shot server still closing made a client see "connection refused"). */
async function stopServer(server: import("node:child_process").ChildProcess): Promise<void> {
  if (server.exitCode === null && server.signalCode === null) {
    const gone = new Promise((r) => server.once("exit", r));
    server.kill();
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  }
}
