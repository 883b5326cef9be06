/**
 * Storm control, as a benchmark (issue 6): a broadcast storm on one port
 * limited to `storm-broadcast=1000` must leave a neighbouring TCP flow at
 * ≥ 90 % of its quiet-run throughput, measured in the same run, with the
 * excess counted (storm_broadcast drops). The same storm through a bridge
 * without a limit, in the same run, shows what the limit saves.
 *
 *   npm run build && sudo flock /work/team/bench.lock node dist/bench/storm.js [--seconds 20] [--runs 3] [--limit 1000] [--rate PPS]
 *
 * Per bridge, three namespaces on TAPs of one tapbridge process: A and B
 * (iperf3 A→B, one stream) and C, where trafgen (one CPU; at --rate
 * frames/s, or as fast as it can) sends 60-byte broadcast frames of
 * ethertype 0x88B5 (local experimental: no host stack takes them).
 *
 * Quiet and storm are measured in the same TCP transfer, so that a busy
 * machine's drift hits both alike: one iperf3 run of --seconds, reporting
 * every second, while the storm is switched on and off in 2-second phases
 * (quiet, storm, quiet, …). The first second of each phase is discarded
 * (the switch); the second second is that phase's sample. The ratio is the
 * median storm second over the median quiet second, per bridge, over all
 * runs; the bridges take turns. A 2-core machine shares its CPUs between
 * the storm generator, the bridge and both TCP ends, so part of any loss is
 * the generator's own CPU, limit or not.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Lab } from "../src/testing/lab.js";
import { type Contender, IP_A, IP_B, sleep } from "./contenders.js";
import { median } from "./report.js";
import { describeMachine, machine, processCpuSeconds } from "./system.js";
import { type PortStatus, type Status, TapbridgeProcess } from "./tapbridge-process.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface Options {
  seconds: number;
  runs: number;
  limit: number;
  rate: number;
}

function parse(argv: string[]): Options {
  const o: Options = { seconds: 20, runs: 3, limit: 1000, rate: 0 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = Number(argv[++i]);
    const key = flag.replace(/^--/, "") as keyof Options;
    if (!(key in o) || !Number.isFinite(value) || value < 0) throw new Error(`unknown option or bad value: ${flag} ${argv[i] ?? ""} (options: --seconds, --runs, --limit, --rate)`);
    o[key] = value;
  }
  return o;
}

interface Rig {
  label: string;
  contender: Contender;
  tb: TapbridgeProcess;
  c: string;
  devC: string;
}

async function buildRig(lab: Lab, tag: string, label: string, stormOption: string): Promise<Rig> {
  const a = await lab.netns(`${tag}A`);
  const b = await lab.netns(`${tag}B`);
  const c = await lab.netns(`${tag}C`);
  const devA = lab.ifname(`${tag}a`);
  const devB = lab.ifname(`${tag}b`);
  const devC = lab.ifname(`${tag}c`);
  const tb = await TapbridgeProcess.start(["--name", `storm-${tag}`, "--tap", `${devA}@${a}`, "--tap", `${devB}@${b}`, "--tap", `${devC}@${c}${stormOption}`]);
  await lab.address(a, devA, `${IP_A}/24`);
  await lab.address(b, devB, `${IP_B}/24`);
  await lab.exec(c, ["ip", "link", "set", "dev", devC, "up"]);
  const ping = await lab.exec(a, ["ping", "-c", "3", "-i", "0.2", "-W", "2", IP_B], { allowFail: true, timeoutMs: 10_000 });
  if (!/ [1-9]\d* received/.test(ping.stdout)) throw new Error(`${label}: A cannot ping B`);
  const contender: Contender = { key: "tap", label, a, b, devA, devB, macA: "", macB: "", switchPid: tb.pid, tapbridge: tb, stop: () => tb.stop() };
  return { label, contender, tb, c, devC };
}

function startStorm(rig: Rig, conf: string, rate: number): ChildProcess {
  const argv = ["ip", "netns", "exec", rig.c, "trafgen", "--dev", rig.devC, "--conf", conf, "--cpus", "1", "--no-sock-mem", "--no-cpu-stats", "--notouch-irq"];
  if (rate > 0) argv.push("--rate", `${rate}pps`);
  return spawn(argv[0]!, argv.slice(1), { stdio: "ignore", detached: true });
}

function stopStorm(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const done = () => resolve();
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("exit", done);
    try {
      process.kill(-child.pid!, "SIGINT");
    } catch {
      return done();
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone
      }
    }, 3000).unref();
  });
}

const portOf = (s: Status, dev: string): PortStatus => s.ports.find((p) => p.name.startsWith(`${dev}@`))!;

interface Row {
  quiet: number[];
  storm: number[];
  /** storm second / the quiet second 2 s before it: drift between them is small. */
  paired: number[];
  offeredPps: number[];
  droppedPps: number[];
  forwardedPps: number[];
  /** Where the CPU goes, as shares of one core: the bridge process in quiet and in storm phases, and the storm generator. */
  bridgeQuietCpu: number[];
  bridgeStormCpu: number[];
  generatorCpu: number[];
}

interface Intervals {
  intervals?: { sum: { bits_per_second: number } }[];
  error?: string;
}

/** One iperf3 transfer of `seconds`, the storm on in every other 2-second phase; Gbit/s of each phase's second second. */
/** CPU seconds of a process and its children (`ip netns exec` forks trafgen and waits for it). */
function treeCpuSeconds(pid: number): number {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // gone
  }
  return [pid, ...children].reduce((sum, p) => sum + (processCpuSeconds(p) || 0), 0);
}

interface Cpu {
  bridgeQuiet: number;
  bridgeStorm: number;
  generator: number;
}

async function alternating(lab: Lab, rig: Rig, conf: string, o: Options, storms: Set<ChildProcess>): Promise<{ quiet: number[]; storm: number[]; stormSeconds: number; cpu: Cpu }> {
  const { a, b } = rig.contender;
  const server = await lab.iperfServer(b, IP_B);
  const client = lab.exec(a, ["iperf3", "-c", IP_B, "-B", IP_A, "-t", String(o.seconds), "-i", "1", "-J"], { allowFail: true, timeoutMs: (o.seconds + 30) * 1000 });
  let stormSeconds = 0;
  // CPU seconds per phase kind: the bridge process's, and the generator's (ip netns exec execs trafgen: same pid).
  const spent = { quiet: 0, storm: 0, quietSeconds: 0, generator: 0 };
  for (let phase = 0; phase * 2 < o.seconds; phase++) {
    const cpu0 = processCpuSeconds(rig.tb.pid);
    const t0 = performance.now();
    if (phase % 2 === 1) {
      const storm = startStorm(rig, conf, o.rate);
      storms.add(storm);
      await sleep(2000);
      spent.generator += treeCpuSeconds(storm.pid!);
      await stopStorm(storm);
      storms.delete(storm);
      stormSeconds += (performance.now() - t0) / 1000;
      spent.storm += processCpuSeconds(rig.tb.pid) - cpu0;
    } else {
      await sleep(2000);
      spent.quiet += processCpuSeconds(rig.tb.pid) - cpu0;
      spent.quietSeconds += (performance.now() - t0) / 1000;
    }
  }
  const out = await client;
  server.kill("SIGKILL");
  let report: Intervals;
  try {
    report = JSON.parse(out.stdout) as Intervals;
  } catch {
    report = { error: out.stderr.trim() || `iperf3 exited with code ${out.code}` };
  }
  if (!report.intervals) throw new Error(`${rig.label}: iperf3 failed: ${report.error ?? "no intervals"}`);
  const quiet: number[] = [];
  const storm: number[] = [];
  report.intervals.forEach((interval, second) => {
    if (second % 2 === 0) return; // the first second of a phase: the switch happened in it
    (Math.floor(second / 2) % 2 === 1 ? storm : quiet).push(interval.sum.bits_per_second / 1e9);
  });
  const cpu = { bridgeQuiet: spent.quiet / spent.quietSeconds, bridgeStorm: spent.storm / stormSeconds, generator: spent.generator / stormSeconds };
  return { quiet, storm, stormSeconds, cpu };
}

export async function main(argv: string[]): Promise<number> {
  const o = parse(argv);
  if (process.getuid?.() !== 0) {
    process.stderr.write("the storm benchmark builds namespaces and TAPs: run it as root\n");
    return 1;
  }
  console.log(`storm control benchmark — ${o.runs} runs of ${o.seconds} s (2 s phases), limit ${o.limit} broadcast frames/s, storm ${o.rate > 0 ? `${o.rate} frames/s` : "as fast as trafgen goes"}`);
  console.log(`machine: ${describeMachine(machine())}\n`);
  const lab = new Lab("bstm");
  const tmp = mkdtempSync(path.join(os.tmpdir(), "tapbridge-storm-"));
  const conf = path.join(tmp, "storm.cfg");
  writeFileSync(conf, "{\n  eth(da=ff:ff:ff:ff:ff:ff, sa=02:00:00:00:0c:01, type=0x88b5),\n  fill(0x00, 46)\n}\n");
  const rigs: Rig[] = [];
  const storms = new Set<ChildProcess>();
  try {
    rigs.push(await buildRig(lab, "l", `storm-broadcast=${o.limit}`, `:storm-broadcast=${o.limit}`));
    rigs.push(await buildRig(lab, "o", "no limit", ""));
    const rows = new Map<string, Row>(rigs.map((r) => [r.label, { quiet: [], storm: [], paired: [], offeredPps: [], droppedPps: [], forwardedPps: [], bridgeQuietCpu: [], bridgeStormCpu: [], generatorCpu: [] }]));
    for (let run = 0; run < o.runs; run++) {
      for (const rig of rigs) {
        const row = rows.get(rig.label)!;
        const before = await rig.tb.status();
        const m = await alternating(lab, rig, conf, o, storms);
        const after = await rig.tb.status();
        row.quiet.push(...m.quiet);
        row.storm.push(...m.storm);
        for (let i = 0; i < Math.min(m.quiet.length, m.storm.length); i++) if (m.quiet[i]! > 0) row.paired.push(m.storm[i]! / m.quiet[i]!);
        const c0 = portOf(before, rig.devC);
        const c1 = portOf(after, rig.devC);
        const offered = c1.rxPackets - c0.rxPackets;
        const dropped = (c1.drops.storm_broadcast ?? 0) - (c0.drops.storm_broadcast ?? 0);
        row.offeredPps.push(offered / m.stormSeconds);
        row.droppedPps.push(dropped / m.stormSeconds);
        row.forwardedPps.push((offered - dropped) / m.stormSeconds);
        row.bridgeQuietCpu.push(m.cpu.bridgeQuiet);
        row.bridgeStormCpu.push(m.cpu.bridgeStorm);
        row.generatorCpu.push(m.cpu.generator);
        const q = median(m.quiet);
        const st = median(m.storm);
        console.log(
          `run ${run + 1} ${rig.label.padEnd(22)} quiet ${q.toFixed(2)} Gbit/s, storm ${st.toFixed(2)} Gbit/s (${((st / q) * 100).toFixed(0)}%); ` +
            `storm ${(offered / m.stormSeconds / 1000).toFixed(0)} k frames/s in, ${(dropped / m.stormSeconds / 1000).toFixed(1)} k/s dropped; ` +
            `CPU (cores): bridge quiet ${m.cpu.bridgeQuiet.toFixed(2)}, storm ${m.cpu.bridgeStorm.toFixed(2)}; generator ${m.cpu.generator.toFixed(2)}`,
        );
        await sleep(300);
      }
    }
    console.log("\nmedians:");
    const out: Record<string, unknown> = { startedAt: new Date().toISOString(), options: o, machine: machine(), bridges: {} };
    for (const [label, row] of rows) {
      const q = median(row.quiet);
      const s = median(row.storm);
      const ratio = s / q;
      const paired = median(row.paired);
      const target = label === "no limit" ? "" : `  target ≥ 90% ${ratio >= 0.9 && paired >= 0.9 ? "✓" : "✗"}`;
      console.log(
        `  ${label.padEnd(22)} quiet ${q.toFixed(2)} Gbit/s  storm ${s.toFixed(2)} Gbit/s  ratio ${(ratio * 100).toFixed(0)}% (paired ${(paired * 100).toFixed(0)}%)  ` +
          `storm in ${(median(row.offeredPps) / 1000).toFixed(0)} k/s, dropped ${(median(row.droppedPps) / 1000).toFixed(1)} k/s, forwarded ${(median(row.forwardedPps) / 1000).toFixed(1)} k/s; ` +
          `CPU (cores): bridge quiet ${median(row.bridgeQuietCpu).toFixed(2)}, storm ${median(row.bridgeStormCpu).toFixed(2)}, generator ${median(row.generatorCpu).toFixed(2)}${target}`,
      );
      (out.bridges as Record<string, unknown>)[label] = { ...row, quietMedian: q, stormMedian: s, ratio, pairedRatio: paired };
    }
    const dir = path.join(ROOT, "bench", "results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "storm-latest.json"), JSON.stringify(out, null, 2));
    return 0;
  } finally {
    for (const s of storms) await stopStorm(s);
    for (const r of rigs) await r.tb.stop().catch(() => undefined);
    await lab.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
}
