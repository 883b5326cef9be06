/**
 * From samples to figures: the median of the runs with its min–max range,
 * the ratio to the kernel bridge measured in the same run, the targets
 * printed beside them (never asserted), and the terminal table.
 */
import { BASELINE_OF, type ContenderKey } from "./contenders.js";
import type { Sample } from "./measure.js";

export type TestKey = "tcp1" | "tcp4" | "pps64" | "pingMedian" | "pingP99" | "idle";

export interface MetricDef {
  key: string;
  test: TestKey;
  title: string;
  unit: string;
  better: "higher" | "lower";
  pick: (s: Sample) => number | undefined;
  /** Shown with this many significant digits after scaling by `scale`. */
  scale?: number;
  /** Only tapbridge has these (dataplane counters). */
  tapbridgeOnly?: boolean;
  /** No ratio to the kernel (the kernel has no such figure). */
  noRatio?: boolean;
  target?: Target;
  section: "speed" | "cost" | "time";
}

export interface Target {
  text: string;
  /**
   * Whether a contender's figure meets it; undefined when it does not apply.
   * `ratio` is to the kernel bridge, `toBaseline` to the contender's untagged
   * twin (BASELINE_OF), both from the same run.
   */
  met: (key: ContenderKey, median: number, ratio: number | undefined, toBaseline: number | undefined) => boolean | undefined;
}

/** One tapbridge between A and B (the single-instance targets apply). */
const isTapbridge = (k: ContenderKey) => k === "tap" || k === "packet" || k === "vlan1" || k === "v2" || k === "v3" || k === "mmsg" || k === "uring";
/** Every contender that is tapbridge (it has dataplane counters). */
const hasDataplane = (k: ContenderKey) => isTapbridge(k) || k === "pair" || k === "vlan";
const isVlan = (k: ContenderKey) => k === "vlan" || k === "vlan1";

export const METRICS: MetricDef[] = [
  {
    key: "tcp1", test: "tcp1", title: "iperf3 TCP, 1 stream", unit: "Gbit/s", better: "higher", section: "speed", pick: (s) => s.value,
    target: {
      text: "TAP ≥ 0.5×, AF_PACKET ≥ 0.6× (OVS ref. 8.2 Gbit/s, 0.36×); VLAN ≥ 0.9× its untagged path",
      met: (k, _m, r, b) => (isVlan(k) ? (b === undefined ? undefined : b >= 0.9) : r === undefined ? undefined : k === "tap" ? r >= 0.5 : k === "packet" ? r >= 0.6 : undefined),
    },
  },
  { key: "tcp4", test: "tcp4", title: "iperf3 TCP, 4 streams", unit: "Gbit/s", better: "higher", section: "speed", pick: (s) => s.value },
  {
    key: "pps64", test: "pps64", title: "trafgen, 64-byte frames, received at B", unit: "kframes/s", scale: 1e-3, better: "higher", section: "speed", pick: (s) => s.value,
    target: {
      text: "tapbridge ≥ 0.9× (OVS ref. 138 k/s, 0.6×); VLAN ≥ 0.95× its untagged path",
      met: (k, _m, r, b) => (isVlan(k) ? (b === undefined ? undefined : b >= 0.95) : isTapbridge(k) && r !== undefined ? r >= 0.9 : undefined),
    },
  },
  {
    key: "pingMedian", test: "pingMedian", title: "ping A→B, median", unit: "µs", better: "lower", section: "speed", pick: (s) => s.value,
    target: { text: "tapbridge ≤ 150 µs (OVS ref. 297 µs)", met: (k, m) => (isTapbridge(k) ? m <= 150 : undefined) },
  },
  {
    key: "pingP99", test: "pingP99", title: "ping A→B, p99", unit: "µs", better: "lower", section: "speed", pick: (s) => s.value,
    target: { text: "tapbridge ≤ 500 µs (OVS ref. 1050 µs)", met: (k, m) => (isTapbridge(k) ? m <= 500 : undefined) },
  },
  {
    key: "cpuFrame", test: "pps64", title: "switch process CPU per 64-byte frame", unit: "µs", better: "lower", section: "cost", noRatio: true,
    pick: (s) => s.derived.cpuMicrosPerFrame,
    target: { text: "tapbridge ≤ 4.5 µs (OVS ref. 7.0 µs)", met: (k, m) => (isTapbridge(k) ? m <= 4.5 : undefined) },
  },
  { key: "machineCpuFrame", test: "pps64", title: "whole-machine CPU per 64-byte frame", unit: "µs", better: "lower", section: "cost", pick: (s) => s.derived.machineCpuMicrosPerFrame },
  { key: "cpuGB", test: "tcp1", title: "switch process CPU per GB (TCP 1 stream)", unit: "CPU s/GB", better: "lower", section: "cost", noRatio: true, pick: (s) => s.derived.cpuSecondsPerGB },
  { key: "machineCpuGB", test: "tcp1", title: "whole-machine CPU per GB (TCP 1 stream)", unit: "CPU s/GB", better: "lower", section: "cost", pick: (s) => s.derived.machineCpuSecondsPerGB },
  {
    key: "idleCpu", test: "idle", title: "switch process CPU while idle", unit: "ms/s", better: "lower", section: "cost", noRatio: true, pick: (s) => s.value,
    target: { text: "tapbridge ≈ 0 (< 2 ms/s)", met: (k, m) => (isTapbridge(k) ? m < 2 : undefined) },
  },
  { key: "fpb64", test: "pps64", title: "64-byte test: frames per batch", unit: "frames", better: "higher", section: "time", tapbridgeOnly: true, noRatio: true, pick: (s) => s.dataplane?.framesPerBatch },
  { key: "spf64", test: "pps64", title: "64-byte test: syscalls per frame", unit: "syscalls", better: "lower", section: "time", tapbridgeOnly: true, noRatio: true, pick: (s) => s.dataplane?.syscallsPerFrame },
  { key: "js64", test: "pps64", title: "64-byte test: JS (decide) ns per frame", unit: "ns", better: "lower", section: "time", tapbridgeOnly: true, noRatio: true, pick: (s) => s.dataplane?.jsNanosPerFrame },
  { key: "native64", test: "pps64", title: "64-byte test: native rx+tx ns per frame", unit: "ns", better: "lower", section: "time", tapbridgeOnly: true, noRatio: true, pick: (s) => s.dataplane?.nativeNanosPerFrame },
  { key: "jsShare64", test: "pps64", title: "64-byte test: JS share of dataplane time", unit: "%", scale: 100, better: "lower", section: "time", tapbridgeOnly: true, noRatio: true, pick: (s) => s.dataplane?.jsShare },
  { key: "fpbTcp", test: "tcp1", title: "TCP test: frames per batch", unit: "frames", better: "higher", section: "time", tapbridgeOnly: true, noRatio: true, pick: (s) => s.dataplane?.framesPerBatch },
  { key: "spfTcp", test: "tcp1", title: "TCP test: syscalls per frame", unit: "syscalls", better: "lower", section: "time", tapbridgeOnly: true, noRatio: true, pick: (s) => s.dataplane?.syscallsPerFrame },
  { key: "bpfTcp", test: "tcp1", title: "TCP test: bytes per frame received", unit: "bytes", better: "higher", section: "time", tapbridgeOnly: true, noRatio: true, pick: (s) => s.dataplane?.bytesPerFrame },
  { key: "segTcp", test: "tcp1", title: "TCP test: GSO frames segmented in software", unit: "frames", better: "lower", section: "time", tapbridgeOnly: true, noRatio: true, pick: (s) => s.dataplane?.segmented },
  { key: "jsShareTcp", test: "tcp1", title: "TCP test: JS share of dataplane time", unit: "%", scale: 100, better: "lower", section: "time", tapbridgeOnly: true, noRatio: true, pick: (s) => s.dataplane?.jsShare },
];

export type Samples = Partial<Record<ContenderKey, Partial<Record<TestKey, Sample[]>>>>;

export interface Figure {
  metric: string;
  title: string;
  unit: string;
  better: "higher" | "lower";
  contender: ContenderKey;
  /** Per run, in the metric's unit (NaN where the run failed). */
  values: number[];
  steal: number[];
  median: number;
  min: number;
  max: number;
  /** median / kernel median of the same metric (undefined for the kernel itself or when either is missing). */
  ratioToKernel?: number;
  /** The untagged twin this contender is compared with (BASELINE_OF), and median / its median. */
  baseline?: ContenderKey;
  ratioToBaseline?: number;
  /**
   * The median of the per-run ratios to the twin (run r of this contender ÷
   * run r of the twin, measured minutes apart at most): less sensitive to a
   * machine whose load drifts between runs.
   */
  pairedRatioToBaseline?: number;
  target?: string;
  targetMet?: boolean;
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function figures(samples: Samples, contenders: ContenderKey[]): Figure[] {
  const out: Figure[] = [];
  for (const m of METRICS) {
    const kernel = samples.kernel?.[m.test];
    const kernelMedian = kernel ? median(kernel.map((s) => (m.pick(s) ?? Number.NaN) * (m.scale ?? 1))) : Number.NaN;
    for (const key of contenders) {
      if (m.tapbridgeOnly && !hasDataplane(key)) continue;
      const list = samples[key]?.[m.test];
      if (!list || list.length === 0) continue;
      const values = list.map((s) => (m.pick(s) ?? Number.NaN) * (m.scale ?? 1));
      if (!values.some((v) => Number.isFinite(v))) continue;
      const finite = values.filter((v) => Number.isFinite(v));
      const fig: Figure = {
        metric: m.key,
        title: m.title,
        unit: m.unit,
        better: m.better,
        contender: key,
        values,
        steal: list.map((s) => s.steal),
        median: median(values),
        min: Math.min(...finite),
        max: Math.max(...finite),
      };
      if (!m.noRatio && key !== "kernel" && Number.isFinite(kernelMedian) && kernelMedian > 0) fig.ratioToKernel = fig.median / kernelMedian;
      const baseline = BASELINE_OF[key];
      const baseList = baseline ? samples[baseline]?.[m.test] : undefined;
      const baseMedian = baseList ? median(baseList.map((s) => (m.pick(s) ?? Number.NaN) * (m.scale ?? 1))) : Number.NaN;
      if (baseline && !m.noRatio && Number.isFinite(baseMedian) && baseMedian > 0) {
        fig.baseline = baseline;
        fig.ratioToBaseline = fig.median / baseMedian;
        const paired = values.map((v, r) => v / ((baseList![r] ? m.pick(baseList![r]!) ?? Number.NaN : Number.NaN) * (m.scale ?? 1)));
        const pairedMedian = median(paired.filter((x) => Number.isFinite(x) && x > 0));
        if (Number.isFinite(pairedMedian) && values.length > 1) fig.pairedRatioToBaseline = pairedMedian;
      }
      if (m.target) {
        fig.target = m.target.text;
        const met = m.target.met(key, fig.median, fig.ratioToKernel, fig.ratioToBaseline);
        if (met !== undefined) fig.targetMet = met;
      }
      out.push(fig);
    }
  }
  return out;
}

export function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a === 0) return "0";
  return x.toPrecision(2);
}

function cell(f: Figure | undefined, runs: number): string {
  if (!f) return "";
  let s = fmt(f.median);
  if (runs > 1) s += ` (${fmt(f.min)}–${fmt(f.max)})`;
  if (f.ratioToKernel !== undefined) s += ` ${f.ratioToKernel.toFixed(2)}×`;
  if (f.ratioToBaseline !== undefined) {
    s += ` (${f.ratioToBaseline.toFixed(2)}× untagged${f.pairedRatioToBaseline !== undefined ? `, paired ${f.pairedRatioToBaseline.toFixed(2)}×` : ""})`;
  }
  if (f.targetMet !== undefined) s += f.targetMet ? " ✓" : " ✗";
  return s;
}

const SECTIONS: Record<MetricDef["section"], string> = {
  speed: "speed (ratio = contender ÷ kernel bridge, same run)",
  cost: "cost",
  time: "where the time goes (tapbridge dataplane counters, per test interval)",
};

/** The terminal table: metrics down, contenders across, targets on the right. */
export function table(figs: Figure[], contenders: ContenderKey[], labels: Record<string, string>, runs: number, skipped: Record<string, string>, stealByContender: Record<string, number>): string {
  const cols = contenders.filter((k) => !skipped[k]);
  const head = ["metric", ...cols.map((k) => labels[k]!), "target (reported, not asserted)"];
  const rows: string[][] = [];
  let section = "";
  for (const m of METRICS) {
    const byKey = new Map(figs.filter((f) => f.metric === m.key).map((f) => [f.contender, f]));
    if (byKey.size === 0) continue;
    if (m.section !== section) {
      section = m.section;
      rows.push([`— ${SECTIONS[m.section]}`]);
    }
    const arrow = m.better === "higher" ? "↑" : "↓";
    rows.push([`${m.title} [${m.unit}] ${arrow}`, ...cols.map((k) => cell(byKey.get(k), runs)), m.target?.text ?? ""]);
  }
  rows.push([`steal time, worst sample [%]`, ...cols.map((k) => (stealByContender[k] !== undefined ? (stealByContender[k]! * 100).toFixed(1) : "")), ""]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length > 1).map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (c ?? "").padEnd(widths[i]!)).join("  ").trimEnd();
  const out = [line(head), widths.map((w) => "─".repeat(w)).join("  ")];
  for (const r of rows) out.push(r.length === 1 ? r[0]! : line(r));
  const notes = Object.entries(skipped).map(([k, why]) => `skipped ${labels[k]}: ${why}`);
  out.push("", `cells: median${runs > 1 ? ` (min–max) of ${runs} runs` : ` of ${runs} run`}, ratio to the kernel bridge; ✓/✗ = target met or not; ↑/↓ = higher/lower is better`);
  return [...out, ...notes].join("\n");
}
