/**
 * The benchmark gate: a run's ratios to the kernel bridge against a baseline
 * kept in the repository (bench/baseline.json), so CI can fail a change that
 * makes tapbridge slower — without asserting any absolute figure. Ratios
 * (tapbridge ÷ kernel bridge, both measured in the same run on the same
 * machine) carry across machines and loads far better than absolutes; what
 * is left is noise, and every figure has a band for it.
 *
 * A figure regresses when its score falls by more than its band:
 *   score = ratio             for "higher is better" (Gbit/s, frames/s)
 *   score = 1 / ratio         for "lower is better"  (latency, CPU per frame)
 *   regressed ⇔ score < baselineScore × (1 − band/100)
 * The band is the figure's own `maxRegressionPct` from the file (noisy
 * figures such as ping p99 carry a wider one), else `--max-regression PCT`,
 * else the file's default. A figure the baseline names but the run did not
 * measure (its contender was asked for but failed) fails the gate too: a
 * benchmark that silently stops measuring is a regression of its own.
 * Contenders the run was not asked for (--only) are not checked.
 *
 * `--write-baseline FILE` records the run as a new baseline (every figure
 * with a ratio, of every tapbridge contender; OVS is printed beside, never
 * gated on), keeping the bands of the figures an older file had.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import type { ContenderKey } from "./contenders.js";
import { fmt, type Figure } from "./report.js";

export const GATE_EXIT_CODE = 3;

const entrySchema = z.object({
  contender: z.string(),
  metric: z.string(),
  ratio: z.number().positive(),
  better: z.enum(["higher", "lower"]),
  maxRegressionPct: z.number().min(0).max(1000).optional(),
  title: z.string().optional(),
});

const baselineSchema = z.object({
  about: z.string().optional(),
  recordedAt: z.string().optional(),
  machine: z.string().optional(),
  command: z.string().optional(),
  maxRegressionPct: z.number().min(0).max(1000).default(30),
  figures: z.array(entrySchema).min(1),
});

export type BaselineEntry = z.infer<typeof entrySchema>;
export type Baseline = z.infer<typeof baselineSchema>;

export type GateStatus = "ok" | "improved" | "regressed" | "missing";

export interface GateRow {
  contender: string;
  metric: string;
  title: string;
  better: "higher" | "lower";
  baselineRatio: number;
  /** This run's ratio to the kernel bridge (NaN when not measured). */
  ratio: number;
  /** Change of the score against the baseline, in percent (negative: worse). */
  changePct: number;
  bandPct: number;
  status: GateStatus;
}

export interface GateResult {
  rows: GateRow[];
  failed: GateRow[];
  passed: boolean;
}

/** Reads and checks a baseline file; errors are sentences naming the file. */
export function readBaseline(file: string): Baseline {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`cannot read the benchmark baseline ${file}: ${(error as Error).message}`);
  }
  const parsed = baselineSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`the benchmark baseline ${file} is not valid: ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  }
  return parsed.data;
}

const score = (ratio: number, better: "higher" | "lower") => (better === "higher" ? ratio : 1 / ratio);

/**
 * Compares a run's figures with the baseline. `checked`: the contenders the
 * run was asked for (others are left out); `maxRegressionPct`: the band of
 * figures without one of their own (default: the file's).
 */
export function gate(baseline: Baseline, figs: Figure[], checked: readonly string[], maxRegressionPct?: number): GateResult {
  const rows: GateRow[] = [];
  for (const e of baseline.figures) {
    if (!checked.includes(e.contender)) continue;
    const f = figs.find((x) => x.contender === e.contender && x.metric === e.metric);
    const ratio = f?.ratioToKernel ?? Number.NaN;
    const bandPct = e.maxRegressionPct ?? maxRegressionPct ?? baseline.maxRegressionPct;
    const row: GateRow = {
      contender: e.contender,
      metric: e.metric,
      title: f?.title ?? e.title ?? e.metric,
      better: e.better,
      baselineRatio: e.ratio,
      ratio,
      changePct: Number.NaN,
      bandPct,
      status: "missing",
    };
    if (Number.isFinite(ratio) && ratio > 0) {
      const base = score(e.ratio, e.better);
      const now = score(ratio, e.better);
      row.changePct = (now / base - 1) * 100;
      row.status = now < base * (1 - bandPct / 100) ? "regressed" : now > base * (1 + bandPct / 100) ? "improved" : "ok";
    }
    rows.push(row);
  }
  const failed = rows.filter((r) => r.status === "regressed" || r.status === "missing");
  return { rows, failed, passed: failed.length === 0 };
}

/** A new baseline from a run: every figure with a ratio, of every tapbridge contender (not the kernel, not OVS); bands kept from `previous`. */
export function baselineFromRun(figs: Figure[], about: { recordedAt: string; machine: string; command: string }, previous?: Baseline): Baseline {
  const figures: BaselineEntry[] = [];
  for (const f of figs) {
    if (f.contender === "kernel" || f.contender === "ovs" || f.ratioToKernel === undefined || !Number.isFinite(f.ratioToKernel) || f.ratioToKernel <= 0) continue;
    const old = previous?.figures.find((e) => e.contender === f.contender && e.metric === f.metric);
    figures.push({
      contender: f.contender,
      metric: f.metric,
      title: f.title,
      ratio: Number(f.ratioToKernel.toPrecision(3)),
      better: f.better,
      ...(old?.maxRegressionPct !== undefined ? { maxRegressionPct: old.maxRegressionPct } : {}),
    });
  }
  return {
    about:
      previous?.about ??
      "Ratios to the kernel bridge (same run) that `tapbridge bench --baseline FILE` gates on; see bench/gate.ts. Refresh with --write-baseline.",
    ...about,
    maxRegressionPct: previous?.maxRegressionPct ?? 30,
    figures,
  };
}

export function writeBaseline(file: string, b: Baseline): void {
  writeFileSync(file, JSON.stringify(b, null, 2) + "\n");
}

const STATUS_MARK: Record<GateStatus, string> = { ok: "✓", improved: "✓ better", regressed: "✗ regressed", missing: "✗ not measured" };

const ratioText = (x: number) => (Number.isFinite(x) ? `${fmt(x)}×` : "–");
const pct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${x.toFixed(0)}%` : "–");

/** The gate as terminal lines. */
export function gateLines(result: GateResult, file: string): string[] {
  const lines = [`gate against ${file} (score = ratio to the kernel bridge, inverted where lower is better):`];
  for (const r of result.rows) {
    lines.push(
      `  ${STATUS_MARK[r.status].padEnd(15)} ${r.contender.padEnd(7)} ${r.title.padEnd(44)} ratio ${ratioText(r.ratio).padStart(6)} (baseline ${fmt(r.baselineRatio)}×, ${pct(r.changePct)}, band ±${r.bandPct}%)`,
    );
  }
  lines.push(
    result.passed
      ? `gate passed: ${result.rows.length} figures within their bands`
      : `gate FAILED: ${result.failed.map((r) => `${r.contender} ${r.metric} ${r.status === "missing" ? "not measured" : pct(r.changePct)}`).join(", ")}`,
  );
  return lines;
}

export interface MarkdownInput {
  title: string;
  figs: Figure[];
  contenders: ContenderKey[];
  labels: Record<string, string>;
  gate?: { result: GateResult; file: string };
}

const md = (s: string) => s.replace(/\|/g, "\\|");

/** A summary for a CI job summary or a pull-request comment: the speed and cost figures with ratios, then the gate. */
export function markdown(input: MarkdownInput): string {
  const { figs, contenders, labels } = input;
  const out = [`### ${md(input.title)}`, ""];
  const metrics = [...new Set(figs.map((f) => f.metric))];
  const cols = contenders.filter((k) => figs.some((f) => f.contender === k));
  out.push(`| figure | ${cols.map((k) => md(labels[k] ?? k)).join(" | ")} |`);
  out.push(`|---|${cols.map(() => "---:").join("|")}|`);
  for (const m of metrics) {
    const first = figs.find((f) => f.metric === m)!;
    const cells = cols.map((k) => {
      const f = figs.find((x) => x.metric === m && x.contender === k);
      if (!f) return "";
      return `${fmt(f.median)}${f.ratioToKernel !== undefined ? ` (${f.ratioToKernel.toFixed(2)}×)` : ""}${f.targetMet === undefined ? "" : f.targetMet ? " ✓" : " ✗"}`;
    });
    out.push(`| ${md(first.title)} [${md(first.unit)}] ${first.better === "higher" ? "↑" : "↓"} | ${cells.join(" | ")} |`);
  }
  out.push("", "Cells: median, (ratio to the kernel bridge in the same run); ✓/✗: the target printed by the suite met or not.");
  if (input.gate) {
    const { result, file } = input.gate;
    out.push("", `#### Gate against \`${md(file)}\`: ${result.passed ? "passed" : "**FAILED**"}`, "");
    out.push("| contender | figure | ratio | baseline | change | band | |", "|---|---|---:|---:|---:|---:|---|");
    for (const r of result.rows) {
      out.push(`| ${md(r.contender)} | ${md(r.title)} | ${ratioText(r.ratio)} | ${fmt(r.baselineRatio)}× | ${pct(r.changePct)} | ±${r.bandPct}% | ${STATUS_MARK[r.status]} |`);
    }
  }
  return out.join("\n") + "\n";
}
