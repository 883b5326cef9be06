/**
 * iproute2 `bridge` output: `fdb show`, `link show [-d]`, `vlan show`, in
 * its text layout (trailing spaces included) and, with -j, its JSON keys.
 */
import type { FdbRow, LinkRow, VlanStatsRow, VlanTunnelRow } from "../daemon/views.js";

export function formatFdb(rows: FdbRow[]): string {
  let out = "";
  for (const r of rows) {
    out += `${r.mac} dev ${r.ifname} ${r.dst ? `dst ${r.dst} ` : ""}${r.vlan ? `vlan ${r.vlan} ` : ""}${r.flags.map((f) => f + " ").join("")}master ${r.master} ${r.state}\n`;
  }
  return out;
}

const onOff = (b: boolean) => (b ? "on" : "off");

/** The -d keys `bridge -d -j link show` prints that tapbridge has no notion of, with the kernel's values for a plain port. */
const FIXED_DETAILS = { guard: false, root_block: false, fastleave: false, mcast_router: 1, mcast_to_unicast: false, neigh_suppress: false, vlan_tunnel: false, locked: false };

export function linkJson(rows: LinkRow[], details: boolean): Record<string, unknown>[] {
  return rows.map((r) => {
    const base: Record<string, unknown> = { ifindex: r.ifindex, ...(r.link ? { link: r.link } : {}), ifname: r.ifname, flags: r.flags, mtu: r.mtu, master: r.master, state: r.state, priority: r.priority, cost: r.cost };
    if (!details) return base;
    return {
      ...base,
      hairpin: r.hairpin,
      guard: FIXED_DETAILS.guard,
      root_block: FIXED_DETAILS.root_block,
      fastleave: FIXED_DETAILS.fastleave,
      learning: r.learning,
      flood: r.flood,
      mcast_flood: r.mcast_flood,
      bcast_flood: r.bcast_flood,
      mcast_router: FIXED_DETAILS.mcast_router,
      mcast_to_unicast: FIXED_DETAILS.mcast_to_unicast,
      neigh_suppress: FIXED_DETAILS.neigh_suppress,
      vlan_tunnel: FIXED_DETAILS.vlan_tunnel,
      isolated: r.isolated,
      locked: FIXED_DETAILS.locked,
    };
  });
}

export function formatLink(rows: LinkRow[], details: boolean): string {
  let out = "";
  for (const r of rows) {
    out += `${r.ifindex}: ${r.ifname}${r.link ? `@${r.link}` : ""}: <${r.flags.join(",")}> mtu ${r.mtu} master ${r.master} state ${r.state} priority ${r.priority} cost ${r.cost} \n`;
    if (details) {
      out +=
        `    hairpin ${onOff(r.hairpin)} guard off root_block off fastleave off learning ${onOff(r.learning)} flood ${onOff(r.flood)} ` +
        `mcast_flood ${onOff(r.mcast_flood)} bcast_flood ${onOff(r.bcast_flood)} mcast_router 1 mcast_to_unicast off neigh_suppress off ` +
        `vlan_tunnel off isolated ${onOff(r.isolated)} locked off \n`;
    }
  }
  return out;
}

export interface VlanRow {
  ifname: string;
  vlans: { vlan: number; flags?: string[] }[];
}

/** `bridge vlan show`: a header, then each port's VLANs (a VLAN-unaware bridge lists none). */
export function formatVlan(rows: VlanRow[]): string {
  let out = "port              vlan-id  \n";
  for (const r of rows) {
    r.vlans.forEach((v, i) => {
      const flags = (v.flags ?? []).map((f) => (f === "PVID" ? " PVID" : f === "Egress Untagged" ? " Egress Untagged" : ` ${f}`)).join("");
      out += `${i === 0 ? r.ifname.padEnd(17) : " ".repeat(17)} ${v.vlan}${flags}\n`;
    });
    out += "\n";
  }
  return out;
}

/** `bridge vlan tunnelshow`: the port (16 wide), the VID (9 wide), the tunnel id; a blank line after each port. */
export function formatVlanTunnels(rows: VlanTunnelRow[]): string {
  let out = "port              vlan-id    tunnel-id\n";
  for (const r of rows) {
    r.tunnels.forEach((t, i) => {
      out += `${(i === 0 ? r.ifname : "").padEnd(16)}  ${String(t.vlan).padEnd(9)}  ${t.tunid}\n`;
    });
    out += "\n";
  }
  return out;
}

/**
 * `bridge -s vlan show`: a header without the trailing pad, each VID with its
 * flags, then its RX and TX counters indented under it; no blank line
 * between ports (iproute2 prints the statistics dump that way).
 */
export function formatVlanStats(rows: VlanStatsRow[]): string {
  const pad = " ".repeat(16);
  let out = `${"port".padEnd(16)}  vlan-id\n`;
  for (const r of rows) {
    r.vlans.forEach((v, i) => {
      const flags = (v.flags ?? []).map((f) => ` ${f}`).join("");
      out += `${i === 0 ? r.ifname.padEnd(16) : pad}  ${v.vid}${flags}\n`;
      out += `${pad}    RX: ${v.rx_bytes} bytes ${v.rx_packets} packets\n`;
      out += `${pad}    TX: ${v.tx_bytes} bytes ${v.tx_packets} packets\n`;
    });
  }
  return out;
}
