/**
 * The FDB's watchers on a bridge of in-memory ports: station-move events,
 * MAC flap detection (logged once, counted, announced), err-disable of the
 * port blamed, and recovery.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Bridge, type BridgeOptions } from "../src/bridge.js";
import type { MacFlapEvent } from "../src/bridge-events.js";
import { buildFrame } from "../src/core/frame.js";
import { createLogger } from "../src/log.js";
import { MemoryPort } from "../src/ports/memory-port.js";

const GW = "02:00:00:00:00:01";
const HOST = "02:00:00:00:00:02";

function setup(options: BridgeOptions = {}) {
  let now = 0;
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "info", write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const bridge = new Bridge({ clock: () => now, logger, ...options });
  const [gw, spoofer, host] = ["gw", "spoofer", "host"].map((n) => bridge.addPort(new MemoryPort(n, { keep: 16 }))) as [MemoryPort, MemoryPort, MemoryPort];
  const from = (port: MemoryPort, src: string, dst = HOST) => port.send(buildFrame({ src, dst }));
  return { bridge, gw, spoofer, host, from, lines, advance: (ms: number) => (now += ms) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("station moves and MAC flaps", () => {
  it("announces station moves only while someone listens", () => {
    const { bridge, gw, spoofer, from } = setup();
    from(gw, GW);
    from(spoofer, GW); // a move nobody hears
    const moves: string[] = [];
    bridge.on("fdb-move", (e) => moves.push(`${e.mac} ${e.from}->${e.to} vlan ${e.vlan}`));
    from(gw, GW);
    expect(moves).toEqual([`${GW} spoofer->gw vlan 0`]);
    expect(bridge.fdbStats().moves).toBe(2);
    bridge.close();
  });

  it("logs a flapping MAC once with its ports, counts it, and announces it (action log: nothing shut)", () => {
    const { bridge, gw, spoofer, from, lines, advance } = setup({ macFlap: { moves: 3, windowSeconds: 10 } });
    const flaps: MacFlapEvent[] = [];
    bridge.on("mac-flap", (e) => flaps.push(e));
    from(gw, GW);
    for (let i = 0; i < 20; i++) {
      advance(100);
      from(i % 2 ? gw : spoofer, GW);
    }
    expect(flaps).toEqual([{ mac: GW, vlan: 0, ports: ["gw", "spoofer"], blamed: "spoofer", moves: 4, windowSeconds: 10, action: "log" }]);
    const logged = lines.filter((l) => l.msg === "MAC flapping between ports");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ mac: GW, ports: ["gw", "spoofer"], blamed: "spoofer", level: 40 });
    expect(bridge.fdbStats().flaps).toBe(1);
    expect(bridge.portStats("spoofer").fdb.flaps).toBe(1);
    expect(bridge.portSettings("spoofer").state).toBe("forwarding");
    bridge.close();
  });

  it("action shutdown err-disables the port blamed: flushed, disabled whatever its link does, until recovered", () => {
    const { bridge, gw, spoofer, host, from, advance } = setup({ macFlap: { moves: 2, windowSeconds: 5, action: "shutdown" } });
    const events: string[] = [];
    bridge.on("port-down", (e) => events.push(`down ${e.port} ${e.reason} flushed=${e.flushed}`));
    bridge.on("port-up", (e) => events.push(`up ${e.port} ${e.reason}`));
    from(host, HOST, GW);
    from(gw, GW);
    from(spoofer, "02:00:00:00:00:99"); // the spoofer's own MAC, flushed with the port
    for (let i = 0; i < 4; i++) {
      advance(50);
      from(i % 2 ? gw : spoofer, GW);
    }
    expect(bridge.portErrDisabled("spoofer")).toBe("mac-flap");
    expect(bridge.portStats("spoofer").errDisabled).toBe("mac-flap");
    expect(bridge.portSettings("spoofer").state).toBe("disabled");
    expect(bridge.lookup("02:00:00:00:00:99")).toBeUndefined();
    // Flushed: the spoofer's own MAC and the gateway's, which it held at that moment.
    expect(events).toEqual(["down spoofer mac-flap flushed=2"]);
    // The gateway is learned where it belongs again; the spoofer's frames go nowhere.
    from(gw, GW);
    from(spoofer, GW);
    expect(bridge.lookup(GW)?.name).toBe("gw");
    expect(bridge.portStats("spoofer").drops.port_state).toBe(1);
    // A link that comes back does not undo an err-disable.
    bridge.setPortLink("spoofer", false, "carrier");
    bridge.setPortLink("spoofer", true, "carrier");
    expect(bridge.portSettings("spoofer").state).toBe("disabled");
    expect(bridge.recoverPort("spoofer")).toBe(true);
    expect(bridge.recoverPort("spoofer")).toBe(false);
    expect(bridge.portSettings("spoofer").state).toBe("forwarding");
    expect(bridge.portStats("spoofer").errDisabled).toBeUndefined();
    expect(events.at(-1)).toBe("up spoofer recovered");
    bridge.close();
  });

  it("with spanning tree running, an err-disabled port stays disabled until recovered, then goes through STP's states", () => {
    let now = 0;
    const bridge = new Bridge({ clock: () => now, stp: { protocol: "stp", helloTime: 1, forwardDelay: 4, maxAge: 6 } });
    const a = bridge.addPort(new MemoryPort("a", { keep: 4 }), { edge: true });
    bridge.addPort(new MemoryPort("b", { keep: 4 }), { edge: true });
    const advance = (ms: number) => {
      for (let t = 0; t < ms; t += 100) {
        now += 100;
        bridge.runStpTimers();
      }
    };
    advance(10_000);
    expect(bridge.portSettings(a).state).toBe("forwarding");
    bridge.errDisablePort(a, "mac-flap");
    advance(20_000);
    expect(bridge.portSettings(a).state).toBe("disabled");
    bridge.setPortLink(a, false, "carrier");
    bridge.setPortLink(a, true, "carrier");
    advance(20_000);
    expect(bridge.portSettings(a).state).toBe("disabled");
    bridge.recoverPort(a);
    advance(100);
    expect(bridge.portSettings(a).state).not.toBe("disabled");
    advance(20_000);
    expect(bridge.portSettings(a).state).toBe("forwarding");
    bridge.close();
  });

  it("recovers by itself after recoverSeconds when set", () => {
    vi.useFakeTimers();
    const { bridge, gw, spoofer, from, advance } = setup({ macFlap: { moves: 1, windowSeconds: 5, action: "shutdown", recoverSeconds: 30 } });
    from(gw, GW);
    advance(10);
    from(spoofer, GW);
    advance(10);
    from(gw, GW);
    expect(bridge.portErrDisabled("spoofer")).toBe("mac-flap");
    vi.advanceTimersByTime(29_000);
    expect(bridge.portErrDisabled("spoofer")).toBe("mac-flap");
    vi.advanceTimersByTime(1_000);
    expect(bridge.portErrDisabled("spoofer")).toBeUndefined();
    expect(bridge.portSettings("spoofer").state).toBe("forwarding");
    bridge.close();
  });

  it("a listener that throws costs the frames nothing", () => {
    const { bridge, gw, spoofer, host, from, lines } = setup();
    bridge.on("fdb-move", () => {
      throw new Error("listener bug");
    });
    from(gw, GW);
    from(spoofer, GW, HOST);
    from(gw, GW, HOST);
    expect(host.take()).toHaveLength(3);
    expect(bridge.internalErrors).toBe(0);
    expect(lines.filter((l) => l.msg === "an event listener threw")).toHaveLength(2);
    bridge.close();
  });

  it("rejects flap settings that make no sense, naming the setting", () => {
    expect(() => new Bridge({ macFlap: { moves: -1 } })).toThrow(/MAC flap moves -1 is out of range/);
    expect(() => new Bridge({ macFlap: { windowSeconds: 0 } })).toThrow(/MAC flap window 0 is out of range/);
    expect(() => new Bridge({ macFlap: { action: "explode" as "log" } })).toThrow(/MAC flap action "explode" is not one of log, shutdown/);
    const bridge = new Bridge();
    expect(() => bridge.setFdbOptions({ macFlap: { recoverSeconds: -5 } })).toThrow(/MAC flap recovery -5/);
    expect(bridge.macFlapSettings).toEqual({ moves: 5, windowSeconds: 10, action: "log", recoverSeconds: 0 });
    bridge.close();
  });
});

describe("learning limits on a bridge", () => {
  it("max-learned per port and fdbMaxLearned bridge-wide, with their counters in the stats", () => {
    const { bridge, gw, spoofer, host } = setup({ fdbMaxLearned: 30, fdbFullPolicy: "refuse" });
    bridge.setPortSettings(spoofer, { maxLearned: 10 });
    expect(bridge.portSettings(spoofer).maxLearned).toBe(10);
    const mac = (i: number) => `02:00:00:01:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
    for (let i = 0; i < 50; i++) spoofer.send(buildFrame({ src: mac(i), dst: GW }));
    for (let i = 100; i < 130; i++) gw.send(buildFrame({ src: mac(i), dst: HOST }));
    host.send(buildFrame({ src: HOST, dst: GW }));
    const stats = bridge.fdbStats();
    expect(stats).toMatchObject({ entries: 30, learned: 30, maxLearned: 30, fullPolicy: "refuse", refusedPortLimit: 40, refusedFull: 11, learnRefused: 51 });
    expect(bridge.portStats(spoofer).fdb).toEqual({ entries: 10, learned: 10, maxLearned: 10, refused: 40, evicted: 0, flaps: 0 });
    expect(() => bridge.setPortSettings(spoofer, { maxLearned: -1 })).toThrow(/max-learned for port spoofer -1 is out of range/);
    expect(() => bridge.setFdbOptions({ fullPolicy: "drop-all" as "refuse" })).toThrow(/fdbFullPolicy "drop-all" is not one of refuse, evict-from-largest-port/);
    expect(() => bridge.setFdbOptions({ maxLearned: 2.5 })).toThrow(/fdbMaxLearned 2.5 is out of range/);
    bridge.close();
  });
});
