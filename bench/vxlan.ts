/**
 * VXLAN (issue 14), as a benchmark: guest A on host A to guest B on host B
 * over a VXLAN overlay (VNI 42, UDP 4789) on one underlay veth, where host
 * A's VTEP is either tapbridge (a TAP guest and a --vxlan port, one
 * `tapbridge run` process) or the kernel (vxlan device + kernel bridge + a
 * veth guest). Host B is always the kernel's vxlan in a kernel bridge. Both
 * contenders are measured in the same run, taking turns, and the figures are
 * reported as ratios tapbridge / kernel. Target: TCP ≥ 0.5×.
 *
 *   npm run build && flock /work/team/bench.lock node dist/bench/vxlan.js [--seconds 5] [--runs 3]
 *
 * Tests: iperf3 TCP A→B (tapbridge encapsulates: GSO frames cut to the
 * overlay MTU in software), TCP B→A (tapbridge decapsulates), and 64-byte
 * frames A→B (trafgen in guest A, received at guest B's veth). Guests have
 * MTU 1450 (1500 less the outer headers), as a vxlan device over a 1500-byte
 * underlay has.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { run, Lab } from "../src/testing/lab.js";
import { type Contender, type ContenderKey, IP_A, IP_B } from "./contenders.js";
import { frames64, killGenerators, type Sample, tcp } from "./measure.js";
import { median } from "./report.js";
import { describeMachine, machine } from "./system.js";
import { TapbridgeProcess } from "./tapbridge-process.js";

const UNDER_A = "10.76.0.1";
const UNDER_B = "10.76.0.2";

interface Options {
  seconds: number;
  runs: number;
}

function parse(argv: string[]): Options {
  const o: Options = { seconds: 5, runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!.replace(/^--/, "") as keyof Options;
    const value = Number(argv[++i]);
    if (!(key in o) || !Number.isFinite(value) || value <= 0) throw new Error(`unknown option or bad value: ${argv[i - 1]} ${argv[i] ?? ""} (options: --seconds, --runs)`);
    o[key] = value;
  }
  return o;
}

async function macOf(ns: string, dev: string): Promise<string> {
  const { stdout } = await run(["ip", "-n", ns, "-j", "link", "show", "dev", dev]);
  return (JSON.parse(stdout) as { address: string }[])[0]!.address;
}

/** A kernel VTEP in `host`: vxlan (learning) + bridge + a veth to `guest` (MTU 1450). */
async function kernelVtep(lab: Lab, host: string, guest: string, dev: string, local: string, remote: string, ip: string): Promise<void> {
  const x = (argv: string[]) => lab.exec(host, argv);
  await x(["ip", "link", "add", "br0", "type", "bridge", "mcast_snooping", "0", "stp_state", "0"]);
  await x(["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0", "net.bridge.bridge-nf-call-arptables=0"]).catch(() => undefined);
  await x(["ip", "link", "add", "vx0", "type", "vxlan", "id", "42", "local", local, "remote", remote, "dstport", "4789", "learning"]);
  await x(["ip", "link", "set", "vx0", "master", "br0", "up"]);
  await x(["ip", "link", "set", "br0", "up"]);
  const side = `${dev}p`;
  await lab.veth({ ns: host, name: side }, { ns: guest, name: dev, address: `${ip}/24`, mtu: 1450 });
  await x(["ip", "link", "set", side, "master", "br0"]);
}

/** One contender's four namespaces: guest A, host A (its VTEP), host B (the kernel's VTEP), guest B. */
async function rig(lab: Lab, which: "kernel" | "tapbridge"): Promise<Contender> {
  const tag = which === "kernel" ? "k" : "t";
  const a = await lab.netns(`${tag}ga`);
  const ha = await lab.netns(`${tag}ha`);
  const hb = await lab.netns(`${tag}hb`);
  const b = await lab.netns(`${tag}gb`);
  await lab.veth({ ns: ha, name: lab.ifname(`${tag}ua`), address: `${UNDER_A}/24` }, { ns: hb, name: lab.ifname(`${tag}ub`), address: `${UNDER_B}/24` });
  const devA = lab.ifname(`${tag}a0`);
  const devB = lab.ifname(`${tag}b0`);
  await kernelVtep(lab, hb, b, devB, UNDER_B, UNDER_A, IP_B);
  let tb: TapbridgeProcess | undefined;
  if (which === "kernel") await kernelVtep(lab, ha, a, devA, UNDER_A, UNDER_B, IP_A);
  else {
    tb = await TapbridgeProcess.start(["--name", "bench-vxlan", "--tap", `${devA}@${a}`, "--vxlan", `vx42:vni=42:local=${UNDER_A}:remote=${UNDER_B}:netns=${ha}`]);
    await lab.exec(a, ["ip", "link", "set", devA, "mtu", "1450"]);
    await lab.address(a, devA, `${IP_A}/24`);
  }
  const c: Contender = {
    key: (which === "kernel" ? "kernel" : "tap") as ContenderKey,
    label: which === "kernel" ? "kernel vxlan + bridge" : "tapbridge --vxlan",
    a,
    b,
    devA,
    devB,
    macA: await macOf(a, devA),
    macB: await macOf(b, devB),
    ...(tb ? { switchPid: tb.pid, tapbridge: tb } : {}),
    stop: async () => {
      await tb?.stop();
    },
  };
  const ping = await lab.exec(a, ["ping", "-c", "3", "-i", "0.2", "-W", "2", IP_B], { allowFail: true, timeoutMs: 10_000 });
  if (!/ [1-9]\d* received/.test(ping.stdout)) {
    await c.stop();
    throw new Error(`${c.label}: guest A cannot ping guest B: ${ping.stdout.trim().split("\n").pop() ?? ping.stderr.trim()}`);
  }
  return c;
}

/** iperf3 TCP from B to A (-R: A's client receives), Gbit/s. */
async function tcpReverse(lab: Lab, c: Contender, seconds: number): Promise<Sample> {
  const server = await lab.iperfServer(c.b, IP_B);
  const t0 = Date.now();
  const r = await lab.exec(c.a, ["iperf3", "-c", IP_B, "-B", IP_A, "-R", "-t", String(seconds), "-J"], { allowFail: true, timeoutMs: (seconds + 20) * 1000 });
  if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  const sample: Sample = { value: Number.NaN, steal: 0, machineCpuSeconds: 0, seconds: (Date.now() - t0) / 1000, derived: {} };
  try {
    const report = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
    if (report.end?.sum_received) sample.value = report.end.sum_received.bits_per_second / 1e9;
    else sample.note = `iperf3 failed: ${report.error ?? "no result"}`;
  } catch {
    sample.note = `iperf3 failed: ${r.stderr.trim() || `exit ${r.code}`}`;
  }
  return sample;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const lab = new Lab("bvx");
  const tmp = mkdtempSync(path.join(os.tmpdir(), "bench-vxlan-"));
  const load = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
  process.stdout.write(`${describeMachine(machine())}\nload average at start: ${load()}\n`);
  const results: Record<string, Record<string, number[]>> = { kernel: {}, tapbridge: {} };
  const record = (who: string, test: string, s: Sample) => {
    (results[who]![test] ??= []).push(s.value);
    process.stdout.write(`  ${who.padEnd(9)} ${test.padEnd(12)} ${Number.isFinite(s.value) ? s.value.toFixed(test === "pps64" ? 0 : 3) : "n/a"}${s.note ? ` (${s.note})` : ""}\n`);
  };
  const started: Contender[] = [];
  const stop = async () => {
    killGenerators();
    // A failed run must not leave a tapbridge child keeping this process (and the bench lock) alive.
    for (const c of started.splice(0)) await c.stop().catch(() => undefined);
    await lab.destroy();
    rmSync(tmp, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void stop().then(() => process.exit(130)));
  try {
    const kernel = await rig(lab, "kernel");
    started.push(kernel);
    const tapbridge = await rig(lab, "tapbridge");
    started.push(tapbridge);
    const rigs = { kernel, tapbridge };
    for (let r = 0; r < o.runs; r++) {
      process.stdout.write(`run ${r + 1}/${o.runs} (load ${load()})\n`);
      for (const who of r % 2 === 0 ? (["kernel", "tapbridge"] as const) : (["tapbridge", "kernel"] as const)) {
        const c = rigs[who];
        record(who, "tcpAtoB", await tcp(lab, c, 1, o.seconds));
        record(who, "tcpBtoA", await tcpReverse(lab, c, o.seconds));
        record(who, "pps64", await frames64(lab, c, o.seconds, tmp));
      }
    }
    const vs = machine();
    process.stdout.write(`\nmedians over ${o.runs} runs (TCP in Gbit/s, 64-byte frames/s received); load average at end: ${load()}; ${vs.cores} CPUs\n`);
    process.stdout.write(`${"test".padEnd(12)} ${"kernel".padStart(12)} ${"tapbridge".padStart(12)} ${"ratio".padStart(7)}\n`);
    for (const test of ["tcpAtoB", "tcpBtoA", "pps64"]) {
      const k = median(results.kernel![test] ?? []);
      const t = median(results.tapbridge![test] ?? []);
      const digits = test === "pps64" ? 0 : 3;
      process.stdout.write(`${test.padEnd(12)} ${k.toFixed(digits).padStart(12)} ${t.toFixed(digits).padStart(12)} ${(t / k).toFixed(2).padStart(7)}\n`);
    }
  } finally {
    await stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
