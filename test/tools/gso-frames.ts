/**
 * GSO frames for tests: TCP or UDP over IPv4/IPv6, tagged or not, plain or
 * inside one tunnel (VXLAN over IPv4/IPv6, IP-in-IP, GRE), each with the
 * virtio-net header the kernel would give it, and where its headers are.
 */

export const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
export const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
export const ETH = (type: number) => [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, ...u16(type)];
export const VLAN = (vid: number, type: number) => [...u16(vid), ...u16(type)];

export function ipv4(proto: number, totalLen: number, id = 0x1234, src = [10, 0, 0, 1], dst = [10, 0, 0, 2]): number[] {
  const h = [0x45, 0, ...u16(totalLen), ...u16(id), 0x40, 0, 64, proto, 0, 0, ...src, ...dst];
  const c = ~sum(h) & 0xffff;
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return h;
}
export function ipv6(next: number, payloadLen: number): number[] {
  return [0x60, 0, 0, 0, ...u16(payloadLen), next, 64, ...new Array(15).fill(0), 1, ...new Array(15).fill(0), 2];
}
export const tcp = (seq: number, flags = 0x18) => [...u16(40000), ...u16(5201), ...u32(seq), 0, 0, 0, 1, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0];
export const udp = (len: number, sport = 40000, dport = 5201) => [...u16(sport), ...u16(dport), ...u16(len), 0, 0];
export const payload = (n: number, seed = 1) => Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

export function vnet(o: { gso: number; csumStart: number; csumOffset: number; mss: number; hdrLen?: number; flags?: number }): Uint8Array {
  const v = new Uint8Array(10);
  const d = new DataView(v.buffer);
  v[0] = o.flags ?? 1;
  v[1] = o.gso;
  d.setUint16(2, o.hdrLen ?? 0, true);
  d.setUint16(4, o.mss, true);
  d.setUint16(6, o.csumStart, true);
  d.setUint16(8, o.csumOffset, true);
  return v;
}

export interface Built {
  frame: Uint8Array;
  vnet: Uint8Array;
  /** IP header offsets, outer first; v4 flags. */
  ips: { off: number; v4: boolean }[];
  l4: number;
  l4proto: 6 | 17;
  tunnelUdp?: number;
  hdrs: number;
  mss: number;
}

/** TCP (or UDP) over IPv4/IPv6, optionally tagged, optionally inside a tunnel. */
export function build(o: {
  l4: "tcp" | "udp";
  inner: 4 | 6;
  payload: number;
  mss: number;
  tags?: number;
  tunnel?: "vxlan" | "vxlan-csum" | "vxlan6" | "ipip" | "gre";
  ecn?: boolean;
}): Built {
  const l4hdr = o.l4 === "tcp" ? 20 : 8;
  const proto = o.l4 === "tcp" ? 6 : 17;
  const data = payload(o.payload);
  const l4bytes = o.l4 === "tcp" ? tcp(1000) : udp(8 + o.payload);
  const innerIp = (len: number) => (o.inner === 4 ? ipv4(proto, len) : ipv6(proto, len - 40));
  const innerIpLen = o.inner === 4 ? 20 : 40;
  const innerPacket = [...innerIp(innerIpLen + l4hdr + o.payload), ...l4bytes, ...data];
  const ips: Built["ips"] = [];
  let head: number[] = [];
  let type = o.inner === 4 ? 0x0800 : 0x86dd;
  let body = innerPacket;
  let tunnelUdp: number | undefined;
  const l2 = () => {
    const tags = o.tags ?? 0;
    const tagBytes: number[] = [];
    for (let t = 0; t < tags; t++) tagBytes.push(...VLAN(42 + t, t + 1 < tags ? 0x8100 : type));
    return tags ? [...ETH(0x8100).slice(0, 12), ...u16(0x8100), ...tagBytes] : ETH(type);
  };
  switch (o.tunnel) {
    case undefined:
      head = l2();
      ips.push({ off: head.length, v4: o.inner === 4 });
      break;
    case "vxlan":
    case "vxlan-csum":
    case "vxlan6": {
      const innerFrame = [...ETH(o.inner === 4 ? 0x0800 : 0x86dd), ...innerPacket];
      const vx = [0x08, 0, 0, 0, 0, 0, 42, 0];
      const udpLen = 8 + vx.length + innerFrame.length;
      const u = udp(udpLen, 51000, 4789);
      if (o.tunnel === "vxlan-csum") u[6] = 0xab; // non-zero: recomputed per segment
      type = o.tunnel === "vxlan6" ? 0x86dd : 0x0800;
      const outer = o.tunnel === "vxlan6" ? ipv6(17, udpLen) : ipv4(17, 20 + udpLen, 0x4321, [192, 168, 0, 1], [192, 168, 0, 2]);
      head = l2();
      ips.push({ off: head.length, v4: o.tunnel !== "vxlan6" });
      tunnelUdp = head.length + outer.length;
      head = [...head, ...outer, ...u, ...vx, ...ETH(o.inner === 4 ? 0x0800 : 0x86dd)];
      ips.push({ off: head.length, v4: o.inner === 4 });
      break;
    }
    case "ipip": {
      type = 0x0800;
      const outer = ipv4(o.inner === 4 ? 4 : 41, 20 + innerPacket.length, 0x4321, [192, 168, 0, 1], [192, 168, 0, 2]);
      head = l2();
      ips.push({ off: head.length, v4: true });
      head = [...head, ...outer];
      ips.push({ off: head.length, v4: o.inner === 4 });
      break;
    }
    case "gre": {
      type = 0x0800;
      const gre = [0, 0, ...u16(o.inner === 4 ? 0x0800 : 0x86dd)];
      const outer = ipv4(47, 20 + 4 + innerPacket.length, 0x4321, [192, 168, 0, 1], [192, 168, 0, 2]);
      head = l2();
      ips.push({ off: head.length, v4: true });
      head = [...head, ...outer, ...gre];
      ips.push({ off: head.length, v4: o.inner === 4 });
      break;
    }
  }
  body = innerPacket;
  const frame = Uint8Array.from([...head, ...body]);
  const l4 = head.length + innerIpLen;
  const gso = o.l4 === "udp" ? 5 : o.inner === 4 ? 1 : 4;
  return {
    frame,
    vnet: vnet({ gso: gso | (o.ecn ? 0x80 : 0), csumStart: l4, csumOffset: o.l4 === "tcp" ? 16 : 6, mss: o.mss, hdrLen: l4 + l4hdr }),
    ips,
    l4,
    l4proto: proto as 6 | 17,
    ...(tunnelUdp !== undefined ? { tunnelUdp } : {}),
    hdrs: l4 + l4hdr,
    mss: o.mss,
  };
}


/** Ones-complement sum of 16-bit big-endian words (folded, not complemented). */
export function sum(bytes: ArrayLike<number>, start = 0, end = bytes.length, initial = 0): number {
  let s = initial;
  for (let i = start; i + 1 < end; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if ((end - start) & 1) s += bytes[end - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
