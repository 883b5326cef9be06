/**
 * 802.1w RSTP on simulated time: the textbook topologies give the same tree
 * as 802.1D, a chain converges by proposal/agreement without waiting for
 * forward delay, edge ports forward at once, a topology change flushes, and
 * a port facing an 802.1D bridge migrates to 802.1D (and back).
 */
import { describe, expect, it } from "vitest";
import { decodeBpdu, type ConfigBpdu } from "../../src/stp/bpdu.js";
import { replayScenario, rstpFactory, SimNet, stpFactory } from "./sim.js";

const SHORT = { priority: 32768, helloTime: 1, forwardDelay: 4, maxAge: 6 };
const id = (n: number, priority = 0x8000) => (BigInt(priority) << 48n) | BigInt(n);

describe("RSTP trees", () => {
  it("IEEE 802.1D-1998 example network: same root, roles and states as 802.1D", () => {
    expect(replayScenario(`
      bridge 0 0x42 = a b
      bridge 1 0x97 = c:5 a d:5
      bridge 2 0x45 = b e
      bridge 3 0x57 = b:5 e:5
      bridge 4 0x83 = a:5 e:5
      run 1000
      check 0 = root
      check 1 = F F:10 F
      check 2 = F:10 B
      check 3 = F:5 F
      check 4 = F:5 B
    `, new SimNet(rstpFactory, SHORT, { autoEdge: false }), 30_000)).toEqual([]);
  });

  it("IEEE 802.1D-2004 figure 17.4: alternate and backup ports", () => {
    const net = new SimNet(rstpFactory, SHORT, { autoEdge: false });
    expect(replayScenario(`
      bridge 0 0x111 = a b e c
      bridge 1 0x222 = a b d f
      bridge 2 0x333 = c d l j h g
      bridge 3 0x444 = e f n m k i
      bridge 4 0x555 = g i 0 0
      bridge 5 0x666 = h k 0 0
      bridge 6 0x777 = j m 0 0
      bridge 7 0x888 = l n o o
      run 1000
      check 0 = root
      check 1 = F:10 B F F
      check 2 = F:10 B F F F F
      check 3 = F:10 B F F F F
      check 7 = F:20 B F B
    `, net, 30_000)).toEqual([]);
    expect(net.roles(1)).toEqual(["root", "alternate", "designated", "designated"]);
    expect(net.roles(7)).toEqual(["root", "alternate", "designated", "backup"]);
  });

  it("STP.io.1.5 priority changes move the root around a square", () => {
    expect(replayScenario(`
      bridge 0 0x111 = a b d c
      bridge 1 0x222 = a b f e
      bridge 2 0x333 = c d g h
      bridge 3 0x444 = e f g h
      run 1000
      check 0 = root
      check 3 = B F:20 B B
      bridge 1^0x7000
      run 1000
      check 1 = root
      check 0 = F:10 B F F
      check 3 = B F:10 F F
    `, new SimNet(rstpFactory, SHORT, { autoEdge: false }), 30_000)).toEqual([]);
  });
});

describe("proposal and agreement", () => {
  it("a chain of five on point-to-point links forwards end to end long before one forward delay", () => {
    const net = new SimNet(rstpFactory, SHORT, { autoEdge: false });
    net.addBridge(id(1), ["l1"]);
    for (let i = 2; i <= 4; i++) net.addBridge(id(i), [`l${i - 1}`, `l${i}`]);
    net.addBridge(id(5), ["l4"]);
    net.run(1_000); // forward delay is 4 s
    for (let b = 1; b <= 3; b++) expect(net.summary(b)).toBe(`F:${10 * b} F`);
    expect(net.summary(4)).toBe("F:40");
    expect(net.summary(0)).toBe("F");
    // The handshake is visible on the wire: proposals down, agreements up.
    const flags: number[] = [];
    net.onSend = (_b, _p, bytes) => flags.push((decodeBpdu(bytes) as ConfigBpdu).flags);
    net.addBridge(id(6), ["l5"]);
    net.bridges[4]!.ports.push({ lan: "l5", enabled: true });
    net.bridges[4]!.engine.addPort(1, { priority: 128, pathCost: undefined, defaultPathCost: 10, edge: false, autoEdge: false, bpduGuard: false, rootGuard: false }, true);
    net.run(500);
    expect(net.summary(5)).toBe("F:50");
    expect(flags.some((f) => f & 0x02)).toBe(true); // proposal
    expect(flags.some((f) => f & 0x40)).toBe(true); // agreement
  });

  it("a new better link: the lower bridge syncs and agrees, a loop never forms", () => {
    const net = new SimNet(rstpFactory, SHORT, { autoEdge: false });
    net.addBridge(id(1), ["ab", "x"]);
    net.addBridge(id(2), ["ab", "bc"]);
    net.addBridge(id(3), ["bc", "y"]);
    net.run(10_000); // "y" has no partner and no auto edge: it forwards after max age and two hello times
    expect(net.summary(2)).toBe("F:20 F");
    // Close the triangle: bridge 3's new port toward the root wins; exactly one port ends up blocked.
    net.setPort(0, 1, "ca");
    net.setPort(2, 1, "ca");
    net.run(2_000);
    expect(net.summary(2)).toBe("B F:10");
    const blocked = net.bridges.flatMap((b) => b.ports.map((_, i) => b.engine.portStatus(i).state)).filter((s) => s !== "forwarding");
    expect(blocked).toEqual(["discarding"]);
  });
});

describe("edge ports and topology change", () => {
  it("an edge port forwards at once; one that hears a BPDU stops being edge", () => {
    const net = new SimNet(rstpFactory, SHORT);
    net.addBridge(id(1), ["host", "ab"], {}, [{ edge: true }, {}]);
    expect(net.bridges[0]!.engine.portStatus(0)).toMatchObject({ state: "forwarding", operEdge: true });
    net.addBridge(id(2), ["ab"]);
    net.run(100);
    net.setPort(1, 0, "host");
    net.run(200);
    expect(net.bridges[0]!.engine.portStatus(0).operEdge).toBe(false);
  });

  it("auto edge: a designated port that hears no BPDU for 3 s becomes edge", () => {
    const net = new SimNet(rstpFactory, SHORT);
    net.addBridge(id(1), ["host"]);
    net.run(3_500);
    expect(net.bridges[0]!.engine.portStatus(0)).toMatchObject({ state: "forwarding", operEdge: true });
  });

  it("a topology change flushes learned entries on the other ports and is propagated with TC set", () => {
    const net = new SimNet(rstpFactory, SHORT, { autoEdge: false });
    net.addBridge(id(1), ["ab", "ca"]);
    net.addBridge(id(2), ["ab", "bc"]);
    net.addBridge(id(3), ["bc", "ca"]);
    net.run(10_000);
    for (const b of net.bridges) b.flushes = 0;
    net.setPort(0, 1, "X"); // root loses its link to bridge 3: bridge 3's alternate port takes over
    net.run(6_000);
    expect(net.summary(2)).toBe("F:20 F");
    expect(net.bridges[1]!.flushes).toBeGreaterThan(0);
    expect(net.bridges[0]!.flushes).toBeGreaterThan(0);
  });
});

describe("STP and RSTP side by side", () => {
  it("a port facing an 802.1D bridge migrates to 802.1D; both build one tree", () => {
    const net = new SimNet(rstpFactory, SHORT, { autoEdge: false });
    net.addBridge(id(1), ["ab", "ca"]); // RSTP, root
    net.addBridge(id(2), ["ab", "bc"], {}, [], stpFactory); // 802.1D
    net.addBridge(id(3), ["bc", "ca"]); // RSTP
    net.run(30_000);
    expect(net.bridges[0]!.engine.portStatus(0).sendingStp).toBe(true);
    expect(net.bridges[0]!.engine.portStatus(1).sendingStp).toBe(false);
    expect(net.bridges[2]!.engine.portStatus(0).sendingStp).toBe(true);
    expect(net.summary(0)).toBe("F F");
    expect(net.summary(1)).toBe("F:10 F");
    expect(net.summary(2)).toBe("B F:10");
    for (const b of net.bridges) expect(b.engine.bridgeStatus().designatedRoot).toBe("8000.000000000001");
  });

  it("the port returns to RSTP when the 802.1D neighbour is replaced by an RSTP one (mcheck by link flap)", () => {
    const net = new SimNet(rstpFactory, SHORT, { autoEdge: false });
    net.addBridge(id(1), ["ab"]);
    net.addBridge(id(2), ["ab"], {}, [], stpFactory);
    net.run(10_000);
    expect(net.bridges[0]!.engine.portStatus(0).sendingStp).toBe(true);
    net.setPort(1, 0, "X");
    net.addBridge(id(3), ["ab"]);
    net.setPort(0, 0, "ab");
    net.run(5_000);
    expect(net.bridges[0]!.engine.portStatus(0).sendingStp).toBe(false);
    expect(net.summary(2)).toBe("F:10");
  });
});
