/**
 * VXLAN in the decision core, without root or the addon: header byte
 * vectors (one captured from the kernel's vxlan device), the per-remote FDB,
 * datagrams checked and dropped with a reason, head-end replication marked
 * per frame, the overlay MTU, and VNI ↔ VLAN mapping. Slots are filled the
 * way native/vxlan.cc fills them.
 */
import { describe, expect, it } from "vitest";
import { EGRESS_WORDS, HEADROOM, VNET_AREA, VxlanMeta } from "../../src/core/abi.js";
import { allocateBatch, type Batch } from "../../src/core/batch.js";
import { Counters } from "../../src/core/counters.js";
import { Fdb } from "../../src/core/fdb.js";
import { Decider } from "../../src/core/forward.js";
import { buildFrame, parseMac } from "../../src/core/frame.js";
import { DEFAULT_PORT_FLAGS, PortFlag, PortState, PortTable } from "../../src/core/port-table.js";
import { DROP_REASON_COUNT, DropReason } from "../../src/core/reasons.js";
import { VlanTable } from "../../src/core/vlan.js";
import { decapsulate, encapsulate, vxlanHeader, VxlanTable } from "../../src/core/vxlan.js";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));

// The UDP payload of an ARP request sent by the kernel's vxlan device (VNI 42), captured with tcpdump -xx.
const KERNEL_ARP = hex(`
  0800 0000 0000 2a00
  ffff ffff ffff f644 99b6 13f6 0806
  0001 0800 0604 0001 f644 99b6 13f6 0a5f 0002
  0000 0000 0000 0a5f 004d`);

describe("VXLAN header (RFC 7348)", () => {
  it("encapsulates as the kernel's vxlan device does", () => {
    const inner = KERNEL_ARP.subarray(8);
    expect(encapsulate(42, inner)).toEqual(KERNEL_ARP);
    expect(vxlanHeader(0xabcdef)).toEqual(Uint8Array.of(0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0));
  });

  it("decapsulates the kernel's frame and refuses what is not VXLAN", () => {
    const d = decapsulate(KERNEL_ARP)!;
    expect(d.vni).toBe(42);
    expect(d.frame).toEqual(KERNEL_ARP.subarray(8));
    expect(decapsulate(KERNEL_ARP.subarray(0, 21))).toBeUndefined();
    const gpe = KERNEL_ARP.slice();
    gpe[0] = 0x0c; // VXLAN-GPE's P flag
    expect(decapsulate(gpe)).toBeUndefined();
  });
});

describe("FDB entries keep their remote VTEP", () => {
  const [hi, lo] = parseMac("02:00:00:00:00:01");

  it("learns, looks up and moves between remotes of one port", () => {
    const fdb = new Fdb();
    fdb.learn(0, hi, lo, 3, 1000);
    fdb.learnRemote(0, hi, lo, 3, 7);
    expect(fdb.lookup(0, hi, lo, 1000)).toBe(3);
    expect(fdb.remoteOf(0, hi, lo)).toBe(7);
    fdb.learn(0, hi, lo, 3, 1000);
    fdb.learnRemote(0, hi, lo, 3, 9); // heard from another VTEP: migrated
    expect(fdb.lookup(0, hi, lo, 1001)).toBe(3);
    expect(fdb.remoteOf(0, hi, lo)).toBe(9);
    expect(fdb.remoteMoves).toBe(1);
    fdb.learn(0, hi, lo, 1, 1002); // a station move to a plain port clears it
    expect(fdb.lookup(0, hi, lo, 1002)).toBe(1);
    expect(fdb.remoteOf(0, hi, lo)).toBe(-1);
    expect(fdb.entries(1002)[0]!.remote).toBe(-1);
  });

  it("ages an entry learned behind a VTEP like any learned entry; a static one stays", () => {
    const fdb = new Fdb({ ageingMs: 1000 });
    fdb.learn(0, hi, lo, 3, 0);
    fdb.learnRemote(0, hi, lo, 3, 7);
    const [shi, slo] = parseMac("02:00:00:00:00:02");
    fdb.addStatic(0, shi, slo, 3, false, 8);
    expect(fdb.lookup(0, hi, lo, 999)).toBe(3);
    expect(fdb.lookup(0, hi, lo, 1000)).toBe(-1); // aged: unknown again, so flooded to every flood remote
    expect(fdb.expire(1000)).toBe(1);
    expect(fdb.entries(1000)).toEqual([{ vid: 0, hi: shi, lo: slo, port: 3, ageMs: 0, static: true, sticky: false, remote: 8 }]);
  });

  it("keeps a static entry's remote when the MAC is heard from another VTEP", () => {
    const fdb = new Fdb();
    fdb.addStatic(0, hi, lo, 2, false, 4);
    fdb.learn(0, hi, lo, 2, 5);
    fdb.learnRemote(0, hi, lo, 2, 5);
    expect(fdb.lookup(0, hi, lo, 6)).toBe(2);
    expect(fdb.remoteOf(0, hi, lo)).toBe(4);
  });

  it("carries remotes through growth and deletions (the backward shift)", () => {
    const fdb = new Fdb({ initialCapacity: 8 });
    const macs = Array.from({ length: 3000 }, (_, i) => parseMac(`02:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, "0")}:${(i & 0xff).toString(16).padStart(2, "0")}:01`));
    macs.forEach(([h, l], i) => {
      fdb.learn(0, h, l, 1, 10);
      fdb.learnRemote(0, h, l, 1, i % 1000);
    });
    for (let i = 0; i < macs.length; i += 3) fdb.delete(0, macs[i]![0], macs[i]![1]);
    macs.forEach(([h, l], i) => {
      const port = fdb.lookup(0, h, l, 11);
      if (i % 3 === 0) expect(port).toBe(-1);
      else expect(fdb.remoteOf(0, h, l)).toBe(i % 1000);
    });
  });
});

/** A bridge core with ports 0 (VXLAN, VNI 42, overlay MTU 1450) and 1, 2 (plain). */
function core(options: { vlan?: boolean; vniMap?: Map<number, number> } = {}) {
  const fdb = new Fdb();
  const ports = new PortTable();
  for (const p of [0, 1, 2]) {
    ports.flags[p] = PortFlag.present | DEFAULT_PORT_FLAGS;
    ports.state[p] = PortState.forwarding;
    ports.mtu[p] = p === 0 ? 1450 : 9000;
  }
  ports.recompute();
  const counters = new Counters();
  const vlan = new VlanTable();
  const vxlan = new VxlanTable();
  vxlan.setPort(0, 42, 1450, options.vniMap);
  if (options.vlan) {
    vlan.replacePort(0, [59, 89].map((vid) => ({ vid, pvid: false, untagged: true })).concat([{ vid: 1, pvid: true, untagged: true }]));
    for (const p of [1, 2]) vlan.replacePort(p, [{ vid: 59, pvid: false, untagged: false }, { vid: 1, pvid: true, untagged: true }]);
  }
  const decider = new Decider(fdb, ports, counters, { stpEnabled: false, groupFwdMask: 0, vlanFiltering: options.vlan === true }, undefined, vlan, vxlan);
  const batch = allocateBatch(8, 4096);
  const drops = (port: number, reason: number) => counters.drops[port * DROP_REASON_COUNT + reason];
  return { fdb, decider, batch, drops, vxlan, ports };
}

/** Slot i as native/vxlan.cc leaves a datagram from remote `remote`. */
function fromVxlan(batch: Batch, i: number, payload: Uint8Array, remote: number): void {
  const base = i * batch.slotSize;
  const frame = base + VNET_AREA + HEADROOM;
  batch.bytes.fill(0, base, base + VNET_AREA);
  batch.bytes.set(payload, frame - VxlanMeta.header);
  batch.view.setInt32(frame - VxlanMeta.remote, remote, true);
  batch.view.setUint32(frame - VxlanMeta.payloadLength, payload.length, true);
  batch.rxPort[i] = 0;
  batch.frameOffset[i] = frame;
  batch.frameLength[i] = Math.max(0, payload.length - 8);
}

function fromPort(batch: Batch, i: number, port: number, frame: Uint8Array): void {
  const base = i * batch.slotSize;
  batch.bytes.fill(0xee, base, base + VNET_AREA + HEADROOM); // stale bytes: the decision must write the remote word
  batch.bytes.fill(0, base, base + VNET_AREA);
  batch.bytes.set(frame, base + VNET_AREA + HEADROOM);
  batch.rxPort[i] = port;
  batch.frameOffset[i] = base + VNET_AREA + HEADROOM;
  batch.frameLength[i] = frame.length;
}

const egressOf = (batch: Batch, i: number) => [0, 1, 2].filter((p) => (batch.egress[i * EGRESS_WORDS]! >>> p) & 1);
const remoteOf = (batch: Batch, i: number) => batch.view.getInt32(batch.frameOffset[i]! - VxlanMeta.remote, true);
const A = "02:00:00:00:00:0a";
const B = "02:00:00:00:00:0b";

describe("decisions on a VXLAN port", () => {
  it("learns a remote MAC with its VTEP and sends unicast to that VTEP only; floods go to every flood remote", () => {
    const { batch, decider, fdb } = core();
    fromVxlan(batch, 0, encapsulate(42, buildFrame({ src: B, dst: A })), 5);
    decider.decide(batch, 1, 0);
    expect(egressOf(batch, 0)).toEqual([1, 2]); // unknown: flooded to the plain ports
    const [hi, lo] = parseMac(B);
    expect(fdb.lookup(0, hi, lo, 0)).toBe(0);
    expect(fdb.remoteOf(0, hi, lo)).toBe(5);

    fromPort(batch, 0, 1, buildFrame({ src: A, dst: B }));
    fromPort(batch, 1, 1, buildFrame({ src: A, dst: "ff:ff:ff:ff:ff:ff" }));
    decider.decide(batch, 2, 1);
    expect(egressOf(batch, 0)).toEqual([0]);
    expect(remoteOf(batch, 0)).toBe(5); // the learned VTEP
    expect(egressOf(batch, 1)).toEqual([0, 2]);
    expect(remoteOf(batch, 1)).toBe(-1); // head-end replication
  });

  it("counts and drops short payloads, wrong flags and unknown VNIs, and learns nothing from them", () => {
    const { batch, decider, drops, fdb } = core();
    const frame = buildFrame({ src: B, dst: A });
    fromVxlan(batch, 0, encapsulate(42, frame).subarray(0, 20), 1);
    const flags = encapsulate(42, frame);
    flags[0] = 0x0c;
    fromVxlan(batch, 1, flags, 1);
    const reserved = encapsulate(42, frame);
    reserved[7] = 1;
    fromVxlan(batch, 2, reserved, 1);
    fromVxlan(batch, 3, encapsulate(43, frame), 1);
    fromVxlan(batch, 4, new Uint8Array(3), 1);
    decider.decide(batch, 5, 0);
    expect(drops(0, DropReason.vxlanShort)).toBe(2);
    expect(drops(0, DropReason.vxlanBadHeader)).toBe(2);
    expect(drops(0, DropReason.vxlanUnknownVni)).toBe(1);
    expect(fdb.size).toBe(0);
    for (let i = 0; i < 5; i++) expect(egressOf(batch, i)).toEqual([]);
  });

  it("keeps frames longer than the overlay MTU off the VXLAN port, counted; GSO frames pass", () => {
    const { batch, decider, drops, fdb, vxlan } = core();
    const [hi, lo] = parseMac(B);
    fdb.learn(0, hi, lo, 0, 0);
    fdb.learnRemote(0, hi, lo, 0, 3);
    const big = buildFrame({ src: A, dst: B, payload: new Uint8Array(1451) });
    fromPort(batch, 0, 1, big);
    fromPort(batch, 1, 1, buildFrame({ src: A, dst: "ff:ff:ff:ff:ff:ff", payload: new Uint8Array(1451) }));
    fromPort(batch, 2, 1, buildFrame({ src: A, dst: B, payload: new Uint8Array(1450) }));
    decider.decide(batch, 3, 1);
    expect(egressOf(batch, 0)).toEqual([]);
    expect(drops(1, DropReason.vxlanTooBig)).toBe(1);
    expect(egressOf(batch, 1)).toEqual([2]); // the flood still reaches the plain port
    expect(vxlan.tooBigPerPort[0]).toBe(1);
    expect(egressOf(batch, 2)).toEqual([0]);
  });

  it("maps VNIs to VLANs and back (vni-map), the port's own VNI taking its PVID", () => {
    const { batch, decider, fdb } = core({ vlan: true, vniMap: new Map([[59, 10059], [89, 10089]]) });
    fromVxlan(batch, 0, encapsulate(10059, buildFrame({ src: B, dst: "ff:ff:ff:ff:ff:ff" })), 2);
    fromVxlan(batch, 1, encapsulate(42, buildFrame({ src: "02:00:00:00:00:0c", dst: "ff:ff:ff:ff:ff:ff" })), 2);
    decider.decide(batch, 2, 0);
    const [hi, lo] = parseMac(B);
    expect(fdb.lookup(59, hi, lo, 0)).toBe(0); // learned in VLAN 59
    expect(batch.frameTag[0]! & 0xfff).toBe(59);
    expect(egressOf(batch, 0)).toEqual([1, 2]);
    const [chi, clo] = parseMac("02:00:00:00:00:0c");
    expect(fdb.lookup(1, chi, clo, 0)).toBe(0); // the port's VNI: its PVID
    expect(batch.frameTag[1]! & 0xfff).toBe(1);
  });
});
