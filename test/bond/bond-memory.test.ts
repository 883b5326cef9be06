/**
 * Bonds end to end without root (rig.ts: in-memory members wired to a
 * learning switch, virtual time): one port to the bridge, the receive
 * filters and their counters, active-backup failover with announcements,
 * primary return and its drain, updelay/downdelay, ARP monitoring,
 * balance-slb spreading, reflections and rebalancing, VLANs, events, logs,
 * and refusals.
 */
import { describe, expect, it } from "vitest";
import { slbBucket } from "../../src/bond/hash.js";
import type { BondFailoverEvent, BondMemberEvent } from "../../src/bridge-events.js";
import { buildFrame, parseMac } from "../../src/core/frame.js";
import { BondPort } from "../../src/ports/bond-port.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import { arpReply, arpRequest, ethernet } from "../../src/testing/frames.js";
import { GUEST, HOST, MEMBER, rig, sources } from "./rig.js";

const BCAST = "ff:ff:ff:ff:ff:ff";
const frame = (src: string, dst: string) => buildFrame({ src, dst });

/** Frames that left through a member, by member name, from now on. */
function outOf(...ports: MemoryPort[]): Map<string, Uint8Array[]> {
  const seen = new Map<string, Uint8Array[]>(ports.map((p) => [p.name, []]));
  for (const p of ports) p.onFrame((f) => seen.get(p.name)!.push(f));
  return seen;
}

describe("a bond is one port", () => {
  it("one FDB target, one flood target, one STP port; members are hidden", () => {
    const r = rig({ mode: "active-backup" });
    const [g0, g1] = r.guests;
    expect(r.tb.ports.map((p) => p.label)).toEqual(["bond0", "g0", "g1"]);
    expect(r.members.map((m) => m.index)).toEqual([1, 2]);
    g0!.send(frame(GUEST(0), BCAST));
    expect(sources(r.hosts[0]!)).toEqual([GUEST(0)]); // one copy, through the active member only
    expect(sources(g1!)).toEqual([GUEST(0)]);
    r.hosts[0]!.send(frame(HOST(0), GUEST(0)));
    expect(sources(g0!)).toEqual([HOST(0)]);
    expect(r.tb.lookup(HOST(0))?.label).toBe("bond0");
    // g0's broadcast came back from the switch on the backup: counted on the bond, dropped.
    expect(r.tb.portStats("bond0")).toMatchObject({ kind: "bond", rxPackets: 2, drops: { bond_member_inactive: 1 } });
    r.tb.setStp({ protocol: "rstp" });
    expect(r.tb.stpStatus().ports.map((p) => p.name)).toEqual(["bond0", "g0", "g1"]);
  });

  it("refuses bond options on other ports, a primary that is no member, members twice, no members, and ARP monitoring on lacp", () => {
    const r = rig();
    expect(() => r.tb.addPort(new MemoryPort("x"), { bond: { mode: "lacp" } })).toThrow(/not a bond: bond options/);
    expect(() => new BondPort({ name: "b", members: [new MemoryPort("a"), new MemoryPort("b")], primary: "c" })).toThrow(/primary=c is not a member of the bond \(members: a, b\)/);
    expect(() => new BondPort({ name: "b", members: ["eth1", "eth1"] })).toThrow(/lists member eth1 twice/);
    expect(() => new BondPort({ name: "b", members: [] })).toThrow(/needs at least one member/);
    expect(() => new BondPort({ name: "b", members: ["eth1"], mode: "round-robin" as never })).toThrow(/is not a bond mode/);
    expect(() => new BondPort({ name: "b", members: ["eth1"], arpTargets: ["10.0.0.300"] })).toThrow(/not an IPv4 address/);
    expect(() => r.tb.setPortSettings("bond0", { bond: { updelay: -1 } })).toThrow(/updelay=-1 is out of range/);
    expect(() => new BondPort({ name: "b", members: ["eth1"], mode: "lacp", arpTargets: ["192.0.2.1"] })).toThrow(/arp-targets do not apply to lacp bonds/);
    expect(() => new BondPort({ name: "b", members: ["eth1"], miimon: 5 })).toThrow(/miimon=5 is out of range: use a whole number of milliseconds from 10/);
    expect(() => r.tb.addPort(new BondPort({ name: "b2", members: [r.members[0]!] }))).toThrow(/already attached/);
    expect(r.tb.bondStatus("bond0").options.updelay).toBeUndefined(); // nothing changed
  });

  it("removing the bond frees its members' indices and detaches them", () => {
    const r = rig();
    r.tb.removePort("bond0");
    expect(r.members.map((m) => m.index)).toEqual([-1, -1]);
    const p = r.tb.addPort(new MemoryPort("next"));
    expect(p.index).toBe(0);
    expect(r.tb.bondStatus()).toEqual([]);
  });
});

describe("active-backup", () => {
  it("accepts only on the active member; the backup's frames are counted as bond_member_inactive", () => {
    const r = rig({ mode: "active-backup" });
    r.hosts[0]!.send(frame(HOST(0), BCAST)); // the switch floods it to both members
    expect(sources(r.guests[0]!)).toEqual([HOST(0)]);
    r.members[1]!.send(frame(HOST(0), GUEST(0))); // a unicast arriving on the backup
    const status = r.tb.bondStatus("bond0");
    expect(status.activeMember).toBe("m1");
    expect(status.members[1]!.drops).toEqual({ bond_member_inactive: 2 });
    expect(r.tb.portStats("bond0").drops).toEqual({ bond_member_inactive: 2 });
    expect(sources(r.guests[0]!)).toEqual([]);
  });

  it("fails over when the active member's carrier goes, announcing every station behind the bridge through the new member", () => {
    const r = rig({ mode: "active-backup" });
    const failovers: BondFailoverEvent[] = [];
    const members: BondMemberEvent[] = [];
    r.tb.on("bond-failover", (e) => failovers.push(e));
    r.tb.on("bond-member", (e) => members.push(e));
    for (const [k, g] of r.guests.entries()) g.send(frame(GUEST(k), HOST(0)));
    expect(r.sw.lookup(GUEST(0))?.label).toBe("s1");
    const out = outOf(...r.members);
    r.wires[0]!.cut();
    expect(failovers).toEqual([{ port: "bond0", index: 0, mode: "active-backup", from: "m1", to: "m2", reason: "wire cut", bucketsMoved: 0 }]);
    expect(members.map((e) => `${e.member} ${e.enabled} ${e.state}`)).toEqual(["m1 false down", "m2 true up"]);
    // One gratuitous RARP per station, out of m2 only: broadcast, ethertype 0x8035, sender = target = the station.
    const rarps = out.get("m2")!.filter((f) => f[12] === 0x80 && f[13] === 0x35);
    expect(rarps.map((f) => Buffer.from(f.subarray(6, 12)).toString("hex"))).toEqual(expect.arrayContaining([GUEST(0), GUEST(1)].map((m) => m.replace(/:/g, ""))));
    expect(rarps).toHaveLength(2);
    expect([...rarps[0]!.subarray(0, 6)]).toEqual([255, 255, 255, 255, 255, 255]);
    expect(rarps[0]![21]).toBe(3); // reverse request
    expect(out.get("m1")).toEqual([]);
    expect(r.sw.lookup(GUEST(0))?.label).toBe("s2"); // the switch relearned at once
    const line = r.logs.find((l) => l.msg === "bond failover");
    expect(line).toMatchObject({ level: 40, bond: "bond0", mode: "active-backup", from: "m1", to: "m2", reason: "wire cut" });
    r.clock.advance(100);
    expect(r.logs.filter((l) => l.msg === "bond announced stations").pop()).toMatchObject({ stations: 2, reason: "wire cut" });
    r.guests[1]!.take();
    r.hosts[0]!.send(frame(HOST(0), GUEST(1)));
    expect(sources(r.guests[1]!)).toEqual([HOST(0)]);
  });

  it("gives the traffic back to a returning primary, the old member draining unicast (not broadcast, not reflections) for a second", () => {
    const r = rig({ mode: "active-backup", primary: "m1" });
    r.guests[0]!.send(frame(GUEST(0), HOST(0)));
    r.wires[0]!.cut();
    expect(r.tb.bondStatus("bond0").activeMember).toBe("m2");
    r.wires[0]!.restore();
    const st = r.tb.bondStatus("bond0");
    expect(st.activeMember).toBe("m1");
    expect(st.lastFailover).toEqual({ from: "m2", to: "m1", reason: "primary returned", bucketsMoved: 0 });
    // A reply the switch sent before it relearned arrives on m2: still delivered.
    r.members[1]!.send(frame(HOST(0), GUEST(0)));
    expect(sources(r.guests[0]!)).toEqual([HOST(0)]);
    r.members[1]!.send(frame(HOST(0), BCAST));
    r.members[1]!.send(frame(GUEST(0), HOST(0))); // our own frame flooded back
    expect(sources(r.guests[0]!)).toEqual([]);
    expect(r.tb.bondStatus("bond0").members[1]!.drops).toMatchObject({ bond_multicast_ignored: 1, bond_reflection: 1 });
    const inactive = r.tb.bondStatus("bond0").members[1]!.drops.bond_member_inactive ?? 0;
    r.clock.advance(1100);
    r.members[1]!.send(frame(HOST(0), GUEST(0)));
    expect(sources(r.guests[0]!)).toEqual([]);
    expect(r.tb.bondStatus("bond0").members[1]!.drops.bond_member_inactive).toBe(inactive + 1);
  });

  it("waits out downdelay before dropping a member and updelay before using one again", () => {
    const r = rig({ mode: "active-backup", primary: "m1", downdelay: 300, updelay: 500 });
    // At start nothing is up yet: a member still in updelay carries traffic rather than none (as Linux).
    expect(r.tb.bondStatus("bond0")).toMatchObject({ up: true, activeMember: "m1" });
    r.clock.advance(600);
    r.members[0]!.setLinkUp(false);
    expect(r.tb.bondStatus("bond0").members[0]).toMatchObject({ state: "going-down", enabled: true });
    r.clock.advance(200);
    expect(r.tb.bondStatus("bond0").activeMember).toBe("m1");
    r.clock.advance(200);
    expect(r.tb.bondStatus("bond0")).toMatchObject({ activeMember: "m2", lastFailover: { from: "m1", to: "m2", reason: "downdelay over" } });
    r.members[0]!.setLinkUp(true);
    expect(r.tb.bondStatus("bond0").members[0]).toMatchObject({ state: "going-up", enabled: false });
    r.clock.advance(400);
    expect(r.tb.bondStatus("bond0").activeMember).toBe("m2");
    r.clock.advance(200);
    expect(r.tb.bondStatus("bond0")).toMatchObject({ activeMember: "m1", lastFailover: { reason: "primary returned" } });
    // A flap shorter than downdelay changes nothing.
    r.members[0]!.setLinkUp(false);
    r.clock.advance(100);
    r.members[0]!.setLinkUp(true);
    r.clock.advance(1000);
    expect(r.tb.bondStatus("bond0").failovers).toBe(2);
  });

  it("ARP monitoring: a member whose targets stop answering leaves, though its carrier stays up", () => {
    const r = rig({ mode: "active-backup", arpTargets: ["192.0.2.1"], arpInterval: 100 });
    // Host 0 is the target: it answers every probe to the MAC that asked.
    const h = r.hosts[0]!;
    let probes = 0;
    h.onFrame((f) => {
      if (f[12] !== 0x08 || f[13] !== 0x06 || f[21] !== 1) return;
      probes++;
      const asker = [...f.subarray(22, 28)].map((b) => b.toString(16).padStart(2, "0")).join(":");
      h.send(arpReply({ srcMac: HOST(0), dstMac: asker, srcIp: "192.0.2.1", dstIp: "0.0.0.0" }));
    });
    r.clock.advance(1000);
    expect(probes).toBeGreaterThanOrEqual(18); // both members, every 100 ms
    let s = r.tb.bondStatus("bond0");
    expect(s.members.map((m) => m.arpOk)).toEqual([true, true]);
    expect(s.members[0]!.drops.bond_control).toBeGreaterThan(5); // our own replies are ours, not the guests'
    expect(r.guests[0]!.take().filter((f) => f[12] === 0x08 && f[13] === 0x06 && f[21] === 2)).toEqual([]);
    r.wires[0]!.partition(); // carrier up, nothing passes
    r.clock.advance(400);
    s = r.tb.bondStatus("bond0");
    expect(s.members[0]).toMatchObject({ carrier: true, arpOk: false, state: "down", enabled: false });
    expect(s).toMatchObject({ activeMember: "m2", lastFailover: { from: "m1", to: "m2", reason: "arp timeout" } });
    r.wires[0]!.heal();
    r.clock.advance(300);
    expect(r.tb.bondStatus("bond0").members[0]).toMatchObject({ arpOk: true, state: "up" });
  });
});

describe("balance-slb", () => {
  /** Guest MACs whose buckets are even (first member at start) and odd (second). */
  const evenOdd = (() => {
    const out: { even: string[]; odd: string[] } = { even: [], odd: [] };
    for (let i = 1; out.even.length < 2 || out.odd.length < 2; i++) {
      const mac = `02:00:00:00:0e:${i.toString(16).padStart(2, "0")}`;
      const [hi, lo] = parseMac(mac);
      (slbBucket(hi, lo, 0) % 2 === 0 ? out.even : out.odd).push(mac);
    }
    return out;
  })();

  it("sends each station through the member of its bucket; broadcast from the switch is taken on the active member only; reflections are dropped", () => {
    const r = rig({ mode: "balance-slb", guests: 0 });
    const a = r.tb.addPort(new MemoryPort("ga", { mac: evenOdd.even[0] }));
    const b = r.tb.addPort(new MemoryPort("gb", { mac: evenOdd.odd[0] }));
    const out = outOf(...r.members);
    a.send(frame(evenOdd.even[0]!, HOST(0)));
    b.send(frame(evenOdd.odd[0]!, BCAST));
    expect(out.get("m1")!.length).toBe(1);
    expect(out.get("m2")!.length).toBe(1);
    expect(r.sw.lookup(evenOdd.even[0]!)?.label).toBe("s1");
    expect(r.sw.lookup(evenOdd.odd[0]!)?.label).toBe("s2");
    // b's broadcast was flooded back by the switch onto m1 (the active member): a reflection, dropped.
    expect(sources(a)).toEqual([evenOdd.odd[0]]);
    const s = r.tb.bondStatus("bond0");
    expect(s.activeMember).toBe("m1");
    expect(s.members[0]!.drops).toEqual({ bond_reflection: 1 });
    // The host's broadcast reaches both members: once to the guests.
    r.hosts[0]!.send(frame(HOST(0), BCAST));
    expect(sources(a)).toEqual([HOST(0)]);
    // m2 dropped that copy, and earlier a's unicast to the unknown host, flooded back by the switch.
    expect(r.tb.bondStatus("bond0").members[1]!.drops).toEqual({ bond_multicast_ignored: 1, bond_reflection: 1 });
    // Unicast is taken on any member.
    r.members[1]!.send(frame(HOST(0), evenOdd.even[0]!));
    expect(sources(a)).toEqual([HOST(0)]);
    // Loads and buckets are visible.
    const m = r.tb.bondStatus("bond0").members;
    expect(m[0]!.buckets.length + m[1]!.buckets.length).toBe(2);
    expect(m[0]!.idleBuckets + m[1]!.idleBuckets + 2).toBe(256);
  });

  it("lets a gratuitous ARP of a station that moved through, unless it just announced itself behind the bridge", () => {
    const r = rig({ mode: "balance-slb", guests: 1 });
    const g = r.guests[0]!;
    const garp = () => arpRequest({ srcMac: GUEST(0), srcIp: "10.0.0.5", targetIp: "10.0.0.5" });
    g.send(garp()); // the guest announces itself; reflections of it stay reflections for 5 s
    const before = r.tb.bondStatus("bond0").members[0]!.drops.bond_reflection ?? 0;
    r.members[0]!.send(garp()); // on the active member, which takes broadcast
    expect(r.tb.lookup(GUEST(0))?.label).toBe("g0");
    expect(r.tb.bondStatus("bond0").members[0]!.drops.bond_reflection).toBe(before + 1);
    // Any other frame of the station from the switch is a reflection, whatever the time.
    r.clock.advance(6000);
    r.members[0]!.send(frame(GUEST(0), BCAST));
    expect(r.tb.lookup(GUEST(0))?.label).toBe("g0");
    // The guest moved behind the switch and announces itself there: learned on the bond.
    r.members[0]!.send(garp());
    expect(r.tb.lookup(GUEST(0))?.label).toBe("bond0");
  });

  it("rebalances measured load: two busy stations on one member end on two", () => {
    const r = rig({ mode: "balance-slb", guests: 0, rebalanceInterval: 1000 });
    const a = r.tb.addPort(new MemoryPort("ga", { mac: evenOdd.even[0] }));
    const b = r.tb.addPort(new MemoryPort("gb", { mac: evenOdd.even[1] }));
    const big = (src: string) => ethernet({ src, dst: HOST(0), ethertype: 0x88b5, payload: new Uint8Array(1400) });
    for (let i = 0; i < 50; i++) {
      a.send(big(evenOdd.even[0]!));
      b.send(big(evenOdd.even[1]!));
    }
    expect(r.tb.bondStatus("bond0").members[0]!.buckets.length).toBe(2);
    r.clock.advance(1000);
    const s = r.tb.bondStatus("bond0").members;
    expect(s[0]!.buckets.length).toBe(1);
    expect(s[1]!.buckets.length).toBe(1);
    expect(r.logs.find((l) => l.msg === "bond rebalanced")).toMatchObject({ bond: "bond0" });
    const out = outOf(...r.members);
    a.send(big(evenOdd.even[0]!));
    b.send(big(evenOdd.even[1]!));
    expect(out.get("m1")!.length).toBe(1);
    expect(out.get("m2")!.length).toBe(1);
  });

  it("moves a failed member's stations to the other and announces them there", () => {
    const r = rig({ mode: "balance-slb", guests: 0 });
    const a = r.tb.addPort(new MemoryPort("ga", { mac: evenOdd.even[0] }));
    const b = r.tb.addPort(new MemoryPort("gb", { mac: evenOdd.odd[0] }));
    a.send(frame(evenOdd.even[0]!, HOST(0)));
    b.send(frame(evenOdd.odd[0]!, HOST(0)));
    const out = outOf(...r.members);
    r.wires[0]!.cut();
    const s = r.tb.bondStatus("bond0");
    expect(s.lastFailover).toMatchObject({ from: "m1", to: "m2", bucketsMoved: 1 });
    expect(s.members[0]!.buckets).toEqual([]);
    expect(out.get("m2")!.filter((f) => f[12] === 0x80 && f[13] === 0x35)).toHaveLength(2);
    expect(r.sw.lookup(evenOdd.even[0]!)?.label).toBe("s2");
    a.take();
    r.hosts[0]!.send(frame(HOST(0), evenOdd.even[0]!));
    expect(sources(a)).toEqual([HOST(0)]);
  });
});

describe("VLANs on a bond", () => {
  it("members tag as the bond does, and announcements carry the station's VLAN", () => {
    const r = rig({ mode: "active-backup", guests: 0, settings: { trunk: [10, 20] } });
    const g = r.tb.addPort(new MemoryPort("g10", { mac: GUEST(5) }), { access: 10 });
    const out = outOf(...r.members);
    g.send(frame(GUEST(5), HOST(0)));
    const sent = out.get("m1")![0]!;
    expect([sent[12], sent[13], sent[15]]).toEqual([0x81, 0x00, 10]);
    r.wires[0]!.cut();
    const rarp = out.get("m2")!.find((f) => f[16] === 0x80 && f[17] === 0x35)!;
    expect(rarp).toBeDefined();
    expect([rarp[12], rarp[13], rarp[15]]).toEqual([0x81, 0x00, 10]);
  });
});

describe("impairments on a bond", () => {
  it("impair the bond: every member's link is impaired alike, and the stats add up", () => {
    const r = rig({ mode: "balance-slb" });
    r.clock.advance(100);
    r.tb.impair("bond0", { partition: true }, "egress");
    r.guests[0]!.send(frame(GUEST(0), HOST(0)));
    r.guests[1]!.send(frame(GUEST(1), HOST(0)));
    r.clock.advance(10);
    expect(sources(r.hosts[0]!)).toEqual([]);
    const s = r.tb.impairmentStats("bond0");
    expect(s.egress).toMatchObject({ offered: 2, partitioned: 2, delivered: 0 });
    expect(r.members.map((m) => m.impairmentStats().egress?.offered)).toEqual([1, 1]);

    r.tb.impair("bond0", undefined);
    r.guests[0]!.send(frame(GUEST(0), HOST(0)));
    r.clock.advance(10);
    expect(sources(r.hosts[0]!)).toEqual([GUEST(0)]);
  });
});
