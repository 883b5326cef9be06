/**
 * Storm control: the token buckets on an injected clock, then the decision
 * loop on a bridge of in-memory ports (which kinds are limited, what is
 * counted, what is never touched).
 */
import { describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { buildFrame } from "../../src/core/frame.js";
import { FloodKind, StormControl } from "../../src/core/storm.js";
import { parsePortSpec } from "../../src/config/port-options.js";
import { MemoryPort } from "../../src/ports/memory-port.js";

/** How many of `n` frames offered at `now` are admitted. */
function offer(storm: StormControl, port: number, kind: number, now: number, n: number): number {
  let admitted = 0;
  for (let i = 0; i < n; i++) if (storm.admit(port, kind, now)) admitted++;
  return admitted;
}

describe("StormControl (token buckets)", () => {
  it("admits everything while a kind has no limit", () => {
    const storm = new StormControl();
    expect(storm.active[3]).toBe(0);
    expect(offer(storm, 3, FloodKind.broadcast, 0, 100_000)).toBe(100_000);
  });

  it("admits a burst of a tenth of a second, then the rate, on an injected clock", () => {
    const storm = new StormControl();
    storm.setLimit(1, FloodKind.broadcast, 1000, 0);
    expect(offer(storm, 1, FloodKind.broadcast, 0, 500)).toBe(100); // burst: 1000/10
    expect(offer(storm, 1, FloodKind.broadcast, 0, 10)).toBe(0);
    expect(offer(storm, 1, FloodKind.broadcast, 5, 10)).toBe(5); // 5 ms at 1000/s
    expect(offer(storm, 1, FloodKind.broadcast, 5.5, 10)).toBe(0); // half a token
    expect(offer(storm, 1, FloodKind.broadcast, 6, 10)).toBe(1);
    // One second of a steady storm: exactly the rate (plus the 4 tokens earned since t=6).
    let admitted = 0;
    for (let t = 10; t < 1010; t++) admitted += offer(storm, 1, FloodKind.broadcast, t, 50);
    expect(admitted).toBe(4 + 999);
    // Idle for a long time: the bucket holds a burst, not more.
    expect(offer(storm, 1, FloodKind.broadcast, 60_000, 1000)).toBe(100);
  });

  it("keeps kinds and ports apart", () => {
    const storm = new StormControl();
    storm.setLimit(0, FloodKind.multicast, 10, 0);
    expect(offer(storm, 0, FloodKind.multicast, 0, 100)).toBe(8); // burst: at least 8
    expect(offer(storm, 0, FloodKind.broadcast, 0, 100)).toBe(100);
    expect(offer(storm, 0, FloodKind.unknownUnicast, 0, 100)).toBe(100);
    expect(offer(storm, 1, FloodKind.multicast, 0, 100)).toBe(100);
  });

  it("a small limit never bursts above one second's frames", () => {
    const storm = new StormControl();
    storm.setLimit(2, FloodKind.unknownUnicast, 3, 0);
    expect(offer(storm, 2, FloodKind.unknownUnicast, 0, 100)).toBe(3);
    expect(offer(storm, 2, FloodKind.unknownUnicast, 1000, 100)).toBe(3);
  });

  it("turns off with 0 and refuses limits out of range", () => {
    const storm = new StormControl();
    storm.setLimit(0, FloodKind.broadcast, 5, 0);
    storm.setLimit(0, FloodKind.broadcast, 0, 0);
    expect(storm.active[0]).toBe(0);
    expect(offer(storm, 0, FloodKind.broadcast, 0, 50)).toBe(50);
    expect(() => storm.setLimit(0, FloodKind.broadcast, -1, 0)).toThrow(/out of range/);
    expect(() => storm.setLimit(0, FloodKind.broadcast, 1.5, 0)).toThrow(/out of range/);
  });

  it("a clock that steps back does not mint tokens", () => {
    const storm = new StormControl();
    storm.setLimit(0, FloodKind.broadcast, 1000, 1000);
    expect(offer(storm, 0, FloodKind.broadcast, 1000, 200)).toBe(100);
    expect(offer(storm, 0, FloodKind.broadcast, 500, 200)).toBe(0);
  });
});

describe("storm control in the decision loop", () => {
  const H = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, "0")}`;

  function lab(settings: ConstructorParameters<typeof Bridge>[0] = {}) {
    let now = 0;
    const bridge = new Bridge({ clock: () => now, ...settings });
    const ports = [0, 1, 2].map((i) => bridge.addPort(new MemoryPort(`s${i}`)));
    const received = (i: number) => ports[i]!.take().length;
    return { bridge, ports, received, advance: (ms: number) => (now += ms) };
  }

  it("drops floods over the port's limits, counts them by kind, and never limits known unicast", () => {
    const { bridge, ports, received, advance } = lab();
    bridge.setPortSettings("s0", { stormBroadcast: 100, stormMulticast: 10, stormUnknownUnicast: 20 });
    expect(bridge.portSettings("s0")).toMatchObject({ stormBroadcast: 100, stormMulticast: 10, stormUnknownUnicast: 20 });
    ports[1]!.send(buildFrame({ src: H(1), dst: H(0) })); // s1's host is now known
    received(0);
    received(2);
    for (let i = 0; i < 50; i++) ports[0]!.send(buildFrame({ src: H(10), dst: "ff:ff:ff:ff:ff:ff" }));
    for (let i = 0; i < 50; i++) ports[0]!.send(buildFrame({ src: H(10), dst: "01:00:5e:00:00:01" }));
    for (let i = 0; i < 50; i++) ports[0]!.send(buildFrame({ src: H(10), dst: H(99) }));
    for (let i = 0; i < 50; i++) ports[0]!.send(buildFrame({ src: H(10), dst: H(1) }));
    expect(received(2)).toBe(10 + 8 + 8); // burst: max(8, rate/10)
    expect(received(1)).toBe(10 + 8 + 8 + 50);
    expect(bridge.portStats("s0").drops).toEqual({ storm_broadcast: 40, storm_multicast: 42, storm_unknown_unicast: 42 });
    advance(1000);
    ports[0]!.send(buildFrame({ src: H(10), dst: "ff:ff:ff:ff:ff:ff" }));
    expect(received(2)).toBe(1);
    // Other ports have no limits.
    for (let i = 0; i < 50; i++) ports[2]!.send(buildFrame({ src: H(12), dst: "ff:ff:ff:ff:ff:ff" }));
    expect(received(0)).toBe(50);
    expect(bridge.portStats("s2").drops).toEqual({});
    bridge.close();
  });

  it("takes its limits from port settings at addPort, and refuses bad ones with a sentence naming the option", () => {
    let now = 0;
    const bridge = new Bridge({ clock: () => now });
    const p = bridge.addPort(new MemoryPort("x"), parsePortSpec("x:storm-broadcast=1000").config);
    expect(bridge.portSettings(p).stormBroadcast).toBe(1000);
    expect(() => bridge.setPortSettings(p, { stormMulticast: -5 })).toThrow(/storm-multicast=-5 for port x is out of range/);
    expect(() => parsePortSpec("y:storm-unknown-unicast=lots")).toThrow(/port y: option "storm-unknown-unicast=lots" is out of range/);
    now += 1;
    const index = p.index;
    bridge.removePort(p);
    const q = bridge.addPort(new MemoryPort("z")); // takes the freed index: no limit carried over
    expect(q.index).toBe(index);
    expect(bridge.portSettings(q).stormBroadcast).toBe(0);
    bridge.close();
  });
});
