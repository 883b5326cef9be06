/**
 * One measurement of one contender: a TCP transfer (iperf3), a 64-byte frame
 * flood (trafgen), a ping train, an idle period. Each returns a Sample: the
 * figure, the switch process's CPU over the same interval, the steal share of
 * the machine, and — for tapbridge — what its dataplane counters say about
 * the interval (frames per batch, syscalls per frame, JS vs native time).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Lab } from "../src/testing/lab.js";
import { type Contender, IP_A, IP_B, sleep } from "./contenders.js";
import { cpuDelta, cpuTimes, processCpuSeconds } from "./system.js";
import { dataplaneDelta, type DataplaneDelta, type Status } from "./tapbridge-process.js";

export interface Sample {
  /** The figure, in the metric's unit. */
  value: number;
  /** Share of machine CPU time stolen by the hypervisor during the sample (0..1). */
  steal: number;
  /** CPU seconds of the switch process (tapbridge, ovs-vswitchd) during the sample. */
  switchCpuSeconds?: number;
  /** Busy CPU seconds of the whole machine during the sample (all contenders alike). */
  machineCpuSeconds: number;
  seconds: number;
  /** Extra figures derived from the same interval (e.g. CPU µs per frame). */
  derived: Record<string, number>;
  dataplane?: DataplaneDelta;
  note?: string;
}

interface Window {
  t: number;
  cpu: ReturnType<typeof cpuTimes>;
  switchCpu: number;
  status?: Status;
}

/** CPU seconds of every switching process of the contender (two tapbridges on a two-instance path). */
function switchCpu(c: Contender): number {
  if (!c.switchPid) return Number.NaN;
  return [c.switchPid, ...(c.extraPids ?? [])].reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
}

async function openWindow(c: Contender): Promise<Window> {
  const status = c.tapbridge ? await c.tapbridge.status() : undefined;
  return { t: performance.now(), cpu: cpuTimes(), switchCpu: switchCpu(c), ...(status ? { status } : {}) };
}

async function closeWindow(c: Contender, w: Window, value: number, derived: Record<string, number> = {}): Promise<Sample> {
  const t = performance.now();
  const cpu = cpuTimes();
  const cpuNow = switchCpu(c);
  const status = c.tapbridge ? await c.tapbridge.status() : undefined;
  const machineDelta = cpuDelta(w.cpu, cpu);
  const sample: Sample = { value, steal: machineDelta.steal, machineCpuSeconds: machineDelta.busySeconds, seconds: (t - w.t) / 1000, derived };
  if (c.switchPid) sample.switchCpuSeconds = cpuNow - w.switchCpu;
  if (w.status && status) {
    const dp = dataplaneDelta(w.status, status);
    if (dp) sample.dataplane = dp;
  }
  return sample;
}

interface IperfResult {
  end?: { sum_received?: { bits_per_second: number; bytes: number }; sum_sent?: { retransmits?: number } };
  error?: string;
}

/** iperf3 TCP from A to B; Gbit/s received, CPU seconds per GB. */
export async function tcp(lab: Lab, c: Contender, streams: number, seconds: number): Promise<Sample> {
  const server = await lab.iperfServer(c.b, IP_B);
  const serverDone = new Promise((resolve) => server.once("exit", resolve));
  const w = await openWindow(c);
  const client = await lab.exec(c.a, ["iperf3", "-c", IP_B, "-B", IP_A, "-t", String(seconds), "-J", "-P", String(streams)], {
    allowFail: true,
    timeoutMs: (seconds + 20) * 1000,
  });
  let result: IperfResult;
  try {
    result = JSON.parse(client.stdout) as IperfResult;
  } catch {
    result = { error: client.stderr.trim() || `iperf3 exited with code ${client.code}` };
  }
  const sample = await closeWindow(c, w, Number.NaN);
  await Promise.race([serverDone, sleep(2000)]);
  if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  const received = result.end?.sum_received;
  if (!received) {
    sample.note = `iperf3 failed: ${result.error ?? "no result"}`;
    return sample;
  }
  sample.value = received.bits_per_second / 1e9;
  const gb = received.bytes / 1e9;
  if (sample.switchCpuSeconds !== undefined && gb > 0) sample.derived.cpuSecondsPerGB = sample.switchCpuSeconds / gb;
  if (gb > 0) sample.derived.machineCpuSecondsPerGB = sample.machineCpuSeconds / gb;
  sample.derived.retransmits = result.end?.sum_sent?.retransmits ?? 0;
  return sample;
}

/** A 60-byte UDP frame (64 on the wire with the FCS) from A to B, in trafgen's language. */
function trafgenConfig(c: Contender): string {
  return [
    "{",
    `  eth(da=${c.macB}, sa=${c.macA}, type=0x0800),`,
    `  ipv4(saddr=${IP_A}, daddr=${IP_B}, ttl=64),`,
    "  udp(sport=9, dport=9),",
    "  fill(0x00, 18)",
    "}",
    "",
  ].join("\n");
}

/**
 * trafgen forks a worker per CPU and a SIGINT to the parent does not reach
 * the worker: it runs in a process group of its own, and the whole group is
 * signalled. Groups still alive when the suite exits are killed.
 */
const liveGroups = new Set<number>();
process.on("exit", () => {
  for (const pgid of liveGroups) signalGroup(pgid, "SIGKILL");
});

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function spawnGroup(argv: string[]): ChildProcess {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], detached: true });
  const pgid = child.pid!;
  liveGroups.add(pgid);
  child.once("exit", () => {
    // The parent is gone; give workers a moment, then make sure.
    setTimeout(() => {
      if (liveGroups.has(pgid)) signalGroup(pgid, "SIGKILL");
      liveGroups.delete(pgid);
    }, 500).unref();
  });
  return child;
}

async function stopGroup(child: ChildProcess, done: Promise<unknown>): Promise<void> {
  const pgid = child.pid!;
  signalGroup(pgid, "SIGINT");
  await Promise.race([done, sleep(3000)]);
  signalGroup(pgid, "SIGKILL");
  liveGroups.delete(pgid);
}

/** Stop every traffic generator still running (Ctrl-C). */
export function killGenerators(): void {
  for (const pgid of liveGroups) signalGroup(pgid, "SIGKILL");
  liveGroups.clear();
}

async function rxPackets(lab: Lab, ns: string, dev: string): Promise<number> {
  const { stdout } = await lab.exec(ns, ["cat", `/sys/class/net/${dev}/statistics/rx_packets`]);
  return Number(stdout.trim());
}

/**
 * trafgen, 64-byte frames, received at B: one trafgen process (--cpus 1) in
 * A floods B's MAC; the rate is the growth of B's rx_packets over a window
 * that opens after trafgen has started and closes before it stops.
 */
export async function frames64(lab: Lab, c: Contender, seconds: number, tmpDir: string): Promise<Sample> {
  const conf = path.join(tmpDir, `trafgen-${c.key}.cfg`);
  writeFileSync(conf, trafgenConfig(c));
  const gen = spawnGroup(["ip", "netns", "exec", c.a, "trafgen", "--dev", c.devA, "--conf", conf, "--cpus", "1", "--no-sock-mem", "--no-cpu-stats", "--notouch-irq"]);
  let genErr = "";
  gen.stderr!.on("data", (d: Buffer) => (genErr = (genErr + d.toString()).slice(-500)));
  const genDone = new Promise((resolve) => gen.once("exit", resolve));
  await sleep(500);
  if (gen.exitCode !== null) {
    await stopGroup(gen, genDone);
    const w = await openWindow(c);
    const sample = await closeWindow(c, w, Number.NaN);
    sample.note = `trafgen exited early: ${genErr.trim() || `code ${gen.exitCode}`}`;
    return sample;
  }
  const rx0 = await rxPackets(lab, c.b, c.devB);
  const w = await openWindow(c);
  await sleep(seconds * 1000);
  const rx1 = await rxPackets(lab, c.b, c.devB);
  const sample = await closeWindow(c, w, Number.NaN);
  await stopGroup(gen, genDone);
  const frames = rx1 - rx0;
  sample.value = frames / sample.seconds;
  if (sample.switchCpuSeconds !== undefined && frames > 0) sample.derived.cpuMicrosPerFrame = (sample.switchCpuSeconds / frames) * 1e6;
  if (frames > 0) sample.derived.machineCpuMicrosPerFrame = (sample.machineCpuSeconds / frames) * 1e6;
  sample.derived.framesReceived = frames;
  await sleep(300); // let queues drain before the next test
  return sample;
}

/** `ping -i 0.005` from A to B: per-packet round-trip times in µs. */
export async function ping(lab: Lab, c: Contender, count: number): Promise<{ median: Sample; p99: Sample; rtts: number[] }> {
  const w = await openWindow(c);
  const out = await lab.exec(c.a, ["ping", "-i", "0.005", "-c", String(count), "-W", "1", IP_B], { allowFail: true, timeoutMs: count * 20 + 10_000 });
  const base = await closeWindow(c, w, Number.NaN);
  const rtts = [...out.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000).sort((x, y) => x - y);
  const lost = count - rtts.length;
  const pick = (q: number) => (rtts.length ? rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))]! : Number.NaN);
  const derived = { lost, replies: rtts.length, avg: rtts.length ? rtts.reduce((s, x) => s + x, 0) / rtts.length : Number.NaN };
  const note = rtts.length ? undefined : `no ping replies: ${out.stdout.trim().split("\n").pop()}`;
  const median: Sample = { ...base, value: pick(0.5), derived: { ...derived }, ...(note ? { note } : {}) };
  const p99: Sample = { ...base, value: pick(0.99), derived: { ...derived }, ...(note ? { note } : {}) };
  return { median, p99, rtts };
}

/** CPU the switch process uses while nothing is sent: CPU ms per second of idle. */
export async function idle(c: Contender, seconds: number): Promise<Sample> {
  const w = { t: performance.now(), cpu: cpuTimes(), switchCpu: switchCpu(c) };
  await sleep(seconds * 1000);
  const sample = await closeWindow(c, w, Number.NaN);
  sample.value = sample.switchCpuSeconds !== undefined ? (sample.switchCpuSeconds / sample.seconds) * 1000 : Number.NaN;
  if (!c.switchPid) sample.note = "no switch process (in-kernel)";
  return sample;
}
