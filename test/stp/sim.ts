/**
 * A simulated network of spanning tree engines on simulated time: bridges
 * with ports attached to LANs (shared segments: a BPDU sent on a LAN reaches
 * every other port on it), BPDUs carried as bytes, time advanced with
 * tick(). Used by the scenario replays and the timer and RSTP tests.
 */
import type { PortStateName } from "../../src/core/port-table.js";
import type { EngineHooks, PortRole, StpEngine } from "../../src/stp/engine.js";
import { bridgeMac, makeBridgeId } from "../../src/stp/ids.js";
import { DEFAULT_BRIDGE_PARAMS, DEFAULT_PORT_PARAMS, type StpBridgeParams, type StpPortParams } from "../../src/stp/params.js";
import { Rstp } from "../../src/stp/rstp.js";
import { Stp } from "../../src/stp/stp.js";

export type EngineFactory = (hooks: EngineHooks, params: StpBridgeParams, mac: string) => StpEngine;
export const stpFactory: EngineFactory = (hooks, params, mac) => new Stp(hooks, params, mac);
export const rstpFactory: EngineFactory = (hooks, params, mac) => new Rstp(hooks, params, mac);

export interface SimPort {
  lan: string | undefined;
  enabled: boolean;
}

export interface SimEvent {
  at: number;
  bridge: number;
  kind: string;
  detail: string;
}

export class SimBridge {
  readonly ports: SimPort[] = [];
  engine!: StpEngine;
  readonly events: SimEvent[] = [];
  flushes = 0;
  fastAgeing: number | undefined;
  topologyChanges = 0;
  sent = 0;
  constructor(readonly n: number, readonly net: SimNet) {}
}

export class SimNet {
  readonly bridges: SimBridge[] = [];
  now = 0;
  /** BPDUs in flight, delivered in order. */
  private queue: { bridge: number; port: number; bytes: Uint8Array }[] = [];
  /** Drop every BPDU crossing these LANs (a one-way or two-way failure). */
  readonly silentLans = new Set<string>();
  /** Called for every BPDU sent (for byte-level checks). */
  onSend?: (bridge: number, port: number, bytes: Uint8Array) => void;

  constructor(
    readonly factory: EngineFactory = stpFactory,
    readonly params: StpBridgeParams = DEFAULT_BRIDGE_PARAMS,
    readonly portParams: Partial<StpPortParams> = {},
  ) {}

  /** A bridge with identifier `id` (priority in the top 16 bits, MAC below), ports on `lans` ("a", "b:5" for cost 5, "0" unconnected). */
  addBridge(id: bigint, lans: string[], params: Partial<StpBridgeParams> = {}, portParams: Partial<StpPortParams>[] = [], factory = this.factory): SimBridge {
    const b = new SimBridge(this.bridges.length, this);
    this.bridges.push(b);
    const hooks: EngineHooks = {
      sendBpdu: (port, bytes) => {
        b.sent++;
        this.onSend?.(b.n, port, bytes);
        const lan = b.ports[port]?.lan;
        if (!lan || this.silentLans.has(lan) || !b.ports[port]!.enabled) return;
        for (const other of this.bridges) {
          other.ports.forEach((p, i) => {
            if (p.lan === lan && p.enabled && !(other === b && i === port)) this.queue.push({ bridge: other.n, port: i, bytes });
          });
        }
      },
      portChanged: (port, c) => b.events.push({ at: this.now, bridge: b.n, kind: "port", detail: `${port} ${c.previousRole}/${c.previousState} -> ${c.role}/${c.state} (${c.reason})` }),
      topologyChange: (c) => {
        if (c.active) b.topologyChanges++;
        b.events.push({ at: this.now, bridge: b.n, kind: "tc", detail: `${c.active} ${c.reason}` });
      },
      flush: () => void b.flushes++,
      fastAgeing: (ms) => void (b.fastAgeing = ms),
      guard: (port, guard, reason) => b.events.push({ at: this.now, bridge: b.n, kind: "guard", detail: `${port} ${guard} ${reason}` }),
      log: () => undefined,
    };
    const priority = Number(id >> 48n);
    b.engine = factory(hooks, { ...this.params, ...params, priority }, bridgeMac(makeBridgeId(priority, macOf(id))));
    lans.forEach((text, i) => {
      const [lan, cost] = text.split(":");
      b.ports.push({ lan: lan === "0" || lan === "X" ? undefined : lan, enabled: lan !== "X" });
      b.engine.addPort(i, { ...DEFAULT_PORT_PARAMS, ...this.portParams, ...portParams[i], defaultPathCost: 10, ...(cost ? { pathCost: Number(cost) } : {}) }, lan !== "X");
    });
    b.engine.start();
    return b;
  }

  /** Re-attach a port to another LAN ("0": none, "X": link down), as the scenario language's `bridge N = …`. */
  setPort(bridge: number, port: number, lan: string): void {
    const b = this.bridges[bridge]!;
    const p = b.ports[port]!;
    if (lan === "_") return;
    if (lan === "X") {
      p.lan = undefined;
      if (p.enabled) b.engine.disablePort(port, "link down");
      p.enabled = false;
      this.deliver();
      return;
    }
    const wasEnabled = p.enabled;
    if (wasEnabled) b.engine.disablePort(port, "link down");
    p.lan = lan === "0" ? undefined : lan;
    p.enabled = true;
    b.engine.enablePort(port);
    this.deliver();
  }

  /** Advance simulated time in steps, delivering BPDUs after each. */
  run(ms: number, step = 50): void {
    this.deliver();
    for (let t = 0; t < ms; t += step) {
      this.now += step;
      for (const b of this.bridges) b.engine.tick(step);
      this.deliver();
    }
  }

  deliver(): void {
    let budget = 100_000;
    while (this.queue.length > 0) {
      if (--budget === 0) throw new Error("BPDU storm in the simulation");
      const { bridge, port, bytes } = this.queue.shift()!;
      const b = this.bridges[bridge]!;
      if (!b.ports[port]!.enabled) continue;
      b.engine.receiveBpdu(port, bytes);
    }
  }

  /** "F:10" for a root port, "F", "B", "Li", "Le", "D" otherwise; "root" for a root bridge's summary. */
  summary(bridge: number): string {
    const b = this.bridges[bridge]!;
    const status = b.engine.bridgeStatus();
    return b.ports.map((_, i) => {
      const s = b.engine.portStatus(i);
      const letter = STATE_LETTER[s.state];
      return s.role === "root" ? `${letter}:${status.rootPathCost}` : letter;
    }).join(" ");
  }

  roles(bridge: number): PortRole[] {
    const b = this.bridges[bridge]!;
    return b.ports.map((_, i) => b.engine.portStatus(i).role);
  }
}

const STATE_LETTER: Record<PortStateName | "discarding", string> = { forwarding: "F", blocking: "B", discarding: "B", listening: "Li", learning: "Le", disabled: "D" };

function macOf(id: bigint): string {
  return bridgeMac(id);
}

/**
 * Replay a scenario in the small language of Open vSwitch's tests/stp.at:
 *   bridge N ID = lan[:cost] ...   a bridge and the LAN of each port ("0": unconnected, "X": disabled)
 *   bridge N = lan|_ ...           re-attach ports ("_": unchanged)
 *   bridge N^PRIO                  set bridge N's priority
 *   run N                          advance time until things settle
 *   check N = root | rootid:ID F:10 B ...
 * Returns the failed checks as strings (empty when all pass).
 */
export function replayScenario(text: string, net = new SimNet(), settleMs = 120_000): string[] {
  const failures: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^bridge (\d+) (0x[0-9a-f]+)(?:\^(0x[0-9a-f]+))? =(.*)$/i))) {
      const id = BigInt(m[2]!) | (BigInt(m[3] ?? "0x8000") << 48n);
      net.addBridge(id, m[4]!.trim().split(/\s+/).filter(Boolean));
    } else if ((m = line.match(/^bridge (\d+) =(.*)$/))) {
      m[2]!.trim().split(/\s+/).forEach((lan, port) => net.setPort(Number(m![1]), port, lan));
    } else if ((m = line.match(/^bridge (\d+)\^(0x[0-9a-f]+)$/i))) {
      const b = net.bridges[Number(m[1])]!;
      b.engine.setBridgeParams({ ...net.params, priority: Number(m[2]) });
    } else if ((m = line.match(/^run (\d+)$/))) {
      net.run(settleMs);
    } else if ((m = line.match(/^check (\d+) =(.*)$/))) {
      const n = Number(m[1]);
      const words = m[2]!.trim().split(/\s+/).filter(Boolean);
      const status = net.bridges[n]!.engine.bridgeStatus();
      if (words[0]?.startsWith("rootid:")) {
        const want = BigInt(words.shift()!.slice(7).split("^")[0]!);
        const got = BigInt("0x" + status.designatedRoot.replace(".", "")) & 0xffff_ffff_ffffn;
        if (got !== want) failures.push(`${line}: root is ${status.designatedRoot}`);
      }
      if (words[0] === "root") {
        if (!status.isRoot) failures.push(`${line}: bridge ${n} is not root (root ${status.designatedRoot})`);
        continue;
      }
      const got = net.summary(n);
      if (words.length > 0 && got !== words.join(" ")) failures.push(`${line}: got "${got}"`);
    } else {
      throw new Error(`cannot parse scenario line "${line}"`);
    }
  }
  return failures;
}
