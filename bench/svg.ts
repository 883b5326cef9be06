/**
 * The ratios as a chart a reader can open in a browser: one group of
 * horizontal bars per metric, one bar per contender, drawn from the 1× line
 * (the kernel bridge) to the ratio on a logarithmic axis — so 0.5× and 2×
 * are the same length, and a 40× latency fits beside a 0.6× throughput —
 * and a tick at the target where there is one. Hand-written SVG, no
 * dependency.
 */
import type { Figure } from "./report.js";

const COLORS: Record<string, string> = { tap: "#1f77b4", packet: "#2ca02c", ovs: "#ff7f0e", vlan1: "#9467bd", pair: "#8c564b", vlan: "#d62728" };
const TARGET_RATIO: Record<string, Record<string, number>> = { tcp1: { tap: 0.5, packet: 0.6 }, pps64: { tap: 0.9, packet: 0.9 } };

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function ratioChart(figs: Figure[], labels: Record<string, string>, subtitle: string): string {
  const withRatio = figs.filter((f) => f.ratioToKernel !== undefined && Number.isFinite(f.ratioToKernel));
  const metrics = [...new Set(withRatio.map((f) => f.metric))];
  const contenders = [...new Set(withRatio.map((f) => f.contender))];
  const barH = 16;
  const groupGap = 14;
  const left = 300;
  const plotW = 520;
  const top = 70;
  const ratios = withRatio.map((f) => f.ratioToKernel!).filter((r) => r > 0);
  const lo = Math.min(-1, Math.floor(Math.log10(Math.min(1, ...ratios))));
  const hi = Math.max(1, Math.ceil(Math.log10(Math.max(1, ...ratios))));
  const inset = 44; // room for a label left of a bar that reaches the lowest decade
  const x = (r: number) => left + inset + ((Math.log10(Math.max(r, 10 ** lo)) - lo) / (hi - lo)) * (plotW - inset);
  const groupH = contenders.length * barH + groupGap;
  const height = top + metrics.length * groupH + 40 + contenders.length * 18;
  const width = left + plotW + 80;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="10" y="22" font-size="16" font-weight="bold">tapbridge vs the kernel bridge — ratio, same run (kernel = 1×)</text>`);
  parts.push(`<text x="10" y="42" fill="#555">${esc(subtitle)}</text>`);
  for (let e = lo; e <= hi; e++) {
    for (const m of e < hi ? [1, 2, 5] : [1]) {
      const t = m * 10 ** e;
      const major = m === 1;
      parts.push(`<line x1="${x(t)}" y1="${top - 8}" x2="${x(t)}" y2="${top + metrics.length * groupH}" stroke="${t === 1 ? "#000" : major ? "#ccc" : "#eee"}" stroke-width="${t === 1 ? 1.5 : 1}"/>`);
      parts.push(`<text x="${x(t)}" y="${top - 12}" text-anchor="middle" fill="#555" font-size="${major ? 12 : 10}">${Number(t.toPrecision(1))}×</text>`);
    }
  }
  metrics.forEach((metric, g) => {
    const y0 = top + g * groupH;
    const any = withRatio.find((f) => f.metric === metric)!;
    const arrow = any.better === "higher" ? "higher is better" : "lower is better";
    parts.push(`<text x="${left - 8}" y="${y0 + 12}" text-anchor="end">${esc(any.title)}</text>`);
    parts.push(`<text x="${left - 8}" y="${y0 + 26}" text-anchor="end" fill="#777" font-size="10">${esc(`${any.unit}, ${arrow}`)}</text>`);
    contenders.forEach((key, i) => {
      const f = withRatio.find((v) => v.metric === metric && v.contender === key);
      if (!f) return;
      const y = y0 + i * barH;
      const r = f.ratioToKernel!;
      const x0 = Math.min(x(1), x(r));
      const x1 = Math.max(x(1), x(r));
      parts.push(`<rect x="${x0}" y="${y + 2}" width="${Math.max(1, x1 - x0)}" height="${barH - 4}" fill="${COLORS[key] ?? "#888"}"><title>${esc(`${labels[key]}: ${f.median.toPrecision(3)} ${f.unit}, ${r.toFixed(2)}×`)}</title></rect>`);
      parts.push(`<text x="${r >= 1 ? x1 + 4 : x0 - 4}" y="${y + barH - 4}" font-size="11" text-anchor="${r >= 1 ? "start" : "end"}">${r.toFixed(2)}×</text>`);
      const target = TARGET_RATIO[metric]?.[key];
      if (target !== undefined) parts.push(`<line x1="${x(target)}" y1="${y}" x2="${x(target)}" y2="${y + barH}" stroke="#d62728" stroke-width="2"><title>target ${target}×</title></line>`);
    });
  });
  const ly = top + metrics.length * groupH + 16;
  contenders.forEach((key, i) => {
    parts.push(`<rect x="10" y="${ly + i * 18}" width="12" height="12" fill="${COLORS[key] ?? "#888"}"/>`);
    parts.push(`<text x="28" y="${ly + i * 18 + 10}">${esc(labels[key] ?? key)}</text>`);
  });
  parts.push(`<line x1="${left}" y1="${ly + 6}" x2="${left + 14}" y2="${ly + 6}" stroke="#d62728" stroke-width="2"/><text x="${left + 20}" y="${ly + 10}">target ratio</text>`);
  parts.push(`</svg>`);
  // Coordinates to one decimal: smaller, and readable as text.
  return parts.join("\n").replace(/="(-?\d+\.\d+)"/g, (_m, v: string) => `="${Number(v).toFixed(1)}"`) + "\n";
}
