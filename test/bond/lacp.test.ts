/**
 * The LACP engine on simulated time (tick(ms), injected send): against the
 * real Open vSwitch PDUs of fixtures/ovs-lacpdus.txt replayed at their
 * capture times, and engine against engine — active and passive, fast and
 * slow, partners that agree and partners that do not, expiry, defaulting,
 * the transmit rate limit, markers.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AGGREGATE_WAIT_MS, Lacp, type LacpConfig } from "../../src/bond/lacp/lacp.js";
import { decodeSlowPdu, encodeLacpdu, encodeMarker, isPduError, LacpState, type Lacpdu } from "../../src/bond/lacp/pdu.js";

const frames = readFileSync(new URL("./fixtures/ovs-lacpdus.txt", import.meta.url), "utf8").trim().split("\n").map((line) => {
  const [time, hex] = line.split(" ");
  return { ms: Math.round(Number(time) * 1000), bytes: Uint8Array.from(Buffer.from(hex!, "hex")) };
});

interface Sent {
  member: number;
  pdu: Uint8Array;
  at: number;
}

/** An engine whose sends are recorded, with a clock of its own. */
function engine(config: Partial<LacpConfig> = {}) {
  const sent: Sent[] = [];
  const changes: string[] = [];
  let now = 0;
  const lacp = new Lacp(
    { system: "02:00:00:00:00:01", systemPriority: 65535, key: 1, active: true, fast: false, ...config },
    { sendPdu: (member, pdu) => sent.push({ member, pdu, at: now }), changed: (member, reason) => changes.push(`${member ?? "bond"}: ${reason}`) },
  );
  return {
    lacp,
    sent,
    changes,
    advance(ms: number, step = 100) {
      for (let t = 0; t < ms; t += step) {
        now += step;
        lacp.tick(step);
      }
    },
    get now() {
      return now;
    },
  };
}

function decoded(pdu: Uint8Array): Lacpdu {
  const d = decodeSlowPdu(pdu);
  if (isPduError(d) || d.type !== "lacp") throw new Error("not a LACPDU");
  return d;
}

/** Two engines, member k of one cabled to member k of the other; frames cross at the next step. */
function pair(a: Partial<LacpConfig>, b: Partial<LacpConfig>, members = 2) {
  const A = engine({ system: "02:00:00:00:00:0a", ...a });
  const B = engine({ system: "02:00:00:00:00:0b", ...b });
  const cut = new Set<number>();
  for (let k = 0; k < members; k++) {
    A.lacp.addMember(k, k + 1);
    B.lacp.addMember(k, k + 1);
  }
  let fromA = 0;
  let fromB = 0;
  const run = (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      A.advance(100);
      B.advance(100);
      for (; fromA < A.sent.length; fromA++) if (!cut.has(A.sent[fromA]!.member)) B.lacp.receive(A.sent[fromA]!.member, A.sent[fromA]!.pdu);
      for (; fromB < B.sent.length; fromB++) if (!cut.has(B.sent[fromB]!.member)) A.lacp.receive(B.sent[fromB]!.member, B.sent[fromB]!.pdu);
    }
  };
  return { A, B, run, cut };
}

describe("LACP engine against Open vSwitch's PDUs", () => {
  it("replaying OVS B's PDUs, an engine with OVS A's identity aggregates, and its actor TLV is OVS A's, byte for byte", () => {
    // OVS A: system 02:0a:00:00:00:aa, priority 65534, key 1, member a1 = port 2, port priority 65535, fast.
    const us = engine({ system: "02:0a:00:00:00:aa", systemPriority: 65534, key: 1, fast: true });
    us.lacp.addMember(0, 2, 65535);
    us.lacp.setEnabled(0, true);
    // Alone, expired: what it says of its (unknown) partner is what OVS said: nothing but "short timeout, please".
    us.advance(1000);
    const lone = us.sent[0]!.pdu;
    const ovsLone = frames[0]!.bytes.subarray(14);
    expect(Buffer.from(lone.subarray(22, 42)).toString("hex")).toBe(Buffer.from(ovsLone.subarray(22, 42)).toString("hex"));
    expect(decoded(lone).actor.state & LacpState.expired).toBeTruthy();
    // Without an answer for 3 s it is defaulted, as OVS was at 2.999 s.
    us.advance(2500);
    expect(us.lacp.memberStatus(0)).toMatchObject({ rx: "defaulted", mux: "detached" });

    // Now OVS B's frames arrive at their capture times (B's member b1 is cabled to a1).
    const fromB = frames.filter((f) => f.bytes[11] === 0x01 && f.bytes[6 + 1] === 0x0b);
    expect(fromB.length).toBeGreaterThanOrEqual(6);
    const start = us.now - fromB[0]!.ms;
    for (const f of fromB) {
      us.advance(start + f.ms - us.now);
      us.lacp.receive(0, f.bytes.subarray(14));
      if (f === fromB[0]) expect(us.lacp.memberStatus(0)).toMatchObject({ rx: "current", mux: "waiting", selected: true });
    }
    us.advance(300);
    const s = us.lacp.memberStatus(0)!;
    expect(s).toMatchObject({ rx: "current", mux: "collecting-distributing", selected: true });
    expect(us.lacp.negotiated).toBe(true);
    // Our last PDU: the actor TLV equals OVS A's in the same state (ACT|TIME|AGG|SYNC|COL|DIST = 0x3f) ...
    const ours = us.sent[us.sent.length - 1]!.pdu;
    const ovsA = frames.find((f) => f.bytes[6 + 1] === 0x0a && f.bytes[14 + 4 + 14] === 0x3f)!.bytes.subarray(14);
    expect(Buffer.from(ours.subarray(2, 22)).toString("hex")).toBe(Buffer.from(ovsA.subarray(2, 22)).toString("hex"));
    // ... and the partner TLV is B's actor TLV as B last sent it.
    const lastB = fromB[fromB.length - 1]!.bytes.subarray(14);
    expect(Buffer.from(ours.subarray(24, 42)).toString("hex")).toBe(Buffer.from(lastB.subarray(4, 22)).toString("hex"));
    // B stops talking: expired after 3 s (fast), out of collecting at once; defaulted 3 s later.
    us.advance(3100);
    expect(us.lacp.memberStatus(0)).toMatchObject({ rx: "expired", mux: "attached" });
    expect(us.lacp.collecting(0)).toBe(false);
    us.advance(3100);
    expect(us.lacp.memberStatus(0)).toMatchObject({ rx: "defaulted", mux: "detached", selected: false });
    expect(us.lacp.negotiated).toBe(false);
  });
});

describe("LACP engine against itself", () => {
  it("active fast and active slow aggregate both members after the aggregate wait; each sends at the rate its partner asked for", () => {
    const { A, B, run } = pair({ fast: true }, { fast: false });
    for (const k of [0, 1]) {
      A.lacp.setEnabled(k, true);
      B.lacp.setEnabled(k, true);
    }
    run(AGGREGATE_WAIT_MS - 500);
    expect(A.lacp.collecting(0)).toBe(false); // still waiting
    run(2000);
    for (const e of [A, B]) for (const k of [0, 1]) expect(e.lacp.memberStatus(k)).toMatchObject({ rx: "current", mux: "collecting-distributing", selected: true });
    expect(A.lacp.negotiated && B.lacp.negotiated).toBe(true);
    // A asked for fast: B sends every second. B asked for slow: A sends every 30 s (once things settled).
    const aBefore = A.sent.length;
    const bBefore = B.sent.length;
    run(60_000);
    expect(B.sent.length - bBefore).toBeGreaterThanOrEqual(2 * 58);
    expect(B.sent.length - bBefore).toBeLessThanOrEqual(2 * 61);
    expect(A.sent.length - aBefore).toBeGreaterThanOrEqual(2 * 2);
    expect(A.sent.length - aBefore).toBeLessThanOrEqual(2 * 3);
    expect(A.lacp.memberStatus(0)!.periodic).toBe("slow");
    expect(B.lacp.memberStatus(0)!.periodic).toBe("fast");
  });

  it("active and passive aggregate; two passive sides never say a word", () => {
    const ap = pair({ active: true }, { active: false }, 1);
    ap.A.lacp.setEnabled(0, true);
    ap.B.lacp.setEnabled(0, true);
    ap.run(5000);
    expect(ap.A.lacp.collecting(0) && ap.B.lacp.collecting(0)).toBe(true);
    expect(decoded(ap.B.sent[ap.B.sent.length - 1]!.pdu).actor.state & LacpState.activity).toBe(0);

    const pp = pair({ active: false }, { active: false }, 1);
    pp.A.lacp.setEnabled(0, true);
    pp.B.lacp.setEnabled(0, true);
    pp.run(100_000);
    expect(pp.A.sent.length + pp.B.sent.length).toBe(0);
    expect(pp.A.lacp.memberStatus(0)!.rx).toBe("defaulted");
    expect(pp.A.lacp.negotiated).toBe(false);
  });

  it("aggregates only members whose partner agrees: another system or another key stays detached", () => {
    const us = engine({ fast: true });
    us.lacp.addMember(0, 1);
    us.lacp.addMember(1, 2);
    us.lacp.addMember(2, 3);
    for (const k of [0, 1, 2]) us.lacp.setEnabled(k, true);
    const partner = (system: string, key: number, port: number) => ({ systemPriority: 100, system, key, portPriority: 1, port, state: LacpState.activity | LacpState.aggregation | LacpState.synchronization | LacpState.collecting | LacpState.distributing });
    const feed = () => {
      for (const [k, system, key] of [[0, "02:00:00:00:00:aa", 7], [1, "02:00:00:00:00:bb", 7], [2, "02:00:00:00:00:aa", 8]] as const) {
        const actor = us.lacp.memberStatus(k)!.actor;
        us.lacp.receive(k, encodeLacpdu({ actor: partner(system, key, k + 1), partner: actor, collectorMaxDelay: 0 }));
      }
    };
    for (let i = 0; i < 50; i++) {
      feed();
      us.advance(100);
    }
    expect(us.lacp.memberStatus(0)).toMatchObject({ selected: true, mux: "collecting-distributing" });
    expect(us.lacp.memberStatus(1)).toMatchObject({ selected: false, mux: "detached" });
    expect(us.lacp.memberStatus(2)).toMatchObject({ selected: false, mux: "detached" });
    // A member that hears its own system (a loop) is never selected.
    const loop = engine({ fast: true });
    loop.lacp.addMember(0, 1);
    loop.lacp.setEnabled(0, true);
    for (let i = 0; i < 30; i++) {
      loop.lacp.receive(0, encodeLacpdu({ actor: { ...partner("02:00:00:00:00:01", 1, 2) }, partner: loop.lacp.memberStatus(0)!.actor, collectorMaxDelay: 0 }));
      loop.advance(100);
    }
    expect(loop.lacp.memberStatus(0)!.selected).toBe(false);
  });

  it("a member whose link goes down leaves at once; back up it waits and aggregates again", () => {
    const { A, B, run, cut } = pair({ fast: true }, { fast: true });
    for (const k of [0, 1]) {
      A.lacp.setEnabled(k, true);
      B.lacp.setEnabled(k, true);
    }
    run(5000);
    expect(A.lacp.collecting(1)).toBe(true);
    cut.add(1);
    A.lacp.setEnabled(1, false);
    expect(A.lacp.memberStatus(1)).toMatchObject({ rx: "disabled", mux: "detached" });
    expect(A.lacp.collecting(0)).toBe(true);
    // B never heard of it: its member expires after 3 s and leaves collecting.
    run(3500);
    expect(B.lacp.memberStatus(1)).toMatchObject({ rx: "expired" });
    expect(B.lacp.collecting(1)).toBe(false);
    expect(B.lacp.collecting(0)).toBe(true);
    cut.delete(1);
    A.lacp.setEnabled(1, true);
    run(5000);
    expect(A.lacp.collecting(1) && B.lacp.collecting(1)).toBe(true);
  });

  it("sends at most three LACPDUs a second, however often something changes", () => {
    const us = engine({ fast: true });
    us.lacp.addMember(0, 1);
    us.lacp.setEnabled(0, true);
    const partner = { systemPriority: 1, system: "02:00:00:00:00:cc", key: 1, portPriority: 1, port: 1, state: LacpState.activity | LacpState.aggregation };
    const before = us.sent.length;
    for (let i = 0; i < 20; i++) {
      us.lacp.receive(0, encodeLacpdu({ actor: { ...partner, key: 1 + (i % 2) }, partner: { ...partner, system: "00:00:00:00:00:00", key: 0, port: 0, state: 0 }, collectorMaxDelay: 0 }));
      us.advance(50, 50);
    }
    expect(us.sent.length - before).toBeLessThanOrEqual(3 + 1);
  });

  it("answers a marker with a response, counts malformed PDUs, and ignores PDUs on a disabled member", () => {
    const us = engine();
    us.lacp.addMember(0, 1);
    us.lacp.setEnabled(0, true);
    const before = us.sent.length;
    expect(us.lacp.receive(0, encodeMarker({ response: false, requesterPort: 3, requesterSystem: "02:00:00:00:00:77", transactionId: 42 }))).toBe("marker");
    const reply = us.sent[before]!.pdu;
    expect(decodeSlowPdu(reply)).toEqual({ type: "marker", version: 1, response: true, requesterPort: 3, requesterSystem: "02:00:00:00:00:77", transactionId: 42 });
    expect(us.lacp.receive(0, Uint8Array.from([1, 1, 1]))).toBe("malformed");
    expect(us.lacp.memberStatus(0)!.rxMalformed).toBe(1);
    us.lacp.setEnabled(0, false);
    expect(us.lacp.receive(0, frames[5]!.bytes.subarray(14))).toBe("ignored");
    expect(us.lacp.memberStatus(0)!.rx).toBe("disabled");
  });
});
