/**
 * A bond's settings: the modes and options, their names as the Linux bonding
 * driver and Open vSwitch name them, defaults, ranges, and the one check
 * every entry point (library, `--bond`, config file, live changes) goes
 * through. Times are milliseconds, as the bonding driver's sysfs files are.
 */
import { TapbridgeError } from "../errors.js";

export const BOND_MODES = ["active-backup", "balance-slb", "lacp"] as const;
export type BondMode = (typeof BOND_MODES)[number];

/** Other names people type for the same modes (Linux's and OVS's). */
const MODE_ALIASES: Readonly<Record<string, BondMode>> = {
  "active-backup": "active-backup",
  "balance-slb": "balance-slb",
  lacp: "lacp",
  "802.3ad": "lacp",
  "balance-tcp": "lacp",
};

export const LACP_RATES = ["slow", "fast"] as const;
export type LacpRate = (typeof LACP_RATES)[number];

/** The most members a bond takes, and ARP targets (as Linux's BOND_MAX_ARP_TARGETS). */
export const MAX_MEMBERS = 32;
export const MAX_ARP_TARGETS = 16;
export const MAX_DELAY_MS = 600_000;
export const MAX_INTERVAL_MS = 3_600_000;

export interface BondOptions {
  /** active-backup (default), balance-slb, or lacp (802.3ad; balance-tcp hashing once aggregated). */
  mode?: BondMode;
  /** A member that carries the traffic whenever it is up (active-backup; balance-slb's broadcast receiver). */
  primary?: string;
  /**
   * Milliseconds between polls of the members' links (Linux miimon; default
   * 100; 0: rtnetlink notifications only, which the kernel may hold back for
   * up to a second after a carrier change).
   */
  miimon?: number;
  /** Milliseconds a member's link must stay up before it is used (Linux updelay). */
  updelay?: number;
  /** Milliseconds a member's link may stay down before it is dropped (Linux downdelay; 0: at once). */
  downdelay?: number;
  /** IPv4 addresses probed by ARP through every member (Linux arp_ip_target). */
  arpTargets?: string[];
  /** Milliseconds between ARP probes (Linux arp_interval; default 1000 when arpTargets are set). */
  arpInterval?: number;
  /** Sender IPv4 address of the probes (default 0.0.0.0, an RFC 5227 probe). */
  arpSource?: string;
  /** LACP: ask the partner for a LACPDU every second (fast) or every 30 s (slow, default). */
  lacpRate?: LacpRate;
  /** LACP: send LACPDUs on our own (true, default) or only answer an active partner (Linux lacp_active). */
  lacpActive?: boolean;
  /** LACP: run as active-backup when the partner speaks no LACP (default true; OVS lacp-fallback-ab). */
  lacpFallback?: boolean;
  /** LACP system priority, 1-65535 (default 65535, Linux ad_actor_sys_prio). */
  lacpSystemPriority?: number;
  /** LACP aggregation key, 1-65535 (default: the bond's port number). */
  lacpKey?: number;
  /** balance-slb and lacp: milliseconds between load rebalances (default 10000; 0: never), OVS bond-rebalance-interval. */
  rebalanceInterval?: number;
}

export interface BondSettings {
  mode: BondMode;
  primary: string | undefined;
  /** 0: no polling. */
  miimon: number;
  updelay: number;
  downdelay: number;
  /** Targets as 32-bit numbers, in the order given. */
  arpTargets: number[];
  /** 0: ARP monitoring off. */
  arpInterval: number;
  arpSource: number;
  lacpRate: LacpRate;
  lacpActive: boolean;
  lacpFallback: boolean;
  lacpSystemPriority: number;
  /** 0: the bond's port number. */
  lacpKey: number;
  rebalanceInterval: number;
}

export const DEFAULT_BOND_SETTINGS: Readonly<BondSettings> = Object.freeze({
  mode: "active-backup",
  primary: undefined,
  miimon: 100,
  updelay: 0,
  downdelay: 0,
  arpTargets: [],
  arpInterval: 0,
  arpSource: 0,
  lacpRate: "slow",
  lacpActive: true,
  lacpFallback: true,
  lacpSystemPriority: 65535,
  lacpKey: 0,
  rebalanceInterval: 10_000,
});

export function parseBondMode(text: string): BondMode {
  const mode = Object.hasOwn(MODE_ALIASES, text.toLowerCase()) ? MODE_ALIASES[text.toLowerCase()] : undefined;
  if (!mode) throw new TapbridgeError("EINVAL", `"${text}" is not a bond mode: use active-backup, balance-slb or lacp (also 802.3ad)`);
  return mode;
}

/** "192.0.2.1" → 0xc0000201. */
export function parseIpv4(text: string, what: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  const bytes = m?.slice(1).map(Number);
  if (!bytes || bytes.some((b) => b > 255)) throw new TapbridgeError("EINVAL", `${what} "${text}" is not an IPv4 address (like 192.0.2.1)`);
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

export function formatIpv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

function checkMs(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new TapbridgeError("EINVAL", `${name}=${value} is out of range: use a whole number of milliseconds from ${min} to ${max}`);
  }
  return value;
}

/**
 * Settings from options over a base (the defaults, or the running
 * settings for a live change). `members` are the member names, for
 * `primary`. Throws a TapbridgeError naming the option.
 */
export function resolveBondSettings(options: BondOptions, members: readonly string[], base: Readonly<BondSettings> = DEFAULT_BOND_SETTINGS): BondSettings {
  const s: BondSettings = { ...base, arpTargets: [...base.arpTargets] };
  if (options.mode !== undefined) s.mode = parseBondMode(options.mode);
  if (options.primary !== undefined) {
    // "eth1" names member "eth1@ns" too, unless two members share the interface name.
    const exact = members.find((m) => m === options.primary);
    const loose = members.filter((m) => m.split("@")[0] === options.primary);
    if (!exact && loose.length !== 1) {
      throw new TapbridgeError("EINVAL", `primary=${options.primary} ${loose.length > 1 ? "names more than one member: add @NETNS" : "is not a member of the bond"} (members: ${members.join(", ")})`);
    }
    s.primary = exact ?? loose[0]!;
  }
  if (options.miimon !== undefined) s.miimon = options.miimon === 0 ? 0 : checkMs(options.miimon, "miimon", 10, MAX_INTERVAL_MS);
  if (options.updelay !== undefined) s.updelay = checkMs(options.updelay, "updelay", 0, MAX_DELAY_MS);
  if (options.downdelay !== undefined) s.downdelay = checkMs(options.downdelay, "downdelay", 0, MAX_DELAY_MS);
  if (options.arpTargets !== undefined) {
    if (options.arpTargets.length > MAX_ARP_TARGETS) throw new TapbridgeError("EINVAL", `arp-targets lists ${options.arpTargets.length} addresses: at most ${MAX_ARP_TARGETS}`);
    s.arpTargets = [...new Set(options.arpTargets.map((t) => parseIpv4(t, "arp-targets address")))];
    if (s.arpTargets.includes(0)) throw new TapbridgeError("EINVAL", `arp-targets may not contain 0.0.0.0`);
    if (options.arpInterval === undefined && s.arpInterval === 0 && s.arpTargets.length > 0) s.arpInterval = 1000;
    if (s.arpTargets.length === 0) s.arpInterval = 0;
  }
  if (options.arpInterval !== undefined) {
    s.arpInterval = options.arpInterval === 0 ? 0 : checkMs(options.arpInterval, "arp-interval", 10, MAX_INTERVAL_MS);
    if (s.arpInterval > 0 && s.arpTargets.length === 0) throw new TapbridgeError("EINVAL", `arp-interval needs arp-targets (the addresses to probe)`);
  }
  if (options.arpSource !== undefined) s.arpSource = parseIpv4(options.arpSource, "arp-source");
  if (options.lacpRate !== undefined) {
    if (!(LACP_RATES as readonly string[]).includes(options.lacpRate)) throw new TapbridgeError("EINVAL", `lacp-rate "${options.lacpRate}" is not fast or slow`);
    s.lacpRate = options.lacpRate;
  }
  if (options.lacpActive !== undefined) s.lacpActive = options.lacpActive === true;
  if (options.lacpFallback !== undefined) s.lacpFallback = options.lacpFallback === true;
  if (options.lacpSystemPriority !== undefined) {
    if (!Number.isInteger(options.lacpSystemPriority) || options.lacpSystemPriority < 1 || options.lacpSystemPriority > 65535) {
      throw new TapbridgeError("EINVAL", `lacp-system-priority=${options.lacpSystemPriority} is out of range: use 1 to 65535`);
    }
    s.lacpSystemPriority = options.lacpSystemPriority;
  }
  if (options.lacpKey !== undefined) {
    if (!Number.isInteger(options.lacpKey) || options.lacpKey < 1 || options.lacpKey > 65535) throw new TapbridgeError("EINVAL", `lacp-key=${options.lacpKey} is out of range: use 1 to 65535`);
    s.lacpKey = options.lacpKey;
  }
  if (options.rebalanceInterval !== undefined) {
    s.rebalanceInterval = options.rebalanceInterval === 0 ? 0 : checkMs(options.rebalanceInterval, "rebalance-interval", 100, MAX_INTERVAL_MS);
  }
  // As the Linux bonding driver: the partner may answer a member's probe on any member of the aggregate.
  if (s.mode === "lacp" && s.arpInterval > 0) {
    throw new TapbridgeError("EINVAL", `arp-targets do not apply to lacp bonds: the partner may answer a probe on any member of the aggregate; LACP's own timeout (lacp-rate=fast: 3 s) sees the failures carrier cannot`);
  }
  return s;
}

/** The settings as options again (for status and saving), defaults left out. */
export function bondOptionsOf(s: BondSettings): BondOptions {
  const d = DEFAULT_BOND_SETTINGS;
  const o: BondOptions = { mode: s.mode };
  if (s.primary !== undefined) o.primary = s.primary;
  if (s.miimon !== d.miimon) o.miimon = s.miimon;
  if (s.updelay !== d.updelay) o.updelay = s.updelay;
  if (s.downdelay !== d.downdelay) o.downdelay = s.downdelay;
  if (s.arpTargets.length > 0) {
    o.arpTargets = s.arpTargets.map(formatIpv4);
    o.arpInterval = s.arpInterval;
  }
  if (s.arpSource !== 0) o.arpSource = formatIpv4(s.arpSource);
  if (s.mode === "lacp") {
    o.lacpRate = s.lacpRate;
    o.lacpActive = s.lacpActive;
    o.lacpFallback = s.lacpFallback;
    if (s.lacpSystemPriority !== d.lacpSystemPriority) o.lacpSystemPriority = s.lacpSystemPriority;
    if (s.lacpKey !== 0) o.lacpKey = s.lacpKey;
  }
  if (s.mode !== "active-backup") o.rebalanceInterval = s.rebalanceInterval;
  return o;
}
