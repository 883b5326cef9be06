/**
 * Declarative topologies: bridges, hosts and links in one object, built in
 * one call, removed by one `destroy()` — after a failure half way through the
 * build, at the end of a test, and (through Lab) on exit and SIGINT/SIGTERM.
 *
 *   const t = await topology({
 *     bridges: ["s1", "s2"],
 *     hosts: { a: { bridge: "s1" },                        // in-memory host
 *              b: { bridge: "s2", kind: "netns", ip: "10.0.0.2/24" },  // TAP in a namespace
 *              c: { bridge: "s2", kind: "veth", ip: "10.0.0.3/24" } }, // veth, AF_PACKET
 *     links: [{ a: "s1", b: "s2", impair: { delay: 5 } }],  // a trunk: an in-memory wire
 *   });
 *
 * Shapes for the common cases: `topology.star(n)`, `.line(n)`, `.ring(n)`,
 * `.twoSwitches(n)` return a spec to adjust or build. Hosts of kind
 * "memory" need neither root nor the addon; "netns" and "veth" hosts need
 * both and get a namespace each (named by the Lab, unique per process).
 */
import { Bridge, type BridgeOptions } from "../bridge.js";
import { TapbridgeError } from "../errors.js";
import type { ImpairmentSpec } from "../impair/spec.js";
import { PacketPort, TapPort } from "../io/native-port.js";
import { settleMemory } from "../ports/memory-fabric.js";
import { MemoryPort } from "../ports/memory-port.js";
import type { Port, PortSettings } from "../ports/port.js";
import type { Scheduler } from "../scheduler.js";
import { Lab } from "./lab.js";
import { wire, type Wire } from "./wire.js";

export interface TopologyHost {
  bridge: string;
  /** "memory" (default): a MemoryPort; "netns": a TAP inside the host's namespace; "veth": a veth pair, AF_PACKET on the bridge side. */
  kind?: "memory" | "netns" | "veth";
  /** Address for namespace hosts, CIDR ("10.0.0.1/24"). */
  ip?: string;
  mac?: string;
  settings?: PortSettings;
  /** Impair the host's port (both ways). */
  impair?: ImpairmentSpec;
}

export interface TopologyLink {
  a: string;
  b: string;
  impair?: ImpairmentSpec;
  settings?: PortSettings;
}

export interface TopologySpec {
  bridges: string[] | Record<string, BridgeOptions>;
  hosts?: Record<string, TopologyHost>;
  links?: TopologyLink[];
  /** One scheduler for every bridge and wire (a VirtualClock for virtual time). */
  scheduler?: Scheduler;
  /** Prefix of namespace and interface names (default "tb"). */
  tag?: string;
}

export interface BuiltHost {
  name: string;
  port: Port;
  /** In-memory hosts: the port to send on and read from. */
  memory?: MemoryPort;
  /** Namespace hosts: the namespace and the interface inside it. */
  netns?: string;
  ifname?: string;
  ip?: string;
}

export type Shape = "star" | "line" | "ring" | "twoSwitches";

export class Topology {
  readonly bridges = new Map<string, Bridge>();
  readonly hosts = new Map<string, BuiltHost>();
  readonly wires: Wire[] = [];
  private labInstance: Lab | undefined;
  private destroyed = false;
  private readonly errors: Error[] = [];

  constructor(private readonly tag = "tb") {}

  /** The namespace lab (created on the first namespace host). */
  get lab(): Lab {
    return (this.labInstance ??= new Lab(this.tag));
  }

  bridge(name: string): Bridge {
    const b = this.bridges.get(name);
    if (!b) throw new TapbridgeError("ENOENT", `the topology has no bridge ${name} (it has ${[...this.bridges.keys()].join(", ")})`);
    return b;
  }

  host(name: string): BuiltHost {
    const h = this.hosts.get(name);
    if (!h) throw new TapbridgeError("ENOENT", `the topology has no host ${name} (it has ${[...this.hosts.keys()].join(", ")})`);
    return h;
  }

  /** The in-memory port of a memory host. */
  port(name: string): MemoryPort {
    const h = this.host(name);
    if (!h.memory) throw new TapbridgeError("EINVAL", `host ${name} lives in namespace ${h.netns}: use its namespace, not a MemoryPort`);
    return h.memory;
  }

  /** Wires between bridges, in the order of `links`. */
  link(i: number): Wire {
    const w = this.wires[i];
    if (!w) throw new TapbridgeError("ENOENT", `the topology has ${this.wires.length} links; there is no link ${i}`);
    return w;
  }

  /** Listener errors the bridges emitted (also thrown by settle()). */
  get listenerErrors(): readonly Error[] {
    return this.errors;
  }

  /** Wait until no in-memory frame is queued; throws the first listener error seen so far. */
  async settle(timeoutMs = 10_000): Promise<void> {
    await settleMemory(timeoutMs);
    if (this.errors.length) throw this.errors[0];
  }

  /** Close every bridge, remove every namespace and process. Idempotent, never throws. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const w of this.wires) w.destroy();
    for (const b of this.bridges.values()) {
      try {
        b.close();
      } catch {
        /* closing is best effort */
      }
    }
    await this.labInstance?.destroy();
  }

  /** @internal */
  addBridge(name: string, options: BridgeOptions): Bridge {
    const b = new Bridge({ name, ...options });
    b.on("error", (e) => this.errors.push(e));
    this.bridges.set(name, b);
    return b;
  }
}

/** Build a topology; on any failure, everything made so far is removed before the error is thrown. */
export async function topology(spec: TopologySpec): Promise<Topology> {
  const t = new Topology(spec.tag);
  try {
    const bridges = Array.isArray(spec.bridges) ? Object.fromEntries(spec.bridges.map((b) => [b, {}])) : spec.bridges;
    for (const [name, options] of Object.entries(bridges)) t.addBridge(name, { ...(spec.scheduler ? { scheduler: spec.scheduler } : {}), ...options });
    for (const [name, h] of Object.entries(spec.hosts ?? {})) t.hosts.set(name, await addHost(t, name, h));
    (spec.links ?? []).forEach((l, i) => {
      const pa = t.bridge(l.a).addPort(new MemoryPort(`${l.a}-${l.b}-${i}`, { keep: 0 }), l.settings);
      const pb = t.bridge(l.b).addPort(new MemoryPort(`${l.b}-${l.a}-${i}`, { keep: 0 }), l.settings);
      t.wires.push(wire(pa, pb, l.impair, spec.scheduler ? { scheduler: spec.scheduler } : {}));
    });
    return t;
  } catch (error) {
    await t.destroy();
    throw error;
  }
}

async function addHost(t: Topology, name: string, h: TopologyHost): Promise<BuiltHost> {
  const bridge = t.bridge(h.bridge);
  const kind = h.kind ?? "memory";
  if (kind === "memory") {
    const port = bridge.addPort(new MemoryPort(name, h.mac ? { mac: h.mac } : {}), h.settings);
    if (h.impair) port.impair(h.impair);
    return { name, port, memory: port, ...(h.ip ? { ip: h.ip } : {}) };
  }
  const lab = t.lab;
  const ns = await lab.netns(name);
  const ifname = "eth0";
  let port: Port;
  if (kind === "netns") {
    port = bridge.addPort(new TapPort({ name: ifname, netns: ns, ...(h.mac ? { mac: h.mac } : {}) }), h.settings);
  } else {
    const sw = await lab.netns(`sw-${name}`);
    const outer = lab.ifname(`v${t.hosts.size}`);
    await lab.veth({ ns, name: ifname }, { ns: sw, name: outer });
    if (h.mac) await lab.exec(ns, ["ip", "link", "set", "dev", ifname, "address", h.mac]);
    port = bridge.addPort(new PacketPort({ name: outer, netns: sw }), h.settings);
  }
  if (h.ip) await lab.address(ns, ifname, h.ip);
  else await lab.exec(ns, ["ip", "link", "set", "dev", ifname, "up"]);
  return { name, port, netns: ns, ifname, ...(h.ip ? { ip: h.ip.split("/")[0]! } : {}) };
}

interface ShapeOptions {
  /** Host kind for every host (default "memory"). */
  kind?: TopologyHost["kind"];
  /** Addresses: hosts get <subnet>.<n>/24 (default "10.0.0"). */
  subnet?: string;
  impair?: ImpairmentSpec;
  scheduler?: Scheduler;
}

const hostFor = (bridge: string, n: number, o: ShapeOptions): TopologyHost => ({
  bridge,
  kind: o.kind ?? "memory",
  ip: `${o.subnet ?? "10.0.0"}.${n}/24`,
  ...(o.impair ? { impair: o.impair } : {}),
});
const withScheduler = (o: ShapeOptions) => (o.scheduler ? { scheduler: o.scheduler } : {});

/** One bridge "s1", hosts h1..hn. */
topology.star = (n: number, o: ShapeOptions = {}): TopologySpec => ({
  bridges: ["s1"],
  hosts: Object.fromEntries(Array.from({ length: n }, (_, i) => [`h${i + 1}`, hostFor("s1", i + 1, o)])),
  ...withScheduler(o),
});

/** Bridges s1..sn in a chain, one host per bridge. */
topology.line = (n: number, o: ShapeOptions = {}): TopologySpec => ({
  bridges: Array.from({ length: n }, (_, i) => `s${i + 1}`),
  hosts: Object.fromEntries(Array.from({ length: n }, (_, i) => [`h${i + 1}`, hostFor(`s${i + 1}`, i + 1, o)])),
  links: Array.from({ length: n - 1 }, (_, i) => ({ a: `s${i + 1}`, b: `s${i + 2}` })),
  ...withScheduler(o),
});

/** A line closed into a ring: a loop, unless STP runs. */
topology.ring = (n: number, o: ShapeOptions = {}): TopologySpec => {
  const spec = topology.line(n, o);
  spec.links!.push({ a: `s${n}`, b: "s1" });
  return spec;
};

/** Two bridges s1, s2 joined by one trunk, `n` hosts on each (h1..hn on s1, h(n+1)..h2n on s2). */
topology.twoSwitches = (n: number, o: ShapeOptions = {}): TopologySpec => ({
  bridges: ["s1", "s2"],
  hosts: Object.fromEntries(Array.from({ length: 2 * n }, (_, i) => [`h${i + 1}`, hostFor(i < n ? "s1" : "s2", i + 1, o)])),
  links: [{ a: "s1", b: "s2" }],
  ...withScheduler(o),
});
