/**
 * The native addon against the real kernel: TAP and AF_PACKET ports inside
 * network namespaces, real traffic (ping, iperf3 TCP, crafted 802.1Q frames),
 * errors, and device lifetime. Needs root; skipped otherwise.
 *
 * Traffic commands run asynchronously (spawn), never execSync: the event loop
 * must stay free to run the dataplane while they do.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { loadNative } from "../../src/io/native.js";
import { EGRESS_WORDS, HEADROOM, MAX_PORTS, PORT_STAT_COUNT, PortStat, VNET_AREA, type NativeBinding, type NativeDataplane } from "../../src/io/native-binding.js";
import { build } from "../tools/gso-frames.js";

const suffix = process.pid.toString(36);
let counter = 0;
/** A unique short name (≤ 15 bytes). */
const uniq = (prefix: string): string => `${prefix}${suffix}${(counter++).toString(36)}`.slice(0, 15);

const namespaces: string[] = [];
const hostLinks: string[] = [];

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
function ip(...args: string[]): string {
  return sh("ip", args);
}
function addNs(): string {
  const name = uniq("tbn");
  ip("netns", "add", name);
  namespaces.push(name);
  ip("-n", name, "link", "set", "lo", "up");
  return name;
}
const nsPath = (ns: string): string => `/run/netns/${ns}`;
function linkExists(ns: string, name: string): boolean {
  try {
    ip(...(ns ? ["-n", ns] : []), "link", "show", "dev", name);
    return true;
  } catch {
    return false;
  }
}
/** veth pair: `host` end in `hostNs`, `peer` end in `peerNs` with address `addr`, both up. */
function vethPair(hostNs: string, peerNs: string, addr: string): { host: string; peer: string } {
  const host = uniq("vh");
  const peer = uniq("vp");
  ip("link", "add", host, "netns", hostNs, "type", "veth", "peer", "name", peer, "netns", peerNs);
  ip("-n", peerNs, "addr", "add", addr, "dev", peer);
  ip("-n", peerNs, "link", "set", peer, "up");
  return { host, peer };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
/** Runs a command without blocking the event loop. */
function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
const inNs = (ns: string, cmd: string, args: string[], timeoutMs?: number): Promise<Run> =>
  run("ip", ["netns", "exec", ns, cmd, ...args], timeoutMs);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** iperf3 TCP from clientNs to serverIp (server in serverNs); returns bytes received. */
async function iperf(clientNs: string, serverNs: string, serverIp: string, seconds = 2): Promise<{ bytes: number; bps: number }> {
  const server = inNs(serverNs, "iperf3", ["-s", "-1", "-B", serverIp], (seconds + 20) * 1000);
  let client: Run | undefined;
  for (let attempt = 0; attempt < 20; attempt++) {
    await sleep(200);
    client = await inNs(clientNs, "iperf3", ["-c", serverIp, "-t", String(seconds), "-J"], (seconds + 15) * 1000);
    if (client.code === 0) break;
    if (!/Connection refused/.test(client.stdout + client.stderr)) break;
  }
  await server;
  expect(client?.code, client?.stdout + (client?.stderr ?? "")).toBe(0);
  const result = JSON.parse(client!.stdout) as { end: { sum_received: { bytes: number; bits_per_second: number } } };
  return { bytes: result.end.sum_received.bytes, bps: result.end.sum_received.bits_per_second };
}

const u16 = (v: number): number[] => [v >> 8, v & 0xff];
const fdCount = (): number => readdirSync("/proc/self/fd").length;

interface Forwarder {
  dp: NativeDataplane;
  maxLen: number[];
  frames: number;
  /** Called for every received frame (after forwarding decision). */
  inspect?: (port: number, frame: Uint8Array) => void;
}
/** A dataplane whose onBatch forwards every frame to route[ingress]. */
function forwarder(native: NativeBinding, route: Record<number, number>): Forwarder {
  const state = { maxLen: new Array<number>(MAX_PORTS).fill(0), frames: 0 } as Forwarder;
  state.dp = new native.Dataplane({ batchSize: 64, slotSize: VNET_AREA + HEADROOM + 65550 + 2 }, (n) => {
    const { rxPort, frameLength, frameOffset, egress } = state.dp;
    egress.fill(0, 0, n * EGRESS_WORDS);
    for (let i = 0; i < n; i++) {
      const p = rxPort[i];
      if (frameLength[i] > state.maxLen[p]) state.maxLen[p] = frameLength[i];
      const out = route[p];
      if (out !== undefined) egress[i * EGRESS_WORDS + (out >>> 5)] |= 1 << (out & 31);
      state.inspect?.(p, new Uint8Array(state.dp.slab, frameOffset[i], frameLength[i]));
    }
    state.frames += n;
    state.dp.transmit(n);
  });
  return state;
}
const stat = (dp: NativeDataplane, port: number, column: number): number => dp.portStats[port * PORT_STAT_COUNT + column];

/** Put one frame and its virtio-net header in slot 0 and transmit it to port `to` (outside onBatch). */
function sendOne(dp: NativeDataplane, frame: Uint8Array, vnet: Uint8Array, to: number): void {
  const slab = new Uint8Array(dp.slab);
  const off = VNET_AREA + HEADROOM;
  slab.fill(0, 0, VNET_AREA);
  slab.set(vnet.subarray(0, 10), 0);
  slab.set(frame, off);
  dp.frameOffset[0] = off;
  dp.frameLength[0] = frame.length;
  dp.egress.fill(0);
  dp.egress[to >>> 5] = 1 << (to & 31);
  dp.transmit(1);
}

describe("native addon", () => {
  let native: NativeBinding;
  const dataplanes: NativeDataplane[] = [];
  const track = (f: Forwarder): Forwarder => (dataplanes.push(f.dp), f);

  beforeAll(() => {
    native = loadNative();
  });

  afterAll(() => {
    for (const dp of dataplanes) {
      try {
        dp.close();
      } catch {
        /* keep cleaning */
      }
    }
    for (const link of hostLinks) {
      try {
        ip("link", "del", link);
      } catch {
        /* gone */
      }
    }
    for (const ns of namespaces) {
      try {
        ip("netns", "del", ns);
      } catch {
        /* gone */
      }
    }
  });

  it("exports the constants and typed arrays of the contract", () => {
    expect(native.constants).toMatchObject({ VNET_AREA, HEADROOM, MAX_PORTS, PORT_STAT_COUNT });
    const dp = new native.Dataplane({ batchSize: 4, slotSize: VNET_AREA + HEADROOM + 65550 }, () => {});
    dataplanes.push(dp);
    expect(dp.slab.byteLength).toBe(4 * (VNET_AREA + HEADROOM + 65550));
    expect(dp.rxPort).toBeInstanceOf(Uint16Array);
    expect(dp.rxPort).toBe(dp.rxPort);
    expect(dp.egress.length).toBe(4 * EGRESS_WORDS);
    expect(dp.portStats.length).toBe(MAX_PORTS * PORT_STAT_COUNT);
    expect(dp.dpStats).toBeInstanceOf(Float64Array);
    expect(dp.frameTag).toBeInstanceOf(Uint32Array);
    expect(dp.frameTag.length).toBe(4);
    expect(() => dp.setVlanEgress(new Uint32Array(10))).toThrow(/needs a Uint32Array of 32768 words/);
    dp.setVlanEgress(new Uint32Array(4096 * EGRESS_WORDS));
    expect(() => new native.Dataplane({ batchSize: 0, slotSize: 70000 }, () => {})).toThrow(RangeError);
    expect(() => new native.Dataplane({ batchSize: 4, slotSize: 100 }, () => {})).toThrow(RangeError);
    expect(() => new (native.Dataplane as unknown as new (a: unknown) => unknown)({ batchSize: 4, slotSize: 70000 })).toThrow(TypeError);
    dp.close();
    dp.close();
  });

  it("forwards ping and GSO-sized TCP between two TAPs in their own namespaces", async () => {
    const nsA = addNs();
    const nsB = addNs();
    const f = track(forwarder(native, { 0: 1, 1: 0 }));
    const tapA = uniq("tta");
    const tapB = uniq("ttb");
    const a = f.dp.openTap(0, { name: tapA, netnsPath: nsPath(nsA) });
    const b = f.dp.openTap(1, { name: tapB, netnsPath: nsPath(nsB), mtu: 1500 });
    expect(a).toMatchObject({ ifname: tapA, vnetHdr: true, created: true });
    expect(b.mtu).toBe(1500);
    expect(a.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(linkExists(nsA, tapA)).toBe(true);
    expect(linkExists("", tapA)).toBe(false); // not in the host namespace
    ip("-n", nsA, "addr", "add", "10.77.0.1/24", "dev", tapA);
    ip("-n", nsB, "addr", "add", "10.77.0.2/24", "dev", tapB);

    const ping = await inNs(nsA, "ping", ["-c", "3", "-W", "2", "10.77.0.2"]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);

    const { bytes } = await iperf(nsA, nsB, "10.77.0.2");
    expect(bytes).toBeGreaterThan(0);
    expect(f.maxLen[0]).toBeGreaterThan(1514); // GSO frames passed through
    expect(stat(f.dp, 0, PortStat.rxPackets)).toBeGreaterThan(0);
    expect(stat(f.dp, 1, PortStat.txPackets)).toBeGreaterThan(0);
    expect(f.dp.dpStats[0]).toBeGreaterThan(0);
    f.dp.close();
    expect(linkExists(nsA, tapA)).toBe(false);
  });

  it.each(["v2", "v3", "mmsg"] as const)("forwards ping and TCP between two AF_PACKET ports (veths in a bridge namespace), receive mode %s", async (rxMode) => {
    const br = addNs();
    const ns1 = addNs();
    const ns2 = addNs();
    const v1 = vethPair(br, ns1, "10.78.0.1/24");
    const v2 = vethPair(br, ns2, "10.78.0.2/24");
    const f = track(forwarder(native, { 0: 1, 1: 0 }));
    const p0 = f.dp.openPacket(0, { ifname: v1.host, netnsPath: nsPath(br), rxMode });
    f.dp.openPacket(1, { ifname: v2.host, netnsPath: nsPath(br), rxMode });
    expect(p0).toMatchObject({ ifname: v1.host, vnetHdr: true, mtu: 1500 });
    expect(p0.created).toBeUndefined();

    const peer = "10.78.0.2";
    const ping = await inNs(ns1, "ping", ["-c", "3", "-W", "2", peer]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const { bytes } = await iperf(ns1, ns2, peer);
    expect(bytes).toBeGreaterThan(0);
    expect(f.maxLen[0]).toBeGreaterThan(1514);
    expect(stat(f.dp, 1, PortStat.txPackets)).toBeGreaterThan(0);
    expect(stat(f.dp, 0, PortStat.rxSyscalls)).toBeGreaterThan(0);
    f.dp.close();
  });

  it("passes GSO TCP from a TAP to an AF_PACKET port intact", async () => {
    const nsA = addNs();
    const br = addNs();
    const ns2 = addNs();
    const v2 = vethPair(br, ns2, "10.79.0.2/24");
    const f = track(forwarder(native, { 0: 1, 1: 0 }));
    const tap = uniq("ttm");
    f.dp.openTap(0, { name: tap, netnsPath: nsPath(nsA) });
    f.dp.openPacket(1, { ifname: v2.host, netnsPath: nsPath(br) });
    ip("-n", nsA, "addr", "add", "10.79.0.1/24", "dev", tap);

    const { bytes } = await iperf(nsA, ns2, "10.79.0.2");
    expect(bytes).toBeGreaterThan(0);
    expect(f.maxLen[0]).toBeGreaterThan(1514);
    expect(stat(f.dp, 1, PortStat.txSegmented)).toBe(0);
    expect(stat(f.dp, 1, PortStat.txPackets)).toBeGreaterThan(0);
    // and the other way round
    const back = await iperf(ns2, nsA, "10.79.0.1");
    expect(back.bytes).toBeGreaterThan(0);
    expect(f.maxLen[1]).toBeGreaterThan(1514);
    f.dp.close();
  });

  it("segments GSO frames in software toward an AF_PACKET port without vnet header", async () => {
    const nsA = addNs();
    const br = addNs();
    const ns2 = addNs();
    const v2 = vethPair(br, ns2, "10.80.0.2/24");
    const f = track(forwarder(native, { 0: 1, 1: 0 }));
    const tap = uniq("tts");
    f.dp.openTap(0, { name: tap, netnsPath: nsPath(nsA) });
    const p = f.dp.openPacket(1, { ifname: v2.host, netnsPath: nsPath(br), vnetHdr: false });
    expect(p.vnetHdr).toBe(false);
    ip("-n", nsA, "addr", "add", "10.80.0.1/24", "dev", tap);

    const ping = await inNs(nsA, "ping", ["-c", "2", "-W", "2", "10.80.0.2"]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const { bytes } = await iperf(nsA, ns2, "10.80.0.2");
    expect(bytes).toBeGreaterThan(0);
    expect(f.maxLen[0]).toBeGreaterThan(1514);
    expect(stat(f.dp, 1, PortStat.txSegmented)).toBeGreaterThan(0);
    expect(stat(f.dp, 1, PortStat.txGsoDropped)).toBe(0);
    // ns2 → TAP: partial checksums from the veth are described in a synthesized vnet header
    const back = await iperf(ns2, nsA, "10.80.0.1");
    expect(back.bytes).toBeGreaterThan(0);
    f.dp.close();
  });

  it("segments an injected 802.1Q-tagged TCP GSO frame with correct checksums", async () => {
    const br = addNs();
    const ns2 = addNs();
    const v2 = vethPair(br, ns2, "10.83.0.2/24");
    const f = track(forwarder(native, {}));
    f.dp.openPacket(1, { ifname: v2.host, netnsPath: nsPath(br), vnetHdr: false });
    const capture = inNs(ns2, "timeout", ["10", "tcpdump", "-i", v2.peer, "-e", "-nn", "-S", "-vv", "-c", "4", "-l", "vlan", "and", "tcp"], 15_000);
    await sleep(1500);
    // Fill slot 0 now (received frames reuse it) and transmit synchronously.
    const payload = 4000;
    const mss = 1000;
    const slab = new Uint8Array(f.dp.slab);
    const view = new DataView(f.dp.slab);
    const off = VNET_AREA + HEADROOM;
    const frame = slab.subarray(off, off + 18 + 40 + payload);
    frame.set([2, 0, 0, 0, 0x83, 2, 2, 0, 0, 0, 0x83, 1, 0x81, 0x00, 0x00, 42, 0x08, 0x00]);
    const ipv4 = [0x45, 0, ...u16(40 + payload), 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 83, 0, 1, 10, 83, 0, 2];
    frame.set(ipv4, 18);
    frame.set([...u16(40000), ...u16(5201), 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0], 38);
    for (let i = 0; i < payload; i++) frame[58 + i] = i & 0xff;
    slab.fill(0, 0, 10);
    view.setUint8(0, 1); // NEEDS_CSUM
    view.setUint8(1, 1); // GSO_TCPV4
    view.setUint16(2, 58, true);
    view.setUint16(4, mss, true);
    view.setUint16(6, 38, true);
    view.setUint16(8, 16, true);
    f.dp.frameOffset[0] = off;
    f.dp.frameLength[0] = frame.length;
    f.dp.egress.fill(0);
    f.dp.egress[0] = 1 << 1;

    f.dp.transmit(1);
    const out = (await capture).stdout;
    expect(stat(f.dp, 1, PortStat.txSegmented)).toBe(1);
    expect(stat(f.dp, 1, PortStat.txPackets)).toBe(4);
    expect(out.match(/vlan 42/g)?.length).toBe(4);
    expect(out.match(/cksum 0x[0-9a-f]+ \(correct\)/g)?.length).toBe(4); // TCP
    expect(out).not.toMatch(/bad cksum|incorrect/);
    for (const seq of ["1000:2000", "2000:3000", "3000:4000", "4000:5000"]) expect(out).toContain(`seq ${seq}`);
    expect(out.match(/Flags \[P\.\]/g)?.length).toBe(1); // PSH on the last segment only
    expect(out.match(/id 4660/g)?.length).toBe(1); // 0x1234 on the first segment, +1 after
    expect(out).toContain("id 4663");
    f.dp.close();
  });

  it("segments UDP GSO (UDP_L4) in software toward a port without virtio-net headers", async () => {
    const br = addNs();
    const ns2 = addNs();
    const v2 = vethPair(br, ns2, "10.0.0.2/24");
    const f = track(forwarder(native, {}));
    f.dp.openPacket(1, { ifname: v2.host, netnsPath: nsPath(br), vnetHdr: false });
    const capture = inNs(ns2, "timeout", ["10", "tcpdump", "-i", v2.peer, "-nn", "-vv", "-c", "3", "-l", "udp"], 15_000);
    await sleep(1500);
    const b = build({ l4: "udp", inner: 4, payload: 3000, mss: 1000 });
    sendOne(f.dp, b.frame, b.vnet, 1);
    const out = (await capture).stdout;
    expect(stat(f.dp, 1, PortStat.txSegmented)).toBe(1);
    expect(stat(f.dp, 1, PortStat.txPackets)).toBe(3);
    expect(stat(f.dp, 1, PortStat.txGsoDropped)).toBe(0);
    expect(out.match(/udp sum ok/g)?.length).toBe(3);
    expect(out.match(/length 1000/g)?.length).toBe(3);
    f.dp.close();
  });

  it("segments a tunnelled (VXLAN) TCP GSO frame even toward a port that takes virtio-net headers", async () => {
    const br = addNs();
    const ns2 = addNs();
    const v2 = vethPair(br, ns2, "192.168.0.2/24");
    const f = track(forwarder(native, {}));
    f.dp.openPacket(1, { ifname: v2.host, netnsPath: nsPath(br) }); // vnetHdr: true
    const capture = inNs(ns2, "timeout", ["10", "tcpdump", "-i", v2.peer, "-nn", "-S", "-vv", "-c", "4", "-l", "udp", "port", "4789"], 15_000);
    await sleep(1500);
    const b = build({ l4: "tcp", inner: 4, payload: 4000, mss: 1000, tunnel: "vxlan-csum" });
    sendOne(f.dp, b.frame, b.vnet, 1);
    const out = (await capture).stdout;
    // Handed to the kernel whole, this frame failed sendmmsg with ENOMEM.
    expect(stat(f.dp, 1, PortStat.txErrors)).toBe(0);
    expect(stat(f.dp, 1, PortStat.txSegmented)).toBe(1);
    expect(stat(f.dp, 1, PortStat.txPackets)).toBe(4);
    expect(out.match(/udp sum ok/g)?.length).toBe(4); // outer UDP checksum
    expect(out.match(/VXLAN/g)?.length).toBe(4);
    expect(out.match(/cksum 0x[0-9a-f]+ \(correct\)/g)?.length).toBe(4); // inner TCP
    expect(out).not.toMatch(/bad cksum|incorrect/);
    for (const seq of ["1000:2000", "2000:3000", "3000:4000", "4000:5000"]) expect(out).toContain(`seq ${seq}`);
    f.dp.close();
  });

  it("drops the rest of a port's batch with one system call when its device is down or gone", () => {
    const br = addNs();
    const ns2 = addNs();
    const v2 = vethPair(br, ns2, "10.87.0.2/24");
    const dp = new native.Dataplane({ batchSize: 32, slotSize: VNET_AREA + HEADROOM + 65550 }, () => {});
    dataplanes.push(dp);
    dp.openPacket(0, { ifname: v2.host, netnsPath: nsPath(br) });
    const tap = uniq("ttg");
    dp.openTap(1, { name: tap, netnsPath: nsPath(ns2) });
    const slab = new Uint8Array(dp.slab);
    const sendBatch = (to: number) => {
      for (let i = 0; i < 32; i++) {
        const base = i * (VNET_AREA + HEADROOM + 65550);
        slab.fill(0, base, base + VNET_AREA);
        slab.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5], base + VNET_AREA + HEADROOM);
        dp.frameOffset[i] = base + VNET_AREA + HEADROOM;
        dp.frameLength[i] = 60;
        dp.egress.fill(0, i * EGRESS_WORDS, (i + 1) * EGRESS_WORDS);
        dp.egress[i * EGRESS_WORDS] = 1 << to;
      }
      dp.transmit(32);
    };
    const calls = (port: number) => stat(dp, port, PortStat.txSyscalls);
    ip("-n", br, "link", "set", v2.host, "down");
    sendBatch(0); // ENETDOWN
    expect([calls(0), stat(dp, 0, PortStat.txLinkDown)]).toEqual([1, 32]);
    ip("-n", br, "link", "del", v2.host);
    sendBatch(0); // ENXIO: the socket's device is gone
    expect([calls(0), stat(dp, 0, PortStat.txLinkDown)]).toEqual([2, 64]);
    ip("-n", ns2, "link", "del", tap);
    sendBatch(1); // EBADFD: the TAP's device is gone
    expect([calls(1), stat(dp, 1, PortStat.txLinkDown)]).toEqual([1, 32]);
    expect(stat(dp, 0, PortStat.txErrors) + stat(dp, 1, PortStat.txErrors)).toBe(0);
    dp.close();
  });

  it.each(["v2", "v3", "mmsg"] as const)("reads receive drops when asked (refreshStats), not some wake-ups later, receive mode %s", async (rxMode) => {
    const br = addNs();
    const ns2 = addNs();
    const v2 = vethPair(br, ns2, "10.88.0.2/24");
    const dp = new native.Dataplane({ batchSize: 64, slotSize: VNET_AREA + HEADROOM + 65550 }, () => {});
    dataplanes.push(dp);
    // One small ring (v2: 64 slots, v3: one block) or a tiny socket buffer
    // (mmsg), and the event loop kept busy while the peer floods: the queue must overflow.
    const small = rxMode === "mmsg" ? { rcvbuf: 4096 } : { ringBlockSize: 128 << 10, ringBlockCount: 1 };
    dp.openPacket(0, { ifname: v2.host, netnsPath: nsPath(br), rxMode, ...small });
    const flood = () =>
      sh("ip", ["netns", "exec", ns2, "/usr/bin/python3", "-c",
        `import socket\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\ns.bind(("${v2.peer}", 0))\nf = b"\\xff" * 6 + b"\\x02" * 6 + b"\\x88\\xb5" + bytes(1000)\nfor _ in range(2000): s.send(f)`]);
    flood();
    expect(stat(dp, 0, PortStat.rxDropped)).toBe(0);
    dp.refreshStats!();
    // A starved machine can lose the flood before it reaches the socket (the
    // per-CPU backlog): flood again, still without reading, until the socket drops.
    for (let i = 0; i < 4 && stat(dp, 0, PortStat.rxDropped) === 0; i++) {
      flood();
      dp.refreshStats!();
    }
    expect(stat(dp, 0, PortStat.rxDropped)).toBeGreaterThan(0);
    dp.close();
  });

  it("refuses a frame larger than any device takes with a counted drop, before any copy", () => {
    const br = addNs();
    const ns2 = addNs();
    const v2 = vethPair(br, ns2, "10.85.0.2/24");
    // Slots of 4 MiB: the addon's own API can hand transmit a 3 MiB frame.
    const dp = new native.Dataplane({ batchSize: 1, slotSize: 4 << 20 }, () => {});
    dataplanes.push(dp);
    dp.openPacket(0, { ifname: v2.host, netnsPath: nsPath(br), vnetHdr: false });
    const frame = new Uint8Array(3 << 20);
    frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45]);
    const needsCsum = Uint8Array.from([1, 0, 0, 0, 0, 0, 34, 0, 16, 0]);
    sendOne(dp, frame, needsCsum, 0);
    sendOne(dp, frame, new Uint8Array(10), 0);
    expect(stat(dp, 0, PortStat.txOversize)).toBe(2);
    expect(stat(dp, 0, PortStat.txErrors)).toBe(0);
    expect(stat(dp, 0, PortStat.txSyscalls)).toBe(0);
    dp.close();
  });

  it.each(["v2", "v3", "mmsg"] as const)("re-inserts the 802.1Q tag the kernel strips and forwards the frame tagged, receive mode %s", async (rxMode) => {
    const br = addNs();
    const ns1 = addNs();
    const ns2 = addNs();
    const v1 = vethPair(br, ns1, "10.81.0.1/24");
    const v2 = vethPair(br, ns2, "10.81.0.2/24");
    const f = track(forwarder(native, { 0: 1, 1: 0 }));
    const seen: { tpid: number; vid: number; type: number }[] = [];
    const src = "02:00:00:00:42:01";
    f.inspect = (port, frame) => {
      const mac = Array.from(frame.subarray(6, 12), (b) => b.toString(16).padStart(2, "0")).join(":");
      if (port === 0 && mac === src) seen.push({ tpid: (frame[12] << 8) | frame[13], vid: ((frame[14] << 8) | frame[15]) & 0xfff, type: (frame[16] << 8) | frame[17] });
    };
    f.dp.openPacket(0, { ifname: v1.host, netnsPath: nsPath(br), rxMode });
    f.dp.openPacket(1, { ifname: v2.host, netnsPath: nsPath(br), rxMode });

    // A generous bound: tcpdump ends with the first frame, and scapy's import alone can take seconds on a loaded machine.
    const capture = inNs(ns2, "timeout", ["40", "tcpdump", "-i", v2.peer, "-e", "-nn", "-c", "1", "-l", "ether", "src", src], 45_000);
    await sleep(1500); // tcpdump attaches
    const send = await inNs(ns1, "/usr/bin/python3", [
      "-c",
      `from scapy.all import *; sendp(Ether(dst="ff:ff:ff:ff:ff:ff",src="${src}")/Dot1Q(vlan=42)/IP(src="10.81.0.1",dst="10.81.0.2")/ICMP(), iface="${v1.peer}", verbose=0)`,
    ]);
    expect(send.code, send.stderr).toBe(0);
    const captured = await capture;
    expect(seen).toEqual([{ tpid: 0x8100, vid: 42, type: 0x0800 }]);
    expect(captured.stdout).toMatch(/vlan 42/);
    expect(captured.stdout).toMatch(new RegExp(src));
    f.dp.close();
  });

  it("throws errors with code, errno and syscall, and leaks no fd", () => {
    const ns = addNs();
    const f = track(forwarder(native, {}));
    const before = fdCount();
    let error: (Error & { code?: string; errno?: number; syscall?: string }) | undefined;
    try {
      f.dp.openPacket(0, { ifname: "tbnope7", netnsPath: nsPath(ns) });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error?.code).toBe("ENODEV");
    expect(error?.message).toMatch(/tbnope7/);
    expect(typeof error?.errno).toBe("number");
    expect(error?.syscall).toBe("if_nametoindex");
    expect(() => f.dp.openTap(0, { name: "abcdefghijklmnop", netnsPath: nsPath(ns) })).toThrow(/15/);
    expect(() => f.dp.openTap(MAX_PORTS, { name: "x1", netnsPath: nsPath(ns) })).toThrow(RangeError);
    expect(() => f.dp.openTap(-1, { name: "x1", netnsPath: nsPath(ns) })).toThrow(RangeError);
    expect(() => f.dp.openTap(0, { name: "x1", netnsPath: "/run/netns/tb-no-such-ns" })).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(() => f.dp.openPacket(0, { ifname: "lo", netnsPath: nsPath(ns), ringBlockSize: 3000 })).toThrow(RangeError);
    // attaching a TAP to a name held by a veth fails cleanly, and says the name is taken
    ip("-n", ns, "link", "add", "tbve0", "type", "veth", "peer", "name", "tbve1");
    expect(() => f.dp.openTap(0, { name: "tbve0", netnsPath: nsPath(ns) })).toThrow(
      expect.objectContaining({ code: "EEXIST", message: "interface tbve0 already exists and is a veth device, not a TAP: the name is taken" }),
    );
    // index in use
    const tap = uniq("tte");
    f.dp.openTap(3, { name: tap, netnsPath: nsPath(ns) });
    expect(() => f.dp.openTap(3, { name: uniq("tte"), netnsPath: nsPath(ns) })).toThrow(/already in use/);
    expect(fdCount()).toBe(before + 1);
    f.dp.close();
    expect(fdCount()).toBe(before);
  });

  it("refuses what Linux refuses as a bridge port, and leaves it as it found it", () => {
    const ns = addNs();
    const f = track(forwarder(native, {}));
    const at = { netnsPath: nsPath(ns) };
    const flags = (dev: string) => Number(sh("ip", ["netns", "exec", ns, "cat", `/sys/class/net/${dev}/flags`]).trim());
    const refused = (fn: () => unknown, code: string, message: RegExp) => expect(fn).toThrow(expect.objectContaining({ code, syscall: "refuse", message: expect.stringMatching(message) }));
    refused(() => f.dp.openPacket(0, { ifname: "lo", ...at }), "EINVAL", /^interface lo is the loopback device: a bridge port must be an Ethernet device/);
    ip("-n", ns, "tuntap", "add", "mode", "tun", "name", "tbtun0");
    refused(() => f.dp.openPacket(0, { ifname: "tbtun0", ...at }), "EINVAL", /^interface tbtun0 is not an Ethernet device \(link\/none, a TUN device\)/);
    refused(() => f.dp.openTap(0, { name: "tbtun0", ...at }), "EEXIST", /^interface tbtun0 already exists and is a TUN device \(layer 3\), not a TAP: the name is taken$/);
    ip("-n", ns, "link", "add", "tbbr0", "type", "bridge");
    refused(() => f.dp.openPacket(0, { ifname: "tbbr0", ...at }), "ELOOP", /^interface tbbr0 is a bridge: a bridge cannot be a port of another bridge/);
    ip("-n", ns, "link", "add", "tbsl0", "type", "veth", "peer", "name", "tbsl1");
    ip("-n", ns, "link", "set", "tbsl0", "master", "tbbr0");
    const before = ["tbtun0", "tbbr0", "tbsl0"].map(flags);
    expect(before.map((f) => f & 0x1)).toEqual([0, 0, 0]); // all down
    refused(() => f.dp.openPacket(0, { ifname: "tbtun0", ...at }), "EINVAL", /TUN device/);
    refused(() => f.dp.openPacket(0, { ifname: "tbbr0", ...at }), "ELOOP", /is a bridge/);
    refused(() => f.dp.openPacket(0, { ifname: "tbsl0", ...at }), "EBUSY", /^interface tbsl0 is already a port of bridge tbbr0; release it first \(ip link set tbsl0 nomaster\)$/);
    // A refused attach leaves each as it was: down, its promiscuity unchanged.
    expect(["tbtun0", "tbbr0", "tbsl0"].map(flags)).toEqual(before);
    // Names with '%' are patterns to the kernel, which would pick a name of its own.
    expect(() => f.dp.openTap(0, { name: "tap%d", ...at })).toThrow(/contains '%'/);
    expect(() => f.dp.openPacket(0, { ifname: "eth%d", ...at })).toThrow(/contains '%'/);
    // A device that is down, attached and closed again: brought up by the attach (a port must be up).
    ip("-n", ns, "link", "set", "tbsl0", "nomaster");
    f.dp.openPacket(0, { ifname: "tbsl0", ...at });
    expect(flags("tbsl0") & 0x1).toBe(0x1);
    f.dp.close();
    expect(flags("tbsl0") & 0x100).toBe(0); // promiscuity went with the socket
  });

  it("removes non-persistent TAPs on close, keeps persistent ones until closePort(i, true)", () => {
    const ns = addNs();
    const f = track(forwarder(native, {}));
    const plain = uniq("ttp");
    const kept = uniq("ttk");
    f.dp.openTap(0, { name: plain, netnsPath: nsPath(ns) });
    const k = f.dp.openTap(1, { name: kept, netnsPath: nsPath(ns), persist: true, mac: "02:00:00:00:00:07", mtu: 9000 });
    expect(k).toMatchObject({ created: true, mac: "02:00:00:00:00:07", mtu: 9000 });
    f.dp.close();
    expect(linkExists(ns, plain)).toBe(false);
    expect(linkExists(ns, kept)).toBe(true);
    const again = f.dp.openTap(2, { name: kept, netnsPath: nsPath(ns) });
    expect(again.created).toBe(false);
    expect(again.mac).toBe("02:00:00:00:00:07");
    f.dp.closePort(2, true);
    expect(linkExists(ns, kept)).toBe(false);
    f.dp.closePort(2, true); // idempotent
  });

  it("restarts polling after an error on the fd and says so; ends a deleted TAP's receive side", async () => {
    const br = addNs();
    const ns1 = addNs();
    const ns2 = addNs();
    const v1 = vethPair(br, ns1, "10.84.0.1/24");
    const v2 = vethPair(br, ns2, "10.84.0.2/24");
    const events: string[] = [];
    const dp = new native.Dataplane({ batchSize: 64, slotSize: VNET_AREA + HEADROOM + 65550 }, (n) => {
      const { rxPort, egress } = dp;
      egress.fill(0, 0, n * EGRESS_WORDS);
      for (let i = 0; i < n; i++) egress[i * EGRESS_WORDS] = rxPort[i] === 0 ? 2 : rxPort[i] === 1 ? 1 : 0;
      dp.transmit(n);
    }, (index, type, code) => events.push(`${index} ${type} ${code}`));
    dataplanes.push(dp);
    dp.openPacket(0, { ifname: v1.host, netnsPath: nsPath(br) });
    dp.openPacket(1, { ifname: v2.host, netnsPath: nsPath(br) });
    expect((await inNs(ns1, "ping", ["-c", "1", "-W", "2", "10.84.0.2"])).code).toBe(0);
    ip("-n", br, "link", "set", v1.host, "down");
    await sleep(200);
    ip("-n", br, "link", "set", v1.host, "up");
    let answered = false;
    for (let i = 0; i < 20 && !answered; i++) answered = (await inNs(ns1, "ping", ["-c", "1", "-W", "1", "10.84.0.2"])).code === 0;
    expect(answered).toBe(true);
    expect(events).toContain("0 rx-error ENETDOWN");
    expect(dp.dpStats[7]).toBeGreaterThanOrEqual(1); // pollErrors

    const tap = uniq("ttd");
    dp.openTap(2, { name: tap, netnsPath: nsPath(ns2) });
    ip("-n", ns2, "link", "del", tap);
    for (let i = 0; i < 50 && !events.some((e) => e.startsWith("2 ")); i++) await sleep(20);
    expect(events).toContain("2 rx-stopped EBADFD");
    dp.closePort(2);
    dp.close();
  });

  it("runs every batch's callback whatever onBatch throws (not only Errors)", async () => {
    const nsA = addNs();
    const thrown: unknown[] = [42, "a string", undefined, null, { get stack() { throw new Error("stack getter"); } }, Symbol("s"), new Error("an Error")];
    let calls = 0;
    const dp = new native.Dataplane({ batchSize: 1, slotSize: VNET_AREA + HEADROOM + 65550 }, () => {
      throw thrown[calls++ % thrown.length];
    });
    dataplanes.push(dp);
    const tap = uniq("ttn");
    dp.openTap(0, { name: tap, netnsPath: nsPath(nsA) });
    ip("-n", nsA, "addr", "add", "10.86.0.1/24", "dev", tap);
    ip("-n", nsA, "neigh", "add", "10.86.0.2", "lladdr", "02:00:00:00:00:99", "dev", tap); // 8 pings are 8 frames, no ARP
    await inNs(nsA, "ping", ["-c", "8", "-i", "0.1", "-W", "1", "10.86.0.2"]);
    expect(calls).toBeGreaterThanOrEqual(8);
    expect(dp.dpStats[0]).toBe(calls); // batches: none skipped
    expect(dp.dpStats[6]).toBe(calls); // callbackErrors
    dp.close();
  });

  it("counts an exception thrown by onBatch and keeps running", async () => {
    const nsA = addNs();
    const nsB = addNs();
    let calls = 0;
    const dp = new native.Dataplane({ batchSize: 8, slotSize: VNET_AREA + HEADROOM + 65550 }, () => {
      calls++;
      throw new Error("expected test error from onBatch");
    });
    dataplanes.push(dp);
    const tap = uniq("ttx");
    dp.openTap(0, { name: tap, netnsPath: nsPath(nsA) });
    ip("-n", nsA, "addr", "add", "10.82.0.1/24", "dev", tap);
    void nsB;
    await inNs(nsA, "ping", ["-c", "2", "-i", "0.2", "-W", "1", "10.82.0.2"]);
    expect(calls).toBeGreaterThan(1);
    expect(dp.dpStats[6]).toBe(calls);
    dp.close();
  });
});
