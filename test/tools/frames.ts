/**
 * Deterministic frame sequences for the differential bridge test.
 *
 * `generateScenario(seed)` returns ~200 crafted Ethernet frames, each with the
 * port it enters on and a one-line description. Every frame carries MAGIC
 * followed by its sequence number (u32, big endian) so captures can be matched
 * to it whatever the bridge did to it.
 *
 * The generator keeps a small world model — which port each host sits on and
 * whether it has spoken since it last moved — only to write readable
 * descriptions and to pick interesting pairs (e.g. two hosts on the same
 * port). It does not predict the forwarding result: the kernel bridge is the
 * oracle.
 */

export const MAGIC = Buffer.from("54424446e2f0a55a", "hex"); // "TBDF" + 4 odd bytes
export const NPORTS = 4;
export const MIN_FRAME = 60; // without FCS
export const MAX_FRAME = 1514; // MTU 1500 + Ethernet header

export type Kind =
  | "broadcast"
  | "unicast-known"
  | "unicast-same-port"
  | "unicast-self"
  | "unicast-unknown"
  | "unicast-stale"
  | "multicast-ipv4"
  | "multicast-ipv6"
  | "multicast-other"
  | "bpdu"
  | "link-local"
  | "invalid-source"
  | "followup"
  | "tagged"
  | "malformed-ipv4";

export interface Frame {
  seq: number;
  ingress: number;
  bytes: Buffer;
  kind: Kind;
  desc: string;
  /** for kind "link-local": the last byte of 01:80:C2:00:00:XX */
  linkLocal?: number;
}

export interface Scenario {
  seed: number;
  frames: Frame[];
  hostMacs: string[];
}

/** mulberry32: small, fast, good enough for test sequences. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function macToBuf(mac: string): Buffer {
  const b = Buffer.from(mac.replace(/:/g, ""), "hex");
  if (b.length !== 6) throw new Error(`bad MAC ${mac}`);
  return b;
}

export function bufToMac(b: Buffer): string {
  return [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function marker(seq: number): Buffer {
  const b = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(b);
  b.writeUInt32BE(seq, MAGIC.length);
  return b;
}

/** Pad `head` with a seq-derived byte pattern up to `size` (at least 60). */
function fill(head: Buffer, size: number, seq: number): Buffer {
  const total = Math.max(size, MIN_FRAME, head.length);
  const out = Buffer.alloc(total);
  head.copy(out);
  for (let i = head.length; i < total; i++) out[i] = (i * 7 + seq) & 0xff;
  return out;
}

function checksum16(b: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length & 1) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Ethernet frame with the marker right after the (optional) tags + ethertype. */
function ethFrame(o: {
  dst: string;
  src: string;
  ethertype: number;
  seq: number;
  size: number;
  tags?: Array<{ tpid: number; tci: number }>;
  body?: Buffer; // protocol bytes before the marker
}): Buffer {
  const parts: Buffer[] = [macToBuf(o.dst), macToBuf(o.src)];
  for (const t of o.tags ?? []) parts.push(u16(t.tpid), u16(t.tci));
  parts.push(u16(o.ethertype));
  if (o.body) parts.push(o.body);
  parts.push(marker(o.seq));
  return fill(Buffer.concat(parts), o.size, o.seq);
}

/** Valid IPv4/UDP packet filling the whole frame (so tot_len is exact). */
function ipv4UdpFrame(o: {
  dst: string;
  src: string;
  srcIp: number[];
  dstIp: number[];
  seq: number;
  size: number;
  corruptChecksum?: boolean;
}): Buffer {
  const size = Math.max(o.size, MIN_FRAME);
  const ipLen = size - 14;
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(ipLen, 2);
  ip.writeUInt16BE(o.seq & 0xffff, 4);
  ip[8] = 1; // TTL
  ip[9] = 17; // UDP
  Buffer.from(o.srcIp).copy(ip, 12);
  Buffer.from(o.dstIp).copy(ip, 16);
  let csum = checksum16(ip);
  if (o.corruptChecksum) csum ^= 0x5a5a;
  ip.writeUInt16BE(csum, 10);
  const udpLen = ipLen - 20;
  const udp = Buffer.alloc(udpLen);
  udp.writeUInt16BE(40000 + (o.seq % 1000), 0);
  udp.writeUInt16BE(5353, 2);
  udp.writeUInt16BE(udpLen, 4);
  // checksum 0 = none, legal for UDP over IPv4
  const payload = fill(marker(o.seq), udpLen - 8, o.seq).subarray(0, udpLen - 8);
  payload.copy(udp, 8);
  return Buffer.concat([macToBuf(o.dst), macToBuf(o.src), u16(0x0800), ip, udp]);
}

/** Valid IPv6/UDP packet (with UDP checksum) filling the whole frame. */
function ipv6UdpFrame(o: {
  dst: string;
  src: string;
  srcIp: Buffer;
  dstIp: Buffer;
  seq: number;
  size: number;
}): Buffer {
  const size = Math.max(o.size, 14 + 40 + 8 + 12);
  const udpLen = size - 14 - 40;
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(udpLen, 4);
  ip[6] = 17;
  ip[7] = 1;
  o.srcIp.copy(ip, 8);
  o.dstIp.copy(ip, 24);
  const udp = Buffer.alloc(udpLen);
  udp.writeUInt16BE(40000 + (o.seq % 1000), 0);
  udp.writeUInt16BE(5353, 2);
  udp.writeUInt16BE(udpLen, 4);
  fill(marker(o.seq), udpLen - 8, o.seq).subarray(0, udpLen - 8).copy(udp, 8);
  const pseudo = Buffer.concat([o.srcIp, o.dstIp, Buffer.from([0, 0]), u16(udpLen), Buffer.from([0, 0, 0, 17])]);
  let sum = 0;
  for (let i = 0; i < pseudo.length; i += 2) sum += pseudo.readUInt16BE(i);
  let c = checksum16(udp, sum);
  if (c === 0) c = 0xffff;
  udp.writeUInt16BE(c, 6);
  return Buffer.concat([macToBuf(o.dst), macToBuf(o.src), u16(0x86dd), ip, udp]);
}

/** IEEE 802.1D configuration BPDU (LLC 42 42 03), marker after it. */
function bpduFrame(src: string, seq: number, size: number): Buffer {
  const bpdu = Buffer.alloc(35);
  // protocol 0, version 0, type 0 (config), flags 0
  bpdu.writeUInt16BE(0x8000, 5); // root id: priority 32768 + MAC
  macToBuf(src).copy(bpdu, 7);
  bpdu.writeUInt32BE(0, 13); // root path cost
  bpdu.writeUInt16BE(0x8000, 17);
  macToBuf(src).copy(bpdu, 19);
  bpdu.writeUInt16BE(0x8001, 25); // port id
  bpdu.writeUInt16BE(0, 27); // message age
  bpdu.writeUInt16BE(20 * 256, 29);
  bpdu.writeUInt16BE(2 * 256, 31);
  bpdu.writeUInt16BE(15 * 256, 33);
  const llc = Buffer.concat([Buffer.from([0x42, 0x42, 0x03]), bpdu, marker(seq)]);
  const head = Buffer.concat([macToBuf("01:80:c2:00:00:00"), macToBuf(src), u16(0), llc]);
  const frame = fill(head, size, seq);
  frame.writeUInt16BE(frame.length - 14, 12); // 802.3 length field
  return frame;
}

const LINK_LOCAL: Array<{ last: number; ethertype: number; name: string }> = [
  { last: 0x01, ethertype: 0x8808, name: "MAC control (pause)" },
  { last: 0x02, ethertype: 0x8809, name: "slow protocols (LACP)" },
  { last: 0x03, ethertype: 0x888e, name: "802.1X EAPOL" },
  { last: 0x0e, ethertype: 0x88cc, name: "LLDP" },
  { last: 0x04, ethertype: 0x88b5, name: "reserved 04" },
  { last: 0x08, ethertype: 0x88b5, name: "provider bridge group 08" },
  { last: 0x0d, ethertype: 0x88b5, name: "provider bridge GVRP 0D" },
  { last: 0x0f, ethertype: 0x88b5, name: "reserved 0F" },
];

const DATA_ETHERTYPE = 0x88b5; // IEEE local experimental: nobody parses it
const SIZES = [60, 60, 64, 64, 100, 128, 200, 256, 512, 777, 1000, 1024, 1400, 1500, 1513, 1514];

export function generateScenario(seed: number, reserved: Iterable<string>): Scenario {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const used = new Set([...reserved].map((m) => m.toLowerCase()));
  const freshMac = (): string => {
    for (;;) {
      // locally administered (bit 1), unicast (bit 0 clear)
      const b = [0x02 | (int(64) << 2), int(256), int(256), int(256), int(256), int(256)];
      const mac = b.map((x) => x.toString(16).padStart(2, "0")).join(":");
      if (!used.has(mac)) {
        used.add(mac);
        return mac;
      }
    }
  };

  const NHOSTS = 10;
  const hosts = Array.from({ length: NHOSTS }, () => ({ mac: freshMac(), port: int(NPORTS), spoke: false }));
  const frames: Frame[] = [];
  const size = () => pick(SIZES);
  const other = (p: number) => (p + 1 + int(NPORTS - 1)) % NPORTS;
  const H = (i: number) => `H${i}@p${hosts[i].port}`;
  const push = (ingress: number, kind: Kind, desc: string, build: (seq: number) => Buffer, extra: Partial<Frame> = {}) => {
    const seq = frames.length;
    const bytes = build(seq);
    if (bytes.length < MIN_FRAME || bytes.length > MAX_FRAME + 8) throw new Error(`frame ${seq} has ${bytes.length} bytes`);
    frames.push({ seq, ingress, bytes, kind, desc, ...extra });
  };
  const speak = (i: number) => (hosts[i].spoke = true);
  const known = () => hosts.map((_, i) => i).filter((i) => hosts[i].spoke);

  const broadcast = (i: number, note = "") => {
    push(hosts[i].port, "broadcast", `${H(i)} broadcast${note}`, (seq) =>
      ethFrame({ dst: "ff:ff:ff:ff:ff:ff", src: hosts[i].mac, ethertype: DATA_ETHERTYPE, seq, size: size() }),
    );
    speak(i);
  };
  const unicast = (i: number, j: number, note = "") => {
    const kind: Kind =
      i === j ? "unicast-self" : !hosts[j].spoke ? "unicast-unknown" : hosts[i].port === hosts[j].port ? "unicast-same-port" : "unicast-known";
    const what = i === j ? "to itself" : `to H${j}${hosts[j].spoke ? "" : " (never spoke)"} (sits on p${hosts[j].port})`;
    push(hosts[i].port, kind, `${H(i)} unicast ${what}${note}`, (seq) =>
      ethFrame({ dst: hosts[j].mac, src: hosts[i].mac, ethertype: DATA_ETHERTYPE, seq, size: size() }),
    );
    speak(i);
  };
  /** A frame from some other host to i: shows where the bridge thinks i is. */
  const probe = (i: number, why: string) => {
    const candidates = known().filter((k) => k !== i && hosts[k].port !== hosts[i].port);
    const k = candidates.length ? pick(candidates) : (i + 1) % NHOSTS;
    push(hosts[k].port, "followup", `${H(k)} unicast to H${i} — follow-up: ${why}`, (seq) =>
      ethFrame({ dst: hosts[i].mac, src: hosts[k].mac, ethertype: DATA_ETHERTYPE, seq, size: 60 }),
    );
    speak(k);
  };
  const move = (i: number) => {
    const from = hosts[i].port;
    hosts[i].port = other(from);
    return from;
  };

  // Opening: half of the hosts announce themselves.
  for (let i = 0; i < NHOSTS; i += 2) broadcast(i, " (announce)");

  // Scripted cases, shuffled into the random traffic below.
  const scripted: Array<() => void> = [
    // The oracle sanity checks rely on these four.
    () => broadcast(int(NHOSTS), " (sanity: reaches the 3 other ports)"),
    () => {
      const i = int(NHOSTS);
      const from = move(i);
      linkLocal(i, LINK_LOCAL.find((l) => l.last === 0x0e)!, ` after moving p${from}→p${hosts[i].port}`);
    },
    () => tagged(int(NHOSTS), "ff:ff:ff:ff:ff:ff", [{ tpid: 0x8100, tci: 0x0064 }], "broadcast VID 100"),
    () => {
      const i = int(NHOSTS);
      const k = known().filter((x) => x !== i);
      const j = k.length ? pick(k) : (i + 1) % NHOSTS;
      tagged(i, hosts[j].mac, [{ tpid: 0x8100, tci: 0xa00a }], `unicast to H${j} PCP 5 VID 10`);
    },
    // Every link-local group we know of, each with a learning follow-up.
    ...LINK_LOCAL.map((l) => () => {
      const i = int(NHOSTS);
      const from = move(i);
      linkLocal(i, l, ` after moving p${from}→p${hosts[i].port}`);
    }),
    () => bpdu(int(NHOSTS)),
    () => bpdu(int(NHOSTS)),
    // Invalid sources, each followed by a frame to that address.
    () => invalidSource("00:00:00:00:00:00", "all-zero"),
    () => invalidSource("ff:ff:ff:ff:ff:ff", "broadcast"),
    () => invalidSource("03:11:22:33:44:55", "multicast"),
    () => invalidSource("01:00:5e:01:02:03", "IPv4-multicast"),
    // Learn before lookup: a frame to its own source is dropped.
    () => {
      const k = known();
      const i = k.length ? pick(k) : 0;
      unicast(i, i, " — learn happens before lookup, so it is dropped");
    },
    // Same-port destination (forced).
    () => {
      const i = int(NHOSTS);
      const j = (i + 1 + int(NHOSTS - 1)) % NHOSTS;
      const from = hosts[j].port;
      hosts[j].port = hosts[i].port;
      broadcast(j, ` (moved p${from}→p${hosts[j].port}, now shares a port with H${i})`);
      unicast(i, j, " — destination learned on the ingress port");
    },
    // Silent move: the bridge still sends to the old port.
    () => {
      const i = pick(known());
      const from = move(i);
      probe(i, `H${i} moved silently p${from}→p${hosts[i].port}, entry is stale (old port)`);
      broadcast(i, ` (H${i} speaks after silent move)`);
      probe(i, `H${i} re-learned on p${hosts[i].port}`);
    },
    () => tagged(int(NHOSTS), "ff:ff:ff:ff:ff:ff", [{ tpid: 0x88a8, tci: 0x0c8 }, { tpid: 0x8100, tci: 0x2005 }], "QinQ broadcast S-VID 200 C-VID 5"),
    () => tagged(int(NHOSTS), "ff:ff:ff:ff:ff:ff", [{ tpid: 0x8100, tci: 0x6000 }], "priority-tagged (VID 0) broadcast"),
    () => {
      // A tagged frame teaches the bridge too (VLAN-unaware: learned VLAN-less).
      const i = int(NHOSTS);
      const from = move(i);
      tagged(i, "ff:ff:ff:ff:ff:ff", [{ tpid: 0x8100, tci: 0x0007 }], `broadcast VID 7 after moving p${from}→p${hosts[i].port}`);
      probe(i, `untagged unicast to a host learned from a tagged frame`);
    },
    () => {
      const i = int(NHOSTS);
      push(hosts[i].port, "malformed-ipv4", `${H(i)} IPv4 to 239.9.9.9 with a bad header checksum`, (seq) =>
        ipv4UdpFrame({ dst: "01:00:5e:09:09:09", src: hosts[i].mac, srcIp: [10, 0, 0, i + 1], dstIp: [239, 9, 9, 9], seq, size: 90, corruptChecksum: true }),
      );
      speak(i);
    },
    () => {
      const i = int(NHOSTS);
      push(hosts[i].port, "malformed-ipv4", `${H(i)} IPv4 broadcast with a bad header checksum`, (seq) =>
        ipv4UdpFrame({ dst: "ff:ff:ff:ff:ff:ff", src: hosts[i].mac, srcIp: [10, 0, 0, i + 1], dstIp: [255, 255, 255, 255], seq, size: 90, corruptChecksum: true }),
      );
      speak(i);
    },
    () => multicastOther(int(NHOSTS), "01:80:c2:00:00:10", "bridge all-LANs 01:80:C2:00:00:10 (outside the link-local block)"),
    () => multicastOther(int(NHOSTS), "01:80:c2:00:00:21", "GVRP 01:80:C2:00:00:21 (outside the link-local block)"),
    () => multicastOther(int(NHOSTS), "01:00:0c:cc:cc:cc", "CDP 01:00:0C:CC:CC:CC"),
  ];

  function linkLocal(i: number, l: (typeof LINK_LOCAL)[number], note: string) {
    const dst = `01:80:c2:00:00:${l.last.toString(16).padStart(2, "0")}`;
    push(
      hosts[i].port,
      "link-local",
      `${H(i)} ${l.name} to ${dst}${note}`,
      (seq) => ethFrame({ dst, src: hosts[i].mac, ethertype: l.ethertype, seq, size: 60, body: Buffer.from([0x01, 0x01]) }),
      { linkLocal: l.last },
    );
    probe(i, `was H${i} learned on p${hosts[i].port} from the ${l.name} frame?`);
    speak(i);
  }
  function bpdu(i: number) {
    const from = move(i);
    push(hosts[i].port, "bpdu", `${H(i)} STP config BPDU to 01:80:c2:00:00:00 after moving p${from}→p${hosts[i].port}`, (seq) =>
      bpduFrame(hosts[i].mac, seq, 64),
    );
    probe(i, `was H${i} learned on p${hosts[i].port} from the BPDU?`);
    speak(i);
  }
  function invalidSource(src: string, what: string) {
    const p = int(NPORTS);
    push(p, "invalid-source", `${what} source ${src} on p${p}, broadcast`, (seq) =>
      ethFrame({ dst: "ff:ff:ff:ff:ff:ff", src, ethertype: DATA_ETHERTYPE, seq, size: size() }),
    );
    const k = known().filter((x) => hosts[x].port !== p);
    const j = k.length ? pick(k) : int(NHOSTS);
    push(hosts[j].port, "followup", `${H(j)} to ${src} — follow-up: was the ${what} source learned on p${p}?`, (seq) =>
      ethFrame({ dst: src, src: hosts[j].mac, ethertype: DATA_ETHERTYPE, seq, size: 60 }),
    );
    speak(j);
  }
  function tagged(i: number, dst: string, tags: Array<{ tpid: number; tci: number }>, what: string) {
    push(hosts[i].port, "tagged", `${H(i)} 802.1Q-tagged ${what}`, (seq) =>
      ethFrame({ dst, src: hosts[i].mac, ethertype: DATA_ETHERTYPE, seq, size: size(), tags }),
    );
    speak(i);
  }
  function multicastOther(i: number, dst: string, what: string) {
    push(hosts[i].port, "multicast-other", `${H(i)} ${what}`, (seq) =>
      ethFrame({ dst, src: hosts[i].mac, ethertype: DATA_ETHERTYPE, seq, size: size() }),
    );
    speak(i);
  }

  // Fisher-Yates the scripted cases into a queue; interleave with random traffic.
  for (let n = scripted.length - 1; n > 0; n--) {
    const m = int(n + 1);
    [scripted[n], scripted[m]] = [scripted[m], scripted[n]];
  }
  const TARGET = 210;
  while (frames.length < TARGET || scripted.length) {
    if (scripted.length && (rnd() < 0.3 || frames.length >= TARGET)) {
      scripted.shift()!();
      continue;
    }
    const r = rnd();
    const i = int(NHOSTS);
    if (r < 0.3) {
      const k = known().filter((x) => x !== i);
      unicast(i, k.length ? pick(k) : (i + 1) % NHOSTS);
    } else if (r < 0.4) {
      unicast(i, (i + 1 + int(NHOSTS - 1)) % NHOSTS); // may be unknown / same port
    } else if (r < 0.48) {
      const dst = freshMac();
      push(hosts[i].port, "unicast-unknown", `${H(i)} unicast to never-seen ${dst}`, (seq) =>
        ethFrame({ dst, src: hosts[i].mac, ethertype: DATA_ETHERTYPE, seq, size: size() }),
      );
      speak(i);
    } else if (r < 0.56) {
      broadcast(i);
    } else if (r < 0.68) {
      const from = move(i);
      if (rnd() < 0.5) broadcast(i, ` (station move p${from}→p${hosts[i].port})`);
      else {
        const k = known().filter((x) => x !== i);
        unicast(i, k.length ? pick(k) : (i + 1) % NHOSTS, ` (station move p${from}→p${hosts[i].port})`);
      }
      probe(i, `H${i} moved p${from}→p${hosts[i].port}`);
    } else if (r < 0.78) {
      const g = [239, int(128), int(256), int(256)];
      const local = rnd() < 0.3;
      if (local) g.splice(0, 4, 224, 0, 0, 251);
      const dst = `01:00:5e:${[g[1] & 0x7f, g[2], g[3]].map((x) => x.toString(16).padStart(2, "0")).join(":")}`;
      push(hosts[i].port, "multicast-ipv4", `${H(i)} IPv4 UDP to ${g.join(".")} (${dst})`, (seq) =>
        ipv4UdpFrame({ dst, src: hosts[i].mac, srcIp: [10, 0, 0, i + 1], dstIp: g, seq, size: size() }),
      );
      speak(i);
    } else if (r < 0.86) {
      const group = Buffer.alloc(16);
      const kind = int(3);
      if (kind === 0) Buffer.from("ff0200000000000000000000000000fb", "hex").copy(group); // mDNS
      else if (kind === 1) Buffer.from("ff0200000000000000000001ff000000", "hex").copy(group); // solicited-node
      else Buffer.from("ff0e0000000000000000000000000000", "hex").copy(group); // global scope
      if (kind !== 0) for (let b = 13; b < 16; b++) group[b] = int(256);
      const dst = `33:33:${[...group.subarray(12)].map((x) => x.toString(16).padStart(2, "0")).join(":")}`;
      const srcIp = Buffer.from(`fe80000000000000${hosts[i].mac.replace(/:/g, "")}0000`.slice(0, 32), "hex");
      push(hosts[i].port, "multicast-ipv6", `${H(i)} IPv6 UDP to ${dst}`, (seq) =>
        ipv6UdpFrame({ dst, src: hosts[i].mac, srcIp, dstIp: group, seq, size: size() }),
      );
      speak(i);
    } else if (r < 0.93) {
      const k = known().filter((x) => x !== i);
      const j = k.length ? pick(k) : (i + 1) % NHOSTS;
      tagged(i, hosts[j].mac, [{ tpid: 0x8100, tci: int(4096) | (int(8) << 13) }], `unicast to H${j}`);
    } else {
      const l = pick(LINK_LOCAL);
      linkLocal(i, l, "");
    }
  }
  return { seed, frames, hostMacs: hosts.map((h) => h.mac) };
}
