/**
 * The benchmark gate's arithmetic and files (bench/gate.ts), on made-up
 * figures: which way a ratio regresses, the bands, figures not measured,
 * the baseline written from a run, the Markdown summary. No timing here:
 * the gate's inputs are given.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Baseline, baselineFromRun, gate, markdown, readBaseline, writeBaseline } from "../bench/gate.js";
import { parseOptions } from "../bench/main.js";
import type { Figure } from "../bench/report.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "tapbridge-gate-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fig(contender: Figure["contender"], metric: string, better: "higher" | "lower", median: number, ratioToKernel?: number): Figure {
  return { metric, title: metric, unit: "u", better, contender, values: [median], steal: [0], median, min: median, max: median, ...(ratioToKernel !== undefined ? { ratioToKernel } : {}) };
}

const baseline: Baseline = {
  maxRegressionPct: 20,
  figures: [
    { contender: "tap", metric: "tcp1", ratio: 0.8, better: "higher" },
    { contender: "tap", metric: "pingMedian", ratio: 5, better: "lower" },
    { contender: "packet", metric: "pps64", ratio: 1.3, better: "higher", maxRegressionPct: 50 },
  ],
};

describe("benchmark gate", () => {
  it("passes ratios within their bands, and says which got better", () => {
    const r = gate(baseline, [fig("tap", "tcp1", "higher", 8, 0.7), fig("tap", "pingMedian", "lower", 90, 3), fig("packet", "pps64", "higher", 1, 0.7)], ["kernel", "tap", "packet"]);
    expect(r.passed).toBe(true);
    expect(r.rows.map((x) => x.status)).toEqual(["ok", "improved", "ok"]);
    expect(r.rows[0]!.changePct).toBeCloseTo(-12.5);
    // lower is better: a ratio of 3 against 5 is a score 1.67× the baseline's
    expect(r.rows[1]!.changePct).toBeCloseTo(66.7, 0);
  });

  it("fails a ratio that falls by more than its band, in either direction of 'better'", () => {
    const r = gate(baseline, [fig("tap", "tcp1", "higher", 5, 0.5), fig("tap", "pingMedian", "lower", 200, 7), fig("packet", "pps64", "higher", 1, 0.6)], ["tap", "packet"]);
    expect(r.passed).toBe(false);
    expect(r.failed.map((x) => `${x.contender} ${x.metric}`)).toEqual(["tap tcp1", "tap pingMedian", "packet pps64"]);
    expect(r.rows.every((x) => x.status === "regressed")).toBe(true);
  });

  it("uses --max-regression for figures without a band of their own", () => {
    const figs = [fig("tap", "tcp1", "higher", 5, 0.5), fig("tap", "pingMedian", "lower", 90, 5), fig("packet", "pps64", "higher", 1, 0.6)];
    const r = gate(baseline, figs, ["tap", "packet"], 40);
    expect(r.rows.map((x) => [x.metric, x.bandPct, x.status])).toEqual([
      ["tcp1", 40, "ok"],
      ["pingMedian", 40, "ok"],
      ["pps64", 50, "regressed"],
    ]);
  });

  it("fails a figure the run was asked for but did not measure, and leaves out contenders not asked for", () => {
    const r = gate(baseline, [fig("tap", "tcp1", "higher", 8, 0.8)], ["tap"]);
    expect(r.rows.map((x) => [x.metric, x.status])).toEqual([
      ["tcp1", "ok"],
      ["pingMedian", "missing"],
    ]);
    expect(r.passed).toBe(false);
  });

  it("writes a baseline from a run (tapbridge contenders only, bands kept) and reads it back", () => {
    const figs = [fig("kernel", "tcp1", "higher", 10), fig("tap", "tcp1", "higher", 8, 0.81234), fig("ovs", "tcp1", "higher", 5, 0.5), fig("packet", "pps64", "higher", 1, 1.4), fig("tap", "cpuFrame", "lower", 4)];
    const b = baselineFromRun(figs, { recordedAt: "t", machine: "m", command: "c" }, baseline);
    expect(b.figures.map((e) => [e.contender, e.metric, e.ratio, e.maxRegressionPct])).toEqual([
      ["tap", "tcp1", 0.812, undefined],
      ["packet", "pps64", 1.4, 50],
    ]);
    const file = path.join(dir, "baseline.json");
    writeBaseline(file, b);
    expect(readBaseline(file)).toMatchObject({ maxRegressionPct: 20, command: "c", figures: b.figures });
  });

  it("refuses a baseline file that is not one, with a sentence naming it", () => {
    const file = path.join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ figures: [{ contender: "tap", metric: "tcp1", ratio: -1, better: "higher" }] }));
    expect(() => readBaseline(file)).toThrow(/bad\.json is not valid: figures\.0\.ratio/);
    expect(() => readBaseline(path.join(dir, "absent.json"))).toThrow(/cannot read the benchmark baseline .*absent\.json/);
  });

  it("writes a Markdown summary with the figures, ratios and the gate", () => {
    const figs = [fig("kernel", "tcp1", "higher", 10), fig("tap", "tcp1", "higher", 5, 0.5)];
    const result = gate(baseline, figs, ["tap"]);
    const text = markdown({ title: "run", figs, contenders: ["kernel", "tap"], labels: { kernel: "kernel", tap: "tapbridge TAP" }, gate: { result, file: "bench/baseline.json" } });
    expect(text).toContain("| figure | kernel | tapbridge TAP |");
    expect(text).toContain("| tcp1 [u] ↑ | 10.0 | 5.00 (0.50×) |");
    expect(text).toContain("Gate against `bench/baseline.json`: **FAILED**");
    expect(text).toMatch(/\| tap \| tcp1 \| 0\.50× \| 0\.80× \| -38% \| ±20% \| ✗ regressed \|/);
    expect(text).toContain("| tap | pingMedian | – | 5.00× | – | ±20% | ✗ not measured |");
  });

  it("parses the gate's flags", () => {
    expect(parseOptions(["--baseline", "b.json", "--max-regression", "35", "--markdown", "s.md"])).toMatchObject({ maxRegression: 35 });
    expect(() => parseOptions(["--max-regression", "35"])).toThrow(/needs --baseline/);
    expect(() => parseOptions(["--baseline", "b.json", "--max-regression", "lots"])).toThrow(/percentage/);
    expect(parseOptions(["--only", "kernel,packet,v3"])).toMatchObject({ only: ["kernel", "packet", "v3"] });
  });
});
