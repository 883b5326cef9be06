/**
 * The Bridge, for real, as root: namespaces, veths and TAP devices made by a
 * Lab with unique names and removed in afterAll; real ping and iperf3 as
 * traffic. Nothing here asserts timing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { PacketPort, TapPort } from "../../src/io/native-port.js";
import { Lab } from "../../src/testing/lab.js";

const lab = new Lab("tbi");
let bridgeNs = "";
const bridges: Bridge[] = [];

beforeAll(async () => {
  bridgeNs = await lab.netns("br");
});
afterAll(async () => {
  for (const b of bridges) b.close();
  await lab.destroy();
});

function newBridge(): Bridge {
  const bridge = new Bridge({ name: "itest" });
  bridges.push(bridge);
  return bridge;
}

/** A host namespace with a TAP port of `bridge`, address 10.66.<net>.<n>/24. */
async function tapHost(bridge: Bridge, n: number, net = 1) {
  const ns = await lab.netns(`t${net}x${n}`);
  const name = lab.ifname(`t${net}${n}`);
  bridge.addPort(new TapPort({ name, netns: ns }));
  const ip = `10.66.${net}.${n}`;
  await lab.address(ns, name, `${ip}/24`);
  return { ns, ip, port: name };
}

/** A host namespace behind a veth whose other end (in the bridge namespace) is an AF_PACKET port. */
async function vethHost(bridge: Bridge, n: number, net = 1, options: { vnetHdr?: boolean } = {}) {
  const ns = await lab.netns(`v${net}x${n}`);
  const inside = lab.ifname(`h${net}${n}`);
  const outside = lab.ifname(`p${net}${n}`);
  const ip = `10.66.${net}.${n}`;
  await lab.veth({ ns: bridgeNs, name: outside }, { ns, name: inside, address: `${ip}/24` });
  bridge.addPort(new PacketPort({ name: outside, netns: bridgeNs, ...options }));
  return { ns, ip, port: outside, inside };
}

async function ping(from: { ns: string }, to: { ip: string }) {
  return lab.exec(from.ns, ["ping", "-c", "3", "-i", "0.2", "-W", "2", to.ip], { allowFail: true });
}

/** iperf3 TCP from a to b for `seconds`; returns bytes received. */
async function iperf(a: { ns: string }, b: { ns: string; ip: string }, seconds = 2): Promise<number> {
  const server = await lab.iperfServer(b.ns, b.ip);
  try {
    const r = await lab.exec(a.ns, ["iperf3", "-c", b.ip, "-t", String(seconds), "-J"], { allowFail: true, timeoutMs: 30_000 });
    const report = JSON.parse(r.stdout) as { end?: { sum_received?: { bytes: number } }; error?: string };
    if (!report.end?.sum_received) throw new Error(`iperf3 failed: ${report.error ?? r.stderr}`);
    return report.end.sum_received.bytes;
  } finally {
    server.kill();
  }
}

describe("TAP ports", () => {
  it("carries ping and iperf3 TCP between namespaces, GSO frames passing whole", async () => {
    const bridge = newBridge();
    const a = await tapHost(bridge, 1, 1);
    const b = await tapHost(bridge, 2, 1);
    expect((await ping(a, b)).code).toBe(0);
    expect(await iperf(a, b)).toBeGreaterThan(10_000_000);
    const stats = bridge.portStats(a.port + "@" + a.ns);
    // More bytes than 1514-byte frames could carry in that many packets: GSO passed through.
    expect(stats.rxBytes / stats.rxPackets).toBeGreaterThan(1514);
    expect(bridge.fdbEntries().length).toBe(2);
    bridge.close();
  });
});

describe("ports added and removed while the bridge runs", () => {
  it("starts forwarding to a new port at once and removes a TAP it created", async () => {
    const bridge = newBridge();
    const a = await tapHost(bridge, 1, 7);
    const b = await tapHost(bridge, 2, 7);
    expect((await ping(a, b)).code).toBe(0);
    const c = await vethHost(bridge, 3, 7);
    expect((await ping(c, a)).code).toBe(0);
    bridge.removePort(`${b.port}@${b.ns}`);
    const gone = await lab.exec(b.ns, ["ip", "link", "show", "dev", b.port], { allowFail: true });
    expect(gone.code).not.toBe(0);
    expect((await ping(a, b)).code).not.toBe(0);
    expect((await ping(a, c)).code).toBe(0);
    expect(bridge.fdbEntries().map((e) => e.port)).not.toContain(`${b.port}@${b.ns}`);
    bridge.close();
  });
});

describe("AF_PACKET ports", () => {
  it("carries ping and iperf3 TCP between namespaces behind veths", async () => {
    const bridge = newBridge();
    const a = await vethHost(bridge, 1, 2);
    const b = await vethHost(bridge, 2, 2);
    expect((await ping(a, b)).code).toBe(0);
    expect(await iperf(a, b)).toBeGreaterThan(10_000_000);
    bridge.close();
  });

  it("attaches an uplink in promiscuous mode and carries traffic for MACs that are not its own", async () => {
    const bridge = newBridge();
    const a = await vethHost(bridge, 1, 3);
    const b = await vethHost(bridge, 2, 3);
    // The bridge-side veth ends have MACs of their own; every frame here is for the hosts' MACs.
    const uplinkMac = (await lab.exec(bridgeNs, ["cat", `/sys/class/net/${a.port}/address`])).stdout.trim();
    const hostMac = (await lab.exec(a.ns, ["cat", `/sys/class/net/${a.inside}/address`])).stdout.trim();
    expect(uplinkMac).not.toBe(hostMac);
    const flags = (await lab.exec(bridgeNs, ["cat", `/sys/class/net/${a.port}/flags`])).stdout.trim();
    expect(Number(flags) & 0x100).toBe(0x100); // IFF_PROMISC
    expect((await ping(a, b)).code).toBe(0);
    expect(bridge.lookup(hostMac)?.name).toBe(a.port);
    bridge.close();
  });
});

describe("TAP and AF_PACKET ports mixed", () => {
  it("carries ping and a GSO-sized TCP stream TAP → AF_PACKET intact", async () => {
    const bridge = newBridge();
    const a = await tapHost(bridge, 1, 4);
    const b = await vethHost(bridge, 2, 4);
    expect((await ping(a, b)).code).toBe(0);
    expect(await iperf(a, b)).toBeGreaterThan(10_000_000);
    expect(await iperf(b, a)).toBeGreaterThan(10_000_000);
    const tap = bridge.portStats(`${a.port}@${a.ns}`);
    expect(tap.rxBytes / tap.rxPackets).toBeGreaterThan(1514);
    bridge.close();
  });

  it("segments GSO frames in software toward a port without virtio-net headers", async () => {
    const bridge = newBridge();
    const a = await tapHost(bridge, 1, 5);
    const b = await vethHost(bridge, 2, 5, { vnetHdr: false });
    expect(await iperf(a, b)).toBeGreaterThan(10_000_000);
    bridge.close();
  });
});

describe("tagged frames", () => {
  it("cross an AF_PACKET port unchanged (the kernel's stripped tag is put back)", async () => {
    const bridge = newBridge();
    const a = await vethHost(bridge, 1, 6);
    const b = await vethHost(bridge, 2, 6);
    // The receiving kernel strips the tag again and reports it in PACKET_AUXDATA.
    const receive = [
      "import socket, struct",
      "rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))",
      "rx.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA",
      `rx.bind(("${b.inside}", 0))`,
      "rx.settimeout(5)",
      "print('ready', flush=True)",
      "while True:",
      "    data, anc, flags, addr = rx.recvmsg(2048, 1024)",
      "    if b'tapbridge-vlan-test' not in data: continue",
      "    for level, kind, value in anc:",
      "        if level == 263 and kind == 8:",
      "            status, length, snaplen, mac, net, tci, tpid = struct.unpack('IIIHHHH', value[:20])",
      "            print('%x %04x %s' % (tpid, tci, data[12:14].hex()), flush=True)",
      "    break",
    ].join("\n");
    const send = [
      "import socket",
      "tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)",
      `tx.bind(("${a.inside}", 0))`,
      // PCP 5, VID 42: TCI 0xa02a; ethertype 0x88b5 inside.
      "tx.send(bytes.fromhex('ffffffffffff020000aa00018100a02a88b5') + b'tapbridge-vlan-test' + bytes(30))",
    ].join("\n");
    const receiver = lab.exec(b.ns, ["/usr/bin/python3", "-c", receive], { allowFail: true, timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 700));
    await lab.exec(a.ns, ["/usr/bin/python3", "-c", send]);
    const got = await receiver;
    expect(got.stdout).toContain("8100 a02a 88b5");
    bridge.close();
  });
});
