/**
 * Spanning tree inside a Bridge: three bridges of in-memory ports wired in a
 * triangle, on an injected clock. BPDUs cross the wires as frames; port
 * states reach the data path; events, logs and drop reasons are checked.
 */
import { describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { buildFrame } from "../../src/core/frame.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import type { StpOptions } from "../../src/stp/bridge-stp.js";

const SHORT = { helloTime: 1, forwardDelay: 4, maxAge: 6 };
const BCAST = "ff:ff:ff:ff:ff:ff";

/** Frames in flight between ports, delivered when the test says so (no recursion between bridges). */
class Wires {
  private queue: { to: MemoryPort; frame: Uint8Array }[] = [];
  readonly cut = new Set<MemoryPort>();
  carried = 0;
  connect(a: MemoryPort, b: MemoryPort): void {
    a.onFrame((f) => !this.cut.has(a) && this.queue.push({ to: b, frame: f }));
    b.onFrame((f) => !this.cut.has(b) && this.queue.push({ to: a, frame: f }));
  }
  deliver(limit = 10_000): void {
    while (this.queue.length > 0) {
      if (--limit === 0) throw new Error("frames keep circulating: a loop");
      const { to, frame } = this.queue.shift()!;
      this.carried++;
      to.send(frame);
    }
  }
}

function triangle(stp: StpOptions, priorities = [0x1000, 0x8000, 0x8000]) {
  let now = 0;
  const clock = () => now;
  const wires = new Wires();
  const bridges = priorities.map((priority, n) => new Bridge({ name: `b${n}`, clock, stp: { ...stp, ...SHORT, priority } }));
  const mac = (b: number, p: number) => `02:00:00:00:0${b}:0${p}`;
  // b0.p0 — b1.p0, b1.p1 — b2.p0, b2.p1 — b0.p1; a host port p2 on each.
  const ports = bridges.map((b, n) => [0, 1, 2].map((p) => b.addPort(new MemoryPort(`p${p}`, { mac: mac(n, p) }), p === 2 ? { edge: true } : {})));
  wires.connect(ports[0]![0]!, ports[1]![0]!);
  wires.connect(ports[1]![1]!, ports[2]![0]!);
  wires.connect(ports[2]![1]!, ports[0]![1]!);
  const advance = (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      now += 100;
      for (const b of bridges) b.runStpTimers();
      wires.deliver();
    }
  };
  return { bridges, ports, wires, advance, close: () => bridges.forEach((b) => b.close()) };
}

describe.each(["stp", "rstp"] as const)("%s in a triangle of bridges", (protocol) => {
  it("elects the lowest bridge id, blocks one loop port, and a broadcast reaches every host once", () => {
    const t = triangle({ protocol });
    const events: string[] = [];
    t.bridges[2]!.on("stp-port", (e) => events.push(`${e.port} ${e.role}/${e.state}`));
    t.advance(15_000);
    const root = t.bridges[0]!.stpStatus();
    expect(root.protocol).toBe(protocol);
    expect(root.bridge.isRoot).toBe(true);
    for (const b of t.bridges) expect(b.stpStatus().bridge.designatedRoot).toBe(root.bridge.bridgeId);
    const loopStates = t.bridges.flatMap((b) => [0, 1].map((p) => b.stpPortStatus(`p${p}`).state));
    expect(loopStates.filter((s) => s !== "forwarding")).toEqual([protocol === "stp" ? "blocking" : "discarding"]);
    // The blocked port is on b1 or b2 (equal cost): b2's p0 toward b1, whose bridge id is lower.
    expect(t.bridges[2]!.stpPortStatus("p0").role).toBe("alternate");
    expect(t.bridges[2]!.portSettings("p0").state).toBe("blocking");
    expect(events.length).toBeGreaterThan(0);

    for (const b of t.ports) b[2]!.take();
    t.ports[1]![2]!.send(buildFrame({ src: "02:aa:00:00:00:01", dst: BCAST }));
    t.wires.deliver();
    const copies = t.ports.map((p) => p[2]!.take().filter((f) => f[12] === 0x88 && f[13] === 0xb5).length);
    expect(copies).toEqual([1, 0, 1]);
    // BPDUs are consumed, never forwarded: counted per port as bpdu_consumed.
    expect(t.bridges[1]!.portStats("p0").drops.bpdu_consumed).toBeGreaterThan(0);
    t.close();
  });

  it("a cut link (link down) brings the blocked port into forwarding", () => {
    const t = triangle({ protocol });
    t.advance(15_000);
    t.wires.cut.add(t.ports[0]![1]!).add(t.ports[2]![1]!);
    t.bridges[0]!.setPortLink("p1", false, "carrier");
    t.bridges[2]!.setPortLink("p1", false, "carrier");
    t.advance(15_000);
    expect(t.bridges[2]!.stpPortStatus("p0")).toMatchObject({ role: "root", state: "forwarding" });
    expect(t.bridges[2]!.stpPortStatus("p1")).toMatchObject({ role: "disabled", state: "disabled" });
    t.close();
  });
});

describe("spanning tree in the bridge API", () => {
  it("refuses hand-set port states while STP runs, and bad parameters with a sentence", () => {
    const bridge = new Bridge({ stp: { protocol: "stp" } });
    bridge.addPort(new MemoryPort("a"));
    expect(() => bridge.setPortSettings("a", { state: "forwarding" })).toThrow(/port states are set by spanning tree while it runs/);
    expect(() => bridge.setStp({ helloTime: 11 })).toThrow(/hello time 11 is out of range: use from 1 to 10 seconds/);
    expect(() => bridge.setStp({ maxAge: 5 })).toThrow(/max age 5 is out of range/);
    expect(() => bridge.setStp({ forwardDelay: 31 })).toThrow(/forward delay 31 is out of range/);
    expect(() => bridge.setStp({ priority: 65536 })).toThrow(/bridge priority 65536 is out of range: use a whole number from 0 to 65535/);
    expect(() => bridge.setPortSettings("a", { cost: 70000 })).toThrow(/STP path cost 70000 is out of range/);
    expect(() => bridge.setPortSettings("a", { priority: 256 })).toThrow(/port priority 256 is out of range/);
    expect(() => bridge.addPort(new MemoryPort("b"), { cost: 0 })).toThrow(/path cost 0/);
    expect(bridge.findPort("b")).toBeUndefined();
    bridge.setStp({ protocol: "rstp" });
    bridge.setPortSettings("a", { cost: 200_000_000 });
    expect(bridge.portSettings("a").cost).toBe(200_000_000);
    bridge.setStp(false);
    expect(bridge.stpProtocol).toBe("off");
    expect(bridge.portSettings("a").state).toBe("forwarding");
    bridge.close();
  });

  it("shows what brctl showstp shows, also with STP off", () => {
    let now = 0;
    const bridge = new Bridge({ name: "br9", clock: () => now });
    bridge.addPort(new MemoryPort("a", { mac: "02:00:00:00:00:02" }), { cost: 7, priority: 64 });
    bridge.addPort(new MemoryPort("b", { mac: "02:00:00:00:00:01" }));
    const off = bridge.stpStatus();
    expect(off.protocol).toBe("off");
    expect(off.bridge.bridgeId).toBe("8000.020000000001");
    expect(off.ports.map((p) => [p.name, p.portNo, p.portId, p.state, p.pathCost])).toEqual([["a", 1, "4001", "forwarding", 7], ["b", 2, "8002", "forwarding", 100]]);
    bridge.setStp({ protocol: "stp", priority: 0x7000, ...SHORT });
    now += 500;
    bridge.runStpTimers();
    const on = bridge.stpStatus();
    expect(on.bridge).toMatchObject({ bridgeId: "7000.020000000001", designatedRoot: "7000.020000000001", rootPort: 0, rootPathCost: 0, maxAge: 6, helloTime: 1, forwardDelay: 4, bridgeMaxAge: 6, isRoot: true, topologyChange: false });
    expect(on.bridge.helloTimer).toBeCloseTo(0.5, 1);
    expect(on.ports[0]).toMatchObject({ name: "a", portId: "4001", state: "listening", role: "designated", designatedRoot: "7000.020000000001", designatedBridge: "7000.020000000001", designatedPort: "4001", designatedCost: 0, pathCost: 7 });
    expect(on.ports[0]!.forwardDelayTimer).toBeCloseTo(3.5, 1);
    bridge.close();
  });

  it("counts malformed BPDUs and leaves the tree alone; floods BPDUs when STP is off", () => {
    const bridge = new Bridge({ stp: { protocol: "stp" } });
    const a = bridge.addPort(new MemoryPort("a", { mac: "02:00:00:00:00:0a" }));
    const b = bridge.addPort(new MemoryPort("b"));
    const before = bridge.stpStatus().bridge.designatedRoot;
    const truncated = new Uint8Array([1, 0x80, 0xc2, 0, 0, 0, 2, 0, 0, 0, 0, 9, 0, 38, 0x42, 0x42, 3, 0, 0, 0, 0]);
    a.send(truncated);
    expect(bridge.portStats("a").drops).toEqual({ bpdu_malformed: 1 });
    expect(bridge.stpStatus().bridge.designatedRoot).toBe(before);
    b.take();
    bridge.setStp(false);
    a.send(truncated);
    expect(b.take()).toHaveLength(1);
    bridge.close();
  });

  it("BPDU guard disables the port (bpdu_guard drop) until its link flaps; events say so", () => {
    const bridge = new Bridge({ stp: { protocol: "rstp" } });
    const a = bridge.addPort(new MemoryPort("a"), { bpduGuard: true });
    const guards: string[] = [];
    bridge.on("stp-guard", (e) => guards.push(`${e.port} ${e.guard}`));
    const other = new Bridge({ stp: { protocol: "rstp", priority: 0 } });
    const o = other.addPort(new MemoryPort("o", { mac: "02:00:00:00:00:99" }));
    const sent: Uint8Array[] = [];
    o.onFrame((f) => sent.push(f));
    other.setStp({ priority: 1 }); // provoke a BPDU
    a.send(sent[0]!);
    expect(guards).toEqual(["a bpdu"]);
    expect(bridge.portStats("a").drops.bpdu_guard).toBe(1);
    expect(bridge.portSettings("a").state).toBe("disabled");
    bridge.setPortLink("a", false);
    bridge.setPortLink("a", true);
    expect(bridge.stpPortStatus("a").guardTripped).toBe(false);
    expect(bridge.portSettings("a").state).not.toBe("disabled");
    bridge.close();
    other.close();
  });

  it("fast ageing during an 802.1D topology change, normal ageing after", () => {
    let now = 0;
    const bridge = new Bridge({ clock: () => now, ageingTime: 300, stp: { protocol: "stp", ...SHORT } });
    const a = bridge.addPort(new MemoryPort("a"));
    bridge.addPort(new MemoryPort("b"));
    const changes: boolean[] = [];
    bridge.on("stp-topology-change", (e) => changes.push(e.active));
    for (let t = 0; t < 9000; t += 100) {
      now += 100;
      bridge.runStpTimers();
    }
    // Ports went forwarding on a root bridge: a topology change, ageing = forward delay (4 s).
    expect(changes[0]).toBe(true);
    a.send(buildFrame({ src: "02:aa:00:00:00:01", dst: BCAST }));
    expect(bridge.lookup("02:aa:00:00:00:01")?.name).toBe("a");
    now += 4100;
    expect(bridge.lookup("02:aa:00:00:00:01")).toBeUndefined();
    expect(bridge.ageingTime).toBe(300);
    for (let t = 0; t < 12000; t += 100) {
      now += 100;
      bridge.runStpTimers();
    }
    expect(changes).toEqual([true, false]);
    a.send(buildFrame({ src: "02:aa:00:00:00:01", dst: BCAST }));
    now += 10_000;
    expect(bridge.lookup("02:aa:00:00:00:01")?.name).toBe("a");
    bridge.close();
  });
});
