/**
 * Prometheus metrics of bonds: per member what `bond show` prints (its
 * counters, whether it carries traffic, its link, the load of its hash
 * buckets), per bond whether it is up, its active member, its failovers and
 * LACP's verdict. Read from Bridge.bondStatus() once per scrape; bridges
 * without bonds add no samples.
 */
import type { BondMemberStatus, BondStatus } from "../bond/status.js";
import type { Daemon } from "./daemon.js";
import type { MetricMaker, Sample } from "./metrics.js";

export function registerBondMetrics(daemon: Daemon, counter: MetricMaker, gauge: MetricMaker): void {
  const bonds = (): { bridge: string; bond: BondStatus }[] => {
    const out: { bridge: string; bond: BondStatus }[] = [];
    for (const b of daemon.bridges.values()) for (const bond of b.bridge.bondStatus()) out.push({ bridge: b.name, bond });
    return out;
  };
  const perBond = (read: (s: BondStatus) => number) => () => bonds().map(({ bridge, bond }): Sample => [{ bridge, bond: bond.name }, read(bond)]);
  const perMember = (read: (m: BondMemberStatus, s: BondStatus) => number) => () => {
    const out: Sample[] = [];
    for (const { bridge, bond } of bonds()) for (const m of bond.members) out.push([{ bridge, bond: bond.name, member: m.name }, read(m, bond)]);
    return out;
  };
  const members = ["bridge", "bond", "member"];
  counter("tapbridge_bond_member_rx_packets_total", "Frames received on the bond member.", members, perMember((m) => m.rxPackets));
  counter("tapbridge_bond_member_rx_bytes_total", "Bytes received on the bond member.", members, perMember((m) => m.rxBytes));
  counter("tapbridge_bond_member_tx_packets_total", "Frames sent through the bond member.", members, perMember((m) => m.txPackets));
  counter("tapbridge_bond_member_tx_bytes_total", "Bytes sent through the bond member.", members, perMember((m) => m.txBytes));
  counter("tapbridge_bond_member_tx_dropped_total", "Frames dropped on the member's full egress queue.", members, perMember((m) => m.txDropped));
  counter("tapbridge_bond_member_tx_errors_total", "Transmit errors on the member (its link down, other errors).", members, perMember((m) => m.txErrors));
  counter("tapbridge_bond_member_drops_total", "Frames received on the member and refused by the bond's receive filters, by reason.", [...members, "reason"], () => {
    const out: Sample[] = [];
    for (const { bridge, bond } of bonds()) for (const m of bond.members) for (const [reason, n] of Object.entries(m.drops)) out.push([{ bridge, bond: bond.name, member: m.name, reason }, n]);
    return out;
  });
  gauge("tapbridge_bond_member_enabled", "1 while the member carries traffic.", members, perMember((m) => (m.enabled ? 1 : 0)));
  gauge("tapbridge_bond_member_link_up", "1 while the member's link is usable (up, or going down during downdelay).", members, perMember((m) => (m.state === "up" || m.state === "going-down" ? 1 : 0)));
  gauge("tapbridge_bond_member_load_bytes", "balance-slb and lacp: the decaying byte load of the hash buckets the member owns.", members, perMember((m) => m.loadBytes));
  gauge("tapbridge_bond_active_member", "1 for the bond's active member (active-backup: the one that sends; balance-slb: the one that takes broadcast).", members, perMember((m) => (m.active ? 1 : 0)));
  gauge("tapbridge_bond_up", "1 while a member of the bond carries traffic.", ["bridge", "bond"], perBond((s) => (s.up ? 1 : 0)));
  counter("tapbridge_bond_failovers_total", "Times traffic moved off a member (active member changed, or a member left).", ["bridge", "bond"], perBond((s) => s.failovers));
  gauge("tapbridge_bond_lacp_negotiated", "lacp bonds: 1 while LACP aggregates members with the partner.", ["bridge", "bond"], () =>
    bonds().filter(({ bond }) => bond.lacp !== undefined).map(({ bridge, bond }): Sample => [{ bridge, bond: bond.name }, bond.lacp!.negotiated ? 1 : 0]),
  );
}
