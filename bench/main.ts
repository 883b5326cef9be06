/**
 * `npm run bench` — tapbridge against the kernel bridge (and Open vSwitch's
 * userspace datapath when installed), side by side, in one run.
 *
 * Order of work: microbenchmarks (in memory, no root needed), then every
 * contender is built (namespaces A and B joined by that switch), then the
 * tests run INTERLEAVED — for run r, for each test, each contender in turn —
 * so that drift on a shared machine (steal, thermal, neighbours) hits every
 * contender alike. Each figure is the median of the runs with its min–max,
 * and its ratio to the kernel bridge's median of the same run set.
 *
 * Results: a table on the terminal, every sample in
 * <out>/<timestamp>.json and <out>/latest.json, and the ratios as
 * <out>/latest.svg. Everything the suite creates is removed at the end, on
 * failure, and on Ctrl-C.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Lab } from "../src/testing/lab.js";
import { ALL_KEYS, BUILDERS, CONTENDER_KEYS, CONTENDER_LABELS, type Contender, type ContenderKey, ovsMissing, tapbridgeTaps } from "./contenders.js";
import { type Baseline, baselineFromRun, gate, GATE_EXIT_CODE, gateLines, type GateResult, markdown, readBaseline, writeBaseline } from "./gate.js";
import { frames64, idle, killGenerators, ping, type Sample, tcp } from "./measure.js";
import { heapDeltas } from "./micro/heap.js";
import { runMicro, type MicroResult } from "./micro/index.js";
import { figures, fmt, type Samples, table, type TestKey } from "./report.js";
import { fdbScaling, portScaling, type ScalingPoint } from "./scaling.js";
import { ratioChart } from "./svg.js";
import { describeMachine, machine } from "./system.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Options {
  quick: boolean;
  runs: number;
  only: ContenderKey[];
  skipMicro: boolean;
  skipScaling: boolean;
  out: string;
  /** Gate: compare the ratios with this baseline file (gate.ts); exit GATE_EXIT_CODE on a regression. */
  baseline?: string;
  /** Gate: the band, in percent, of figures without one of their own in the baseline file. */
  maxRegression?: number;
  /** Write a Markdown summary (figures, ratios, the gate) to this file. */
  markdown?: string;
  /** Record this run's ratios as a baseline file. */
  writeBaseline?: string;
}

const HELP = `Usage: tapbridge bench [options]     (in the repository: npm run bench -- [options])

Measures tapbridge against the Linux kernel bridge (and Open vSwitch's
userspace datapath when installed) on the same two-namespace topology, in one
run, interleaving the contenders. Needs root. Prints a table, writes every
sample to <out>/<timestamp>.json and <out>/latest.json, and the ratios to
<out>/latest.svg.

Options:
  --quick              a few seconds per figure, 1 run: checks the suite works
  --runs N             runs per figure (default 3; 1 with --quick)
  --only LIST          contenders, comma-separated: kernel,tap,packet,ovs,vlan1,pair,vlan (default all)
                       and, on request only, v2,v3,mmsg (AF_PACKET with that receive mode)
                       and uring (TAP ports with I/O through io_uring)
  --skip-micro         skip the in-memory microbenchmarks and scaling curves
  --skip-scaling       skip the scaling measurements
  --out DIR            where results go (default bench/results)
  --baseline FILE      gate: compare every ratio to the kernel bridge with the one FILE
                       records (bench/baseline.json in the repository); exit ${GATE_EXIT_CODE} when
                       one falls by more than its band, or is not measured
  --max-regression PCT gate: the band for figures without their own in FILE (default: FILE's)
  --markdown FILE      write a Markdown summary (figures, ratios, the gate) for a CI job
                       summary or a pull-request comment
  --write-baseline FILE  record this run's ratios as a baseline (keeps FILE's bands if it exists)
  --help               show this help
`;

export class UsageError extends Error {}

export function parseOptions(argv: string[]): Options | "help" {
  const o: Options = { quick: false, runs: 0, only: [...CONTENDER_KEYS], skipMicro: false, skipScaling: false, out: path.join(ROOT, "bench", "results") };
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value (see --help)`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf("=");
    const flag = raw.startsWith("--") && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith("--") && eq > 0 ? raw.slice(eq + 1) : undefined;
    const arg = () => inline ?? value(++i, flag);
    switch (flag) {
      case "--help":
      case "-h":
        return "help";
      case "--quick":
        o.quick = true;
        break;
      case "--skip-micro":
        o.skipMicro = true;
        break;
      case "--skip-scaling":
        o.skipScaling = true;
        break;
      case "--runs": {
        const text = arg();
        const n = Number(text);
        if (!Number.isInteger(n) || n < 1 || n > 50) throw new UsageError(`--runs needs a whole number from 1 to 50, not "${text}"`);
        o.runs = n;
        break;
      }
      case "--only": {
        const list = arg().split(",").map((s) => s.trim()).filter(Boolean);
        const bad = list.filter((k) => !(ALL_KEYS as readonly string[]).includes(k));
        if (bad.length || list.length === 0) throw new UsageError(`--only takes a comma-separated list of ${ALL_KEYS.join(", ")}; "${bad.join(",") || "(empty)"}" is not one`);
        o.only = ALL_KEYS.filter((k) => list.includes(k));
        break;
      }
      case "--out":
        o.out = path.resolve(arg());
        break;
      case "--baseline":
        o.baseline = path.resolve(arg());
        break;
      case "--markdown":
        o.markdown = path.resolve(arg());
        break;
      case "--write-baseline":
        o.writeBaseline = path.resolve(arg());
        break;
      case "--max-regression": {
        const text = arg();
        const n = Number(text);
        if (!Number.isFinite(n) || n < 0 || n > 1000) throw new UsageError(`--max-regression needs a percentage from 0 to 1000, not "${text}"`);
        o.maxRegression = n;
        break;
      }
      default:
        throw new UsageError(`unknown option "${raw}" for the benchmark suite; see --help for the options it takes`);
    }
  }
  if (o.runs === 0) o.runs = o.quick ? 1 : 3;
  if (o.maxRegression !== undefined && !o.baseline) throw new UsageError("--max-regression needs --baseline FILE (the ratios to compare with)");
  return o;
}

interface Durations {
  tcpSeconds: number;
  ppsSeconds: number;
  pingCount: number;
  idleSeconds: number;
  microMs: number;
  scalingMs: number;
}

function durations(quick: boolean): Durations {
  return quick
    ? { tcpSeconds: 2, ppsSeconds: 2, pingCount: 200, idleSeconds: 1, microMs: 150, scalingMs: 100 }
    : { tcpSeconds: 5, ppsSeconds: 5, pingCount: 1000, idleSeconds: 3, microMs: 1000, scalingMs: 400 };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

const signed = (n: number) => `${n >= 0 ? "+" : ""}${n}`;

function microTable(results: MicroResult[]): string {
  const rows = results.map((r) => [
    r.module,
    r.name,
    r.notImplemented ? "not yet implemented" : `${fmt(r.nsPerFrame)} ns/frame`,
    r.notImplemented ? "" : `${fmt(r.framesPerSecond / 1e6)} M frames/s`,
    r.notImplemented ? "" : `±${fmt(r.rme)}%`,
    [r.note && !r.notImplemented ? r.note : "", r.target ? `target ${r.target} ${r.targetMet ? "✓" : "✗"}` : ""].filter(Boolean).join("; "),
  ]);
  const w = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i < 5 ? c.padEnd(w[i]!) : c)).join("  ").trimEnd()).join("\n");
}

function scalingTable(title: string, xName: string, points: ScalingPoint[], extra?: (p: ScalingPoint) => string): string {
  const lines = [title];
  for (const p of points) lines.push(`  ${xName} ${String(p.x).padStart(8)}  ${fmt(p.nsPerFrame).padStart(6)} ns/frame  ${fmt(p.framesPerSecond / 1e6).padStart(5)} M frames/s${extra ? `  ${extra(p)}` : ""}`);
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  let options: Options | "help";
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (options === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  const o = options;
  let baseline: Baseline | undefined;
  let previousBaseline: Baseline | undefined;
  try {
    // Read before measuring: a bad file is reported in a second, not after minutes.
    if (o.baseline) baseline = readBaseline(o.baseline);
    if (o.writeBaseline && existsSync(o.writeBaseline)) previousBaseline = readBaseline(o.writeBaseline);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const d = durations(o.quick);
  const m = machine();
  const startedAt = new Date();
  console.log(`tapbridge benchmark suite — ${o.quick ? "quick" : "full"} mode, ${o.runs} run${o.runs > 1 ? "s" : ""}, ${startedAt.toISOString()}`);
  console.log(`machine: ${describeMachine(m)}`);
  const loadAtStart = os.loadavg();
  console.log(`load average at start: ${loadAtStart.map((x) => x.toFixed(2)).join(" ")} (1, 5, 15 min; ${m.cores} cores)`);
  console.log("");

  const result: Record<string, unknown> = { startedAt: startedAt.toISOString(), machine: m, options: o, durations: d, loadAverage: { start: loadAtStart } };

  // ── microbenchmarks and in-memory scaling ─────────────────────────────
  if (!o.skipMicro) {
    log("microbenchmarks …");
    const micro = await runMicro(d.microMs);
    result.micro = micro;
    console.log("microbenchmarks (tinybench, one batch of 64 frames per call):");
    console.log(microTable(micro));
    console.log("");
    log("heap over a million frames …");
    const heap = await heapDeltas();
    result.heap = heap;
    console.log("the decision loop over a million frames (after a full GC): heap growth and collections during the run:");
    for (const h of heap) {
      console.log(`  ${h.name.padEnd(56)} young generation ${signed(h.newSpaceDeltaBytes)} B, whole heap ${signed(h.heapDeltaBytes)} B, ${h.gcs} GCs, ${fmt(h.nsPerFrame)} ns/frame (window ${h.windows}${h.forcedOptimization ? ", optimized on the spot" : ""})`);
    }
    console.log("");
    if (!o.skipScaling) {
      log("scaling (in memory) …");
      const fdb = await fdbScaling(d.scalingMs);
      const ports = await portScaling(d.scalingMs);
      result.scaling = { fdb, ports };
      console.log(scalingTable("decision cost as the FDB grows (known unicast, 4 ports):", "MACs", fdb, (p) => `FDB ${(p.memoryBytes! / 2 ** 20).toFixed(1)} MiB`));
      console.log(scalingTable("decision cost as ports grow (FDB 64k, 10% flood):", "ports", ports));
      console.log("");
    }
  }

  if (process.getuid?.() !== 0) {
    process.stderr.write("the namespace benchmarks need root (CAP_NET_ADMIN to build namespaces, CAP_NET_RAW for trafgen): run as root, or with --skip… only the microbenchmarks ran\n");
    return 1;
  }
  const deps = spawnSync("bash", [path.join(ROOT, "scripts", "ensure-system-deps.sh"), "ip", "ping", "iperf3", "trafgen"], { stdio: "inherit" });
  if (deps.status !== 0) {
    process.stderr.write("the benchmark needs iproute2, iputils-ping, iperf3 and netsniff-ng (trafgen); install them and try again\n");
    return 1;
  }

  // ── contenders ────────────────────────────────────────────────────────
  const lab = new Lab("bnch");
  result.labPrefix = lab.id;
  const tmp = mkdtempSync(path.join(os.tmpdir(), `${lab.id}-`));
  const built: Contender[] = [];
  const skipped: Record<string, string> = {};
  let interrupted = false;
  const cleanup = async () => {
    for (const c of built.splice(0)) await c.stop().catch(() => undefined);
    await lab.destroy();
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130); // a second Ctrl-C: the exit hooks remove namespaces synchronously
    interrupted = true;
    log(`${signal}: removing the namespaces, bridges and daemons the suite made …`);
    killGenerators();
    for (const c of built) c.tapbridge?.kill();
    void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const samples: Samples = {};
  let tapScaling: { ports: number; gbps: number; steal: number; note?: string }[] | undefined;
  try {
    for (const key of o.only) {
      if (key === "ovs") {
        const missing = ovsMissing();
        if (missing) {
          skipped.ovs = missing;
          continue;
        }
      }
      log(`building ${CONTENDER_LABELS[key]} …`);
      try {
        built.push(await BUILDERS[key](lab));
      } catch (error) {
        skipped[key] = `could not be built: ${(error as Error).message}`;
        log(`  skipped: ${skipped[key]}`);
      }
    }

    // ── interleaved measurements ──────────────────────────────────────
    const record = (c: Contender, test: TestKey, s: Sample) => {
      ((samples[c.key] ??= {})[test] ??= []).push(s);
    };
    const tests: { name: string; run: (c: Contender) => Promise<void> }[] = [
      { name: "TCP 1 stream", run: async (c) => record(c, "tcp1", await tcp(lab, c, 1, d.tcpSeconds)) },
      { name: "TCP 4 streams", run: async (c) => record(c, "tcp4", await tcp(lab, c, 4, d.tcpSeconds)) },
      { name: "64-byte frames", run: async (c) => record(c, "pps64", await frames64(lab, c, d.ppsSeconds, tmp)) },
      {
        name: "ping",
        run: async (c) => {
          const p = await ping(lab, c, d.pingCount);
          record(c, "pingMedian", p.median);
          record(c, "pingP99", p.p99);
        },
      },
      { name: "idle CPU", run: async (c) => record(c, "idle", await idle(c, d.idleSeconds)) },
    ];
    for (let r = 1; r <= o.runs && !interrupted; r++) {
      for (const t of tests) {
        for (const c of built) {
          if (interrupted) break;
          const t0 = performance.now();
          try {
            await t.run(c);
          } catch (error) {
            log(`  ${c.key} ${t.name}: failed: ${(error as Error).message}`);
          }
          log(`run ${r}/${o.runs}  ${t.name.padEnd(15)} ${c.key.padEnd(7)} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        }
      }
    }

    // ── TCP with more TAP ports on one tapbridge (full mode only) ───────
    if (!o.quick && !o.skipScaling && o.only.includes("tap") && !interrupted) {
      tapScaling = [];
      const tap = built.find((c) => c.key === "tap");
      for (const [step, ports] of [2, 4, 8, 16].entries()) {
        log(`scaling: TCP through one tapbridge with ${ports} TAP ports …`);
        let c: Contender | undefined;
        try {
          c = ports === 2 && tap ? tap : await tapbridgeTaps(lab, ports - 2, `s${step}`);
          if (c !== tap) built.push(c);
          const s = await tcp(lab, c, 1, d.tcpSeconds);
          tapScaling.push({ ports, gbps: s.value, steal: s.steal, ...(s.note ? { note: s.note } : {}) });
        } catch (error) {
          tapScaling.push({ ports, gbps: Number.NaN, steal: 0, note: (error as Error).message });
        } finally {
          if (c && c !== tap) {
            built.splice(built.indexOf(c), 1);
            await c.stop();
          }
        }
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (!interrupted) await cleanup();
  }

  // ── report ────────────────────────────────────────────────────────────
  const keys = o.only.filter((k) => !skipped[k]);
  const figs = figures(samples, keys);
  const stealBy: Record<string, number> = {};
  for (const k of keys) {
    const all = Object.values(samples[k] ?? {}).flat();
    if (all.length) stealBy[k] = Math.max(...all.map((s) => s.steal));
  }
  const short: Record<ContenderKey, string> = {
    kernel: "kernel",
    tap: "tapbridge TAP",
    packet: "tapbridge AF_PACKET",
    ovs: "OVS netdev",
    vlan1: "VLAN access→access",
    pair: "2× tapbridge untagged",
    vlan: "VLAN access→trunk→access",
    v2: "AF_PACKET V2",
    v3: "AF_PACKET V3",
    mmsg: "AF_PACKET mmsg",
    uring: "TAP io_uring",
  };
  const labels = Object.fromEntries(ALL_KEYS.map((k) => [k, short[k]]));
  console.log(`two namespaces A (${"10.77.0.1"}) and B (10.77.0.2) through each switch; tests interleaved across contenders`);
  console.log(table(figs, o.only, labels, o.runs, skipped, stealBy));
  if (tapScaling) {
    console.log("");
    console.log("TCP 1 stream through one tapbridge as TAP ports are added (extra ports idle):");
    for (const p of tapScaling) console.log(`  ${String(p.ports).padStart(2)} ports  ${fmt(p.gbps)} Gbit/s${p.note ? `  (${p.note})` : ""}`);
  }

  const loadAtEnd = os.loadavg();
  console.log(`load average at end: ${loadAtEnd.map((x) => x.toFixed(2)).join(" ")}`);
  (result.loadAverage as Record<string, number[]>).end = loadAtEnd;
  let gateResult: GateResult | undefined;
  if (baseline && o.baseline) {
    gateResult = gate(baseline, figs, o.only, o.maxRegression); // asked for but not built: "not measured"
    result.gate = { baseline: o.baseline, ...gateResult };
    console.log("");
    for (const line of gateLines(gateResult, path.relative(process.cwd(), o.baseline) || o.baseline)) console.log(line);
  }
  Object.assign(result, {
    finishedAt: new Date().toISOString(),
    contenders: Object.fromEntries(o.only.map((k) => [k, { label: CONTENDER_LABELS[k], ...(skipped[k] ? { skipped: skipped[k] } : { ok: true }) }])),
    samples,
    figures: figs,
    ...(tapScaling ? { tapPortScaling: tapScaling } : {}),
    notes: [
      "64-byte rate: trafgen, 64-byte frames (60 + FCS), received at B (B's rx_packets)",
      "VLAN contenders: ratioToBaseline compares with the same path untagged (vlan1 → tap, vlan → pair), measured in the same run",
    ],
  });
  mkdirSync(o.out, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const jsonFile = path.join(o.out, `${stamp}.json`);
  writeFileSync(jsonFile, JSON.stringify(result, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n");
  copyFileSync(jsonFile, path.join(o.out, "latest.json"));
  const svg = ratioChart(figs, labels, `${describeMachine(m)} — ${startedAt.toISOString()} — median of ${o.runs} run(s)`);
  writeFileSync(path.join(o.out, `${stamp}.svg`), svg);
  writeFileSync(path.join(o.out, "latest.svg"), svg);
  const title = `tapbridge benchmark — ${o.quick ? "quick" : "full"}, ${o.runs} run${o.runs > 1 ? "s" : ""}, ${describeMachine(m)}, load ${loadAtStart[0]!.toFixed(1)}→${loadAtEnd[0]!.toFixed(1)}, ${startedAt.toISOString()}`;
  if (o.markdown) {
    mkdirSync(path.dirname(o.markdown), { recursive: true });
    writeFileSync(o.markdown, markdown({ title, figs, contenders: keys, labels, ...(gateResult && o.baseline ? { gate: { result: gateResult, file: path.relative(ROOT, o.baseline) } } : {}) }));
  }
  if (o.writeBaseline && !interrupted) {
    const command = `tapbridge bench ${argv.filter((a) => !a.startsWith("--write-baseline") && a !== o.writeBaseline).join(" ")}`.trim();
    writeBaseline(o.writeBaseline, baselineFromRun(figs, { recordedAt: startedAt.toISOString(), machine: describeMachine(m), command }, previousBaseline));
  }
  console.log("");
  console.log(`samples: ${jsonFile} (and latest.json); chart: ${path.join(o.out, "latest.svg")}${o.markdown ? `; summary: ${o.markdown}` : ""}${o.writeBaseline ? `; baseline written: ${o.writeBaseline}` : ""}`);
  if (interrupted) return 130;
  return gateResult && !gateResult.passed ? GATE_EXIT_CODE : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: Error) => {
      process.stderr.write(`benchmark failed: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
