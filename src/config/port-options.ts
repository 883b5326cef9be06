/**
 * Per-port options: one grammar and one table for every place a port is
 * configured — `--tap NAME[@NETNS][:OPT]...` and `--attach IFNAME[@NETNS][:OPT]...`
 * on the command line, and the per-port keys of the config file, which use
 * the same names.
 *
 * An option is `name=value` or a bare `name` (a switch turned on). Each row
 * of PORT_OPTIONS says which value it takes, its range, and how it lands in a
 * PortConfig; an error is one sentence that names the port and the option.
 * Adding an option means adding a row (and the PortConfig field it sets);
 * nothing else parses port options.
 */
import { TapbridgeError } from "../errors.js";
import { STORM_MAX_RATE } from "../core/storm.js";
import { checkVid, parseVidList, pickVlanSpec, resolvePortVlans } from "../core/vlan-spec.js";
import { parseIfnameAtNetns } from "../ports/port.js";
import { type BondOptions, type LacpRate, LACP_RATES, MAX_DELAY_MS, MAX_INTERVAL_MS, MAX_MEMBERS, parseBondMode, parseIpv4 } from "../bond/settings.js";
import { isIP } from "node:net";

/** Everything a port can be configured with, by option. Fields are optional: absent means "the default". */
export interface PortConfig {
  /** `learning=on|off`: learn source MACs on this port (Linux `bridge link set … learning`). */
  learning?: boolean;
  /** `flood=on|off`: unknown unicast is flooded to this port. */
  flood?: boolean;
  /** `mcast-flood=on|off`. */
  mcastFlood?: boolean;
  /** `bcast-flood=on|off`. */
  bcastFlood?: boolean;
  /** `hairpin`: frames may leave through the port they came in on (VEPA reflective relay). */
  hairpin?: boolean;
  /** `isolated`: talks only to non-isolated ports (libvirt's `<port isolated='yes'/>`). */
  isolated?: boolean;
  /** `max-learned=N`: cap on MACs learned on this port; 0 = no limit. */
  maxLearned?: number;
  /** `storm-broadcast=PPS`: broadcast frames/s this port may flood; 0 = no limit. */
  stormBroadcast?: number;
  /** `storm-multicast=PPS`. */
  stormMulticast?: number;
  /** `storm-unknown-unicast=PPS`. */
  stormUnknownUnicast?: number;
  /** `reattach=on|off`: attached interfaces come back when a deleted device of that name returns. */
  reattach?: boolean;
  /** `access=VID`: an access port of one VLAN (pvid, untagged). */
  access?: number;
  /** `trunk=LIST`: tagged members, e.g. 59,89,100-110. */
  trunk?: number[];
  /** `native=VID`: the trunk's untagged VLAN (pvid, untagged). */
  native?: number;
  /** `pvid=VID`: the VLAN of untagged and priority-tagged frames. */
  pvid?: number;
  /** `vlans=LIST`: tagged members (Linux terms). */
  vlans?: number[];
  /** `untagged=LIST`: untagged members (Linux terms). */
  untagged?: number[];
  /** `cost=N`: spanning tree path cost (STP 1-65535, RSTP 1-200000000; default by link speed, TAP 100). */
  cost?: number;
  /** `priority=N`: spanning tree port priority, 0-255 (default 128). */
  priority?: number;
  /** `edge`: an RSTP edge port (a host, not a bridge): forwards at once. */
  edge?: boolean;
  /** `bpdu-guard`: a BPDU received here disables the port (Linux bpdu_guard). */
  bpduGuard?: boolean;
  /** `root-guard`: the port never becomes root port (Linux root_block). */
  rootGuard?: boolean;
  /** Bond options (`--bond` and `bond:` entries only): mode, primary, updelay, downdelay, arp-*, lacp-*, rebalance-interval. */
  bond?: BondOptions;
  /** VXLAN `vni=N`: the VNI (0-16777215). */
  vni?: number;
  /** VXLAN `local=ADDR`: the local VTEP address (IPv6 in brackets on the command line: local=[fd00::1]). */
  local?: string;
  /** VXLAN `remote=ADDR,...`: remote VTEPs that get floods; repeating the option adds to the list. */
  remotes?: string[];
  /** VXLAN `group=ADDR`: a multicast group that gets every flood. */
  group?: string;
  /** VXLAN `port=N`: the UDP port (default 4789). */
  udpPort?: number;
  /** VXLAN `netns=NS`: the underlay's network namespace (where the UDP socket lives). */
  underlayNetns?: string;
  /** VXLAN `vni-map=VID:VNI,...`: VLANs carried as VNIs (vlan_tunnel), e.g. 59:10059,89:10089. */
  vniMap?: Map<number, number>;
  /** VXLAN `udp-csum=on|off`: outer UDP checksums over IPv4 (default on, as the kernel's vxlan; off also turns UDP GSO off). */
  udpCsum?: boolean;
}

/** The options that only VXLAN ports take: field and option name. */
export const VXLAN_OPTION_NAMES: readonly (readonly [keyof PortConfig, string])[] = [
  ["vni", "vni"],
  ["local", "local"],
  ["remotes", "remote"],
  ["group", "group"],
  ["udpPort", "port"],
  ["underlayNetns", "netns"],
  ["vniMap", "vni-map"],
  ["udpCsum", "udp-csum"],
];

export type PortOptionValue =
  | { kind: "switch" } // bare name, or name=on|off
  | { kind: "integer"; min: number; max: number }
  | { kind: "text"; placeholder: string };

export interface PortOptionSpec {
  /** The option's name on the command line and key in the config file. */
  name: string;
  /** Only bonds take it (`--bond`, `bond:` entries): the BondOptions field it sets. */
  bondField?: keyof BondOptions;
  value: PortOptionValue;
  /** One line for --help. */
  help: string;
  /**
   * Put the parsed value into `config`. `raw` is the text as given (for
   * options of kind "text", which parse their own value); throw a
   * PortOptionError for a value that is wrong.
   */
  apply(config: PortConfig, value: boolean | number | string, raw: string): void;
}

/** A port option that is wrong: the message names the option; `forPort` adds the port. */
export class PortOptionError extends TapbridgeError {
  constructor(message: string) {
    super("EINVAL", message);
    this.name = "PortOptionError";
  }
}

const switchOption = (name: string, field: keyof PortConfig, help: string): PortOptionSpec => ({
  name,
  value: { kind: "switch" },
  help,
  apply: (config, value) => {
    (config as Record<string, unknown>)[field] = value;
  },
});

const integerOption = (name: string, field: keyof PortConfig, min: number, max: number, help: string): PortOptionSpec => ({
  name,
  value: { kind: "integer", min, max },
  help,
  apply: (config, value) => {
    (config as Record<string, unknown>)[field] = value;
  },
});

/** A VLAN ID option; a port has one PVID, so these may not repeat. */
const vidOption = (name: "access" | "native" | "pvid", help: string): PortOptionSpec => ({
  name,
  value: { kind: "text", placeholder: "VID" },
  help,
  apply: (config, _value, raw) => {
    const vid = checkVid(raw, `option "${name}=${raw}"`);
    if (config[name] !== undefined) throw new PortOptionError(`option "${name}" is given twice (${name}=${config[name]} and ${name}=${raw})`);
    config[name] = vid;
  },
});

/** A list of VLAN IDs ("59,89,100-110"); repeating the option adds to the list. */
const vidListOption = (name: "trunk" | "vlans" | "untagged", help: string): PortOptionSpec => ({
  name,
  value: { kind: "text", placeholder: "LIST" },
  help,
  apply: (config, _value, raw) => {
    const vids = parseVidList(raw, `option "${name}=${raw}"`);
    config[name] = [...new Set([...(config[name] ?? []), ...vids])].sort((a, b) => a - b);
  },
});

/** A bond option: `parse` turns the raw text (or the checked integer) into the BondOptions field. */
function bondOption(name: string, field: keyof BondOptions, value: PortOptionValue, help: string, parse: (raw: string, value: boolean | number | string) => unknown = (_raw, v) => v): PortOptionSpec {
  return {
    name,
    bondField: field,
    value,
    help,
    apply: (config, v, raw) => {
      let parsed: unknown;
      try {
        parsed = parse(raw, v);
      } catch (error) {
        throw new PortOptionError(`option "${name}=${raw}": ${(error as Error).message}`);
      }
      (config.bond ??= {})[field] = parsed as never;
    },
  };
}

const BOND_OPTIONS: PortOptionSpec[] = [
  bondOption("mode", "mode", { kind: "text", placeholder: "MODE" }, "active-backup (default), balance-slb, or lacp (802.3ad)", (raw) => parseBondMode(raw)),
  bondOption("primary", "primary", { kind: "text", placeholder: "IFNAME" }, "the member that carries traffic whenever it is up", (raw) => raw),
  bondOption("miimon", "miimon", { kind: "integer", min: 0, max: MAX_INTERVAL_MS }, "ms between polls of the members' links (default 100; 0: link notifications only)"),
  bondOption("updelay", "updelay", { kind: "integer", min: 0, max: MAX_DELAY_MS }, "ms a member's link must stay up before it is used (default 0)"),
  bondOption("downdelay", "downdelay", { kind: "integer", min: 0, max: MAX_DELAY_MS }, "ms a member's link may be down before it is dropped (default 0: at once)"),
  bondOption("arp-targets", "arpTargets", { kind: "text", placeholder: "IP,IP" }, "ARP monitor: IPv4 addresses probed through every member", (raw) => {
    const list = raw.split(",").map((t) => t.trim());
    for (const t of list) parseIpv4(t, "address");
    return list;
  }),
  bondOption("arp-interval", "arpInterval", { kind: "integer", min: 0, max: MAX_INTERVAL_MS }, "ARP monitor: ms between probes (default 1000 with arp-targets)"),
  bondOption("arp-source", "arpSource", { kind: "text", placeholder: "IP" }, "ARP monitor: sender address of the probes (default 0.0.0.0)", (raw) => {
    parseIpv4(raw, "address");
    return raw;
  }),
  bondOption("lacp-rate", "lacpRate", { kind: "text", placeholder: "fast|slow" }, "LACP: partner sends every 1 s (fast) or 30 s (slow, default)", (raw) => {
    if (!(LACP_RATES as readonly string[]).includes(raw)) throw new Error(`use fast or slow`);
    return raw as LacpRate;
  }),
  bondOption("lacp-active", "lacpActive", { kind: "switch" }, "LACP: send LACPDUs unasked (default on; off: passive)"),
  bondOption("lacp-fallback", "lacpFallback", { kind: "switch" }, "LACP: active-backup when the partner speaks no LACP (default on)"),
  bondOption("lacp-system-priority", "lacpSystemPriority", { kind: "integer", min: 1, max: 65535 }, "LACP system priority (default 65535)"),
  bondOption("lacp-key", "lacpKey", { kind: "integer", min: 1, max: 65535 }, "LACP aggregation key (default: the bond's port number)"),
  bondOption("rebalance-interval", "rebalanceInterval", { kind: "integer", min: 0, max: MAX_INTERVAL_MS }, "balance-slb, lacp: ms between load rebalances (default 10000; 0: never)"),
];
/** An IP address, IPv6 in brackets or not ("[fd00::1]" → "fd00::1"). */
function ipAddress(raw: string, what: string): string {
  const text = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  if (isIP(text) === 0) throw new PortOptionError(`${what}: "${raw}" is not an IPv4 or IPv6 address (IPv6 in brackets: [fd00::1])`);
  return text;
}

/** VXLAN: `vni-map=59:10059,89:10089` (VID:VNI pairs; repeating adds). */
const vniMapOption: PortOptionSpec = {
  name: "vni-map",
  value: { kind: "text", placeholder: "VID:VNI,..." },
  help: "VXLAN on a VLAN-aware bridge: carry VLAN VID as VNI, e.g. 59:10059,89:10089",
  apply: (config, _value, raw) => {
    const map = config.vniMap ?? new Map<number, number>();
    for (const pair of raw.split(",")) {
      const m = /^(\d+)[:=/](\d+)$/.exec(pair.trim());
      if (!m) throw new PortOptionError(`option "vni-map=${raw}": "${pair}" is not VID:VNI (e.g. 59:10059)`);
      const vid = checkVid(Number(m[1]), `option "vni-map=${raw}"`);
      const vni = Number(m[2]);
      if (vni < 1 || vni > 0xffffff) throw new PortOptionError(`option "vni-map=${raw}": VNI ${m[2]} is out of range: use 1 to 16777215`);
      if (map.has(vid) && map.get(vid) !== vni) throw new PortOptionError(`option "vni-map=${raw}": VLAN ${vid} is mapped twice`);
      map.set(vid, vni);
    }
    config.vniMap = map;
  },
};

/** The table. Order is the order of --help. */
export const PORT_OPTIONS: PortOptionSpec[] = [
  switchOption("learning", "learning", "learn source MACs on this port (default on)"),
  switchOption("flood", "flood", "flood unknown unicast to this port (default on)"),
  switchOption("mcast-flood", "mcastFlood", "flood multicast to this port (default on)"),
  switchOption("bcast-flood", "bcastFlood", "flood broadcast to this port (default on)"),
  switchOption("hairpin", "hairpin", "let frames leave through the port they came in on (default off)"),
  switchOption("isolated", "isolated", "talk only to ports that are not isolated (default off)"),
  integerOption("max-learned", "maxLearned", 0, 16_777_216, "most MACs learned on this port; further learns are refused and counted (default 0: no limit)"),
  integerOption("storm-broadcast", "stormBroadcast", 0, STORM_MAX_RATE, "storm control: broadcast frames/s this port may flood (default 0: no limit)"),
  integerOption("storm-multicast", "stormMulticast", 0, STORM_MAX_RATE, "storm control: multicast frames/s this port may flood (default 0: no limit)"),
  integerOption("storm-unknown-unicast", "stormUnknownUnicast", 0, STORM_MAX_RATE, "storm control: unknown-unicast frames/s this port may flood (default 0: no limit)"),
  switchOption("reattach", "reattach", "--attach: re-attach when a deleted interface of that name returns (default on)"),
  vidOption("access", "access port of VLAN VID: untagged frames in and out (VID 1-4094)"),
  vidListOption("trunk", "trunk of these VLANs, tagged: e.g. 59,89,100-110"),
  vidOption("native", "the trunk's native VLAN: untagged frames in and out (needs trunk=)"),
  vidOption("pvid", "VLAN of untagged and priority-tagged frames (Linux: bridge vlan … pvid)"),
  vidListOption("vlans", "tagged member VLANs (Linux: bridge vlan add … vid N)"),
  vidListOption("untagged", "untagged member VLANs (Linux: bridge vlan add … untagged)"),
  integerOption("cost", "cost", 1, 200_000_000, "spanning tree path cost (STP up to 65535; default by link speed, TAP 100)"),
  integerOption("priority", "priority", 0, 255, "spanning tree port priority (default 128)"),
  switchOption("edge", "edge", "RSTP edge port: a host, not a bridge; forwards at once (default off)"),
  switchOption("bpdu-guard", "bpduGuard", "a BPDU received here disables the port (default off)"),
  switchOption("root-guard", "rootGuard", "never let this port become root port (default off)"),
  ...BOND_OPTIONS,
  integerOption("vni", "vni", 0, 0xffffff, "VXLAN: the VNI, 0-16777215"),
  {
    name: "local",
    value: { kind: "text", placeholder: "ADDR" },
    help: "VXLAN: the local VTEP address the UDP socket binds (IPv6 in brackets)",
    apply: (config, _value, raw) => {
      config.local = ipAddress(raw, `option "local"`);
    },
  },
  {
    name: "remote",
    value: { kind: "text", placeholder: "ADDR,..." },
    help: "VXLAN: remote VTEPs that get broadcast and unknown unicast (head-end replication)",
    apply: (config, _value, raw) => {
      const list = raw.split(",").map((r) => ipAddress(r.trim(), `option "remote"`));
      config.remotes = [...new Set([...(config.remotes ?? []), ...list])];
    },
  },
  {
    name: "group",
    value: { kind: "text", placeholder: "ADDR" },
    help: "VXLAN: a multicast group that gets broadcast and unknown unicast (joined on the underlay)",
    apply: (config, _value, raw) => {
      config.group = ipAddress(raw, `option "group"`);
    },
  },
  integerOption("port", "udpPort", 1, 65535, "VXLAN: the UDP port (default 4789)"),
  {
    name: "netns",
    value: { kind: "text", placeholder: "NS" },
    help: "VXLAN: the network namespace of the underlay (where the UDP socket is opened)",
    apply: (config, _value, raw) => {
      if (!/^[A-Za-z0-9_.-]+$/.test(raw) && !raw.startsWith("/")) throw new PortOptionError(`option "netns=${raw}": not a network namespace name`);
      config.underlayNetns = raw;
    },
  },
  vniMapOption,
  switchOption("udp-csum", "udpCsum", "VXLAN over IPv4: outer UDP checksums (default on; off: zero, and no UDP GSO)"),
];

const SWITCH_WORDS: Record<string, boolean> = { on: true, off: false, true: true, false: false, yes: true, no: false, "1": true, "0": false };

function findOption(name: string): PortOptionSpec | undefined {
  return PORT_OPTIONS.find((o) => o.name === name);
}

function knownNames(): string {
  return PORT_OPTIONS.map((o) => o.name).join(", ");
}

/** Parse one `name[=value]` into `config`. */
export function applyPortOption(config: PortConfig, text: string): void {
  const eq = text.indexOf("=");
  const name = eq < 0 ? text : text.slice(0, eq);
  const raw = eq < 0 ? undefined : text.slice(eq + 1);
  const spec = findOption(name);
  if (!spec) throw new PortOptionError(`unknown option "${name}" (known: ${knownNames()})`);
  applyValue(config, spec, raw);
}

/** Apply a value to an option by name — the config file path (values may already be typed). */
export function applyPortOptionValue(config: PortConfig, name: string, value: unknown): void {
  const spec = findOption(name);
  if (!spec) throw new PortOptionError(`unknown option "${name}" (known: ${knownNames()})`);
  if (spec.value.kind === "switch" && typeof value === "boolean") return spec.apply(config, value, String(value));
  if (spec.value.kind === "integer" && typeof value === "number") return applyValue(config, spec, String(value));
  if (Array.isArray(value)) return applyValue(config, spec, value.join(","));
  if (typeof value === "string" || typeof value === "number") return applyValue(config, spec, String(value));
  throw new PortOptionError(`option "${name}" cannot be ${JSON.stringify(value)}`);
}

function applyValue(config: PortConfig, spec: PortOptionSpec, raw: string | undefined): void {
  const v = spec.value;
  switch (v.kind) {
    case "switch": {
      if (raw === undefined) return spec.apply(config, true, "");
      const on = SWITCH_WORDS[raw.toLowerCase()];
      if (on === undefined) throw new PortOptionError(`option "${spec.name}" takes on or off, not "${raw}"`);
      return spec.apply(config, on, raw);
    }
    case "integer": {
      if (raw === undefined || raw === "") throw new PortOptionError(`option "${spec.name}" needs a value (${spec.name}=N, ${v.min} to ${v.max})`);
      const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < v.min || n > v.max) {
        throw new PortOptionError(`option "${spec.name}=${raw}" is out of range: use a whole number from ${v.min} to ${v.max}`);
      }
      return spec.apply(config, n, raw);
    }
    case "text": {
      if (raw === undefined || raw === "") throw new PortOptionError(`option "${spec.name}" needs a value (${spec.name}=${v.placeholder})`);
      return spec.apply(config, raw, raw);
    }
  }
}

export interface PortSpec {
  name: string;
  netns?: string;
  /** "name" or "name@netns", as ports are labelled. */
  label: string;
  config: PortConfig;
}

/** Checks that need every option of a port at once; rows register them. Each throws a PortOptionError. */
export const PORT_CONFIG_CHECKS: ((config: PortConfig) => void)[] = [
  // VLANs: native needs a trunk, access excludes trunk, one PVID at most.
  (config) => void resolvePortVlans(pickVlanSpec(config)),
];

/** Run the cross-option checks on a finished config. */
export function checkPortConfig(config: PortConfig): void {
  for (const check of PORT_CONFIG_CHECKS) check(config);
}

/**
 * Refuse bond options on a port that is not a bond (`kind` "tap", "attach",
 * or any other non-bond kind).
 */
export function checkPortKind(config: PortConfig, kind: string): void {
  if (kind !== "vxlan") {
    const vx = VXLAN_OPTION_NAMES.filter(([field]) => config[field] !== undefined).map(([, n]) => n);
    if (vx.length > 0) throw new PortOptionError(`option${vx.length > 1 ? "s" : ""} ${vx.map((n) => `"${n}"`).join(", ")} appl${vx.length > 1 ? "y" : "ies"} to VXLAN ports (--vxlan) only`);
  }
  if (kind === "bond" || config.bond === undefined) return;
  const names = BOND_OPTIONS.filter((o) => o.bondField! in config.bond!).map((o) => o.name);
  throw new PortOptionError(`option${names.length > 1 ? "s" : ""} ${names.map((n) => `"${n}"`).join(", ")} appl${names.length > 1 ? "y" : "ies"} to bonds (--bond) only`);
}

function parseOptions(label: string, options: string[], kind: string): PortConfig {
  const config: PortConfig = {};
  try {
    for (const option of options) {
      if (option === "") throw new PortOptionError(`empty option (two ':' in a row, or a trailing ':')`);
      applyPortOption(config, option);
    }
    checkPortConfig(config);
    checkPortKind(config, kind);
  } catch (error) {
    if (error instanceof TapbridgeError) throw new PortOptionError(`${kind === "bond" ? "bond" : "port"} ${label}: ${error.message}`);
    throw error;
  }
  return config;
}

/**
 * "vm1@ns1:access=59:hairpin" → { name: "vm1", netns: "ns1", config }.
 * Errors name the port and the option: `port vm1@ns1: option "access=0" is out of range …`.
 */
export function parsePortSpec(spec: string, kind: "port" | "vxlan" = "port"): PortSpec {
  const [head = "", ...options] = splitOptions(spec);
  const { name, netns } = parseIfnameAtNetns(head);
  const label = netns ? `${name}@${netns}` : name;
  const config = parseOptions(label, options, kind);
  return netns ? { name, netns, label, config } : { name, label, config };
}

export interface BondSpec {
  name: string;
  /** "eth1" or "eth1@ns", as given. */
  members: string[];
  config: PortConfig;
}

/**
 * "bond0=eth1,eth2@ns:mode=lacp:lacp-rate=fast:trunk=10,20" → { name, members, config }:
 * the same options as any port (VLANs, flags, STP) plus the bond options.
 */
export function parseBondSpec(spec: string): BondSpec {
  const [head = "", ...options] = spec.split(":");
  const eq = head.indexOf("=");
  if (eq < 0) throw new PortOptionError(`"${head}" names no members: write NAME=IFNAME,IFNAME (e.g. bond0=eth1,eth2)`);
  const name = head.slice(0, eq);
  if (!/^[^\s/:@%=,]{1,15}$/.test(name)) throw new PortOptionError(`"${name}" is not a valid bond name: use 1 to 15 characters without spaces, '/', ':', '@', '%', '=' or ','`);
  const members = head.slice(eq + 1).split(",").map((m) => m.trim());
  if (members.length === 0 || members.some((m) => m === "")) throw new PortOptionError(`bond ${name}: an empty member name (write NAME=IFNAME,IFNAME)`);
  if (members.length > MAX_MEMBERS) throw new PortOptionError(`bond ${name}: ${members.length} members, at most ${MAX_MEMBERS}`);
  for (const m of members) {
    try {
      parseIfnameAtNetns(m);
    } catch (error) {
      throw new PortOptionError(`bond ${name}: member ${(error as Error).message}`);
    }
  }
  return { name, members, config: parseOptions(name, options, "bond") };
}


/**
 * Split at ':' outside brackets, so that IPv6 addresses can be given as
 * [fd00::1]; a piece that starts with a digit continues the one before (no
 * option name does), so that vni-map=59:10059,89:10089 stays whole.
 */
function splitOptions(spec: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i];
    if (c === "[") depth++;
    else if (c === "]") depth = Math.max(0, depth - 1);
    else if (c === ":" && depth === 0) {
      push(spec.slice(start, i));
      start = i + 1;
    }
  }
  push(spec.slice(start));
  return out;

  function push(piece: string): void {
    if (out.length > 1 && /^\d/.test(piece)) out[out.length - 1] += ":" + piece;
    else out.push(piece);
  }
}

/** Lines for --help: the options every port takes, then those only bonds take. */
export function portOptionsHelp(): string {
  const line = (o: PortOptionSpec) => {
    const left = o.value.kind === "switch" ? `${o.name}[=on|off]` : o.value.kind === "integer" ? `${o.name}=N` : `${o.name}=${o.value.placeholder}`;
    return `  :${left.padEnd(26)} ${o.help}`;
  };
  return `${PORT_OPTIONS.filter((o) => !o.bondField).map(line).join("\n")}\n\nBond options (--bond only):\n${BOND_OPTIONS.map(line).join("\n")}`;
}
