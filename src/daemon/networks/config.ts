/**
 * The `networks:` section: what each network is, checked before anything
 * runs. A network names a bridge (from `bridges:`, or one it creates) and a
 * mode, the setups of the seed articles:
 *
 *   bridge     the host on the bridge with an uplink attached (Xen
 *              network-bridge, KVM br0); optionally the uplink's addresses
 *              and routes move to the host port;
 *   host-only  the host port with an address, no uplink;
 *   nat        the host port with an address, DHCP/DNS (dnsmasq), IP
 *              forwarding, masquerading toward the uplink (libvirt default);
 *   route      the host port with an address, IP forwarding, proxy ARP on
 *              the uplink, no masquerading (Xen network-route);
 *   isolated   no host port; guests only, `private: true` isolates them
 *              from one another but not from the uplink.
 *
 * Rules that need only the file (a DHCP range outside the network, a key
 * the mode does not take, two networks on one bridge) are checked here and
 * located like every config error; rules that need the system (the uplink
 * exists, no route clashes, dnsmasq is installed) when the network starts.
 */
import { z } from "zod";
import type { KeyPath } from "../config.js";
import { contains, formatIp, formatPrefix, lastOf, networkOf, overlaps, parseIp, parsePrefix, type Prefix } from "./ip.js";

export const NETWORK_MODES = ["bridge", "host-only", "nat", "route", "isolated"] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export interface DhcpHost {
  mac: string;
  ip: string;
  name?: string;
}

export interface DhcpConfig {
  start: string;
  end: string;
  /** Seconds, or "infinite". */
  leaseTime: number | "infinite";
  hosts: DhcpHost[];
}

export interface NetworkConfig {
  name: string;
  mode: NetworkMode;
  bridge: string;
  /** Started with the daemon (virsh net-autostart). */
  autostart: boolean;
  /** The host port's addresses, "192.168.122.1/24", "fd00:1::1/64". */
  addresses: string[];
  uplink?: string;
  /** bridge: move the uplink's addresses and routes to the host port while the network runs. */
  moveAddresses: boolean;
  /** bridge: rename the uplink while the network runs (Xen's peth0), so the bridge can take its name. */
  renameUplink?: string;
  /** route: proxy ARP on the uplink (default on when there is one). */
  proxyArp: boolean;
  dhcp?: DhcpConfig;
  /** dnsmasq answers DNS on the host port (default on when dnsmasq runs). */
  dns: boolean;
  /** DNS domain of the guests (dnsmasq domain= and local=). */
  domain?: string;
  /** isolated: guests reach the uplink but not each other (libvirt's <port isolated='yes'/>). */
  private: boolean;
  where?: KeyPath;
}

/** Modes whose bridge has a host port. */
export function hasHostPort(mode: NetworkMode): boolean {
  return mode !== "isolated";
}

const ifname = z.string().regex(/^[^\s/:@%]{1,15}$/, "must be an interface name of 1 to 15 characters without spaces, '/', ':', '@' or '%'");
const cidr = z.string().min(1);
const mac = z.string().regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, "must be a MAC address like 52:54:00:00:00:01");
const dnsName = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/, "must be a DNS name (letters, digits, '-' and '.')");

export const networkSchema = z.strictObject({
  mode: z.enum(NETWORK_MODES),
  bridge: ifname,
  autostart: z.boolean().optional(),
  addresses: z.union([cidr, z.array(cidr)]).optional(),
  uplink: ifname.optional(),
  "move-addresses": z.boolean().optional(),
  "rename-uplink": ifname.optional(),
  "proxy-arp": z.boolean().optional(),
  dhcp: z
    .strictObject({
      start: z.string(),
      end: z.string(),
      "lease-time": z.union([z.number().int().min(120).max(100_000_000), z.literal("infinite")]).optional(),
      hosts: z.array(z.strictObject({ mac, ip: z.string(), name: dnsName.optional() })).optional(),
    })
    .optional(),
  dns: z.boolean().optional(),
  domain: dnsName.optional(),
  private: z.boolean().optional(),
});

export const networkNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/, "must be 1 to 32 letters, digits, '_', '.' or '-'");

export type RawNetwork = z.infer<typeof networkSchema>;

export const NETWORK_KEYS = Object.keys(networkSchema.shape).join(", ");

type Problem = (path: KeyPath, sentence: string, atKey?: boolean) => void;

/** Which keys each mode takes, besides mode, bridge and autostart. */
const MODE_KEYS: Record<NetworkMode, string[]> = {
  bridge: ["addresses", "uplink", "move-addresses", "rename-uplink"],
  "host-only": ["addresses", "dhcp", "dns", "domain"],
  nat: ["addresses", "uplink", "dhcp", "dns", "domain"],
  route: ["addresses", "uplink", "proxy-arp", "dhcp", "dns", "domain"],
  isolated: ["uplink", "private"],
};

/** A network entry of the file, checked on its own; `problem` records what is wrong, located. */
export function normalizeNetwork(name: string, raw: RawNetwork, at: KeyPath, problem: Problem): NetworkConfig {
  const mode = raw.mode;
  for (const key of Object.keys(raw)) {
    if (key === "mode" || key === "bridge" || key === "autostart") continue;
    if (!MODE_KEYS[mode].includes(key)) problem([...at, key], `${mode === "isolated" ? "an" : "a"} ${mode} network takes no "${key}" (it takes ${MODE_KEYS[mode].join(", ")})`, true);
  }
  const addresses = raw.addresses === undefined ? [] : Array.isArray(raw.addresses) ? raw.addresses : [raw.addresses];
  const prefixes: Prefix[] = [];
  addresses.forEach((text, i) => {
    const path = Array.isArray(raw.addresses) ? [...at, "addresses", i] : [...at, "addresses"];
    try {
      const p = parsePrefix(text);
      if (!text.includes("/")) throw new Error(`"${text}" needs a prefix length, e.g. ${text}/${p.family === 4 ? 24 : 64}`);
      if (p.family === 4 && p.length < 31 && (p.address === networkOf(p) || p.address === lastOf(p))) {
        throw new Error(`${text} is the ${p.address === networkOf(p) ? "network" : "broadcast"} address of ${formatPrefix(p, true)}: give the host port an address inside it, e.g. ${formatIp(4, networkOf(p) + 1n)}/${p.length}`);
      }
      for (const q of prefixes) if (overlaps(p, q)) throw new Error(`${text} overlaps ${formatPrefix(q)}, given before`);
      prefixes.push(p);
    } catch (error) {
      problem(path, (error as Error).message);
    }
  });
  const needsAddress = mode === "host-only" || mode === "nat" || mode === "route";
  if (needsAddress && addresses.length === 0) problem(at, `a ${mode} network needs addresses: for its host port, e.g. addresses: [192.168.122.1/24]`, true);
  if (mode === "nat" && addresses.length > 0 && !prefixes.some((p) => p.family === 4)) problem([...at, "addresses"], "a nat network needs an IPv4 address to masquerade from");
  if ((mode === "nat" || mode === "bridge") && raw.uplink === undefined) {
    problem(at, mode === "nat" ? "a nat network needs an uplink: the interface its guests leave through, masqueraded (uplink: eth0)" : "a bridge network needs an uplink: the interface attached to the bridge (uplink: eth0)", true);
  }
  if (raw["rename-uplink"] !== undefined && raw["rename-uplink"] === raw.uplink) problem([...at, "rename-uplink"], `rename-uplink is the uplink's own name (${raw.uplink})`);
  if (mode === "nat" && raw.uplink !== undefined && raw.uplink === raw.bridge) problem([...at, "uplink"], `the uplink of a nat network cannot be its own bridge (${raw.bridge})`);
  let dhcp: DhcpConfig | undefined;
  if (raw.dhcp) dhcp = checkDhcp(raw.dhcp, prefixes, [...at, "dhcp"], problem);
  return {
    name,
    mode,
    bridge: raw.bridge,
    autostart: raw.autostart ?? true,
    addresses,
    ...(raw.uplink !== undefined ? { uplink: raw.uplink } : {}),
    moveAddresses: raw["move-addresses"] ?? false,
    ...(raw["rename-uplink"] !== undefined ? { renameUplink: raw["rename-uplink"] } : {}),
    proxyArp: raw["proxy-arp"] ?? (mode === "route" && raw.uplink !== undefined),
    ...(dhcp ? { dhcp } : {}),
    dns: raw.dns ?? true,
    ...(raw.domain !== undefined ? { domain: raw.domain } : {}),
    private: raw.private ?? false,
    where: at,
  };
}

function checkDhcp(raw: NonNullable<RawNetwork["dhcp"]>, prefixes: Prefix[], at: KeyPath, problem: Problem): DhcpConfig | undefined {
  const ends: { family: number; address: bigint }[] = [];
  for (const key of ["start", "end"] as const) {
    try {
      const ip = parseIp(raw[key]);
      if (ip.family !== 4) throw new Error(`DHCP serves IPv4 here: ${raw[key]} is IPv6`);
      ends.push(ip);
    } catch (error) {
      problem([...at, key], (error as Error).message);
    }
  }
  if (ends.length < 2) return undefined;
  const [start, end] = ends as [{ family: 4; address: bigint }, { family: 4; address: bigint }];
  const v4 = prefixes.filter((p) => p.family === 4);
  const net = v4.find((p) => contains(p, 4, start.address));
  if (!net) {
    problem([...at, "start"], `the DHCP range ${raw.start}-${raw.end} is outside the network${v4.length ? ` ${v4.map((p) => formatPrefix(p, true)).join(", ")}` : " (it has no IPv4 address)"}: it must lie in the host port's IPv4 subnet`);
    return undefined;
  }
  if (!contains(net, 4, end.address)) {
    problem([...at, "end"], `the DHCP range ${raw.start}-${raw.end} is outside the network ${formatPrefix(net, true)}: ${raw.end} is not in it`);
    return undefined;
  }
  if (end.address < start.address) {
    problem([...at, "end"], `the DHCP range ends (${raw.end}) before it starts (${raw.start})`);
    return undefined;
  }
  if (start.address <= networkOf(net) || end.address >= lastOf(net)) {
    problem(at, `the DHCP range ${raw.start}-${raw.end} includes the ${start.address <= networkOf(net) ? "network" : "broadcast"} address of ${formatPrefix(net, true)}`, true);
    return undefined;
  }
  if (net.address >= start.address && net.address <= end.address) {
    problem(at, `the DHCP range ${raw.start}-${raw.end} includes the host port's own address ${formatIp(4, net.address)}`, true);
    return undefined;
  }
  const hosts: DhcpHost[] = [];
  (raw.hosts ?? []).forEach((h, i) => {
    try {
      const ip = parseIp(h.ip);
      if (ip.family !== 4 || !contains(net, 4, ip.address)) throw new Error(`${h.ip} is outside the network ${formatPrefix(net, true)}`);
      hosts.push({ mac: h.mac.toLowerCase(), ip: h.ip, ...(h.name ? { name: h.name } : {}) });
    } catch (error) {
      problem([...at, "hosts", i, "ip"], (error as Error).message);
    }
  });
  return { start: raw.start, end: raw.end, leaseTime: raw["lease-time"] ?? 3600, hosts };
}

/**
 * Checks across networks and bridges: one network per bridge (a bridge has
 * one host port), an isolated network's bridge has none, networks' subnets
 * do not overlap, an uplink is no port of some bridge it should not be.
 */
export function checkNetworks(
  networks: NetworkConfig[],
  bridges: { name: string; hostPort?: unknown; ports: { label: string; name: string; netns?: string }[]; where?: KeyPath }[],
  problem: Problem,
): void {
  const byBridge = new Map<string, NetworkConfig>();
  const subnets: { net: NetworkConfig; p: Prefix }[] = [];
  for (const net of networks) {
    const at = net.where ?? ["networks", net.name];
    const other = byBridge.get(net.bridge);
    if (other) problem([...at, "bridge"], `networks ${other.name} and ${net.name} both claim bridge ${net.bridge} and its host port ${net.bridge}: a bridge belongs to one network`);
    else byBridge.set(net.bridge, net);
    const bridge = bridges.find((b) => b.name === net.bridge);
    if (net.mode === "isolated" && bridge?.hostPort) problem([...at, "mode"], `an isolated network has no host port, but bridge ${net.bridge} has host-port set`);
    for (const a of net.addresses) {
      let p: Prefix;
      try {
        p = parsePrefix(a);
      } catch {
        continue;
      }
      const clash = subnets.find((s) => overlaps(s.p, p));
      if (clash) problem([...at, "addresses"], `${a} overlaps ${formatPrefix(clash.p)} of network ${clash.net.name}`);
      subnets.push({ net, p });
    }
    if (net.uplink !== undefined) {
      for (const b of bridges) {
        const port = b.ports.find((q) => q.name === net.uplink && q.netns === undefined);
        if (!port) continue;
        if (net.mode === "bridge" && b.name === net.bridge) continue;
        problem([...at, "uplink"], net.mode === "bridge"
          ? `uplink ${net.uplink} is already a port of bridge ${b.name}: an interface belongs to one bridge`
          : `uplink ${net.uplink} is a port of bridge ${b.name}: a ${net.mode} network routes through its uplink, which must not be a bridge port`);
      }
      if (net.mode !== "bridge" && networks.some((o) => o.bridge === net.uplink)) problem([...at, "uplink"], `uplink ${net.uplink} is the host port of a network's bridge`);
    }
  }
}
