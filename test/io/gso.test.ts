/**
 * Software offload in the addon, on plain buffers (no root, no devices):
 * TCP and UDP GSO frames, plain and tunnelled, are cut into segments whose
 * every header and checksum is checked here independently; what cannot be
 * segmented is refused; and the decision core's ingress rule (core/gso.ts)
 * agrees with the addon's on every one of many random frames.
 */
import { describe, expect, it } from "vitest";
import { gsoSegmentable } from "../../src/core/gso.js";
import { loadNative } from "../../src/io/native.js";
import { prng } from "../tools/frames.js";
import { build, ETH, ipv4, payload, sum, udp, vnet, type Built } from "../tools/gso-frames.js";

const offload = loadNative().offload!;

// ── independent checks ────────────────────────────────────────────────

const rd16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const rd32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

function pseudo(seg: Uint8Array, ip: { off: number; v4: boolean }, proto: number, len: number): number {
  return ip.v4
    ? sum(seg, ip.off + 12, ip.off + 20, proto + len)
    : sum(seg, ip.off + 8, ip.off + 40, proto + (len >>> 16) + (len & 0xffff));
}

/** Every header of every segment is right, and the payloads put together are the original's. */
function checkSegments(b: Built, segs: Uint8Array[]): void {
  const data: number[] = [];
  const origPayload = b.frame.subarray(b.hdrs);
  const n = Math.max(1, Math.ceil(origPayload.length / b.mss));
  expect(segs).toHaveLength(n);
  segs.forEach((seg, i) => {
    expect(seg.length - b.hdrs).toBeLessThanOrEqual(b.mss);
    for (const ip of b.ips) {
      if (ip.v4) {
        expect(rd16(seg, ip.off + 2)).toBe(seg.length - ip.off);
        expect(sum(seg, ip.off, ip.off + 20)).toBe(0xffff);
        expect(rd16(seg, ip.off + 4)).toBe((rd16(b.frame, ip.off + 4) + i) & 0xffff);
      } else {
        expect(rd16(seg, ip.off + 4)).toBe(seg.length - ip.off - 40);
      }
    }
    const inner = b.ips[b.ips.length - 1]!;
    const l4len = seg.length - b.l4;
    expect(sum(seg, b.l4, seg.length, pseudo(seg, inner, b.l4proto, l4len))).toBe(0xffff);
    if (b.l4proto === 6) {
      expect(rd32(seg, b.l4 + 4)).toBe((1000 + i * b.mss) >>> 0);
      const flags = seg[b.l4 + 13]!;
      expect(Boolean(flags & 0x08)).toBe(i === n - 1); // PSH on the last only
    } else {
      expect(rd16(seg, b.l4 + 4)).toBe(l4len);
    }
    if (b.tunnelUdp !== undefined) {
      const udpLen = seg.length - b.tunnelUdp;
      expect(rd16(seg, b.tunnelUdp + 4)).toBe(udpLen);
      const c = rd16(seg, b.tunnelUdp + 6);
      if (c !== 0) expect(sum(seg, b.tunnelUdp, seg.length, pseudo(seg, b.ips[0]!, 17, udpLen))).toBe(0xffff);
    }
    expect(Array.from(seg.subarray(0, b.ips[0]!.off))).toEqual(Array.from(b.frame.subarray(0, b.ips[0]!.off)));
    data.push(...seg.subarray(b.hdrs));
  });
  expect(data).toEqual(Array.from(origPayload));
}

function accepts(v: Uint8Array, frame: Uint8Array): boolean {
  const slab = new Uint8Array(16 + frame.length);
  slab.set(v, 0);
  slab.set(frame, 16);
  return gsoSegmentable(slab, new DataView(slab.buffer), 0, 16, frame.length);
}

// ── tests ─────────────────────────────────────────────────────────────

describe("software segmentation", () => {
  const cases: [string, Parameters<typeof build>[0]][] = [
    ["TCPv4", { l4: "tcp", inner: 4, payload: 4000, mss: 1448 }],
    ["TCPv6", { l4: "tcp", inner: 6, payload: 9000, mss: 1428 }],
    ["TCPv4 with ECN, in two VLAN tags", { l4: "tcp", inner: 4, payload: 3000, mss: 1000, tags: 2, ecn: true }],
    ["UDPv4 (UDP_L4)", { l4: "udp", inner: 4, payload: 5000, mss: 1472 }],
    ["UDPv6 (UDP_L4)", { l4: "udp", inner: 6, payload: 2000, mss: 1000 }],
    ["TCPv4 in VXLAN over IPv4", { l4: "tcp", inner: 4, payload: 6000, mss: 1398 }],
    ["TCPv4 in VXLAN over IPv4 with an outer UDP checksum", { l4: "tcp", inner: 4, payload: 6000, mss: 1398, tunnel: "vxlan-csum" }],
    ["TCPv6 in VXLAN over IPv6", { l4: "tcp", inner: 6, payload: 4000, mss: 1300, tunnel: "vxlan6" }],
    ["UDPv4 in VXLAN", { l4: "udp", inner: 4, payload: 3000, mss: 1400, tunnel: "vxlan" }],
    ["TCPv4 in IP-in-IP", { l4: "tcp", inner: 4, payload: 3000, mss: 1400, tunnel: "ipip" }],
    ["TCPv6 in IPv4 (6in4)", { l4: "tcp", inner: 6, payload: 3000, mss: 1400, tunnel: "ipip" }],
    ["TCPv4 in GRE", { l4: "tcp", inner: 4, payload: 3000, mss: 1400, tunnel: "gre" }],
    ["a TCP frame with no payload", { l4: "tcp", inner: 4, payload: 0, mss: 1400 }],
  ];
  for (const [name, o] of cases) {
    it(`cuts ${name} into correct segments`, () => {
      const b = build({ tunnel: o.tunnel ?? (name.includes("VXLAN") ? "vxlan" : undefined), ...o } as Parameters<typeof build>[0]);
      const plan = offload.plan(b.vnet, b.frame);
      expect(plan).not.toBeNull();
      expect(plan!.tunnelled).toBe(b.ips.length === 2);
      expect(accepts(b.vnet, b.frame)).toBe(true);
      checkSegments(b, offload.segment(b.vnet, b.frame)!);
    });
  }

  it("keeps CWR on the first segment only", () => {
    const b = build({ l4: "tcp", inner: 4, payload: 3000, mss: 1000, ecn: true });
    b.frame[b.l4 + 13] = 0x80 | 0x10;
    const segs = offload.segment(b.vnet, b.frame)!;
    expect(segs.map((s) => s[b.l4 + 13]! & 0x80)).toEqual([0x80, 0, 0]);
  });

  const refused: [string, (b: Built) => void][] = [
    ["legacy UFO (gso_type UDP)", (b) => (b.vnet[1] = 3)],
    ["no NEEDS_CSUM", (b) => (b.vnet[0] = 0)],
    ["csum_start not at the TCP header", (b) => (b.vnet[6] = b.vnet[6]! + 4)],
    ["csum_offset not TCP's", (b) => (b.vnet[8] = 6)],
    ["gso_size 0", (b) => (b.vnet[4] = b.vnet[5] = 0)],
    ["TCPv6 gso_type on IPv4", (b) => (b.vnet[1] = 4)],
    ["an IPv4 fragment", (b) => (b.frame[b.ips[0]!.off + 6] = 0x20)],
    ["not IP at all", (b) => (b.frame[12] = 0x88)],
    ["csum_start past the frame", (b) => new DataView(b.vnet.buffer).setUint16(6, 60000, true)],
  ];
  for (const [name, spoil] of refused) {
    it(`refuses ${name}, and so does the decision core`, () => {
      const b = build({ l4: "tcp", inner: 4, payload: 3000, mss: 1000 });
      spoil(b);
      expect(offload.plan(b.vnet, b.frame)).toBeNull();
      expect(offload.segment(b.vnet, b.frame)).toBeNull();
      expect(accepts(b.vnet, b.frame)).toBe(false);
    });
  }

  it("refuses GRE with a checksum and a tunnel inside a tunnel", () => {
    const gre = build({ l4: "tcp", inner: 4, payload: 2000, mss: 1000, tunnel: "gre" });
    gre.frame[gre.ips[0]!.off + 20] = 0x80;
    expect(offload.plan(gre.vnet, gre.frame)).toBeNull();
    expect(accepts(gre.vnet, gre.frame)).toBe(false);
    // VXLAN whose inner packet is itself IP-in-IP: csum_start is two tunnels deep.
    const inner = build({ l4: "tcp", inner: 4, payload: 2000, mss: 1000, tunnel: "ipip" });
    const outer = build({ l4: "tcp", inner: 4, payload: 2000, mss: 1000, tunnel: "vxlan" });
    const nested = Uint8Array.from([...outer.frame.subarray(0, outer.ips[1]!.off), ...inner.frame.subarray(14)]);
    const v = vnet({ gso: 1, csumStart: outer.ips[1]!.off + 40, csumOffset: 16, mss: 1000 });
    expect(offload.plan(v, nested)).toBeNull();
    expect(accepts(v, nested)).toBe(false);
  });

  it("completes a partial checksum", () => {
    const data = payload(301);
    const frame = Uint8Array.from([...ETH(0x0800), ...ipv4(17, 20 + 8 + data.length), ...udp(8 + data.length), ...data]);
    // As the kernel leaves a CHECKSUM_PARTIAL frame: the pseudo-header sum in the checksum field.
    const partial = pseudo(frame, { off: 14, v4: true }, 17, 8 + data.length);
    frame[40] = partial >> 8;
    frame[41] = partial & 0xff;
    const v = vnet({ gso: 0, csumStart: 34, csumOffset: 6, mss: 0 });
    const out = offload.complete(v, frame)!;
    expect(sum(out, 34, out.length, pseudo(out, { off: 14, v4: true }, 17, out.length - 34))).toBe(0xffff);
    expect(offload.complete(vnet({ gso: 0, csumStart: 400, csumOffset: 6, mss: 0 }), frame)).toBeNull();
  });
});

describe("the decision core and the addon agree on what can be segmented", () => {
  it("on 200 000 random mutations of valid GSO frames", () => {
    const rnd = prng(6);
    const bases = [
      build({ l4: "tcp", inner: 4, payload: 1200, mss: 500 }),
      build({ l4: "tcp", inner: 6, payload: 1200, mss: 500, tags: 1 }),
      build({ l4: "udp", inner: 4, payload: 900, mss: 300 }),
      build({ l4: "tcp", inner: 4, payload: 900, mss: 300, tunnel: "vxlan" }),
      build({ l4: "udp", inner: 6, payload: 900, mss: 300, tunnel: "vxlan6" }),
      build({ l4: "tcp", inner: 6, payload: 900, mss: 300, tunnel: "ipip" }),
      build({ l4: "tcp", inner: 4, payload: 900, mss: 300, tunnel: "gre" }),
    ];
    let accepted = 0;
    let disagreements = 0;
    for (let n = 0; n < 200_000; n++) {
      const b = bases[n % bases.length]!;
      const frame = b.frame.slice(0, rnd() < 0.1 ? Math.floor(rnd() * b.frame.length) : b.frame.length);
      const v = b.vnet.slice();
      const flips = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < flips; k++) {
        if (rnd() < 0.3) v[Math.floor(rnd() * 10)] = Math.floor(rnd() * 256);
        else if (frame.length) frame[Math.floor(rnd() * Math.min(frame.length, b.hdrs + 8))] = Math.floor(rnd() * 256);
      }
      const native = offload.plan(v, frame) !== null;
      if (native !== accepts(v, frame)) disagreements++;
      if (native) {
        accepted++;
        offload.segment(v, frame); // never crashes, whatever the header says
      }
    }
    expect(disagreements).toBe(0);
    expect(accepted).toBeGreaterThan(10_000); // the mutations leave many frames valid: both paths are exercised
  });
});
