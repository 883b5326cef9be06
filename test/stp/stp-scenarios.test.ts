/**
 * 802.1D on simulated time: the textbook networks that Open vSwitch's
 * tests/stp.at replays (IEEE 802.1D-1998's example, 802.1D-2004 figures
 * 17.4 and 17.6, and the Bridge Functions Consortium interoperability
 * cases), checking the root and every port's state and root path cost.
 * Default path cost 10 per port, as in those scenarios.
 */
import { describe, expect, it } from "vitest";
import { replayScenario } from "./sim.js";

describe("802.1D scenario replays", () => {
  it("IEEE 802.1D-1998 example network", () => {
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
    `)).toEqual([]);
  });

  it("IEEE 802.1D-2004 figure 17.4, then two ports of one bridge on the same LAN", () => {
    expect(replayScenario(`
      bridge 0 0x111 = a b e c
      bridge 1 0x222 = a b d f
      bridge 2 0x333 = c d l j h g
      bridge 3 0x444 = e f n m k i
      bridge 4 0x555 = g i 0 0
      bridge 5 0x666 = h k 0 0
      bridge 6 0x777 = j m 0 0
      bridge 7 0x888 = l n 0 0
      run 1000
      check 0 = root
      check 1 = F:10 B F F
      check 2 = F:10 B F F F F
      check 3 = F:10 B F F F F
      check 4 = F:20 B F F
      check 5 = F:20 B F F
      check 6 = F:20 B F F
      check 7 = F:20 B F F
      bridge 7 = l n o o
      run 1000
      check 0 = root
      check 7 = F:20 B F B
    `)).toEqual([]);
  });

  it("IEEE 802.1D-2004 figure 17.6 (a ring of six)", () => {
    expect(replayScenario(`
      bridge 0 0x111 = a b l
      bridge 1 0x222 = b c d
      bridge 2 0x333 = d e f
      bridge 3 0x444 = f g h
      bridge 4 0x555 = j h i
      bridge 5 0x666 = l j k
      run 1000
      check 0 = root
      check 1 = F:10 F F
      check 2 = F:20 F F
      check 3 = F:30 F B
      check 4 = F:20 F F
      check 5 = F:10 F F
    `)).toEqual([]);
  });

  it("link failure: the next port takes over, then the next (STP.io.1.1)", () => {
    expect(replayScenario(`
      bridge 0 0x111 = a b c
      bridge 1 0x222 = a b c
      run 1000
      check 0 = root
      check 1 = F:10 B B
      bridge 1 = 0 _ _
      run 1000
      check 0 = root
      check 1 = F F:10 B
      bridge 1 = X _ _
      run 1000
      check 1 = D F:10 B
      bridge 1 = _ 0 _
      run 1000
      check 1 = D F F:10
      bridge 1 = _ X _
      run 1000
      check 1 = D D F:10
    `)).toEqual([]);
  });

  it("network initialization: a full mesh of four (STP.io.1.4)", () => {
    expect(replayScenario(`
      bridge 0 0x111 = a b c
      bridge 1 0x222 = b d e
      bridge 2 0x333 = a d f
      bridge 3 0x444 = c e f
      run 1000
      check 0 = root
      check 1 = F:10 F F
      check 2 = F:10 B F
      check 3 = F:10 B B
    `)).toEqual([]);
  });

  it("priority changes move the root around a square (STP.io.1.5)", () => {
    expect(replayScenario(`
      bridge 0 0x111 = a b d c
      bridge 1 0x222 = a b f e
      bridge 2 0x333 = c d g h
      bridge 3 0x444 = e f g h
      run 1000
      check 0 = root
      check 1 = F:10 B F F
      check 2 = B F:10 F F
      check 3 = B F:20 B B
      bridge 1^0x7000
      run 1000
      check 0 = F:10 B F F
      check 1 = root
      check 2 = B F:20 B B
      check 3 = B F:10 F F
      bridge 2^0x6000
      run 1000
      check 0 = F F B F:10
      check 1 = F:20 B B B
      check 2 = root
      check 3 = F F F:10 B
      bridge 3^0x5000
      run 1000
      check 0 = B B B F:20
      check 1 = F F B F:10
      check 2 = F F F:10 B
      check 3 = root
    `)).toEqual([]);
  });

  it("the root is the lowest bridge identifier, priority first (STP.op.3.3)", () => {
    expect(replayScenario(`
      bridge 0 0x333^0x6000 = a
      bridge 1 0x222^0x7000 = b
      bridge 2 0x111 = a b
      run 1000
      check 0 = rootid:0x333 root
      check 1 = rootid:0x333 F:20
      check 2 = rootid:0x333 F:10 F
    `)).toEqual([]);
  });

  it("every port starts listening, designated, and ends forwarding (STP.op.1.4)", () => {
    expect(replayScenario(`
      bridge 0 0x123 = a b c d e f
      check 0 = Li Li Li Li Li Li
      run 1000
      check 0 = F F F F F F
    `)).toEqual([]);
  });
});
