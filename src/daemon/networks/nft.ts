/**
 * nftables for networks: one table of tapbridge's own per network
 * (`inet tapbridge-NAME`), loaded in one `nft -f` transaction and removed
 * whole on stop, so nothing of it outlives the network and nothing else in
 * the ruleset is touched.
 *
 *   nat        forward: the guests' subnet out through the uplink, replies
 *              back, nothing else in or out of the host port; postrouting:
 *              masquerade the subnet toward the uplink (not multicast or
 *              broadcast), as libvirt's NAT networks do;
 *   route      forward: the subnet in and out through any interface, no
 *              masquerading (Xen network-route);
 *   host-only  forward: nothing in or out of the host port (libvirt's
 *              isolated networks), whatever ip_forward says.
 *
 * Bridge mode with moved addresses adds `netdev tapbridge-NAME`: an
 * ingress hook on the uplink that drops everything for the uplink's own
 * stack — a kernel bridge port gives its frames to the bridge, not to its
 * own stack, and tapbridge's AF_PACKET socket sees them before this hook —
 * so the host, now on the host port with the uplink's MAC, does not get
 * every packet twice.
 *
 * A note on other firewalls: an `accept` here does not overrule a `drop`
 * in another table (nftables evaluates every base chain of a hook); a host
 * whose own ruleset drops forwarded traffic must let the network's subnet
 * through itself, as with libvirt.
 */
import { formatPrefix, parsePrefix, type Prefix } from "./ip.js";
import type { NetworkMode } from "./config.js";

export function tableName(network: string): string {
  return `tapbridge-${network}`;
}

/** nft quoting for an interface name. */
function q(name: string): string {
  return `"${name.replace(/["\\]/g, "")}"`;
}

export interface RuleInput {
  network: string;
  mode: NetworkMode;
  hostPort: string;
  uplink?: string;
  addresses: string[];
}

/** The `inet` table of a network, as nft -f text (replacing any table of that name), or undefined when the mode needs none. */
export function networkRuleset(input: RuleInput): string | undefined {
  const { mode, hostPort: h } = input;
  if (mode !== "nat" && mode !== "route" && mode !== "host-only") return undefined;
  const prefixes = input.addresses.map(parsePrefix);
  const v4 = prefixes.filter((p) => p.family === 4);
  const v6 = prefixes.filter((p) => p.family === 6);
  const set = (ps: Prefix[]) => (ps.length === 1 ? formatPrefix(ps[0]!, true) : `{ ${ps.map((p) => formatPrefix(p, true)).join(", ")} }`);
  const forward: string[] = [];
  const post: string[] = [];
  if (mode === "nat") {
    const u = input.uplink!;
    if (v4.length) {
      forward.push(`iifname ${q(h)} oifname ${q(u)} ip saddr ${set(v4)} accept`);
      forward.push(`iifname ${q(u)} oifname ${q(h)} ip daddr ${set(v4)} ct state established,related accept`);
      post.push(`ip saddr ${set(v4)} ip daddr 224.0.0.0/24 return`);
      post.push(`ip saddr ${set(v4)} ip daddr 255.255.255.255 return`);
      post.push(`ip saddr ${set(v4)} ip daddr != ${set(v4)} oifname ${q(u)} masquerade`);
    }
    // IPv6 is routed, not translated (as libvirt's NAT networks do it).
    if (v6.length) {
      forward.push(`iifname ${q(h)} oifname ${q(u)} ip6 saddr ${set(v6)} accept`);
      forward.push(`iifname ${q(u)} oifname ${q(h)} ip6 daddr ${set(v6)} accept`);
    }
  } else if (mode === "route") {
    if (v4.length) forward.push(`iifname ${q(h)} ip saddr ${set(v4)} accept`, `oifname ${q(h)} ip daddr ${set(v4)} accept`);
    if (v6.length) forward.push(`iifname ${q(h)} ip6 saddr ${set(v6)} accept`, `oifname ${q(h)} ip6 daddr ${set(v6)} accept`);
  }
  // host-only: the subnet is not forwarded whatever interface it arrives on — a guest's frame also reaches the
  // host's own stack on the guest's AF_PACKET port (vnetN), which may answer its ARP (arp_ignore 0) and route it.
  if (mode === "host-only") {
    if (v4.length) forward.push(`ip saddr ${set(v4)} drop`, `ip daddr ${set(v4)} drop`);
    if (v6.length) forward.push(`ip6 saddr ${set(v6)} drop`, `ip6 daddr ${set(v6)} drop`);
  }
  // Everything else in or out of the host port is not forwarded (host-only: all of it).
  forward.push(`iifname ${q(h)} drop`, `oifname ${q(h)} drop`);
  const t = tableName(input.network);
  let text = `add table inet ${t}\ndelete table inet ${t}\ntable inet ${t} {\n`;
  text += `  chain forward {\n    type filter hook forward priority filter; policy accept;\n${forward.map((r) => `    ${r}\n`).join("")}  }\n`;
  if (post.length) text += `  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n${post.map((r) => `    ${r}\n`).join("")}  }\n`;
  text += "}\n";
  return text;
}

/** The uplink's own stack gets nothing while it is a bridge port carrying the host's addresses elsewhere. */
export function uplinkStealRuleset(network: string, uplink: string): string {
  const t = tableName(network);
  return (
    `add table netdev ${t}\ndelete table netdev ${t}\ntable netdev ${t} {\n` +
    `  chain ingress {\n    type filter hook ingress device ${q(uplink)} priority -500; policy drop;\n  }\n}\n`
  );
}
