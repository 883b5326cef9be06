/**
 * 802.1Q VLANs on a bridge of in-memory ports (no root, no addon): every
 * ingress and egress rule of the Linux bridge's VLAN model, byte for byte.
 */
import { describe, expect, it } from "vitest";
import { Bridge, type BridgeOptions } from "../../src/bridge.js";
import { buildFrame } from "../../src/core/frame.js";
import { Vnet } from "../../src/core/abi.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import type { PortSettings } from "../../src/ports/port.js";

const H = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, "0")}`;
const BCAST = "ff:ff:ff:ff:ff:ff";

/**
 * Ports m0..m(n-1) with the given settings. `send` returns, per port that got
 * the frame, the bytes it got (as hex), keyed by port index.
 */
function rig(settings: PortSettings[], options: BridgeOptions = {}) {
  const bridge = new Bridge({ clock: () => 0, native: () => { throw new Error("no addon in unit tests"); }, ...options });
  const ports = settings.map((s, i) => bridge.addPort(new MemoryPort(`m${i}`), s));
  const send = (from: number, frame: Uint8Array, vnet?: Uint8Array): Record<number, string> => {
    for (const p of ports) p.take();
    ports[from]!.send(frame, vnet);
    const out: Record<number, string> = {};
    ports.forEach((p, i) => {
      const got = p.take();
      if (got.length) out[i] = Buffer.from(got[0]!).toString("hex");
    });
    return out;
  };
  const to = (from: number, frame: Uint8Array) => Object.keys(send(from, frame)).map(Number);
  const drops = (port: number) => bridge.portStats(ports[port]!).drops;
  return { bridge, ports, send, to, drops };
}

type Tag = { vid: number; pcp?: number; dei?: boolean; tpid?: number };
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
/** An IPv4-ethertype frame with 46 bytes of payload, optionally tagged (one tag, or a list outer first). */
function frame(src: number, dst: number | string, tags: Tag[] = [], payload = 46): Uint8Array {
  const body = buildFrame({ src: H(src), dst: typeof dst === "number" ? H(dst) : dst, ethertype: 0x0800, payload: new Uint8Array(payload).fill(0xab), pad: false });
  const out = new Uint8Array(body.length + 4 * tags.length);
  out.set(body.subarray(0, 12));
  tags.forEach((t, k) => {
    const v = new DataView(out.buffer, 12 + 4 * k, 4);
    v.setUint16(0, t.tpid ?? 0x8100);
    v.setUint16(2, ((t.pcp ?? 0) << 13) | (t.dei ? 0x1000 : 0) | t.vid);
  });
  out.set(body.subarray(12), 12 + 4 * tags.length);
  return out;
}

describe("VLAN configuration", () => {
  it("is VLAN-unaware until a port gets VLAN configuration, and every port starts in VLAN 1 (default_pvid)", () => {
    const { bridge, send } = rig([{}, {}, {}]);
    expect(bridge.vlanFiltering).toBe(false);
    expect(bridge.vlanProtocol).toBe("802.1Q");
    expect(bridge.vlans().map((p) => p.vlans.map(({ vid, pvid, untagged }) => ({ vid, pvid, untagged })))).toEqual([
      [{ vid: 1, pvid: true, untagged: true }],
      [{ vid: 1, pvid: true, untagged: true }],
      [{ vid: 1, pvid: true, untagged: true }],
    ]);
    // Unaware: a tagged frame of any VID floods unchanged.
    const f = frame(1, BCAST, [{ vid: 300, pcp: 3 }]);
    expect(send(0, f)).toEqual({ 1: hex(f), 2: hex(f) });
    bridge.setPortVlans("m1", { access: 59 });
    expect(bridge.vlanFiltering).toBe(true);
    expect(bridge.vlans()[1]!.vlans.map((v) => v.vid)).toEqual([59]);
  });

  it("stays VLAN-unaware when filtering is off explicitly, and filters when it is on explicitly", () => {
    const off = rig([{ access: 59 }, { access: 89 }], { vlanFiltering: false });
    expect(off.bridge.vlanFiltering).toBe(false);
    expect(off.to(0, frame(1, BCAST))).toEqual([1]);
    const on = rig([{}, {}], { vlanFiltering: true });
    expect(on.bridge.vlanFiltering).toBe(true);
    expect(on.to(0, frame(1, BCAST))).toEqual([1]); // both in VLAN 1, the default PVID
    expect(on.to(0, frame(1, BCAST, [{ vid: 2 }]))).toEqual([]);
    expect(on.drops(0)).toEqual({ vlan_not_member: 1 });
    const none = rig([{}, {}], { vlanFiltering: true, defaultPvid: 0 });
    expect(none.to(0, frame(1, BCAST))).toEqual([]);
    expect(none.drops(0)).toEqual({ no_pvid: 1 });
  });

  it("resolves the shortcuts to the Linux model and says what is wrong with a bad spec", () => {
    const { bridge } = rig([{ trunk: "59,89,100-102", native: 1 }, { access: 59 }, { vlans: [10, 20], untagged: [30], pvid: 30 }, { pvid: 10 }]);
    const show = bridge.vlans().map((p) => p.vlans.map(({ vid, pvid, untagged }) => `${vid}${pvid ? "P" : ""}${untagged ? "U" : ""}`).join(" "));
    expect(show).toEqual(["1PU 59 89 100 101 102", "59PU", "10 20 30PU", "10P"]);
    expect(() => bridge.setPortVlans("m1", { native: 1 })).toThrow(/^port m1: option "native=1" needs a trunk=LIST/);
    expect(() => bridge.setPortVlans("m1", { access: 59, pvid: 10 })).toThrow(/port m1: options "access=59" and "pvid=10" give the port two PVIDs/);
    expect(() => bridge.setPortVlans("m1", { access: 59, trunk: [89] })).toThrow(/exclude each other/);
    expect(() => bridge.setPortVlans("m1", { access: 0 })).toThrow(/VLAN ID 0 is not a VLAN/);
    expect(() => bridge.setPortVlans("m1", { access: 4095 })).toThrow(/VLAN ID 4095 is reserved/);
    expect(() => bridge.setPortVlans("m1", { trunk: "59,5000" })).toThrow(/option "trunk=59,5000": VLAN ID 5000 is out of range: use 1 to 4094/);
    expect(() => bridge.setPortVlans("m1", { trunk: "abc" })).toThrow(/"abc" is not a VLAN ID/);
    expect(() => bridge.setPortVlans("m1", { trunk: "20-10" })).toThrow(/runs backwards/);
    expect(() => bridge.setPortVlans("m1", { acess: 5 } as never)).toThrow(/unknown VLAN setting "acess"/);
    // A refused spec changed nothing.
    expect(bridge.vlans()[1]!.vlans.map((v) => v.vid)).toEqual([59]);
    expect(() => bridge.addVlan("m1", 4095)).toThrow(/port m1: VLAN ID 4095 is reserved/);
    expect(() => new Bridge({ vlanProtocol: "802.1x" as never })).toThrow(/not a VLAN protocol/);
  });

  it("addVlan and deleteVlan work as `bridge vlan add/del`: one PVID, flags as given", () => {
    const { bridge, to, drops } = rig([{ access: 59 }, { access: 59 }]);
    const events: unknown[] = [];
    bridge.on("port-vlans", (e) => events.push(e));
    bridge.addVlan("m0", 89, { pvid: true, untagged: true });
    expect(bridge.vlans()[0]!.vlans.map(({ vid, pvid, untagged }) => ({ vid, pvid, untagged }))).toEqual([
      { vid: 59, pvid: false, untagged: true },
      { vid: 89, pvid: true, untagged: true },
    ]);
    expect(events).toEqual([{ port: "m0", index: 0, vlans: [{ vid: 59, pvid: false, untagged: true }, { vid: 89, pvid: true, untagged: true }] }]);
    expect(to(0, frame(1, BCAST))).toEqual([]); // now in 89, where m1 is not
    expect(drops(0)).toEqual({ no_egress: 1 });
    bridge.addVlan("m0", 89, { untagged: true }); // re-added without pvid: no PVID any more (as Linux)
    expect(to(0, frame(1, BCAST))).toEqual([]);
    expect(drops(0)).toEqual({ no_egress: 1, no_pvid: 1 });
    expect(bridge.deleteVlan("m0", 89)).toBe(true);
    expect(bridge.deleteVlan("m0", 89)).toBe(false);
    expect(to(0, frame(1, BCAST, [{ vid: 59 }]))).toEqual([1]);
    // What re-attaching the port would apply: the VLANs as they are now, in Linux terms.
    expect(bridge.portConfig("m0")).toEqual({ vlans: [], untagged: [59] });
    bridge.setPortVlans("m0", { trunk: "59,89", native: 1 });
    expect(bridge.portConfig("m0")).toEqual({ trunk: "59,89", native: 1 });
    bridge.setPortSettings("m0", { access: 89, hairpin: true });
    expect(bridge.portConfig("m0")).toEqual({ access: 89, hairpin: true });
  });

  it("changes default_pvid as Linux does: ports still in the old default move, configured ports stay", () => {
    const { bridge, to, drops } = rig([{}, {}, { access: 59 }, {}], { vlanFiltering: true });
    bridge.addVlan("m3", 7); // m3 was changed by hand: no longer at the default
    to(0, frame(1, BCAST));
    expect(bridge.fdbEntries().map((e) => [e.mac, e.vlan])).toEqual([[H(1), 1]]);
    const events: unknown[] = [];
    bridge.on("port-vlans", (e) => events.push(e));
    bridge.defaultPvid = 5;
    expect(bridge.defaultPvid).toBe(5);
    const show = () => bridge.vlans().map((p) => p.vlans.map(({ vid, pvid, untagged }) => `${vid}${pvid ? "P" : ""}${untagged ? "U" : ""}`).join(" "));
    expect(show()).toEqual(["5PU", "5PU", "59PU", "1PU 7"]);
    expect(events.map((e) => (e as { port: string }).port)).toEqual(["m0", "m1"]);
    expect(bridge.fdbEntries()).toEqual([]); // learned in VLAN 1 on a port that left it
    expect(to(0, frame(1, BCAST))).toEqual([1]);
    // A port added now joins the new default.
    bridge.addPort(new MemoryPort("m4"));
    expect(show()[4]).toBe("5PU");
    // 0: no default VLAN; ports at the default have none, and untagged frames are dropped for want of a PVID.
    bridge.defaultPvid = 0;
    expect(show()).toEqual(["", "", "59PU", "1PU 7", ""]);
    expect(to(0, frame(1, BCAST))).toEqual([]);
    expect(drops(0)).toEqual({ no_pvid: 1 });
    bridge.defaultPvid = 9;
    expect(show()).toEqual(["9PU", "9PU", "59PU", "1PU 7", "9PU"]);
    expect(() => (bridge.defaultPvid = 4095)).toThrow(/default PVID: VLAN ID 4095 is reserved/);
    expect(bridge.defaultPvid).toBe(9);
    // It does not turn filtering on by itself.
    const unaware = rig([{}, {}]);
    unaware.bridge.defaultPvid = 3;
    expect(unaware.bridge.vlanFiltering).toBe(false);
    expect(unaware.bridge.vlans()[0]!.vlans.map((v) => v.vid)).toEqual([3]);
  });
});

describe("VLAN ingress", () => {
  const ports: PortSettings[] = [{ access: 59 }, { access: 59 }, { access: 89 }, { trunk: [59, 89], native: 1 }, { trunk: [59] }];

  it("puts an untagged frame in the PVID and floods it to that VLAN's ports only", () => {
    const { send } = rig(ports);
    const f = frame(1, BCAST);
    const got = send(0, f);
    expect(Object.keys(got).map(Number)).toEqual([1, 3, 4]);
    expect(got[1]).toBe(hex(f)); // access: untagged
    expect(got[3]).toBe(hex(frame(1, BCAST, [{ vid: 59 }]))); // trunk: tagged 59, PCP 0
    expect(got[4]).toBe(hex(frame(1, BCAST, [{ vid: 59 }])));
  });

  it("gives a priority-tagged frame the PVID, keeping PCP and DEI where it leaves tagged", () => {
    const { send } = rig(ports);
    const got = send(0, frame(1, BCAST, [{ vid: 0, pcp: 6, dei: true }]));
    expect(got[1]).toBe(hex(frame(1, BCAST))); // the other access port: untagged, no tag at all
    expect(got[3]).toBe(hex(frame(1, BCAST, [{ vid: 59, pcp: 6, dei: true }])));
  });

  it("leaves the received frame as it was: a mirror of the ingress port sees VID 0, one of a trunk the frame as sent", () => {
    const { bridge, send } = rig(ports);
    const seen: { dir: string; hex: string }[] = [];
    bridge.mirror("m0", (m) => seen.push({ dir: m.direction, hex: Buffer.from(m.frame).toString("hex") }));
    bridge.mirror("m3", (m) => seen.push({ dir: m.direction, hex: Buffer.from(m.frame).toString("hex") }));
    const f = frame(1, BCAST, [{ vid: 0, pcp: 2 }]);
    const got = send(0, f);
    expect(seen).toEqual([
      { dir: "in", hex: hex(f) },
      { dir: "out", hex: got[3]! },
    ]);
    expect(got[3]).toBe(hex(frame(1, BCAST, [{ vid: 59, pcp: 2 }])));
  });

  it("drops untagged and priority-tagged frames on a port without PVID, with a reason", () => {
    const { to, drops } = rig(ports);
    expect(to(4, frame(1, BCAST))).toEqual([]);
    expect(to(4, frame(1, BCAST, [{ vid: 0, pcp: 5 }]))).toEqual([]);
    expect(drops(4)).toEqual({ no_pvid: 2 });
  });

  it("drops a frame tagged with a VID the port is not a member of (and VID 4095), with a reason", () => {
    const { to, drops, bridge } = rig(ports);
    expect(to(3, frame(1, BCAST, [{ vid: 42 }]))).toEqual([]);
    expect(to(3, frame(1, BCAST, [{ vid: 4095 }]))).toEqual([]);
    expect(to(0, frame(1, BCAST, [{ vid: 89 }]))).toEqual([]); // access 59 port, tagged 89
    expect(drops(3)).toEqual({ vlan_not_member: 2 });
    expect(drops(0)).toEqual({ vlan_not_member: 1 });
    expect(bridge.fdbEntries()).toEqual([]); // nothing learned from refused frames
  });

  it("carries a frame whose outer tag is 802.1ad in the PVID with its S-tag intact (QinQ passthrough)", () => {
    const { send } = rig(ports);
    const stagged = frame(1, BCAST, [{ tpid: 0x88a8, vid: 300, pcp: 2 }]);
    const got = send(0, stagged);
    expect(Object.keys(got).map(Number)).toEqual([1, 3, 4]);
    expect(got[1]).toBe(hex(stagged));
    // On the trunk: the C-tag of VLAN 59 outside, the S-tag inside.
    expect(got[3]).toBe(hex(frame(1, BCAST, [{ vid: 59 }, { tpid: 0x88a8, vid: 300, pcp: 2 }])));
  });

  it("hands BPDUs to STP whatever the VLAN, and learns link-local sources in the ingress VLAN", () => {
    const { bridge, to, drops } = rig(ports);
    const seen: number[] = [];
    bridge.setBpduHandler((_b, _i, port) => void seen.push(port));
    expect(to(4, frame(1, "01:80:c2:00:00:00"))).toEqual([]); // m4 has no PVID
    expect(seen).toEqual([4]);
    expect(drops(4)).toEqual({ bpdu_consumed: 1 });
    expect(to(0, frame(7, "01:80:c2:00:00:0e"))).toEqual([]); // LLDP on access 59
    expect(bridge.lookup(H(7), 59)?.name).toBe("m0");
    expect(bridge.lookup(H(7), 0)).toBeUndefined();
  });
});

describe("VLAN egress", () => {
  const ports: PortSettings[] = [{ access: 59 }, { trunk: [59, 89], native: 1 }, { trunk: [59, 89], native: 1 }, { access: 89 }, { access: 1 }];

  it("keeps PCP and DEI trunk to trunk, and strips the tag toward an access port", () => {
    const { send } = rig(ports);
    const f = frame(1, BCAST, [{ vid: 59, pcp: 5, dei: true }]);
    const got = send(1, f);
    expect(Object.keys(got).map(Number)).toEqual([0, 2]);
    expect(got[2]).toBe(hex(f)); // unchanged
    expect(got[0]).toBe(hex(frame(1, BCAST)));
  });

  it("carries the native VLAN untagged across a trunk", () => {
    const { send } = rig(ports);
    const f = frame(1, BCAST);
    const got = send(1, f);
    expect(got).toEqual({ 2: hex(f), 4: hex(f) });
    // A frame tagged with the native VID leaves the other trunk untagged (native is untagged egress).
    expect(send(1, frame(1, BCAST, [{ vid: 1, pcp: 3 }]))).toEqual({ 2: hex(f), 4: hex(f) });
  });

  it("confines floods to the VID's member ports that are forwarding", () => {
    const { to, bridge } = rig(ports);
    expect(to(3, frame(1, BCAST))).toEqual([1, 2]);
    expect(to(3, frame(1, "01:00:5e:00:00:01"))).toEqual([1, 2]);
    expect(to(3, frame(1, H(0x99)))).toEqual([1, 2]); // unknown unicast
    bridge.setPortSettings("m2", { state: "blocking" });
    expect(to(3, frame(1, BCAST))).toEqual([1]);
  });

  it("learns per VID: one MAC on two ports in two VLANs, each looked up in its own", () => {
    const { bridge, to } = rig(ports);
    // Host 7 appears on m0 (VLAN 59) and on m3 (VLAN 89): two entries, no station move.
    to(0, frame(7, BCAST));
    to(3, frame(7, BCAST));
    expect(bridge.lookup(H(7), 59)?.name).toBe("m0");
    expect(bridge.lookup(H(7), 89)?.name).toBe("m3");
    expect(bridge.fdb.moves).toBe(0);
    expect(bridge.fdbEntries().map((e) => `${e.mac}/${e.vlan}@${e.port}`).sort()).toEqual([`${H(7)}/59@m0`, `${H(7)}/89@m3`]);
    // From the trunk, VLAN 59 frames for host 7 go to m0 and VLAN 89 ones to m3.
    expect(to(1, frame(9, 7, [{ vid: 59 }]))).toEqual([0]);
    expect(to(1, frame(9, 7, [{ vid: 89 }]))).toEqual([3]);
  });

  it("flushes one VID's learned entries, and a port's entries in a VLAN it leaves", () => {
    const { bridge, to } = rig(ports);
    to(0, frame(7, BCAST));
    to(3, frame(8, BCAST));
    to(1, frame(9, BCAST, [{ vid: 89 }]));
    expect(bridge.flushFdb(undefined, { vlan: 59 })).toBe(1);
    expect(bridge.fdbEntries().map((e) => e.vlan).sort()).toEqual([89, 89]);
    expect(bridge.flushFdb("m1", { vlan: 89 })).toBe(1);
    bridge.deleteVlan("m3", 89);
    expect(bridge.fdbEntries()).toEqual([]);
  });

  it("takes static entries per VID, and drops toward a port outside the frame's VLAN with a reason", () => {
    const { bridge, to, drops } = rig(ports);
    bridge.addStaticEntry(H(0x42), "m0", { vlan: 59 });
    bridge.addStaticEntry(H(0x43), "m3", { vlan: 59 }); // m3 is not in 59
    expect(to(1, frame(9, 0x42, [{ vid: 59 }]))).toEqual([0]);
    expect(to(1, frame(9, 0x42, [{ vid: 89 }]))).toEqual([2, 3]); // not known in 89: flooded there
    expect(to(1, frame(9, 0x43, [{ vid: 59 }]))).toEqual([]);
    expect(drops(1)).toEqual({ vlan_egress_filtered: 1 });
    // Without a VID: VLAN 0 and every VLAN of the port, as `bridge fdb add … master`.
    bridge.addStaticEntry(H(0x44), "m1");
    expect(bridge.fdbEntries().filter((e) => e.mac === H(0x44)).map((e) => e.vlan).sort((a, b) => a - b)).toEqual([0, 1, 59, 89]);
    expect(bridge.deleteEntry(H(0x44))).toBe(true);
    expect(bridge.fdbEntries().filter((e) => e.mac === H(0x44))).toEqual([]);
  });

  it("moves the virtio-net header's csum_start and hdr_len by 4 when a GSO frame gains or loses a tag", () => {
    const { bridge, ports: p } = rig(ports);
    const vnet = (csumStart: number, hdrLen: number) => {
      const h = new Uint8Array(10);
      const v = new DataView(h.buffer);
      h[0] = Vnet.FLAG_NEEDS_CSUM;
      h[1] = Vnet.GSO_TCPV4;
      v.setUint16(Vnet.hdrLen, hdrLen, true);
      v.setUint16(Vnet.gsoSize, 1448, true);
      v.setUint16(Vnet.csumStart, csumStart, true);
      v.setUint16(Vnet.csumOffset, 16, true);
      return h;
    };
    const big = frame(1, BCAST, [], 4000);
    // An IPv4/TCP packet: a GSO header must describe a real TCP header (core/gso.ts).
    big.set([0x45, 0, 4000 >> 8, 4000 & 0xff, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
    big[14 + 32] = 0x50;
    for (const q of p) q.take();
    p[0]!.send(big, vnet(34, 66));
    const trunk = p[1]!.received.splice(0);
    expect(trunk).toHaveLength(1);
    expect(trunk[0]!.data.length).toBe(big.length + 4);
    expect(hex(trunk[0]!.vnetHeader!)).toBe(hex(vnet(38, 70)));
    // And back: a tagged GSO frame leaves an access port 4 bytes shorter.
    p[1]!.send(trunk[0]!.data, trunk[0]!.vnetHeader);
    const access = p[0]!.received.splice(0);
    expect(access).toHaveLength(1);
    expect(hex(access[0]!.data)).toBe(hex(big));
    expect(hex(access[0]!.vnetHeader!)).toBe(hex(vnet(34, 66)));
    // The other trunk got it as it came (tagged, header unchanged).
    expect(hex(p[2]!.received.at(-1)!.vnetHeader!)).toBe(hex(vnet(38, 70)));
    expect(bridge.internalErrors).toBe(0);
  });

  it("counts packets and bytes per (port, VID) as they enter and leave", () => {
    const { bridge, to } = rig(ports);
    to(0, frame(1, BCAST)); // 60 bytes in on m0/59; out tagged (64) on m1, m2
    to(1, frame(2, BCAST, [{ vid: 89 }])); // 64 in on m1/89; out m2 (64) and m3 untagged (60)
    const row = (port: number, vid: number) => bridge.vlans()[port]!.vlans.find((v) => v.vid === vid)!;
    expect(row(0, 59)).toMatchObject({ rxPackets: 1, rxBytes: 60, txPackets: 0 });
    expect(row(1, 59)).toMatchObject({ rxPackets: 0, txPackets: 1, txBytes: 64 });
    expect(row(1, 89)).toMatchObject({ rxPackets: 1, rxBytes: 64, txPackets: 0 });
    expect(row(2, 89)).toMatchObject({ txPackets: 1, txBytes: 64 });
    expect(row(3, 89)).toMatchObject({ txPackets: 1, txBytes: 60 });
    bridge.setPortVlans("m3", { access: 89 }); // same spec again: membership re-made, counters start over
    expect(row(3, 89)).toMatchObject({ txPackets: 0 });
  });
});

describe("802.1ad bridge (vlan_protocol 802.1ad)", () => {
  it("filters, inserts and strips S-tags, and carries C-tagged frames in the PVID", () => {
    const { bridge, send, drops } = rig([{ access: 100 }, { trunk: [100, 200] }, { access: 100 }], { vlanProtocol: "802.1ad" });
    expect(bridge.vlanProtocol).toBe("802.1ad");
    // A customer's C-tagged frame on an access port: carried in S-VLAN 100, S-tag added outside.
    const ctagged = frame(1, BCAST, [{ vid: 59, pcp: 4 }]);
    const got = send(0, ctagged);
    expect(got[2]).toBe(hex(ctagged));
    expect(got[1]).toBe(hex(frame(1, BCAST, [{ tpid: 0x88a8, vid: 100 }, { vid: 59, pcp: 4 }])));
    // S-tagged back from the trunk: the S-tag is stripped, the C-tag stays.
    expect(send(1, frame(2, BCAST, [{ tpid: 0x88a8, vid: 100, pcp: 1 }, { vid: 59 }]))).toEqual({ 0: hex(frame(2, BCAST, [{ vid: 59 }])), 2: hex(frame(2, BCAST, [{ vid: 59 }])) });
    // An S-tag of a VID the trunk does not carry is refused.
    expect(send(1, frame(2, BCAST, [{ tpid: 0x88a8, vid: 300 }]))).toEqual({});
    expect(drops(1)).toEqual({ vlan_not_member: 1 });
    // Switching the protocol at run time.
    bridge.vlanProtocol = "802.1Q";
    expect(send(0, frame(1, BCAST))[1]).toBe(hex(frame(1, BCAST, [{ vid: 100 }])));
  });
});
