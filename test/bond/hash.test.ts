/**
 * Transmit hashing: balance-slb by source MAC and VLAN only; lacp
 * (balance-tcp) by L2, L3 and L4, with IPv4 fragments kept together; an
 * even spread over the 256 buckets.
 */
import { describe, expect, it } from "vitest";
import { BUCKETS, frameVid, l234Bucket, l234Hash, slbBucket, slbFrameBucket } from "../../src/bond/hash.js";
import { parseMac } from "../../src/core/frame.js";
import { ethernet, ipv4, tcp4, udp, udp4, udp6 } from "../../src/testing/frames.js";

const view = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset, f.byteLength);
const slb = (f: Uint8Array, tag = 0) => slbFrameBucket(view(f), 0, f.length, tag);
const l234 = (f: Uint8Array, tag = 0) => l234Hash(view(f), 0, f.length, tag);

const A = "02:00:00:00:00:0a";
const B = "02:00:00:00:00:0b";

describe("balance-slb hash", () => {
  it("depends on the source MAC and the VLAN, nothing else", () => {
    const one = udp4({ srcMac: A, dstMac: B, srcIp: "10.0.0.1", dstIp: "10.0.0.2", sport: 1, dport: 2 });
    const other = tcp4({ srcMac: A, dstMac: "ff:ff:ff:ff:ff:ff", srcIp: "10.9.9.9", dstIp: "10.8.8.8", sport: 7, dport: 8 });
    expect(slb(one)).toBe(slb(other));
    const [hi, lo] = parseMac(A);
    expect(slb(one)).toBe(slbBucket(hi, lo, 0));
    // The VLAN: from the tag word when the bridge filters, else from the frame's own 802.1Q header.
    const tagged = udp4({ srcMac: A, dstMac: B, srcIp: "10.0.0.1", dstIp: "10.0.0.2", sport: 1, dport: 2, vlan: 59 });
    expect(frameVid(view(tagged), 0, tagged.length, 0)).toBe(59);
    expect(slb(tagged)).toBe(slbBucket(hi, lo, 59));
    expect(slb(one, (0x8100 << 16) | 59)).toBe(slbBucket(hi, lo, 59));
    const vids = new Set(Array.from({ length: 64 }, (_, v) => slbBucket(hi, lo, v + 1)));
    expect(vids.size).toBeGreaterThan(40);
  });

  it("spreads 25 600 stations evenly over the buckets", () => {
    const counts = new Uint32Array(BUCKETS);
    for (let i = 0; i < 25_600; i++) counts[slbBucket(0x5254, (0x00120000 + i) >>> 0, 0)]!++;
    // Mean 100 per bucket; a uniform hash keeps every bucket within ±45% here, and the chi-square near 255.
    let chi = 0;
    for (const c of counts) {
      expect(c).toBeGreaterThan(55);
      expect(c).toBeLessThan(145);
      chi += (c - 100) ** 2 / 100;
    }
    expect(chi).toBeLessThan(340);
  });
});

describe("lacp (balance-tcp) hash", () => {
  const flow = (sport: number, dport = 80, srcIp = "10.0.0.1") => tcp4({ srcMac: A, dstMac: B, srcIp, dstIp: "10.0.0.2", sport, dport });

  it("one flow, one bucket; flows of one pair of stations spread by port and address", () => {
    expect(l234(flow(1000))).toBe(l234(flow(1000)));
    const buckets = new Set(Array.from({ length: 200 }, (_, i) => l234Bucket(view(flow(1000 + i)), 0, 60, 0)));
    expect(buckets.size).toBeGreaterThan(120);
    expect(l234(flow(1000, 80, "10.0.0.3"))).not.toBe(l234(flow(1000)));
    expect(l234(flow(1000, 81))).not.toBe(l234(flow(1000)));
    const u6 = (sport: number) => udp6({ srcMac: A, dstMac: B, srcIp: "2001:db8::1", dstIp: "2001:db8::2", sport, dport: 53 });
    expect(l234(u6(5))).toBe(l234(u6(5)));
    expect(l234(u6(5))).not.toBe(l234(u6(6)));
  });

  it("keeps an IPv4 datagram's fragments together (ports read only from unfragmented packets)", () => {
    // The first fragment (more fragments, offset 0) carries the UDP ports; a later one (offset 48) carries data.
    const fragment = (flagsAndOffset: number, payload: Uint8Array) => {
      const ip = ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 17, id: 9, payload });
      ip[6] = flagsAndOffset >> 8;
      ip[7] = flagsAndOffset & 0xff;
      return ethernet({ src: A, dst: B, ethertype: 0x0800, payload: ip });
    };
    const first = fragment(0x2000, udp({ sport: 4000, dport: 5000, payload: "x".repeat(40) }, { src: "10.0.0.1", dst: "10.0.0.2" }));
    const later = fragment(6, new Uint8Array(24).fill(0x5a));
    expect(l234(first)).toBe(l234(later));
  });

  it("reads through a VLAN tag, and never past the frame's end", () => {
    const tagged = tcp4({ srcMac: A, dstMac: B, srcIp: "10.0.0.1", dstIp: "10.0.0.2", sport: 1, dport: 2, vlan: 10 });
    expect(l234(tagged)).toBe(l234(Uint8Array.from(tagged)));
    const short = ethernet({ src: A, dst: B, ethertype: 0x0800, payload: new Uint8Array(6) });
    expect(() => l234Hash(view(short), 0, 20, 0)).not.toThrow();
  });
});
