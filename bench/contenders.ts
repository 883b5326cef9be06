/**
 * The contenders: the same two hosts — namespaces A and B, 10.77.0.1 and
 * 10.77.0.2 on a /24 — joined by a different switch each time.
 *
 *   kernel  A:veth ─ [netns S: Linux bridge] ─ veth:B          (the baseline)
 *   tap     A:tap  ─ [tapbridge process] ─ tap:B               (TAPs created inside A and B)
 *   packet  A:veth ─ [netns S: veth ends ◄─AF_PACKET─ tapbridge] ─ veth:B
 *   v2, v3, mmsg   as packet, with that receive mode (on request: --only)
 *   ovs     A:veth ─ [netns S: ovs-vswitchd, datapath_type=netdev] ─ veth:B
 *   vlan1   A:tap ─ [tapbridge, both TAPs access=59] ─ tap:B    (VLAN decisions; baseline: tap)
 *   pair    A:tap ─ [tapbridge 1] ═ veth (AF_PACKET) ═ [tapbridge 2] ─ tap:B   (untagged)
 *   vlan    A:tap ─ access=59 [tapbridge 1] ═ trunk=59 ═ [tapbridge 2] access=59 ─ tap:B
 *           (tags inserted and stripped on the wire; baseline: pair, the same path untagged)
 *
 * Every contender is built before the first measurement and kept until the
 * end, so the measurements can interleave. Each has its own namespaces; a
 * contender that cannot be built is recorded as skipped, with the reason.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Lab } from "../src/testing/lab.js";
import { run } from "../src/testing/lab.js";
import { TapbridgeProcess } from "./tapbridge-process.js";

/** The contenders measured by default. */
export const CONTENDER_KEYS = ["kernel", "tap", "packet", "ovs", "vlan1", "pair", "vlan"] as const;
/**
 * Measured only when named in --only: `packet` with each AF_PACKET receive
 * mode (PacketPortOptions.rxMode), and `uring`: `tap` with TAP I/O through
 * io_uring (TAPBRIDGE_TAP_IO=uring).
 */
export const EXTRA_KEYS = ["v2", "v3", "mmsg", "uring"] as const;
export const ALL_KEYS = [...CONTENDER_KEYS, ...EXTRA_KEYS] as const;
export type ContenderKey = (typeof ALL_KEYS)[number];

export const CONTENDER_LABELS: Record<ContenderKey, string> = {
  kernel: "kernel bridge (veth)",
  tap: "tapbridge (TAP ports)",
  packet: "tapbridge (AF_PACKET on veth)",
  ovs: "Open vSwitch (userspace, netdev)",
  vlan1: "tapbridge VLAN (TAP access→access, one VLAN)",
  pair: "tapbridge pair (TAP→veth→TAP, two instances, untagged)",
  vlan: "tapbridge VLAN (access→trunk→access, two instances)",
  v2: "tapbridge (AF_PACKET on veth, TPACKET_V2 ring receive)",
  v3: "tapbridge (AF_PACKET on veth, TPACKET_V3 ring receive)",
  mmsg: "tapbridge (AF_PACKET on veth, recvmmsg receive)",
  uring: "tapbridge (TAP ports, I/O through io_uring)",
};

/**
 * The untagged path a VLAN contender is measured against, in the same run:
 * the same topology with VLANs off. Ratios to it are reported beside the
 * ratios to the kernel bridge.
 */
export const BASELINE_OF: Partial<Record<ContenderKey, ContenderKey>> = { vlan1: "tap", vlan: "pair" };

export const IP_A = "10.77.0.1";
export const IP_B = "10.77.0.2";
const PREFIX = 24;

export interface Contender {
  key: ContenderKey;
  label: string;
  a: string;
  b: string;
  devA: string;
  devB: string;
  macA: string;
  macB: string;
  /** The process that does the switching, when there is one (tapbridge, ovs-vswitchd). */
  switchPid?: number;
  /** More switching processes on the path (a second tapbridge); their CPU counts too. */
  extraPids?: number[];
  tapbridge?: TapbridgeProcess;
  stop(): Promise<void>;
}

async function macOf(lab: Lab, ns: string, dev: string): Promise<string> {
  const { stdout } = await run(["ip", "-n", ns, "-j", "link", "show", "dev", dev]);
  return (JSON.parse(stdout) as { address: string }[])[0]!.address;
}

/** Hosts A and B and, unless the switch makes its own host ports, a veth into switch namespace S for each. */
async function hostsWithVeths(lab: Lab, tag: string): Promise<{ a: string; b: string; s: string; devA: string; devB: string; swA: string; swB: string }> {
  const a = await lab.netns(`${tag}A`);
  const b = await lab.netns(`${tag}B`);
  const s = await lab.netns(`${tag}S`);
  const devA = lab.ifname(`${tag}a0`);
  const devB = lab.ifname(`${tag}b0`);
  const swA = lab.ifname(`${tag}sa`);
  const swB = lab.ifname(`${tag}sb`);
  await lab.veth({ ns: a, name: devA, address: `${IP_A}/${PREFIX}` }, { ns: s, name: swA });
  await lab.veth({ ns: b, name: devB, address: `${IP_B}/${PREFIX}` }, { ns: s, name: swB });
  return { a, b, s, devA, devB, swA, swB };
}

async function finish(lab: Lab, c: Omit<Contender, "macA" | "macB" | "label">): Promise<Contender> {
  const contender: Contender = { ...c, label: CONTENDER_LABELS[c.key], macA: await macOf(lab, c.a, c.devA), macB: await macOf(lab, c.b, c.devB) };
  // Prove the path (and fill ARP caches and the switch's MAC table) before any measurement.
  const ping = await lab.exec(c.a, ["ping", "-c", "3", "-i", "0.2", "-W", "2", IP_B], { allowFail: true, timeoutMs: 10_000 });
  if (!/ [1-9]\d* received/.test(ping.stdout)) {
    await contender.stop();
    throw new Error(`host A cannot ping host B through it: ${ping.stdout.trim().split("\n").pop() ?? ping.stderr.trim()}`);
  }
  return contender;
}

export async function kernelBridge(lab: Lab): Promise<Contender> {
  const h = await hostsWithVeths(lab, "k");
  await run(["ip", "-n", h.s, "link", "add", "name", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"]);
  for (const port of [h.swA, h.swB]) await run(["ip", "-n", h.s, "link", "set", "dev", port, "master", "br0"]);
  await run(["ip", "-n", h.s, "link", "set", "dev", "br0", "up"]);
  return finish(lab, { key: "kernel", a: h.a, b: h.b, devA: h.devA, devB: h.devB, stop: async () => undefined });
}

/**
 * tapbridge with TAP ports. `tag` keeps the names of a second instance (the
 * port-scaling runs) apart from the first; `extraPorts` more TAPs, each alone
 * in a namespace of its own and idle. `vlan`: both hosts' TAPs are access
 * ports of VLAN 59 (the `vlan1` contender: VLAN filtering on, same path).
 */
export async function tapbridgeTaps(lab: Lab, extraPorts = 0, tag = "t", vlan = false, env?: Record<string, string>): Promise<Contender> {
  const a = await lab.netns(`${tag}A`);
  const b = await lab.netns(`${tag}B`);
  const devA = lab.ifname(`${tag}a0`);
  const devB = lab.ifname(`${tag}b0`);
  const access = vlan ? ":access=59" : "";
  const args = ["--name", `bench-${tag}`, "--tap", `${devA}@${a}${access}`, "--tap", `${devB}@${b}${access}`];
  for (let i = 0; i < extraPorts; i++) {
    const ns = await lab.netns(`${tag}X${i}`);
    args.push("--tap", `${lab.ifname(`${tag}x${i}`)}@${ns}`);
  }
  const tb = await TapbridgeProcess.start(args, undefined, env);
  try {
    await lab.address(a, devA, `${IP_A}/${PREFIX}`);
    await lab.address(b, devB, `${IP_B}/${PREFIX}`);
  } catch (error) {
    await tb.stop();
    throw error;
  }
  return finish(lab, { key: vlan ? "vlan1" : env ? "uring" : "tap", a, b, devA, devB, switchPid: tb.pid, tapbridge: tb, stop: () => tb.stop() });
}

/**
 * Two tapbridge instances, each with one host on a TAP, joined by a veth
 * pair attached with AF_PACKET on both sides: untagged (`pair`), or with
 * access ports of VLAN 59 and a trunk carrying it tagged (`vlan`).
 */
async function tapbridgeTwoInstances(lab: Lab, key: "pair" | "vlan"): Promise<Contender> {
  const tag = key === "vlan" ? "q" : "r";
  const a = await lab.netns(`${tag}A`);
  const b = await lab.netns(`${tag}B`);
  const s = await lab.netns(`${tag}S`);
  const devA = lab.ifname(`${tag}a0`);
  const devB = lab.ifname(`${tag}b0`);
  const trunkA = lab.ifname(`${tag}ta`);
  const trunkB = lab.ifname(`${tag}tb`);
  await lab.veth({ ns: s, name: trunkA }, { ns: s, name: trunkB });
  const access = key === "vlan" ? ":access=59" : "";
  const trunk = key === "vlan" ? ":trunk=59" : "";
  const one = await TapbridgeProcess.start(["--name", `bench-${key}-1`, "--tap", `${devA}@${a}${access}`, "--attach", `${trunkA}@${s}${trunk}`]);
  let two: TapbridgeProcess | undefined;
  const stop = async () => {
    await one.stop();
    await two?.stop();
  };
  try {
    two = await TapbridgeProcess.start(["--name", `bench-${key}-2`, "--tap", `${devB}@${b}${access}`, "--attach", `${trunkB}@${s}${trunk}`]);
    await lab.address(a, devA, `${IP_A}/${PREFIX}`);
    await lab.address(b, devB, `${IP_B}/${PREFIX}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return finish(lab, { key, a, b, devA, devB, switchPid: one.pid, extraPids: [two.pid], tapbridge: one, stop });
}

/** `mode`: an AF_PACKET receive mode (TAPBRIDGE_PACKET_RX), as contender `mode`; none: the default, as `packet`. */
export async function tapbridgePacket(lab: Lab, mode?: "v2" | "v3" | "mmsg"): Promise<Contender> {
  const h = await hostsWithVeths(lab, mode ? { v2: "g", v3: "h", mmsg: "m" }[mode] : "p");
  const key = mode ?? "packet";
  const tb = await TapbridgeProcess.start(["--name", `bench-${key}`, "--attach", `${h.swA}@${h.s}`, "--attach", `${h.swB}@${h.s}`], undefined, mode ? { TAPBRIDGE_PACKET_RX: mode } : undefined);
  return finish(lab, { key, a: h.a, b: h.b, devA: h.devA, devB: h.devB, switchPid: tb.pid, tapbridge: tb, stop: () => tb.stop() });
}

/** Why OVS cannot run here, or undefined when it can. */
export function ovsMissing(): string | undefined {
  for (const tool of ["ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status !== 0) return `${tool} is not installed (apt-get install openvswitch-switch)`;
  }
  if (!findOvsSchema()) return "the OVS database schema vswitch.ovsschema was not found";
  return undefined;
}

function findOvsSchema(): string | undefined {
  return ["/usr/share/openvswitch/vswitch.ovsschema", "/usr/local/share/openvswitch/vswitch.ovsschema"].find((p) => existsSync(p));
}

/**
 * Open vSwitch with the userspace (netdev) datapath, run privately: its own
 * database, sockets, pid and log files under a temporary directory, both
 * daemons inside switch namespace S (so netdev ports open S's veth ends).
 */
export async function openVswitch(lab: Lab): Promise<Contender> {
  const missing = ovsMissing();
  if (missing) throw new Error(missing);
  const h = await hostsWithVeths(lab, "o");
  const dir = mkdtempSync(path.join(os.tmpdir(), `${lab.id}-ovs-`));
  const env = [`OVS_RUNDIR=${dir}`, `OVS_DBDIR=${dir}`, `OVS_LOGDIR=${dir}`, `OVS_PKGDATADIR=/usr/share/openvswitch`];
  const db = `unix:${dir}/db.sock`;
  const vsctl = (...args: string[]) => run(["env", ...env, "ovs-vsctl", `--db=${db}`, "--timeout=20", ...args], { timeoutMs: 25_000 });
  const cleanupDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    await run(["ovsdb-tool", "create", `${dir}/conf.db`, findOvsSchema()!]);
    const dbServer = lab.spawn(h.s, ["env", ...env, "ovsdb-server", `${dir}/conf.db`, `--remote=punix:${dir}/db.sock`,
      `--pidfile=${dir}/ovsdb-server.pid`, `--log-file=${dir}/ovsdb-server.log`, `--unixctl=${dir}/ovsdb-server.ctl`]);
    await waitForFile(`${dir}/db.sock`, 10_000, `ovsdb-server did not create its socket (log: ${dir}/ovsdb-server.log)`);
    await vsctl("--no-wait", "init");
    await vsctl("--no-wait", "set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=true");
    const vswitchd = lab.spawn(h.s, ["env", ...env, "ovs-vswitchd", db, `--pidfile=${dir}/ovs-vswitchd.pid`,
      `--log-file=${dir}/ovs-vswitchd.log`, `--unixctl=${dir}/ovs-vswitchd.ctl`]);
    const early = new Promise<never>((_, reject) => vswitchd.once("exit", (code) => reject(new Error(`ovs-vswitchd exited with code ${code} at start (log: ${dir}/ovs-vswitchd.log)`))));
    early.catch(() => undefined);
    await Promise.race([vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev"), early]);
    await Promise.race([vsctl("add-port", "br0", h.swA, "--", "add-port", "br0", h.swB), early]);
    const stop = async () => {
      for (const child of [vswitchd, dbServer]) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([gone, sleep(3000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
      cleanupDir();
    };
    try {
      return await finish(lab, { key: "ovs", a: h.a, b: h.b, devA: h.devA, devB: h.devB, switchPid: vswitchd.pid, stop });
    } catch (error) {
      await stop();
      throw error;
    }
  } catch (error) {
    cleanupDir();
    throw error;
  }
}

export const BUILDERS: Record<ContenderKey, (lab: Lab) => Promise<Contender>> = {
  kernel: kernelBridge,
  tap: (lab) => tapbridgeTaps(lab),
  packet: (lab) => tapbridgePacket(lab),
  v2: (lab) => tapbridgePacket(lab, "v2"),
  v3: (lab) => tapbridgePacket(lab, "v3"),
  mmsg: (lab) => tapbridgePacket(lab, "mmsg"),
  uring: (lab) => tapbridgeTaps(lab, 0, "u", false, { TAPBRIDGE_TAP_IO: "uring" }),
  ovs: openVswitch,
  vlan1: (lab) => tapbridgeTaps(lab, 0, "w", true),
  pair: (lab) => tapbridgeTwoInstances(lab, "pair"),
  vlan: (lab) => tapbridgeTwoInstances(lab, "vlan"),
};

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitForFile(file: string, timeoutMs: number, message: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error(message);
    await sleep(50);
  }
}
