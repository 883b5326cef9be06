/**
 * `tapbridge bond show`: the layout of `ovs-appctl bond/show` (one block per
 * bond, one per member, a "hash N: X kB load" line per loaded bucket), with
 * the LACP lines of `ovs-appctl lacp/show` under each member of a LACP bond,
 * and the counters per member. `-j` prints the status objects as they are.
 */
import type { BondMemberStatus, BondStatus } from "../bond/status.js";
import { DEFAULT_BOND_SETTINGS } from "../bond/settings.js";

export type BondShowRow = BondStatus & { bridge: string };

function kb(bytes: number): string {
  return `${Math.round(bytes / 1024)} kB`;
}

function memberBlock(m: BondMemberStatus, bond: BondStatus): string[] {
  const lines = [`member ${m.name}: ${m.enabled ? "enabled" : "disabled"}`];
  if (m.active) lines.push(bond.mode === "balance-slb" ? "  active member (receives broadcast and multicast)" : "  active member");
  if (m.primary) lines.push("  primary member");
  const delay = m.delayLeftMs > 0 ? `, ${m.state === "going-up" ? "updelay" : "downdelay"} ${m.delayLeftMs} ms left` : "";
  lines.push(`  link: ${m.gone ? "gone (device deleted)" : m.state} (${m.reason})${delay}, carrier ${m.carrier ? "yes" : "no"}${m.arpOk === undefined ? "" : `, arp ${m.arpOk ? "ok" : "failed"}`}`);
  lines.push(`  mac: ${m.mac}`);
  lines.push(`  may_enable: ${m.enabled}`);
  lines.push(`  rx: ${m.rxPackets} packets ${m.rxBytes} bytes; tx: ${m.txPackets} packets ${m.txBytes} bytes, ${m.txDropped} dropped, ${m.txErrors} errors`);
  const drops = Object.entries(m.drops).map(([k, v]) => `${k}=${v}`);
  if (drops.length) lines.push(`  drops: ${drops.join(", ")}`);
  if (bond.mode !== "active-backup") {
    for (const b of m.buckets) lines.push(`  hash ${b.bucket}: ${kb(b.load)} load`);
    if (m.idleBuckets) lines.push(`  idle hash buckets: ${m.idleBuckets}`);
  }
  if (m.lacp) {
    const l = m.lacp;
    lines.push(`  lacp: ${l.rx} ${l.mux}${l.selected ? " selected" : ""}, periodic ${l.periodic}, ${l.rxPdus} rx ${l.txPdus} tx ${l.rxMalformed} malformed`);
    for (const [who, info] of [["actor", l.actor], ["partner", l.partner]] as const) {
      lines.push(`    ${who} sys_id: ${info.system}, sys_priority: ${info.systemPriority}, key: ${info.key}, port_id: ${info.port}, port_priority: ${info.portPriority}`);
      lines.push(`    ${who} state:${info.stateWords.map((w) => ` ${w}`).join("")}`);
    }
  }
  return lines;
}

export function formatBondShow(rows: BondShowRow[]): string {
  const blocks = rows.map((b) => {
    const o = b.options;
    const lines = [`---- ${b.name} ----`, `bridge: ${b.bridge}`, `bond_mode: ${b.mode}`, `miimon: ${o.miimon ?? DEFAULT_BOND_SETTINGS.miimon} ms`, `updelay: ${o.updelay ?? 0} ms`, `downdelay: ${o.downdelay ?? 0} ms`];
    if (b.nextRebalanceMs !== undefined) lines.push(`next rebalance: ${Math.round(b.nextRebalanceMs)} ms`);
    if (o.arpTargets) lines.push(`arp monitor: ${o.arpTargets.join(", ")} every ${o.arpInterval} ms`);
    if (b.lacp) {
      lines.push(`lacp_status: ${b.lacp.negotiated ? "negotiated" : b.lacp.fallback ? "fallback (active-backup: the partner speaks no LACP)" : "configured"}`);
      lines.push(`lacp: ${b.lacp.active ? "active" : "passive"}, rate ${b.lacp.rate}, sys_id ${b.lacp.system}, sys_priority ${b.lacp.systemPriority}, key ${b.lacp.key}`);
    } else lines.push("lacp_status: off");
    lines.push(`active-backup primary: ${o.primary ?? "<none>"}`);
    lines.push(`active member: ${b.activeMember ?? "<none>"}`);
    lines.push(`state: ${b.up ? "up" : "down (no member carries traffic)"}`);
    const last = b.lastFailover;
    lines.push(`failovers: ${b.failovers}${last ? `, last ${last.from ?? "-"} -> ${last.to ?? "-"} (${last.reason})` : ""}`);
    if (b.txNoMember) lines.push(`frames with no member to leave through: ${b.txNoMember}`);
    for (const m of b.members) lines.push("", ...memberBlock(m, b));
    return lines.join("\n");
  });
  return blocks.join("\n\n") + (blocks.length ? "\n" : "");
}
