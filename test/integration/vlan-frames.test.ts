/**
 * VLAN rules through real ports, as root: crafted frames (scapy, via
 * /usr/bin/python3) sent into AF_PACKET and TAP ports of a VLAN-aware bridge
 * and captured where they come out, byte for byte; in-memory twins of the
 * native ports must get exactly the same bytes.
 *
 *   hosts namespace                     bridge namespace
 *   a1 ── veth ── p-a1   access=59   ┐
 *   a2 ── veth ── p-a2   access=59   │  one Bridge (this process),
 *   t1 ── veth ── p-t1   trunk=59,89:native=1   AF_PACKET ports,
 *   t2 ── veth ── p-t2   trunk=59,89 │  plus in-memory ports "mem-access"
 *   b1 ── veth ── p-b1   access=89   ┘  (access=59) and "mem-trunk" (trunk=59,89)
 *   tap ─────────────────────── access=59, a TAP port (created in the hosts namespace)
 *   s1 ── veth ── p-s1   trunk=59, no virtio-net header (software GSO)
 *   s2 ── veth ── p-s2   access=89, no virtio-net header
 */
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { PacketPort, TapPort } from "../../src/io/native-port.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import { Lab, run } from "../../src/testing/lab.js";

const PROBE = fileURLToPath(new URL("../tools/vlan-probe.py", import.meta.url));
const MARKER = Buffer.from("tapbridge-vlan-probe").toString("hex");
const lab = new Lab("tbv");
const tmp = mkdtempSync(path.join(os.tmpdir(), "tbv-"));
let hosts = "";
let bridgeNs = "";
let bridge: Bridge;
const host: Record<string, string> = {};
let memAccess: MemoryPort;
let memTrunk: MemoryPort;
let tapName = "";

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("this test builds network namespaces and must run as root");
  await run(["bash", fileURLToPath(new URL("../../scripts/ensure-system-deps.sh", import.meta.url)), "python3-scapy"], { timeoutMs: 600_000 });
  hosts = await lab.netns("h");
  bridgeNs = await lab.netns("b");
  bridge = new Bridge({ name: "vlanframes" });
  const ports: [string, string][] = [
    ["a1", "access=59"],
    ["a2", "access=59"],
    ["t1", "trunk=59,89:native=1"],
    ["t2", "trunk=59,89"],
    ["b1", "access=89"],
  ];
  for (const [name] of ports) {
    host[name] = lab.ifname(name);
    await lab.veth({ ns: hosts, name: host[name]! }, { ns: bridgeNs, name: lab.ifname(`p${name}`) });
  }
  const spec = (s: string) => Object.fromEntries(s.split(":").map((kv) => kv.split("=")).map(([k, v]) => [k, k === "trunk" ? v : Number(v)]));
  for (const [name, s] of ports) bridge.addPort(new PacketPort({ name: lab.ifname(`p${name}`), netns: bridgeNs }), spec(s!));
  for (const [name, s] of [["s1", { trunk: [59] }], ["s2", { access: 89 }]] as const) {
    host[name] = lab.ifname(name);
    await lab.veth({ ns: hosts, name: host[name]! }, { ns: bridgeNs, name: lab.ifname(`p${name}`) });
    bridge.addPort(new PacketPort({ name: lab.ifname(`p${name}`), netns: bridgeNs, vnetHdr: false }), s);
  }
  tapName = lab.ifname("tap");
  bridge.addPort(new TapPort({ name: tapName, netns: hosts }), { access: 59 });
  host.tap = tapName;
  memAccess = bridge.addPort(new MemoryPort("mem-access"), { access: 59 });
  memTrunk = bridge.addPort(new MemoryPort("mem-trunk"), { trunk: [59, 89] });
}, 600_000);

afterAll(async () => {
  bridge?.close();
  await lab.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

type Tag = { vid: number; pcp?: number; dei?: boolean; tpid?: number };
let seq = 0;
/** A broadcast IPv4-ethertype frame from a fresh source MAC, carrying the marker, with these tags (outer first). */
function frame(tags: Tag[]): Buffer {
  const src = Buffer.from([0x02, 0x7b, 0xee, 0, 0, ++seq]);
  const head = Buffer.concat([Buffer.alloc(6, 0xff), src]);
  const tagBytes = tags.map((t) => {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(t.tpid ?? 0x8100, 0);
    b.writeUInt16BE(((t.pcp ?? 0) << 13) | (t.dei ? 0x1000 : 0) | t.vid, 2);
    return b;
  });
  const body = Buffer.concat([Buffer.from([0x08, 0x00]), Buffer.from(MARKER, "hex"), Buffer.alloc(30, 0x5a)]);
  return Buffer.concat([head, ...tagBytes, body]);
}

/** The same frame with other tags (source MAC and body unchanged). */
function retag(f: Buffer, tagsNow: number, tags: Tag[]): Buffer {
  const t = frame(tags);
  return Buffer.concat([f.subarray(0, 12), t.subarray(12, 12 + 4 * tags.length), f.subarray(12 + 4 * tagsNow)]);
}

/** Send `f` on host interface `from`; what every host interface, the TAP and the memory ports got. */
async function probe(from: string, f: Buffer): Promise<Record<string, string[]>> {
  for (const m of [memAccess, memTrunk]) m.take();
  const cfg = path.join(tmp, `probe-${seq}.json`);
  writeFileSync(cfg, JSON.stringify({ listen: Object.values(host), marker: MARKER, send: [{ iface: host[from], hex: f.toString("hex") }], settle_ms: 700 }));
  const r = await lab.exec(hosts, ["/usr/bin/python3", PROBE, cfg], { timeoutMs: 60_000 });
  const byIface = JSON.parse(r.stdout) as Record<string, string[]>;
  const out: Record<string, string[]> = {};
  for (const [name, iface] of Object.entries(host)) if (byIface[iface]!.length) out[name] = byIface[iface]!;
  for (const [name, m] of [["mem-access", memAccess], ["mem-trunk", memTrunk]] as const) {
    const got = m.take().map((b) => Buffer.from(b).toString("hex"));
    if (got.length) out[name] = got;
  }
  return out;
}

const hex = (b: Buffer) => b.toString("hex");

/**
 * tshark's reading of one frame (hex), as an independent decoder of what was
 * on the wire: the requested fields, tab-separated, in order.
 */
async function tshark(frameHex: string, fields: string[]): Promise<string[]> {
  const f = Buffer.from(frameHex, "hex");
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const record = Buffer.alloc(16);
  record.writeUInt32LE(f.length, 8);
  record.writeUInt32LE(f.length, 12);
  const file = path.join(tmp, `decode-${++seq}.pcap`);
  writeFileSync(file, Buffer.concat([global, record, f]));
  const r = await run(["tshark", "-r", file, "-T", "fields", ...fields.flatMap((e) => ["-e", e])], { timeoutMs: 60_000 });
  return r.stdout.trim().split("\t");
}

describe("VLANs through real ports (crafted frames)", { timeout: 120_000 }, () => {
  it("drops and counts a tagged frame with a non-member VID entering a trunk", async () => {
    const before = bridge.portStats(`${lab.ifname("pt1")}@${bridgeNs}`).drops.vlan_not_member ?? 0;
    expect(await probe("t1", frame([{ vid: 42 }]))).toEqual({});
    expect(bridge.portStats(`${lab.ifname("pt1")}@${bridgeNs}`).drops.vlan_not_member).toBe(before + 1);
  });

  it("takes a priority-tagged frame on an access port to the other access ports of the VLAN untagged, and tags it on trunks keeping PCP", async () => {
    const f = frame([{ vid: 0, pcp: 3 }]);
    const got = await probe("a1", f);
    const untagged = hex(retag(f, 1, []));
    const tagged = hex(retag(f, 1, [{ vid: 59, pcp: 3 }]));
    expect(got).toEqual({ a2: [untagged], t1: [tagged], t2: [tagged], s1: [tagged], tap: [untagged], "mem-access": [untagged], "mem-trunk": [tagged] });
  });

  it("keeps PCP 5 and DEI from trunk to trunk, and untags toward access ports", async () => {
    const f = frame([{ vid: 59, pcp: 5, dei: true }]);
    const got = await probe("t1", f);
    const untagged = hex(retag(f, 1, []));
    expect(got).toEqual({ t2: [hex(f)], s1: [hex(f)], a1: [untagged], a2: [untagged], tap: [untagged], "mem-access": [untagged], "mem-trunk": [hex(f)] });
  });

  it("carries an S-tagged (0x88a8) frame from an access port out of a trunk with its S-tag inside the C-tag", async () => {
    const f = frame([{ tpid: 0x88a8, vid: 300, pcp: 2 }]);
    const got = await probe("a1", f);
    const qinq = hex(retag(f, 1, [{ vid: 59 }, { tpid: 0x88a8, vid: 300, pcp: 2 }]));
    expect(got).toEqual({ a2: [hex(f)], t1: [qinq], t2: [qinq], s1: [qinq], tap: [hex(f)], "mem-access": [hex(f)], "mem-trunk": [qinq] });
    // tshark reads what left the trunk as an 802.1Q tag (VLAN 59, PCP 0) holding the customer's 802.1ad tag (300, PCP 2) intact.
    const [protocols, cVid, cPcp, sVid, sPcp] = await tshark(got.t1![0]!, ["frame.protocols", "vlan.id", "vlan.priority", "ieee8021ad.id", "ieee8021ad.priority"]);
    expect(protocols).toMatch(/^eth:ethertype:vlan:ethertype:ieee8021ad:ethertype:ip/);
    expect([cVid, cPcp, sVid, sPcp]).toEqual(["59", "0", "300", "2"]);
  });

  it("as an 802.1ad bridge: S-tags (0x88a8) go on at trunks and come off at access ports through AF_PACKET, a customer's C-tagged frame rides inside", async () => {
    bridge.vlanProtocol = "802.1ad";
    try {
      // Untagged into an access port: S-tag 59 on the trunks (the kernel reports it as TPID 0x88a8 in PACKET_AUXDATA; put back as such).
      const plain = frame([]);
      const sTagged = hex(retag(plain, 0, [{ tpid: 0x88a8, vid: 59 }]));
      expect(await probe("a1", plain)).toEqual({ a2: [hex(plain)], t1: [sTagged], t2: [sTagged], s1: [sTagged], tap: [hex(plain)], "mem-access": [hex(plain)], "mem-trunk": [sTagged] });
      // An S-tagged frame of VLAN 59 from a trunk: to the access ports without its S-tag, PCP kept trunk to trunk.
      const fromTrunk = frame([{ tpid: 0x88a8, vid: 59, pcp: 4 }]);
      const got = await probe("t1", fromTrunk);
      const bare = hex(retag(fromTrunk, 1, []));
      expect(got).toEqual({ t2: [hex(fromTrunk)], s1: [hex(fromTrunk)], a1: [bare], a2: [bare], tap: [bare], "mem-access": [bare], "mem-trunk": [hex(fromTrunk)] });
      // A customer's C-tagged frame on an access port is untagged to an 802.1ad bridge: it leaves the trunk inside S-VLAN 59.
      const customer = frame([{ vid: 100, pcp: 6 }]);
      const qinq = hex(retag(customer, 1, [{ tpid: 0x88a8, vid: 59 }, { vid: 100, pcp: 6 }]));
      const out = await probe("a1", customer);
      expect(out.t1).toEqual([qinq]);
      const [protocols, sVid, cVid, cPcp] = await tshark(out.t1![0]!, ["frame.protocols", "ieee8021ad.id", "vlan.id", "vlan.priority"]);
      expect(protocols).toMatch(/^eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ip/);
      expect([sVid, cVid, cPcp]).toEqual(["59", "100", "6"]);
      // A C-tag is not this bridge's tag: an 802.1Q-tagged frame on a trunk is untagged to it, so it goes to the trunk's PVID (VLAN 1, native on t1 only).
      expect(await probe("t2", frame([{ vid: 59 }]))).toEqual({});
      expect(bridge.portStats(`${lab.ifname("pt2")}@${bridgeNs}`).drops.no_pvid).toBeGreaterThanOrEqual(1);
    } finally {
      bridge.vlanProtocol = "802.1Q";
    }
  });

  it("carries the native VLAN untagged, and keeps VLAN 89 away from VLAN 59's ports", async () => {
    const native = frame([]);
    expect(await probe("t1", native)).toEqual({}); // VLAN 1: no other member
    const f = frame([{ vid: 89, pcp: 1 }]);
    const untagged = hex(retag(f, 1, []));
    expect(await probe("t2", f)).toEqual({ t1: [hex(f)], b1: [untagged], s2: [untagged], "mem-trunk": [hex(f)] });
    const counters = bridge.vlans().find((p) => p.port === `${lab.ifname("pb1")}@${bridgeNs}`)!.vlans.find((v) => v.vid === 89)!;
    expect(counters.txPackets).toBeGreaterThanOrEqual(1);
  });
});

/** A TCP/IPv4 frame of `payload` bytes (10.84.0.1 → .2) after `tags`, and its virtio-net header. */
function tcpFrame(dst: string, tags: Tag[], payload: number, gso: boolean): { frame: Uint8Array; vnet: Uint8Array } {
  const l3 = 14 + 4 * tags.length;
  const f = Buffer.alloc(l3 + 40 + payload);
  Buffer.from(dst.split(":").map((h) => parseInt(h, 16))).copy(f, 0);
  Buffer.from([0x02, 0x7b, 0xee, 0, 1, ++seq]).copy(f, 6);
  tags.forEach((t, k) => {
    f.writeUInt16BE(t.tpid ?? 0x8100, 12 + 4 * k);
    f.writeUInt16BE(((t.pcp ?? 0) << 13) | t.vid, 14 + 4 * k);
  });
  f.writeUInt16BE(0x0800, l3 - 2);
  Buffer.from([0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 84, 0, 1, 10, 84, 0, 2]).copy(f, l3);
  f.writeUInt16BE(40 + payload, l3 + 2);
  Buffer.from([0x9c, 0x40, 0x14, 0x51, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]).copy(f, l3 + 20);
  for (let i = 0; i < payload; i++) f[l3 + 40 + i] = i & 0xff;
  // What a sending stack leaves for the offload: the IP header checksum, and
  // the pseudo-header sum in the TCP checksum field (NEEDS_CSUM completes it).
  f.writeUInt16BE(0xffff - onesSum(f.subarray(l3, l3 + 20)), l3 + 10);
  const pseudo = Buffer.concat([f.subarray(l3 + 12, l3 + 20), Buffer.from([0, 6, (20 + payload) >> 8, (20 + payload) & 0xff])]);
  f.writeUInt16BE(onesSum(pseudo), l3 + 36);
  const vnet = Buffer.alloc(10);
  vnet[0] = 1; // NEEDS_CSUM
  vnet[1] = gso ? 1 : 0; // GSO_TCPV4
  vnet.writeUInt16LE(gso ? l3 + 40 : 0, 2);
  vnet.writeUInt16LE(gso ? 1000 : 0, 4);
  vnet.writeUInt16LE(l3 + 20, 6);
  vnet.writeUInt16LE(16, 8);
  return { frame: new Uint8Array(f), vnet: new Uint8Array(vnet) };
}

/** tcpdump on a host interface, until `count` TCP frames were seen. */
function capture(iface: string, count: number) {
  const args = ["timeout", "20", "tcpdump", "-i", iface, "-e", "-nn", "-S", "-vv", "-l", "-c", String(count), "tcp"];
  return lab.exec(hosts, args, { allowFail: true, timeoutMs: 30_000 });
}

describe("software segmentation and checksums across a tag change", { timeout: 120_000 }, () => {
  it("segments a GSO frame gaining a tag (access → trunk without virtio-net header) with correct checksums", async () => {
    const dst = "02:7b:ee:00:09:01";
    bridge.addStaticEntry(dst, `${lab.ifname("ps1")}@${bridgeNs}`, { vlan: 59 });
    const port = `${lab.ifname("ps1")}@${bridgeNs}`;
    const before = bridge.portStats(port);
    const tcpdump = capture(host.s1!, 4);
    await new Promise((r) => setTimeout(r, 1500));
    const { frame, vnet } = tcpFrame(dst, [], 4000, true);
    memAccess.send(frame, vnet);
    const out = (await tcpdump).stdout;
    expect(out.match(/vlan 59, p 0/g)?.length, out).toBe(4);
    expect(out.match(/cksum 0x[0-9a-f]+ \(correct\)/g)?.length, out).toBe(4);
    expect(out).not.toMatch(/bad cksum|incorrect/);
    for (const s of ["1000:2000", "2000:3000", "3000:4000", "4000:5000"]) expect(out).toContain(`seq ${s}`);
    const after = bridge.portStats(port);
    expect(after.txSegmented - before.txSegmented).toBe(1);
    expect(after.txPackets - before.txPackets).toBe(4);
  });

  it("segments a GSO frame losing its tag (trunk → access), and completes a checksum across a tag change", async () => {
    const dst = "02:7b:ee:00:09:02";
    bridge.addStaticEntry(dst, `${lab.ifname("ps2")}@${bridgeNs}`, { vlan: 89 });
    const tcpdump = capture(host.s2!, 5);
    await new Promise((r) => setTimeout(r, 1500));
    const gso = tcpFrame(dst, [{ vid: 89, pcp: 4 }], 4000, true);
    memTrunk.send(gso.frame, gso.vnet);
    const partial = tcpFrame(dst, [{ vid: 89 }], 500, false);
    memTrunk.send(partial.frame, partial.vnet);
    const out = (await tcpdump).stdout;
    expect(out).not.toMatch(/vlan|802\.1Q/);
    expect(out.match(/cksum 0x[0-9a-f]+ \(correct\)/g)?.length, out).toBe(5);
    expect(out).not.toMatch(/bad cksum|incorrect/);
    expect(out, out).toMatch(/length 554: .*\n.*cksum 0x[0-9a-f]+ \(correct\).*length 500/);
  });
});

/** The folded ones'-complement sum of 16-bit big-endian words. */
function onesSum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length & 1) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}
