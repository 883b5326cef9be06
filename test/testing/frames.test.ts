/**
 * Frame builders checked twice: by our own decoder, and by tshark reading
 * them from a pcapng file we wrote (checksums validated by the dissector).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import { decodeFrame, describeFrame } from "../../src/testing/decode.js";
import * as F from "../../src/testing/frames.js";
import { capture, matches, waitForFrame } from "../../src/testing/match.js";
import { PcapngWriter, recordPcapng } from "../../src/testing/pcapng.js";
import { decodeBpdu } from "../../src/stp/bpdu.js";
import { makeBridgeId } from "../../src/stp/ids.js";

const dir = mkdtempSync(join(tmpdir(), "tb-frames-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const noNative = () => {
  throw new Error("no addon in unit tests");
};
const A = "02:00:00:00:00:0a";
const B = "02:00:00:00:00:0b";

const samples: [string, Uint8Array][] = [
  ["arp", F.arpRequest({ srcMac: A, srcIp: "10.0.0.1", targetIp: "10.0.0.2", vlan: 10 })],
  ["udp4", F.udp4({ srcMac: A, dstMac: B, srcIp: "10.0.0.1", dstIp: "10.0.0.2", sport: 1234, dport: 5678, payload: "hello" })],
  ["udp6", F.udp6({ srcMac: A, dstMac: B, srcIp: "fd00::1", dstIp: "fd00::2", sport: 1, dport: 2, payload: "x" })],
  ["tcp4", F.tcp4({ srcMac: A, dstMac: B, srcIp: "10.0.0.1", dstIp: "10.0.0.2", sport: 40000, dport: 80, seq: 7, flags: ["SYN"] })],
  ["ping4", F.ping4({ srcMac: A, dstMac: B, srcIp: "10.0.0.1", dstIp: "10.0.0.2", id: 9, seq: 3, payload: "abcdefgh" })],
  ["ping6", F.ping6({ srcMac: A, dstMac: B, srcIp: "fe80::1", dstIp: "fe80::2", id: 9, seq: 4 })],
  ["dhcp", F.dhcpDiscover({ mac: A, xid: 0x1234abcd, hostname: "client" })],
  ["lldp", F.lldpFrame({ srcMac: A, portId: "eth0", systemName: "sw1" })],
  ["qinq", F.ethernet({ src: A, dst: B, qinq: { outer: 100, inner: { vid: 20, pcp: 5 } }, ethertype: 0x88b5, payload: "q" })],
];

describe("frame builders and decoder", () => {
  it("decode what they build, layer by layer", () => {
    const d = Object.fromEntries(samples.map(([k, f]) => [k, decodeFrame(f)]));
    expect(d.arp).toMatchObject({ vlan: 10, arp: { op: "request", senderIp: "10.0.0.1", targetIp: "10.0.0.2", senderMac: A } });
    expect(d.udp4).toMatchObject({ ipv4: { src: "10.0.0.1", dst: "10.0.0.2", protocol: 17, checksumOk: true }, udp: { sport: 1234, dport: 5678 } });
    expect(new TextDecoder().decode(d.udp4!.payload)).toBe("hello");
    expect(d.udp6).toMatchObject({ ipv6: { src: "fd00::1", dst: "fd00::2", nextHeader: 17 }, udp: { sport: 1, dport: 2 } });
    expect(d.tcp4).toMatchObject({ tcp: { sport: 40000, dport: 80, seq: 7, flags: ["SYN"] } });
    expect(d.ping4).toMatchObject({ icmp: { echo: "request", id: 9, seq: 3 } });
    expect(d.ping6).toMatchObject({ icmpv6: { echo: "request", seq: 4 }, ipv6: { src: "fe80::1" } });
    expect(d.dhcp).toMatchObject({ dhcp: { op: "request", xid: 0x1234abcd, chaddr: A, messageType: "DISCOVER" }, ipv4: { dst: "255.255.255.255" } });
    expect(d.lldp).toMatchObject({ dst: "01:80:c2:00:00:0e", lldp: { chassisId: A, portId: "eth0", ttl: 120, systemName: "sw1" } });
    expect(d.qinq!.tags).toEqual([
      { tpid: 0x88a8, vid: 100, pcp: 0, dei: false },
      { tpid: 0x8100, vid: 20, pcp: 5, dei: false },
    ]);
    expect(describeFrame(samples[0]![1])).toBe(`${A} > ff:ff:ff:ff:ff:ff vlan 10, ARP who-has 10.0.0.2 tell 10.0.0.1 (60 bytes)`);
    expect(matches(d.dhcp!, { dhcp: { messageType: "discover" } })).toBe(true);
    expect(matches(d.dhcp!, { arp: {} })).toBe(false);
    expect(matches(d.tcp4!, { tcp: { flags: ["SYN"] } })).toBe(true);
    const root = makeBridgeId(4096, A);
    const bpdu = F.stpBpdu({ src: A, bpdu: { type: "config", version: 0, flags: 0, rootId: root, rootPathCost: 4, bridgeId: root, portId: 0x8001, messageAge: 0, maxAge: 20_000, helloTime: 2_000, forwardDelay: 15_000 } });
    const decoded = decodeFrame(bpdu);
    expect(decoded).toMatchObject({ dst: "01:80:c2:00:00:00", stp: { type: "config", protocol: 0 } });
    expect(decodeBpdu(decoded.stp!.body)).toMatchObject({ type: "config", rootId: root, rootPathCost: 4, portId: 0x8001 });
    expect(() => F.ipv4Address("10.0.0.256")).toThrow(/not an IPv4 address/);
    expect(() => F.ethernet({ src: A, dst: B, vlan: 4096, ethertype: 1 })).toThrow(/VLAN ID 4096 is out of range/);
  });

  it("tshark reads them from our pcapng with valid checksums and the right fields", () => {
    const file = join(dir, "samples.pcapng");
    const w = new PcapngWriter(file);
    const id = w.addInterface("m0", "samples");
    samples.forEach(([, f], i) => w.writePacket(id, 1_700_000_000_000_000 + i * 1000, f, { direction: "out", ...(i === 0 ? { comment: "first" } : {}) }));
    w.close();
    const out = execFileSync("tshark", [
      "-r", file, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
      "-T", "fields", "-E", "separator=|", "-e", "frame.protocols", "-e", "vlan.id", "-e", "ip.checksum.status", "-e", "udp.checksum.status",
      "-e", "tcp.checksum.status", "-e", "icmp.checksum.status", "-e", "icmpv6.checksum.status", "-e", "dhcp.option.dhcp", "-e", "frame.comment", "-e", "ieee8021ad.id",
    ], { encoding: "utf8" });
    const rows = out.trim().split("\n").map((l) => l.split("|"));
    expect(rows).toHaveLength(samples.length);
    const protocols = rows.map((r) => r[0]);
    expect(protocols[0]).toBe("eth:ethertype:vlan:ethertype:arp");
    expect(protocols[6]).toContain("dhcp");
    expect(protocols[7]).toContain("lldp");
    expect(rows[0]![1]).toBe("10");
    expect(rows[8]![1]).toBe("20");
    expect(rows[8]![9]).toBe("100");
    // checksum status 1 = good (0 bad, 2 unverified)
    for (const r of rows) for (const c of r.slice(2, 7)) if (c) expect(c, r.join("|")).toBe("1");
    expect(rows[6]![7]).toBe("1");
    expect(rows[0]![8]).toBe("first");
  });
});

describe("waitForFrame, capture, recordPcapng", () => {
  it("waitForFrame finds a frame already received or arriving later, and lists what arrived when none matches", async () => {
    const b = new Bridge({ native: noNative });
    const a = b.addPort(new MemoryPort("a"));
    const c = b.addPort(new MemoryPort("c"));
    a.send(F.arpRequest({ srcMac: A, srcIp: "10.0.0.1", targetIp: "10.0.0.2" }));
    expect((await waitForFrame(c, { arp: { targetIp: "10.0.0.2" } })).src).toBe(A);
    const later = waitForFrame(c, { udp: { dport: 53 } });
    setTimeout(() => a.send(F.udp4({ srcMac: A, srcIp: "10.0.0.1", dstIp: "10.0.0.9", sport: 5, dport: 53 })), 5);
    expect((await later).ipv4?.dst).toBe("10.0.0.9");
    const miss = waitForFrame(c, { dhcp: { messageType: "OFFER" } }, { timeoutMs: 50 });
    await expect(miss).rejects.toThrow(/no frame matching \{"dhcp":\{"messageType":"OFFER"\}\} reached c within 50 ms; 2 other frames arrived:\n  1\. 02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff ARP who-has 10.0.0.2/);
    b.close();
  });

  it("waitForFrame rejects with what a listener threw", async () => {
    const b = new Bridge({ native: noNative });
    const a = b.addPort(new MemoryPort("a"));
    const c = b.addPort(new MemoryPort("c"));
    c.impair({ delay: 1 }, "egress"); // delivered from a timer: no send() to throw to
    c.onFrame(() => {
      throw new Error("assertion inside a listener");
    });
    const wait = waitForFrame(c, { udp: {} }, { timeoutMs: 1000 });
    a.send(F.arpRequest({ srcMac: A, srcIp: "10.0.0.1", targetIp: "10.0.0.2" }));
    await expect(wait).rejects.toThrow("assertion inside a listener");
    b.close();
  });

  it("capture is a live async iterator; MemoryPort.capture filters raw frames", async () => {
    const b = new Bridge({ native: noNative });
    const a = b.addPort(new MemoryPort("a"));
    const c = b.addPort(new MemoryPort("c"));
    const tap = capture(c, { icmp: { echo: "request" } });
    const raw = c.capture((f) => f.length > 70);
    for (let seq = 1; seq <= 3; seq++) a.send(F.ping4({ srcMac: A, srcIp: "10.0.0.1", dstIp: "10.0.0.2", seq, payload: "x".repeat(seq * 20) }));
    a.send(F.arpRequest({ srcMac: A, srcIp: "10.0.0.1", targetIp: "10.0.0.2" }));
    const seqs: number[] = [];
    for await (const f of tap) {
      seqs.push(f.decoded.icmp!.seq!);
      if (seqs.length === 3) break;
    }
    expect(seqs).toEqual([1, 2, 3]);
    const first = await raw.next();
    expect(decodeFrame(first.value as Uint8Array).icmp?.seq).toBe(2);
    raw.close();
    b.close();
  });

  it("recordPcapng writes every port with direction, drop reasons and VLAN tags that tshark reads back", () => {
    const b = new Bridge({ native: noNative });
    const a = b.addPort(new MemoryPort("a"));
    b.addPort(new MemoryPort("c"));
    const file = join(dir, "bridge.pcapng");
    const rec = recordPcapng(b, file);
    a.send(F.arpRequest({ srcMac: A, srcIp: "10.0.0.1", targetIp: "10.0.0.2", vlan: 42 }));
    a.send(F.ethernet({ src: "01:00:5e:00:00:01", dst: B, ethertype: 0x88b5 })); // invalid source: dropped
    rec.close();
    expect(rec.packets).toBe(3);
    const out = execFileSync("tshark", ["-r", file, "-T", "fields", "-E", "separator=|", "-e", "frame.interface_name", "-e", "frame.p2p_dir", "-e", "pkt_comment", "-e", "vlan.id", "-e", "frame.comment"], { encoding: "utf8" });
    const rows = out.trim().split("\n").map((l) => l.split("|"));
    expect(rows.map((r) => r[0])).toEqual(["a", "c", "a"]);
    expect(rows[0]![3]).toBe("42");
    expect(rows[1]![3]).toBe("42");
    expect(rows[2]!.join("|")).toContain("dropped: invalid_source");
    b.close();
  });

  it("records frames as they leave each port: tagged on a trunk, untagged on an access port", () => {
    const b = new Bridge({ native: noNative });
    const trunk = b.addPort(new MemoryPort("trunk"));
    b.addPort(new MemoryPort("access"));
    b.setPortVlans("trunk", { trunk: "10" });
    b.setPortVlans("access", { access: 10 });
    const file = join(dir, "vlan.pcapng");
    const rec = recordPcapng(b, file);
    trunk.send(F.arpRequest({ srcMac: A, srcIp: "10.0.0.1", targetIp: "10.0.0.2", vlan: 10 }));
    rec.close();
    const out = execFileSync("tshark", ["-r", file, "-T", "fields", "-E", "separator=|", "-e", "frame.interface_name", "-e", "vlan.id", "-e", "arp.dst.proto_ipv4"], { encoding: "utf8" });
    expect(out.trim().split("\n")).toEqual(["trunk|10|10.0.0.2", "access||10.0.0.2"]);
    b.close();
  });
});
