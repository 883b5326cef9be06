/**
 * LACP bonds end to end without root (rig.ts): two bridges whose bonds
 * negotiate over in-memory wires on virtual time; L2-L4 hashing over both
 * members once aggregated; a cut member; fallback to active-backup against
 * a switch that speaks no LACP (and none when fallback is off); LACPDUs
 * taken by the bond and never forwarded, and dropped as link-local
 * anywhere else.
 */
import { describe, expect, it } from "vitest";
import { buildFrame } from "../../src/core/frame.js";
import { encodeLacpdu, slowProtocolsFrame } from "../../src/bond/lacp/pdu.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import { udp4 } from "../../src/testing/frames.js";
import { GUEST, HOST, rig, sources } from "./rig.js";

describe("LACP between two bridges", () => {
  it("aggregates both members on both sides, spreads flows over them, and carries on over one when the other is cut", () => {
    const r = rig({ mode: "lacp", lacpRate: "fast", switchBond: { mode: "lacp", lacpRate: "fast" } });
    // The first PDUs went out before the wires were plugged in: the next ones, a second later, meet.
    r.clock.advance(1500);
    expect(r.tb.bondStatus("bond0").members.map((m) => m.lacp?.mux)).toEqual(["waiting", "waiting"]);
    r.clock.advance(2500);
    for (const b of [r.tb.bondStatus("bond0"), r.sw.bondStatus("sbond")]) {
      expect(b.lacp).toMatchObject({ negotiated: true, fallback: false, rate: "fast" });
      for (const m of b.members) {
        expect(m).toMatchObject({ enabled: true, lacp: { rx: "current", mux: "collecting-distributing", selected: true } });
        expect(m.lacp!.partner.stateWords).toEqual(["activity", "timeout", "aggregation", "synchronized", "collecting", "distributing"]);
      }
    }
    // Many flows of one guest: both members carry some.
    const g = r.guests[0]!;
    const before = r.tb.bondStatus("bond0").members.map((m) => m.txPackets);
    for (let port = 1000; port < 1064; port++) g.send(udp4({ srcMac: GUEST(0), dstMac: HOST(0), srcIp: "10.0.0.1", dstIp: "10.0.0.2", sport: port, dport: 53 }));
    const sent = r.tb.bondStatus("bond0").members.map((m, k) => m.txPackets - before[k]!);
    expect(sent[0]! + sent[1]!).toBe(64);
    expect(Math.min(...sent)).toBeGreaterThan(10);
    expect(sources(r.hosts[0]!).length).toBe(64);
    // LACPDUs were taken by the bonds: counted as bond_control, never seen by a guest or host.
    expect(r.tb.portStats("bond0").drops.bond_control).toBeGreaterThan(4);
    expect(g.take().some((f) => f[12] === 0x88 && f[13] === 0x09)).toBe(false);

    r.wires[0]!.cut();
    const s = r.tb.bondStatus("bond0");
    expect(s.members.map((m) => m.enabled)).toEqual([false, true]);
    expect(s.lastFailover).toMatchObject({ from: "m1", to: "m2", reason: "wire cut" });
    r.hosts[0]!.take();
    for (let port = 1000; port < 1064; port++) g.send(udp4({ srcMac: GUEST(0), dstMac: HOST(0), srcIp: "10.0.0.1", dstIp: "10.0.0.2", sport: port, dport: 53 }));
    expect(sources(r.hosts[0]!).length).toBe(64);
    r.hosts[0]!.send(buildFrame({ src: HOST(0), dst: GUEST(0) }));
    expect(sources(g)).toContain(HOST(0));
    r.wires[0]!.restore();
    r.clock.advance(3000);
    expect(r.tb.bondStatus("bond0").members.map((m) => m.enabled)).toEqual([true, true]);
  });

  it("a passive bond aggregates with an active one; slow rate asks for a LACPDU every 30 s", () => {
    const r = rig({ mode: "lacp", lacpActive: false, switchBond: { mode: "lacp" } });
    r.clock.advance(4000);
    const ours = r.tb.bondStatus("bond0");
    expect(ours.lacp).toMatchObject({ negotiated: true, active: false, rate: "slow" });
    expect(ours.members[0]!.lacp!.actor.stateWords).not.toContain("activity");
    expect(r.sw.bondStatus("sbond").members[0]!.lacp!.periodic).toBe("slow");
    const tx = r.sw.bondStatus("sbond").members[0]!.lacp!.txPdus;
    r.clock.advance(60_000);
    expect(r.sw.bondStatus("sbond").members[0]!.lacp!.txPdus - tx).toBeLessThanOrEqual(3);
    expect(r.tb.bondStatus("bond0").members.every((m) => m.enabled)).toBe(true);
  });

  it("falls back to active-backup when the partner speaks no LACP, and carries nothing with lacp-fallback off", () => {
    const r = rig({ mode: "lacp", lacpRate: "fast" });
    expect(r.tb.bondStatus("bond0").up).toBe(false); // expired, waiting to hear a partner
    r.clock.advance(3500);
    const s = r.tb.bondStatus("bond0");
    expect(s).toMatchObject({ up: true, activeMember: "m1", lacp: { negotiated: false, fallback: true } });
    expect(s.members.map((m) => m.lacp!.rx)).toEqual(["defaulted", "defaulted"]);
    r.guests[0]!.send(buildFrame({ src: GUEST(0), dst: HOST(0) }));
    expect(sources(r.hosts[0]!)).toEqual([GUEST(0)]);
    r.hosts[0]!.send(buildFrame({ src: HOST(0), dst: "ff:ff:ff:ff:ff:ff" })); // flooded to both members by the switch
    expect(sources(r.guests[0]!)).toEqual([HOST(0)]);
    r.wires[0]!.cut();
    expect(r.tb.bondStatus("bond0")).toMatchObject({ activeMember: "m2", lastFailover: { from: "m1", to: "m2" } });

    const off = rig({ mode: "lacp", lacpRate: "fast", lacpFallback: false });
    off.clock.advance(5000);
    expect(off.tb.bondStatus("bond0")).toMatchObject({ up: false, lacp: { negotiated: false, fallback: false } });
    expect(off.tb.portSettings("bond0").state).toBe("disabled");
    off.guests[0]!.send(buildFrame({ src: GUEST(0), dst: HOST(0) }));
    expect(sources(off.hosts[0]!)).toEqual([]);
  });

  it("a LACPDU on a port that is no LACP member is dropped as link_local, never forwarded", () => {
    const r = rig({ mode: "active-backup" });
    const pdu = slowProtocolsFrame(Uint8Array.from([2, 0, 0, 0, 0, 0x99]), encodeLacpdu({ actor: { systemPriority: 1, system: "02:00:00:00:00:99", key: 1, portPriority: 1, port: 1, state: 5 }, partner: { systemPriority: 0, system: "00:00:00:00:00:00", key: 0, portPriority: 0, port: 0, state: 0 }, collectorMaxDelay: 0 }));
    r.members[0]!.send(pdu);
    r.guests[0]!.send(pdu);
    expect(r.tb.portStats("bond0").drops).toEqual({ link_local: 1 });
    expect(r.tb.portStats("g0").drops).toEqual({ link_local: 1 });
    expect(r.guests[1]!.take()).toEqual([]);
    const extra = r.tb.addPort(new MemoryPort("x"));
    expect(extra.take()).toEqual([]);
  });
});
