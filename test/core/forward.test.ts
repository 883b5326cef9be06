/**
 * Every row of DESIGN.md's forwarding table, on a bridge of in-memory ports
 * (no root, no addon). Frames are injected with MemoryPort.send() and the
 * ports they reach are read back.
 */
import { describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { buildFrame } from "../../src/core/frame.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import type { PortSettings } from "../../src/ports/port.js";

const H = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, "0")}`;
const BCAST = "ff:ff:ff:ff:ff:ff";

function lab(n = 4, options: ConstructorParameters<typeof Bridge>[0] = {}, settings: PortSettings[] = []) {
  let now = 0;
  const bridge = new Bridge({ clock: () => now, native: () => { throw new Error("no addon in unit tests"); }, ...options });
  const ports = Array.from({ length: n }, (_, i) => bridge.addPort(new MemoryPort(`m${i}`), settings[i] ?? {}));
  /** Send from port `from`; returns the indices of the ports that received it. */
  const send = (from: number, frame: Uint8Array, vnet?: Uint8Array): number[] => {
    for (const p of ports) p.take();
    ports[from]!.send(frame, vnet);
    return ports.flatMap((p, i) => (p.take().length > 0 ? [i] : []));
  };
  const f = (src: number | string, dst: number | string, extra: Partial<Parameters<typeof buildFrame>[0]> = {}) =>
    buildFrame({ src: typeof src === "number" ? H(src) : src, dst: typeof dst === "number" ? H(dst) : dst, ...extra });
  const drops = (port: number) => bridge.portStats(ports[port]!).drops;
  return { bridge, ports, send, f, drops, advance: (ms: number) => (now += ms) };
}

describe("forwarding decisions (Linux bridge semantics)", () => {
  it("floods unknown unicast to every other port, then forwards once learned", () => {
    const { send, f } = lab();
    expect(send(0, f(1, 2))).toEqual([1, 2, 3]);
    expect(send(2, f(2, 1))).toEqual([0]);
    expect(send(0, f(1, 2))).toEqual([2]);
  });

  it("floods broadcast and multicast to every other port", () => {
    const { send, f } = lab();
    expect(send(1, f(1, BCAST))).toEqual([0, 2, 3]);
    expect(send(1, f(1, "01:00:5e:00:00:fb"))).toEqual([0, 2, 3]);
    expect(send(3, f(3, "33:33:00:00:00:01"))).toEqual([0, 1, 2]);
  });

  it("drops frames with a multicast, broadcast or all-zero source and does not learn them", () => {
    const { send, f, drops, bridge } = lab();
    expect(send(0, f("01:00:5e:00:00:01", 2))).toEqual([]);
    expect(send(0, f(BCAST, 2))).toEqual([]);
    expect(send(0, f("00:00:00:00:00:00", 2))).toEqual([]);
    expect(drops(0)).toEqual({ invalid_source: 3 });
    expect(bridge.fdbEntries()).toEqual([]);
  });

  it("floods BPDUs like data while STP is off, and hands them to STP when it is on", () => {
    const { send, f, bridge, drops } = lab();
    const bpdu = f(1, "01:80:c2:00:00:00");
    expect(send(0, bpdu)).toEqual([1, 2, 3]);
    const seen: number[] = [];
    bridge.setBpduHandler((_b, _i, port) => void seen.push(port));
    expect(send(2, bpdu)).toEqual([]);
    expect(seen).toEqual([2]);
    expect(drops(2)).toEqual({ bpdu_consumed: 1 });
  });

  it("never forwards 01:80:C2:00:00:01..0F but learns their source (pause excepted, as Linux)", () => {
    const { send, f, drops, bridge } = lab();
    expect(send(1, f(1, "01:80:c2:00:00:0e"))).toEqual([]); // LLDP
    expect(send(2, f(2, "01:80:c2:00:00:03"))).toEqual([]); // 802.1X
    expect(send(3, f(3, "01:80:c2:00:00:02"))).toEqual([]); // LACP
    expect(send(0, f(7, "01:80:c2:00:00:01"))).toEqual([]); // pause: dropped before learning
    expect(drops(1)).toEqual({ link_local: 1 });
    expect(bridge.lookup(H(1))?.name).toBe("m1");
    expect(bridge.lookup(H(2))?.name).toBe("m2");
    expect(bridge.lookup(H(3))?.name).toBe("m3");
    expect(bridge.lookup(H(7))).toBeUndefined();
    expect(send(0, f(9, 1))).toEqual([1]);
  });

  it("forwards link-local groups that group_fwd_mask lets through", () => {
    const { send, f } = lab(3, { groupFwdMask: 1 << 0xe });
    expect(send(0, f(1, "01:80:c2:00:00:0e"))).toEqual([1, 2]);
    expect(send(0, f(1, "01:80:c2:00:00:03"))).toEqual([]);
    expect(() => new Bridge({ groupFwdMask: 2 })).toThrow(/may not forward/);
  });

  it("drops a frame whose destination was learned on its ingress port, unless hairpin", () => {
    const { send, f, drops, bridge, ports } = lab();
    send(1, f(1, BCAST));
    send(1, f(2, BCAST));
    expect(send(1, f(1, 2))).toEqual([]);
    expect(drops(1)).toEqual({ same_port: 1 });
    bridge.setPortSettings(ports[1]!, { hairpin: true });
    expect(send(1, f(1, 2))).toEqual([1]);
    expect(send(1, f(1, BCAST))).toEqual([0, 1, 2, 3]);
  });

  it("learns but forwards nothing on a LEARNING port; blocking ports neither learn nor forward", () => {
    const { send, f, bridge, ports, drops } = lab(3, {}, [{ state: "learning" }, { state: "blocking" }]);
    expect(send(0, f(1, BCAST))).toEqual([]);
    expect(bridge.lookup(H(1))?.name).toBe("m0");
    expect(drops(0)).toEqual({ port_learning: 1 });
    expect(send(1, f(2, BCAST))).toEqual([]);
    expect(bridge.lookup(H(2))).toBeUndefined();
    expect(drops(1)).toEqual({ port_state: 1 });
    // Non-forwarding ports receive nothing either.
    expect(send(2, f(3, BCAST))).toEqual([]);
    expect(drops(2)).toEqual({ no_egress: 1 });
    bridge.setPortSettings(ports[0]!, { state: "forwarding" });
    expect(send(2, f(3, 1))).toEqual([0]);
  });

  it("does not learn on a port with learning off, and forgets what it had", () => {
    const { send, f, bridge, ports } = lab();
    send(0, f(1, BCAST));
    bridge.setPortSettings(ports[0]!, { learning: false });
    expect(bridge.lookup(H(1))).toBeUndefined();
    send(0, f(1, BCAST));
    expect(bridge.lookup(H(1))).toBeUndefined();
    expect(send(2, f(3, 1))).toEqual([0, 1, 3]);
  });

  it("keeps a port's flags when later settings change something else", () => {
    const { bridge, ports } = lab(2);
    const off = { learning: false, flood: false, mcastFlood: false, bcastFlood: false };
    bridge.setPortSettings(ports[1]!, off);
    bridge.setPortSettings(ports[1]!, { hairpin: false });
    expect(bridge.portSettings(ports[1]!)).toMatchObject(off);
  });

  it("honours flood, mcast_flood and bcast_flood per egress port", () => {
    const { send, f } = lab(4, {}, [{}, { flood: false }, { mcastFlood: false }, { bcastFlood: false }]);
    expect(send(0, f(1, 9))).toEqual([2, 3]);
    expect(send(0, f(1, "01:00:5e:01:02:03"))).toEqual([1, 3]);
    expect(send(0, f(1, BCAST))).toEqual([1, 2]);
  });

  it("keeps isolated ports from talking to each other", () => {
    const { send, f, drops } = lab(3, {}, [{ isolated: true }, { isolated: true }, {}]);
    expect(send(0, f(1, BCAST))).toEqual([2]);
    send(1, f(2, BCAST));
    expect(send(0, f(1, 2))).toEqual([]);
    expect(drops(0)).toEqual({ egress_blocked: 1 });
    expect(send(2, f(3, 2))).toEqual([1]);
  });

  it("is VLAN-unaware by default: tagged frames are forwarded unchanged", () => {
    const { send, f, ports } = lab(2);
    const tagged = f(1, BCAST, { vlan: { vid: 42, pcp: 5 }, ethertype: 0x0800 });
    ports[0]!.send(tagged);
    const [out] = ports[1]!.take();
    expect(out).toEqual(tagged);
    expect(send(1, f(2, 1, { vlan: { vid: 7 } }))).toEqual([0]);
  });

  it("ages entries out: an expired destination floods again", () => {
    const { send, f, advance } = lab(3, { ageingTime: 10 });
    send(1, f(1, BCAST));
    advance(9_000);
    expect(send(0, f(2, 1))).toEqual([1]);
    advance(10_001);
    expect(send(0, f(2, 1))).toEqual([1, 2]);
  });

  it("with ageing 0 never learns and always floods", () => {
    const { send, f, bridge } = lab(3, { ageingTime: 0 });
    send(1, f(1, BCAST));
    expect(bridge.fdbEntries()).toEqual([]);
    expect(send(0, f(2, 1))).toEqual([1, 2]);
    bridge.addStaticEntry(H(1), "m1");
    expect(send(0, f(2, 1))).toEqual([1]);
  });

  it("follows a station that moves between ports", () => {
    const { send, f } = lab();
    send(1, f(5, BCAST));
    expect(send(0, f(1, 5))).toEqual([1]);
    send(3, f(5, BCAST));
    expect(send(0, f(1, 5))).toEqual([3]);
  });

  it("flushes a removed port's entries and stops flooding to it", () => {
    const { send, f, bridge, ports } = lab();
    send(2, f(2, BCAST));
    bridge.removePort(ports[2]!);
    expect(bridge.lookup(H(2))).toBeUndefined();
    expect(send(0, f(1, 2))).toEqual([1, 3]);
  });

  it("counts rx and tx per port", () => {
    const { send, f, bridge } = lab(2);
    send(0, f(1, BCAST));
    send(0, f(1, BCAST));
    const [s0, s1] = bridge.stats();
    expect(s0).toMatchObject({ name: "m0", rxPackets: 2, rxBytes: 120, txPackets: 0 });
    expect(s1).toMatchObject({ name: "m1", rxPackets: 0, txPackets: 2, txBytes: 120 });
  });
});

describe("malformed input is counted and dropped, never thrown", () => {
  it("runts under 14 bytes", () => {
    const { send, drops } = lab(2);
    expect(send(0, new Uint8Array(13))).toEqual([]);
    expect(send(0, new Uint8Array(0))).toEqual([]);
    expect(drops(0)).toEqual({ runt: 2 });
  });

  it("truncated 802.1Q headers", () => {
    const { send, f, drops } = lab(2);
    const frame = f(1, BCAST, { pad: false }).slice(0, 14);
    frame[12] = 0x81;
    frame[13] = 0x00;
    expect(send(0, frame)).toEqual([]);
    const qinq = frame.slice();
    qinq[12] = 0x88;
    qinq[13] = 0xa8;
    expect(send(0, qinq.slice(0, 17))).toEqual([]);
    expect(drops(0)).toEqual({ truncated_vlan: 2 });
  });

  it("non-GSO frames larger than the port's MTU allows", () => {
    const { send, f, drops } = lab(2);
    expect(send(0, f(1, BCAST, { payload: new Uint8Array(1500) }))).toEqual([1]); // 14 + 1500
    expect(send(0, f(1, BCAST, { payload: new Uint8Array(1501) }))).toEqual([]);
    expect(send(0, f(1, BCAST, { vlan: { vid: 3 }, payload: new Uint8Array(1500) }))).toEqual([1]);
    expect(send(0, f(1, BCAST, { payload: new Uint8Array(70_000) }))).toEqual([]);
    expect(drops(0)).toEqual({ oversize: 2 });
  });

  it("a virtio-net header that does not fit its frame", () => {
    const { send, f, drops } = lab(2);
    const frame = f(1, BCAST, { payload: new Uint8Array(100) });
    const vnet = (flags: number, gso: number, hdrLen: number, gsoSize: number, csumStart: number, csumOffset: number) => {
      const v = new DataView(new ArrayBuffer(10));
      v.setUint8(0, flags);
      v.setUint8(1, gso);
      v.setUint16(2, hdrLen, true);
      v.setUint16(4, gsoSize, true);
      v.setUint16(6, csumStart, true);
      v.setUint16(8, csumOffset, true);
      return new Uint8Array(v.buffer);
    };
    expect(send(0, frame, vnet(1, 0, 0, 0, 34, 16))).toEqual([1]); // fits
    expect(send(0, frame, vnet(1, 0, 0, 0, 110, 16))).toEqual([]); // checksum beyond the end
    expect(send(0, frame, vnet(1, 1, 54, 0, 34, 16))).toEqual([]); // GSO with size 0
    expect(send(0, frame, vnet(1, 1, 500, 1448, 34, 16))).toEqual([]); // header longer than the frame
    expect(send(0, frame, vnet(0, 9, 0, 1448, 0, 0))).toEqual([]); // unknown GSO type
    expect(drops(0)).toEqual({ bad_vnet_header: 4 });
  });

  it("GSO frames may exceed the MTU and reach in-memory ports with their header", () => {
    const { ports, f } = lab(2);
    // An IPv4/TCP packet: a GSO header must describe a real TCP header (core/gso.ts).
    const packet = new Uint8Array(30_000);
    packet.set([0x45, 0, 30_000 >> 8, 30_000 & 0xff, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    packet[32] = 0x50;
    const big = f(1, BCAST, { ethertype: 0x0800, payload: packet });
    const v = new Uint8Array(10);
    new DataView(v.buffer).setUint16(4, 1448, true);
    v[0] = 1;
    v[1] = 1;
    new DataView(v.buffer).setUint16(6, 34, true);
    new DataView(v.buffer).setUint16(8, 16, true);
    ports[0]!.send(big, v);
    expect(ports[1]!.received[0]?.vnetHeader).toEqual(v);
  });

  it("random garbage never throws and every frame is accounted for", () => {
    const { bridge, ports } = lab(3);
    let seed = 1;
    const rnd = () => ((seed = Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let n = 0; n < 5000; n++) {
      const frame = new Uint8Array(Math.floor(rnd() * 200));
      for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(rnd() * 256);
      const vnet = rnd() < 0.2 ? frame.slice(0, 10) : undefined;
      ports[n % 3]!.send(frame, vnet);
    }
    expect(bridge.internalErrors).toBe(0);
    const rx = bridge.stats().reduce((s, p) => s + p.rxPackets, 0);
    expect(rx).toBe(5000);
  });
});

describe("Bridge API", () => {
  it("rejects bad settings with a sentence", () => {
    expect(() => new Bridge({ ageingTime: -1 })).toThrow(/ageing time -1 is out of range/);
    const { bridge, ports } = lab(2);
    expect(() => bridge.addPort(new MemoryPort("m0"))).toThrow(/already has a port named m0/);
    expect(() => bridge.addPort(ports[0]!)).toThrow(/already attached/);
    expect(() => bridge.removePort("nope")).toThrow(/has no port nope/);
    expect(() => bridge.addStaticEntry("01:00:5e:00:00:01", "m0")).toThrow(/group address/);
    expect(() => bridge.addStaticEntry("zz", "m0")).toThrow(/not a MAC address/);
  });

  it("re-entrant sends from a frame listener are processed after the current batch", () => {
    const { bridge, ports, f } = lab(3);
    ports[1]!.onFrame(() => {
      if (ports[1]!.received.length === 1) ports[1]!.send(f(2, BCAST));
    });
    ports[0]!.send(f(1, BCAST));
    expect(ports[2]!.take().length).toBe(2);
    expect(bridge.internalErrors).toBe(0);
  });

  it("close() detaches every port and refuses further use", () => {
    const { bridge, ports, f } = lab(2);
    bridge.close();
    expect(ports[0]!.index).toBe(-1);
    expect(() => ports[0]!.send(f(1, BCAST))).toThrow(/not attached/);
    expect(() => bridge.addPort(new MemoryPort("x"))).toThrow(/closed/);
    bridge.close();
  });
});
