/**
 * The bonding lab: tapbridge (in this process) bonds two veth uplinks to a
 * "physical switch" — a kernel bridge, or Open vSwitch — with guests on
 * TAP ports behind tapbridge and hosts behind the switch:
 *
 *   guest gK (TAP t0, 10.55.0.K)──┐                     ┌── hK (eth0, 10.55.0.10K)
 *                     [ tapbridge: bond0 = u1,u2 ] ═══ [ switch in ns sw: s1,s2,hpK ]
 *
 * The kernel switch is set up as the oracle must be (multicast_snooping 0,
 * bridge-nf-call-* 0, STP off). Everything is made by a Lab and removed by it.
 */
import { Bridge } from "../../src/bridge.js";
import { TapPort } from "../../src/io/native-port.js";
import { BondPort } from "../../src/ports/bond-port.js";
import type { BondOptions } from "../../src/bond/settings.js";
import { Lab, run } from "../../src/testing/lab.js";
import { longestGapMs, sleep } from "../stp/triangle.js";

export const GUEST_IP = (k: number) => `10.55.0.${k + 1}`;
export const HOST_IP = (k: number) => `10.55.0.${101 + k}`;

export interface SwitchLab {
  lab: Lab;
  sw: string;
  tb: string;
  guests: string[];
  hosts: string[];
  guestMacs: string[];
  bridge: Bridge;
  bond: BondPort;
  /** Switch ports facing the bond members, in member order. */
  switchPorts: string[];
  stop(): void;
}

export interface SwitchLabOptions {
  guests: number;
  hosts: number;
  bond: BondOptions;
  guestMacs?: string[];
  /** Make the switch in `sw` over the member-facing ports and host ports (default: a kernel bridge). */
  makeSwitch?: (lab: Lab, sw: string, uplinks: string[], hostPorts: string[]) => Promise<void>;
}

export async function kernelSwitch(lab: Lab, sw: string, uplinks: string[], hostPorts: string[]): Promise<void> {
  await run(["ip", "-n", sw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "0"]);
  for (const v of ["iptables", "ip6tables", "arptables"]) await lab.exec(sw, ["sysctl", "-qw", `net.bridge.bridge-nf-call-${v}=0`], { allowFail: true });
  for (const p of [...uplinks, ...hostPorts]) await run(["ip", "-n", sw, "link", "set", p, "master", "br0"]);
  await run(["ip", "-n", sw, "link", "set", "br0", "up"]);
}

export async function buildSwitchLab(lab: Lab, o: SwitchLabOptions): Promise<SwitchLab> {
  const sw = await lab.netns("sw");
  const tb = await lab.netns("tb");
  const uplinks = ["s1", "s2"];
  await lab.veth({ ns: tb, name: "u1" }, { ns: sw, name: "s1" });
  await lab.veth({ ns: tb, name: "u2" }, { ns: sw, name: "s2" });
  const hosts: string[] = [];
  const hostPorts: string[] = [];
  for (let k = 0; k < o.hosts; k++) {
    const h = await lab.netns(`h${k}`);
    await lab.veth({ ns: h, name: "eth0", address: `${HOST_IP(k)}/24` }, { ns: sw, name: `hp${k}` });
    hosts.push(h);
    hostPorts.push(`hp${k}`);
  }
  await (o.makeSwitch ?? kernelSwitch)(lab, sw, uplinks, hostPorts);
  const bridge = new Bridge({ name: "tbond" });
  const bond = bridge.addPort(new BondPort({ name: "bond0", members: ["u1", "u2"], netns: tb, ...o.bond }));
  const guests: string[] = [];
  const guestMacs = o.guestMacs ?? Array.from({ length: o.guests }, (_, k) => `02:55:00:00:00:${(k + 1).toString(16).padStart(2, "0")}`);
  for (let k = 0; k < o.guests; k++) {
    const g = await lab.netns(`g${k}`);
    bridge.addPort(new TapPort({ name: "t0", netns: g, mac: guestMacs[k]! }));
    await lab.address(g, "t0", `${GUEST_IP(k)}/24`);
    guests.push(g);
  }
  return { lab, sw, tb, guests, hosts, guestMacs, bridge, bond, switchPorts: uplinks, stop: () => bridge.close() };
}

/** `bridge fdb show` of the switch: the port a MAC is learned on, if any. */
export async function switchPortOf(sw: string, mac: string): Promise<string | undefined> {
  const rows = JSON.parse((await run(["bridge", "-n", sw, "-j", "fdb", "show", "br", "br0"])).stdout) as { mac: string; ifname: string; flags?: string[] }[];
  return rows.find((r) => r.mac === mac.toLowerCase() && !(r.flags ?? []).includes("self"))?.ifname;
}

/**
 * A 10 ms ping from `ns` to `ip` while `during` runs (started after
 * `leadMs`): the longest gap between replies, and how many were lost.
 */
export async function pingAcross(lab: Lab, ns: string, ip: string, count: number, leadMs: number, during: () => Promise<void>): Promise<{ gapMs: number; replies: number; sent: number; lost: number; output: string }> {
  const pinger = lab.spawn(ns, ["ping", "-D", "-n", "-i", "0.01", "-W", "2", "-c", String(count), ip]);
  let out = "";
  pinger.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const done = new Promise((res) => pinger.once("exit", res));
  await sleep(leadMs);
  await during();
  await done;
  const { gapMs, replies } = longestGapMs(out);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  const sent = m ? Number(m[1]) : count;
  const received = m ? Number(m[2]) : replies;
  return { gapMs, replies, sent, lost: sent - received, output: out };
}

/**
 * tcpdump (-Q in: frames arriving at the guest) on every guest's t0 while
 * `during` runs: ICMP echo requests counted by source MAC, per guest.
 */
export async function echoRequestsSeen(lab: Lab, namespaces: string[], during: () => Promise<void>): Promise<Map<string, number>[]> {
  const dumps = namespaces.map((ns) => {
    const child = lab.spawn(ns, ["tcpdump", "-i", "t0", "-Q", "in", "-n", "-e", "-l", "icmp"]);
    const d = { ns, child, out: "", err: "", exited: new Promise((res) => child.once("exit", res)) };
    child.stdout!.on("data", (b: Buffer) => (d.out += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (d.err += b.toString()));
    return d;
  });
  const until = Date.now() + 30_000;
  for (const d of dumps) {
    while (!/listening on/.test(d.err)) {
      if (Date.now() > until) throw new Error(`tcpdump in ${d.ns} did not start: ${d.err}`);
      await sleep(50);
    }
  }
  await during();
  await sleep(1000);
  for (const d of dumps) d.child.kill("SIGINT");
  await Promise.all(dumps.map((d) => d.exited));
  return dumps.map((d) => {
    const counts = new Map<string, number>();
    for (const line of d.out.split("\n")) {
      const m = /^\S+ ([0-9a-f:]{17}) > [0-9a-f:]{17}, .*ICMP echo request/.exec(line);
      if (m) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
    }
    return counts;
  });
}
