/**
 * 802.1D timers and topology change on simulated time, with the short
 * timers the interop tests use (hello 1 s, forward delay 4 s, max age 6 s).
 */
import { describe, expect, it } from "vitest";
import { decodeBpdu, encodeBpdu, type ConfigBpdu } from "../../src/stp/bpdu.js";
import { makeBridgeId } from "../../src/stp/ids.js";
import { SimNet } from "./sim.js";

const SHORT = { priority: 32768, helloTime: 1, forwardDelay: 4, maxAge: 6 };
const id = (n: number, priority = 0x8000) => (BigInt(priority) << 48n) | BigInt(n);

/** A triangle: bridge 0 (root) — 1 — 2, links ab, bc, ca. */
function triangle() {
  const net = new SimNet(undefined, SHORT);
  net.addBridge(id(0x10), ["ab", "ca"]);
  net.addBridge(id(0x20), ["ab", "bc"]);
  net.addBridge(id(0x30), ["bc", "ca"]);
  net.run(20_000);
  return net;
}

describe("802.1D timers", () => {
  it("a triangle converges: one blocked port, on the bridge farthest from the root", () => {
    const net = triangle();
    expect(net.bridges[0]!.engine.bridgeStatus().isRoot).toBe(true);
    expect(net.summary(0)).toBe("F F");
    expect(net.summary(1)).toBe("F:10 F");
    expect(net.summary(2)).toBe("B F:10");
    expect(net.roles(2)).toEqual(["alternate", "root"]);
  });

  it("goes listening → learning → forwarding one forward delay apart", () => {
    const net = new SimNet(undefined, SHORT);
    net.addBridge(id(1), ["a"]);
    expect(net.summary(0)).toBe("Li");
    net.run(3900);
    expect(net.summary(0)).toBe("Li");
    net.run(200);
    expect(net.summary(0)).toBe("Le");
    net.run(4000);
    expect(net.summary(0)).toBe("F");
  });

  it("max age expiry: information that stops arriving is aged out and the blocked port takes over", () => {
    const net = triangle();
    // The link between the root and bridge 2 fails silently in both directions (no link-down seen).
    net.silentLans.add("ca");
    net.run(5_000);
    expect(net.summary(2)).toBe("B F:10"); // not yet: max age is 6 s
    net.run(15_000);
    expect(net.summary(2)).toBe("F:20 F");
    expect(net.bridges[2]!.events.some((e) => /max age expired/.test(e.detail))).toBe(true);
    // Bridge 1 is now designated toward bridge 2.
    expect(net.summary(1)).toBe("F:10 F");
  });

  it("a root that disappears: the next lowest bridge becomes root", () => {
    const net = triangle();
    net.setPort(0, 0, "X");
    net.setPort(0, 1, "X");
    net.run(30_000);
    expect(net.bridges[1]!.engine.bridgeStatus().isRoot).toBe(true);
    expect(net.summary(1)).toBe("D F".replace("D", "F")); // ab now leads nowhere but stays designated
    expect(net.summary(2)).toBe("F:10 F");
    expect(net.bridges[2]!.engine.bridgeStatus().designatedRoot).toBe("8000.000000000020");
  });

  it("topology change: a TCN travels to the root, the root flags TC for forward delay + max age, everyone ages fast", () => {
    const net = triangle();
    const sent: { bridge: number; type: string; flags: number }[] = [];
    net.onSend = (bridge, _port, bytes) => {
      const b = decodeBpdu(bytes) as ConfigBpdu;
      sent.push({ bridge, type: b.type, flags: b.type === "tcn" ? 0 : b.flags });
    };
    // A new host-facing port on bridge 2 goes forwarding: a topology change detected away from the root.
    net.bridges[2]!.ports.push({ lan: "host", enabled: true });
    net.bridges[2]!.engine.addPort(2, { priority: 128, pathCost: undefined, defaultPathCost: 10, edge: false, autoEdge: true, bpduGuard: false, rootGuard: false }, true);
    net.run(9_500);
    expect(net.summary(2)).toBe("B F:10 F");
    expect(sent.some((s) => s.bridge === 2 && s.type === "tcn")).toBe(true);
    const root = net.bridges[0]!;
    expect(root.engine.bridgeStatus().topologyChange).toBe(true);
    // The root's config BPDUs carry TC, and it acknowledged the TCN toward bridge 2.
    expect(sent.some((s) => s.bridge === 0 && s.type === "config" && (s.flags & 0x01) !== 0)).toBe(true);
    expect(sent.some((s) => s.bridge === 0 && (s.flags & 0x80) !== 0)).toBe(true);
    for (const b of net.bridges) expect(b.fastAgeing).toBe(4000);
    // Bridge 2 stops sending TCNs once acknowledged.
    const tcns = sent.filter((s) => s.type === "tcn").length;
    net.run(2_000);
    expect(sent.filter((s) => s.type === "tcn").length).toBe(tcns);
    // forward delay + max age later, the TC ends and normal ageing returns everywhere.
    net.run(12_000);
    expect(root.engine.bridgeStatus().topologyChange).toBe(false);
    for (const b of net.bridges) expect(b.fastAgeing).toBeUndefined();
  });

  it("hold timer: at most one configuration BPDU per port per second", () => {
    const net = triangle();
    const times: number[] = [];
    net.onSend = (bridge, port) => {
      if (bridge === 0 && port === 0) times.push(net.now);
    };
    // Provoke replies: an inferior BPDU arriving many times within a second gets one reply, the rest wait.
    const inferior = encodeBpdu({ type: "config", version: 0, flags: 0, rootId: makeBridgeId(0x8000, "00:00:00:00:00:99"), rootPathCost: 0, bridgeId: makeBridgeId(0x8000, "00:00:00:00:00:99"), portId: 0x8001, messageAge: 0, maxAge: 6000, helloTime: 1000, forwardDelay: 4000 });
    for (let i = 0; i < 10; i++) {
      net.bridges[0]!.engine.receiveBpdu(0, inferior);
      net.run(50);
    }
    net.run(2000);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(950);
    expect(net.bridges[0]!.engine.portStatus(0).bpdusSent.config).toBeGreaterThan(0);
  });

  it("ignores a BPDU whose message age exceeds its max age, and malformed ones", () => {
    const net = triangle();
    const e = net.bridges[0]!.engine;
    const superior = { type: "config" as const, version: 0, flags: 0, rootId: makeBridgeId(0, "00:00:00:00:00:01"), rootPathCost: 0, bridgeId: makeBridgeId(0, "00:00:00:00:00:01"), portId: 0x8001, maxAge: 6000, helloTime: 1000, forwardDelay: 4000 };
    expect(e.receiveBpdu(0, encodeBpdu({ ...superior, messageAge: 7000 }))).toBe("ignored");
    expect(e.receiveBpdu(0, new Uint8Array([0, 0, 0, 0, 0]))).toBe("malformed");
    expect(e.receiveBpdu(0, encodeBpdu({ ...superior, type: "rst", version: 2, messageAge: 0 }))).toBe("ignored");
    expect(e.bridgeStatus().isRoot).toBe(true);
  });
});

describe("guards", () => {
  it("BPDU guard: a BPDU disables the port until it is enabled again", () => {
    const net = new SimNet(undefined, SHORT);
    net.addBridge(id(0x10), ["ab", "host"], {}, [{}, { bpduGuard: true }]);
    net.addBridge(id(0x20), ["ab", "host"]);
    net.run(10_000);
    const s = net.bridges[0]!.engine.portStatus(1);
    expect(s.state).toBe("disabled");
    expect(s.guardTripped).toBe(true);
    expect(net.bridges[0]!.events.some((e) => e.kind === "guard" && /bpdu/.test(e.detail))).toBe(true);
    net.bridges[0]!.engine.enablePort(1);
    expect(net.bridges[0]!.engine.portStatus(1).guardTripped).toBe(false);
  });

  it("root guard: a superior bridge behind a guarded port never becomes reachable as root through it", () => {
    const net = new SimNet(undefined, SHORT);
    net.addBridge(id(0x10, 0x1000), ["ab"]); // would-be root, behind the guarded port of bridge 1
    net.addBridge(id(0x20), ["ab", "bc"], {}, [{ rootGuard: true }, {}]);
    net.addBridge(id(0x30), ["bc"]);
    net.run(20_000);
    const b1 = net.bridges[1]!.engine;
    expect(b1.bridgeStatus().isRoot).toBe(true);
    expect(b1.portStatus(0)).toMatchObject({ rootBlocked: true, state: "blocking", role: "alternate" });
    expect(net.bridges[2]!.engine.bridgeStatus().designatedRoot).toBe("8000.000000000020");
    expect(net.bridges[1]!.events.filter((e) => e.kind === "guard").length).toBe(1);
    // The superior bridge goes away: its information ages out and the port forwards again.
    net.setPort(0, 0, "X");
    net.run(20_000);
    expect(b1.portStatus(0)).toMatchObject({ rootBlocked: false, state: "forwarding", role: "designated" });
  });
});
