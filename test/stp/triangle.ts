/**
 * The interop triangle: tapbridge (in this process, AF_PACKET ports on veth
 * ends in namespace T) and two other bridges — kernel bridges with STP, or
 * Open vSwitch userspace bridges with RSTP — in namespaces A and B, joined
 * by veth pairs, with a host namespace behind each bridge:
 *
 *        hA 10.99.0.1                 hB 10.99.0.2
 *          |                            |
 *          A ──── ab ═══════ ba ──────── B
 *           \ at                    bt /
 *            ═══                    ═══
 *             ta ──── T (tapbridge) ── tb
 *                        |
 *                      hT 10.99.0.3
 *
 * Short STP timers: hello 1 s, forward delay 4 s, max age 6 s (kernel
 * centiseconds 100/400/600). Everything is made by a Lab and removed by it.
 */
import { Bridge } from "../../src/bridge.js";
import { PacketPort } from "../../src/io/native-port.js";
import { Lab, run } from "../../src/testing/lab.js";
import type { StpOptions } from "../../src/stp/bridge-stp.js";

export const TIMERS = { helloTime: 1, forwardDelay: 4, maxAge: 6 };
export const IP = { A: "10.99.0.1", B: "10.99.0.2", T: "10.99.0.3" };
export const MAC = { A: "02:00:00:00:0a:00", B: "02:00:00:00:0b:00", T: "02:00:00:00:0c:00" };
/** Loop ports by bridge: [toward the first neighbour, toward the second]. */
export const LOOP = { A: ["ab", "at"], B: ["ba", "bt"], T: ["ta", "tb"] } as const;

export interface Triangle {
  lab: Lab;
  ns: { A: string; B: string; T: string; hA: string; hB: string; hT: string };
  tap: Bridge;
  /** Port label in the tapbridge for a loop port name ("ta" → "ta@<ns>"). */
  label(port: string): string;
  stop(): Promise<void>;
}

export async function buildTriangle(lab: Lab, tapStp: StpOptions, other: (t: Omit<Triangle, "tap" | "label" | "stop">) => Promise<() => Promise<void>>): Promise<Triangle> {
  const ns = {
    A: await lab.netns("A"), B: await lab.netns("B"), T: await lab.netns("T"),
    hA: await lab.netns("hA"), hB: await lab.netns("hB"), hT: await lab.netns("hT"),
  };
  await lab.veth({ ns: ns.A, name: "ab" }, { ns: ns.B, name: "ba" });
  await lab.veth({ ns: ns.B, name: "bt" }, { ns: ns.T, name: "tb" });
  await lab.veth({ ns: ns.T, name: "ta" }, { ns: ns.A, name: "at" });
  await lab.veth({ ns: ns.hA, name: "eth0", address: `${IP.A}/24` }, { ns: ns.A, name: "hp" });
  await lab.veth({ ns: ns.hB, name: "eth0", address: `${IP.B}/24` }, { ns: ns.B, name: "hp" });
  await lab.veth({ ns: ns.hT, name: "eth0", address: `${IP.T}/24` }, { ns: ns.T, name: "hp" });
  const stopOther = await other({ lab, ns });
  const tap = new Bridge({ name: "tbstp", stp: { ...TIMERS, address: MAC.T, ...tapStp } });
  for (const p of ["ta", "tb"]) tap.addPort(new PacketPort({ name: p, netns: ns.T }));
  tap.addPort(new PacketPort({ name: "hp", netns: ns.T }), tapStp.protocol === "rstp" ? { edge: true } : {});
  return {
    lab, ns, tap,
    label: (p) => `${p}@${ns.T}`,
    stop: async () => {
      tap.close();
      await stopOther();
    },
  };
}

/** A kernel bridge with STP in `ns` over `ports`, set up as the oracle must be. */
export async function kernelBridge(lab: Lab, ns: string, mac: string, priority: number, ports: string[]): Promise<void> {
  await run(["ip", "-n", ns, "link", "add", "br0", "address", mac, "type", "bridge", "stp_state", "1", "hello_time", "100", "forward_delay", "400", "max_age", "600", "priority", String(priority), "mcast_snooping", "0"]);
  for (const v of ["iptables", "ip6tables", "arptables"]) await lab.exec(ns, ["sysctl", "-qw", `net.bridge.bridge-nf-call-${v}=0`], { allowFail: true });
  for (const p of ports) await run(["ip", "-n", ns, "link", "set", p, "master", "br0"]);
  await run(["ip", "-n", ns, "link", "set", "br0", "up"]);
}

export async function kernelRootId(ns: string): Promise<string> {
  return (await run(["ip", "netns", "exec", ns, "cat", "/sys/class/net/br0/bridge/root_id"])).stdout.trim();
}

/** Port states of a kernel bridge, by port name ("forwarding", "blocking", …). */
export async function kernelStates(ns: string): Promise<Record<string, string>> {
  const links = JSON.parse((await run(["bridge", "-n", ns, "-j", "link", "show"])).stdout) as { ifname: string; state: string }[];
  return Object.fromEntries(links.map((l) => [l.ifname, l.state]));
}

export async function rxPackets(ns: string, dev: string): Promise<number> {
  return Number((await run(["ip", "netns", "exec", ns, "cat", `/sys/class/net/${dev}/statistics/rx_packets`])).stdout.trim());
}

export async function ping(lab: Lab, from: string, to: string, count = 3): Promise<boolean> {
  const r = await lab.exec(from, ["ping", "-c", String(count), "-i", "0.2", "-W", "1", to], { allowFail: true, timeoutMs: 20_000 });
  return / [1-9]\d* received/.test(r.stdout);
}

/** Every host reaches every other (retrying while the tree settles, up to `withinMs`). */
export async function allPing(t: Triangle, withinMs = 30_000): Promise<boolean> {
  const pairs: [string, string][] = [[t.ns.hA, IP.B], [t.ns.hA, IP.T], [t.ns.hB, IP.T], [t.ns.hB, IP.A], [t.ns.hT, IP.A], [t.ns.hT, IP.B]];
  const until = Date.now() + withinMs;
  for (const [from, to] of pairs) {
    while (!(await ping(t.lab, from, to, 2))) if (Date.now() > until) return false;
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `check` until it returns a value (not undefined), or fail after `ms` with `what`. */
export async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(250);
  }
}

/**
 * Outage of a 10 ms ping running across an event: the longest gap between
 * consecutive replies (ping -D timestamps), in ms.
 */
export function longestGapMs(pingOutput: string): { gapMs: number; replies: number } {
  const times = [...pingOutput.matchAll(/^\[(\d+\.\d+)\].*icmp_seq=\d+/gm)].map((m) => Number(m[1]) * 1000);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return { gapMs: Math.round(gap), replies: times.length };
}

// ── Open vSwitch, private daemons (bench/ovs.ts) ──

export { ovsInstalled, ovsSchema, startOvs, type OvsSwitch } from "../../bench/ovs.js";
