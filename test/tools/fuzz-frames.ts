/**
 * Hostile frames for the fuzz test: random bytes, runts, truncated and
 * stacked VLAN headers (up to four tags, any TPID), BPDUs and other
 * link-local groups, invalid sources, oversized frames (past the MTU, past
 * a slot), and virtio-net headers that are random, out of range, or
 * describe GSO frames whose headers were then damaged — next to plenty of
 * well-formed unicast, broadcast and GSO frames, so every path of the
 * decision loop and of software segmentation is taken. Deterministic for a
 * seed.
 */
import { build } from "./gso-frames.js";
import { prng } from "./frames.js";

export interface FuzzFrame {
  frame: Uint8Array;
  vnet?: Uint8Array;
}

export const FUZZ_KINDS = [
  "random",
  "runt",
  "truncated-vlan",
  "vlan-stack",
  "bpdu",
  "link-local",
  "invalid-source",
  "oversize-mtu",
  "oversize-slot",
  "bad-vnet-random",
  "bad-vnet-csum",
  "gso-valid",
  "gso-damaged",
  "unicast",
  "broadcast",
] as const;

export type FuzzKind = (typeof FUZZ_KINDS)[number];

/** A generator of hostile frames; `kinds` limits the mix (default: all). */
export function fuzzFrames(seed: number, kinds: readonly FuzzKind[] = FUZZ_KINDS): () => FuzzFrame & { kind: FuzzKind } {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const bytes = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  /** A locally administered unicast MAC from a small pool (so lookups hit), or a fresh one. */
  const mac = (fresh = rnd() < 0.3) => (fresh ? [0x02, int(256), int(256), int(256), int(256), int(256)] : [0x02, 0, 0, 0, 0, int(64)]);
  const eth = (dst: number[], src: number[], type: number, len: number) => {
    const f = bytes(Math.max(len, 14));
    f.set(dst, 0);
    f.set(src, 6);
    f[12] = type >> 8;
    f[13] = type & 0xff;
    return f;
  };
  const gsoPool = [
    build({ l4: "tcp", inner: 4, payload: 3000, mss: 1448 }),
    build({ l4: "tcp", inner: 6, payload: 5000, mss: 1000, tags: 1 }),
    build({ l4: "udp", inner: 4, payload: 2500, mss: 700 }),
    build({ l4: "tcp", inner: 4, payload: 4000, mss: 1300, tunnel: "vxlan" }),
    build({ l4: "tcp", inner: 4, payload: 2000, mss: 600, tunnel: "gre" }),
  ];
  const gso = () => {
    const b = gsoPool[int(gsoPool.length)]!;
    const frame = b.frame.slice();
    frame.set(mac(), 6);
    if (rnd() < 0.5) frame.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
    return { frame, vnet: b.vnet.slice(), hdrs: b.hdrs };
  };

  return () => {
    const kind = kinds[int(kinds.length)]!;
    switch (kind) {
      case "random":
        return { kind, frame: bytes(int(200)), ...(rnd() < 0.3 ? { vnet: bytes(10) } : {}) };
      case "runt":
        return { kind, frame: bytes(int(14)) };
      case "truncated-vlan":
        return { kind, frame: eth([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], mac(), rnd() < 0.5 ? 0x8100 : 0x88a8, 14 + int(4)) };
      case "vlan-stack": {
        const tags = 1 + int(4);
        const f = eth(rnd() < 0.5 ? [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] : mac(false), mac(), 0x8100, 18 + 4 * tags + int(100));
        const tpids = [0x8100, 0x88a8, 0x9100, 0x8100];
        for (let t = 0; t < tags; t++) {
          const at = 12 + 4 * t;
          const tpid = tpids[int(tpids.length)]!;
          const tci = int(0x10000);
          f.set([tpid >> 8, tpid & 0xff, tci >> 8, tci & 0xff], at);
        }
        return { kind, frame: f };
      }
      case "bpdu": {
        const f = eth([0x01, 0x80, 0xc2, 0, 0, 0], mac(), 38 + int(60), 60);
        f.set([0x42, 0x42, 0x03, 0, 0, int(4), int(3)], 14);
        return { kind, frame: f };
      }
      case "link-local":
        return { kind, frame: eth([0x01, 0x80, 0xc2, 0, 0, int(16)], mac(), 0x88cc, 60 + int(100)) };
      case "invalid-source": {
        const srcs = [[0, 0, 0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x01, 0, 0x5e, 0, 0, 1]];
        return { kind, frame: eth(mac(false), srcs[int(srcs.length)]!, 0x0800, 60) };
      }
      case "oversize-mtu":
        return { kind, frame: eth([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], mac(), 0x0800, 1515 + int(8000)) };
      case "oversize-slot":
        return { kind, frame: eth(mac(false), mac(), 0x0800, 70_000 + int(1000)) };
      case "bad-vnet-random":
        return { kind, frame: eth(mac(false), mac(), 0x0800, 60 + int(1400)), vnet: bytes(10) };
      case "bad-vnet-csum": {
        const f = eth(mac(false), mac(), 0x0800, 60 + int(200));
        const v = new Uint8Array(10);
        v[0] = 1;
        new DataView(v.buffer).setUint16(6, int(400), true);
        new DataView(v.buffer).setUint16(8, int(400), true);
        return { kind, frame: f, vnet: v };
      }
      case "gso-valid": {
        const g = gso();
        return { kind, frame: g.frame, vnet: g.vnet };
      }
      case "gso-damaged": {
        const g = gso();
        for (let k = 1 + int(3); k > 0; k--) {
          if (rnd() < 0.3) g.vnet[int(10)] = int(256);
          else g.frame[int(g.hdrs + 8)] = int(256);
        }
        return { kind, frame: g.frame, vnet: g.vnet };
      }
      case "unicast":
        return { kind, frame: eth(mac(false), mac(), 0x0800, 60 + int(1454)) };
      case "broadcast":
        return { kind, frame: eth([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], mac(), 0x0806, 60) };
    }
  };
}
