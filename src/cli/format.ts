/** Text output in the shapes people know from brctl and ip -s link. */
import type { FdbRecord, PortStats } from "../bridge.js";

/** `brctl showmacs`: port no, mac addr, is local?, ageing timer; sorted by MAC as brctl sorts them. */
export function formatShowmacs(entries: FdbRecord[], portNumber: (port: string) => number): string {
  const rows = entries
    .map((e) => ({ no: portNumber(e.port), e }))
    .sort((a, b) => (a.e.mac < b.e.mac ? -1 : a.e.mac > b.e.mac ? 1 : a.no - b.no));
  const lines = ["port no\tmac addr\t\tis local?\tageing timer"];
  for (const { no, e } of rows) {
    lines.push(`${String(no).padStart(3)}\t${e.mac}\t${e.static ? "yes" : "no"}\t\t${e.static ? "   0.00" : e.ageing.toFixed(2).padStart(7)}`);
  }
  return lines.join("\n") + "\n";
}

/** One line per port: packets/bytes each way and drops by reason. */
export function formatPortStats(stats: PortStats[]): string {
  const header = ["port", "kind", "state", "rx packets", "rx bytes", "tx packets", "tx bytes", "tx dropped", "drops"];
  const rows = stats.map((s) => [
    s.name,
    s.kind,
    s.state,
    String(s.rxPackets),
    String(s.rxBytes),
    String(s.txPackets),
    String(s.txBytes),
    String(s.txDropped),
    Object.entries(s.drops).map(([k, v]) => `${k}=${v}`).join(",") || "-",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
