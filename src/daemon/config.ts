/**
 * Reading the daemon's config file: YAML (the `yaml` package, which keeps
 * every node's source range), validated by the zod schema of
 * config-schema.ts, then normalized into DaemonConfig — the one shape the
 * daemon applies, diffs on reload and writes back with `tapbridge save`.
 *
 * Every error names the file, line and column, and the key path:
 *   tapbridge.yaml:7:9: bridges.br0.parameters.stp: expected true or false, not "maybe"
 * Checks that span entries (a port listed twice, a port in two bridges, a
 * path-cost for a port the bridge does not have) run after the schema and
 * are located the same way. Nothing here touches the system.
 */
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode, type Pair } from "yaml";
import type { z } from "zod";
import { applyPortOptionValue, checkPortConfig, checkPortKind, PORT_OPTIONS, type PortConfig } from "../config/port-options.js";
import type { FullPolicy } from "../core/fdb.js";
import { TapbridgeError } from "../errors.js";
import type { MacFlapOptions } from "../fdb-guard.js";
import type { LevelName } from "../log.js";
import { configSchema, HOST_PORT_VLAN_KEYS, type RawBridge, type RawPortEntry } from "./config-schema.js";
import type { HostPortConfig } from "./host-port.js";
import { checkNetworks, NETWORK_KEYS, normalizeNetwork, type NetworkConfig } from "./networks/config.js";

export type KeyPath = (string | number)[];

export interface PortEntry {
  kind: "tap" | "attach" | "bond" | "vxlan";
  name: string;
  /** Bonds: the member interfaces ("eth1", "eth1@ns"); `netns` is the namespace of those named without one. */
  members?: string[];
  netns?: string;
  /** "name" or "name@netns": how the port is known to the bridge and the CLI. */
  label: string;
  /** TAP only: keep the device when the daemon stops or dies (TUNSETPERSIST). */
  persistent: boolean;
  mtu?: number;
  mac?: string;
  /** Port options by their table name, as written ("hairpin": true, "access": 59). */
  options: Record<string, unknown>;
  /** The same options, parsed by the port option table. */
  config: PortConfig;
  /** Where the entry is in the file, for errors found later (e.g. the interface is missing). */
  where?: KeyPath;
}

export interface BridgeParams {
  stp: boolean;
  /** Which spanning tree runs when stp is on: 802.1D ("stp", default) or 802.1w ("rstp"). */
  stpProtocol: "stp" | "rstp";
  /** Bridge priority, 0..65535 (default 32768). */
  priority: number;
  /** Seconds. */
  forwardDelay: number;
  helloTime: number;
  maxAge: number;
  ageingTime: number;
}

export const DEFAULT_PARAMS: BridgeParams = { stp: false, stpProtocol: "stp", priority: 32768, forwardDelay: 15, helloTime: 2, maxAge: 20, ageingTime: 300 };

export interface BridgeConfig {
  name: string;
  params: BridgeParams;
  /** STP path cost and port priority by port label (netplan's per-interface maps). */
  pathCost: Record<string, number>;
  portPriority: Record<string, number>;
  /** Interface name patterns attached automatically when such a link appears. */
  attachPatterns: string[];
  ports: PortEntry[];
  fdbMaxEntries?: number;
  fdbMaxLearned?: number;
  /** fdb-full-policy (absent: the bridge's default, evict-from-largest-port). */
  fdbFullPolicy?: FullPolicy;
  /** mac-flap-* keys given (absent fields: the defaults). */
  macFlap?: MacFlapOptions;
  groupFwdMask?: number;
  vlanFiltering?: boolean;
  vlanProtocol?: "802.1q" | "802.1ad";
  /** The bridge's own interface in the host (`host-port:`), when it has one of its own accord (a network may imply one). */
  hostPort?: HostPortConfig;
  /** Set on a bridge a network created because `bridges:` does not list it: the network's to remove, never written by save. */
  createdBy?: string;
  /** Linux default_pvid (absent: 1). */
  defaultPvid?: number;
  where?: KeyPath;
}

export interface DaemonConfig {
  socket?: string;
  /** Group (name or gid) whose members may use the control socket besides root. */
  group?: string | number;
  logLevel?: LevelName;
  /** HOST:PORT for Prometheus metrics; absent = off. */
  metricsListen?: string;
  bridges: BridgeConfig[];
  /** `networks:` — host-only, NAT, routed, bridged and isolated networks (daemon/networks/). */
  networks?: NetworkConfig[];
}

/** A config that cannot be used; `message` holds one line per problem, each located. */
export class ConfigError extends TapbridgeError {
  constructor(readonly problems: string[]) {
    super("ECONFIG", problems.join("\n"));
    this.name = "ConfigError";
  }
}

/** Finds line:column of key paths in the parsed document. */
export class ConfigSource {
  constructor(
    readonly file: string,
    private readonly doc?: Document,
    private readonly lines?: LineCounter,
  ) {}

  /** "file:line:col: a.b[2].c: " — the position of the value at `path` (or of its key, `atKey`). */
  where(path: KeyPath, atKey = false): string {
    const pos = this.position(path, atKey);
    const dotted = formatPath(path);
    return `${this.file}${pos ? `:${pos.line}:${pos.col}` : ""}: ${dotted ? dotted + ": " : ""}`;
  }

  problem(path: KeyPath, sentence: string, atKey = false): string {
    return this.where(path, atKey) + sentence;
  }

  private position(path: KeyPath, atKey: boolean): { line: number; col: number } | undefined {
    if (!this.doc || !this.lines) return undefined;
    let node: unknown = this.doc.contents;
    let lastPair: Pair | undefined;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => scalarValue(p.key) === String(key));
        if (!pair) break;
        lastPair = pair;
        node = pair.value;
      } else if (isSeq(node) && typeof key === "number") {
        lastPair = undefined;
        node = node.items[key];
      } else break;
    }
    const target = (atKey && lastPair ? lastPair.key : node ?? lastPair?.key) as YamlNode | undefined;
    const offset = target?.range?.[0];
    return offset === undefined ? undefined : this.lines.linePos(offset);
  }
}

function scalarValue(node: unknown): string | undefined {
  const v = (node as { value?: unknown } | null)?.value;
  return v === undefined || v === null ? undefined : String(v);
}

export function formatPath(path: KeyPath): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

/** Parse and validate a config file's text. Throws ConfigError. */
export function parseConfig(text: string, file = "config"): { config: DaemonConfig; source: ConfigSource } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const source = new ConfigSource(file, doc, lines);
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
        return `${file}${pos ? `:${pos.line}:${pos.col}` : ""}: ${e.message.split("\n")[0]}`;
      }),
    );
  }
  const raw = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => describeIssue(source, issue, raw)));
  return { config: normalize(result.data, source), source };
}

function describeIssue(source: ConfigSource, issue: z.core.$ZodIssue, raw: unknown): string {
  const path = issue.path as KeyPath;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => source.problem([...path, key], `unknown key "${key}"${knownKeysHint(path)}`, true)).join("\n");
    case "invalid_type": {
      const got = valueAt(raw, path);
      return source.problem(path, `expected ${article(issue.expected)}, not ${got}`);
    }
    case "too_small":
    case "too_big": {
      const got = valueAt(raw, path);
      const n = issue.code === "too_small" ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
      return source.problem(path, `${got} is out of range: must be ${n}`);
    }
    case "invalid_value":
      return source.problem(path, `${valueAt(raw, path)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`);
    case "invalid_union":
      return source.problem(path, `${valueAt(raw, path)} is not allowed here: ${unionHint(issue)}`);
    default:
      return source.problem(path, issue.message);
  }
}

/** The value at `path`, quoted for a message. */
function valueAt(raw: unknown, path: KeyPath): string {
  let v: unknown = raw;
  for (const k of path) v = (v as Record<string | number, unknown> | undefined)?.[k];
  return v === undefined ? "nothing" : JSON.stringify(v);
}

function article(expected: string): string {
  const names: Record<string, string> = { boolean: "true or false", number: "a number", string: "a string", array: "a list", object: "a map of keys", record: "a map of keys", int: "a whole number" };
  return names[expected] ?? expected;
}

function unionHint(issue: z.core.$ZodIssue & { code: "invalid_union" }): string {
  const expected = new Set<string>();
  for (const branch of issue.errors) for (const inner of branch) if (inner.code === "invalid_type") expected.add(article(inner.expected));
  return expected.size ? `expected ${[...expected].join(" or ")}` : issue.message;
}

function knownKeysHint(path: KeyPath): string {
  const last = path[path.length - 1];
  const depth = path.length;
  if (depth === 0) return " (known: control, log, metrics, bridges, networks)";
  if (depth === 2 && path[0] === "bridges")
    return " (known: interfaces, ports, attach-patterns, parameters, fdb-max-entries, fdb-max-learned, fdb-full-policy, mac-flap-moves, mac-flap-window, mac-flap-action, mac-flap-recover, group-fwd-mask, vlan-filtering, vlan-protocol, default-pvid, host-port)";
  if (depth === 2 && path[0] === "networks") return ` (known: ${NETWORK_KEYS})`;
  if (depth === 3 && path[0] === "bridges" && last === "host-port") return ` (known: netns, mac, mtu, ${HOST_PORT_VLAN_KEYS.join(", ")})`;
  if (last === "parameters") return " (known: stp, stp-protocol, priority, forward-delay, hello-time, max-age, ageing-time, path-cost, port-priority)";
  if (typeof last === "number" && path[path.length - 2] === "ports")
    return ` (known: tap, attach, netns, persistent, mtu, mac, bond, members, ${PORT_OPTIONS.map((o) => o.name).join(", ")})`;
  return "";
}

function normalize(raw: z.infer<typeof configSchema>, source: ConfigSource): DaemonConfig {
  const problems: string[] = [];
  const bridges: BridgeConfig[] = [];
  const owner = new Map<string, { bridge: string; path: KeyPath }>();
  for (const [name, rawBridge] of Object.entries(raw.bridges ?? {})) {
    const bridge = normalizeBridge(name, rawBridge ?? {}, source, problems);
    for (const port of bridge.ports) {
      const seen = owner.get(port.label);
      const path = port.where ?? ["bridges", name];
      if (seen && seen.bridge === name) problems.push(source.problem(path, `port ${port.label} is listed twice in bridge ${name} (first at line ${lineOf(source, seen.path)})`));
      else if (seen) problems.push(source.problem(path, `port ${port.label} is already a port of bridge ${seen.bridge}: an interface belongs to one bridge`));
      else owner.set(port.label, { bridge: name, path });
      for (const member of port.members ?? []) {
        const label = member.includes("@") || !port.netns ? member : `${member}@${port.netns}`;
        const taken = owner.get(label);
        if (taken) problems.push(source.problem([...path, "members"], `interface ${label} is already ${taken.bridge === name ? "a port of this bridge" : `a port of bridge ${taken.bridge}`}: a bond member belongs to its bond only`));
        else owner.set(label, { bridge: name, path });
      }
    }
    bridges.push(bridge);
  }
  const networks: NetworkConfig[] = [];
  const problem = (path: KeyPath, sentence: string, atKey = false) => problems.push(source.problem(path, sentence, atKey));
  for (const [name, rawNetwork] of Object.entries(raw.networks ?? {})) networks.push(normalizeNetwork(name, rawNetwork, ["networks", name], problem));
  checkNetworks(networks, bridges, problem);
  if (problems.length) throw new ConfigError(problems);
  return {
    ...(raw.control?.socket ? { socket: raw.control.socket } : {}),
    ...(raw.control?.group !== undefined ? { group: raw.control.group } : {}),
    ...(raw.log?.level ? { logLevel: raw.log.level as LevelName } : {}),
    ...(raw.metrics?.listen ? { metricsListen: raw.metrics.listen } : {}),
    bridges,
    networks,
  };
}

function lineOf(source: ConfigSource, path: KeyPath): string {
  return /:(\d+):\d+:/.exec(source.where(path))?.[1] ?? "?";
}

function normalizeBridge(name: string, raw: RawBridge, source: ConfigSource, problems: string[]): BridgeConfig {
  const at: KeyPath = ["bridges", name];
  const p = raw.parameters ?? {};
  const params: BridgeParams = {
    stp: p.stp ?? DEFAULT_PARAMS.stp,
    stpProtocol: p["stp-protocol"] ?? DEFAULT_PARAMS.stpProtocol,
    priority: p.priority ?? DEFAULT_PARAMS.priority,
    forwardDelay: p["forward-delay"] ?? DEFAULT_PARAMS.forwardDelay,
    helloTime: p["hello-time"] ?? DEFAULT_PARAMS.helloTime,
    maxAge: p["max-age"] ?? DEFAULT_PARAMS.maxAge,
    ageingTime: p["ageing-time"] ?? DEFAULT_PARAMS.ageingTime,
  };
  // 802.1D 17.14: 2 × (forward delay − 1) ≥ max age ≥ 2 × (hello time + 1).
  if (params.stp && (2 * (params.forwardDelay - 1) < params.maxAge || params.maxAge < 2 * (params.helloTime + 1))) {
    problems.push(source.problem([...at, "parameters"], `STP timers must satisfy 2 × (forward-delay − 1) ≥ max-age ≥ 2 × (hello-time + 1) (802.1D 17.14)`, true));
  }
  const ports: PortEntry[] = [];
  (raw.interfaces ?? []).forEach((text, i) => {
    const atNs = text.indexOf("@");
    const portName = atNs < 0 ? text : text.slice(0, atNs);
    const netns = atNs < 0 ? undefined : text.slice(atNs + 1);
    ports.push({ kind: "attach", name: portName, ...(netns ? { netns } : {}), label: text, persistent: false, options: {}, config: {}, where: [...at, "interfaces", i] });
  });
  (raw.ports ?? []).forEach((entry, i) => {
    const port = portEntry(entry, [...at, "ports", i], source, problems);
    if (port) ports.push(port);
  });
  const labels = new Set(ports.map((q) => q.label));
  for (const key of ["path-cost", "port-priority"] as const) {
    for (const label of Object.keys(p[key] ?? {})) {
      if (!labels.has(label)) problems.push(source.problem([...at, "parameters", key, label], `bridge ${name} has no port ${label}`, true));
    }
  }
  return {
    name,
    params,
    pathCost: { ...(p["path-cost"] ?? {}) },
    portPriority: { ...(p["port-priority"] ?? {}) },
    attachPatterns: raw["attach-patterns"] ?? [],
    ports,
    ...(raw["fdb-max-entries"] !== undefined ? { fdbMaxEntries: raw["fdb-max-entries"] } : {}),
    ...(raw["fdb-max-learned"] !== undefined ? { fdbMaxLearned: raw["fdb-max-learned"] } : {}),
    ...(raw["fdb-full-policy"] !== undefined ? { fdbFullPolicy: raw["fdb-full-policy"] } : {}),
    ...macFlapOf(raw),
    ...(raw["group-fwd-mask"] !== undefined ? { groupFwdMask: raw["group-fwd-mask"] } : {}),
    ...(raw["vlan-filtering"] !== undefined ? { vlanFiltering: raw["vlan-filtering"] } : {}),
    ...(raw["vlan-protocol"] !== undefined ? { vlanProtocol: raw["vlan-protocol"] } : {}),
    ...(raw["host-port"] !== undefined && raw["host-port"] !== false ? { hostPort: hostPortConfig(raw["host-port"], [...at, "host-port"], source, problems) } : {}),
    ...(raw["default-pvid"] !== undefined ? { defaultPvid: raw["default-pvid"] } : {}),
    where: at,
  };
}

/** The mac-flap-* keys given, as MacFlapOptions (nothing when none is given). */
function macFlapOf(raw: RawBridge): { macFlap?: MacFlapOptions } {
  const flap: MacFlapOptions = {
    ...(raw["mac-flap-moves"] !== undefined ? { moves: raw["mac-flap-moves"] } : {}),
    ...(raw["mac-flap-window"] !== undefined ? { windowSeconds: raw["mac-flap-window"] } : {}),
    ...(raw["mac-flap-action"] !== undefined ? { action: raw["mac-flap-action"] } : {}),
    ...(raw["mac-flap-recover"] !== undefined ? { recoverSeconds: raw["mac-flap-recover"] } : {}),
  };
  return Object.keys(flap).length ? { macFlap: flap } : {};
}

function hostPortConfig(raw: NonNullable<RawBridge["host-port"]>, at: KeyPath, source: ConfigSource, problems: string[]): HostPortConfig {
  const o = raw === true ? {} : (raw as Exclude<typeof raw, boolean>);
  const options: Record<string, unknown> = {};
  const config: PortConfig = {};
  for (const key of HOST_PORT_VLAN_KEYS) {
    const value = (o as Record<string, unknown>)[key];
    if (value === undefined) continue;
    try {
      applyPortOptionValue(config, key, value);
      options[key] = value;
    } catch (error) {
      problems.push(source.problem([...at, key], (error as Error).message));
    }
  }
  try {
    checkPortConfig(config);
  } catch (error) {
    problems.push(source.problem(at, `host port: ${(error as Error).message}`));
  }
  return { ...(o.netns ? { netns: o.netns } : {}), mac: o.mac ?? "stable", ...(o.mtu !== undefined ? { mtu: o.mtu } : {}), options, config };
}

const PORT_KEYS = new Set(["tap", "attach", "bond", "vxlan", "members", "netns", "persistent", "mtu", "mac"]);

function portEntry(raw: RawPortEntry, at: KeyPath, source: ConfigSource, problems: string[]): PortEntry | undefined {
  const kind = raw.tap !== undefined ? "tap" : raw.bond !== undefined ? "bond" : raw.vxlan !== undefined ? "vxlan" : "attach";
  const name = (raw.tap ?? raw.attach ?? raw.bond ?? raw.vxlan)!;
  // A bond is no device: its name is the port's label; `netns` is where its members are (a VXLAN port's: its underlay).
  const label = raw.netns && kind !== "bond" && kind !== "vxlan" ? `${name}@${raw.netns}` : name;
  const options: Record<string, unknown> = {};
  const config: PortConfig = {};
  for (const [key, value] of Object.entries(raw)) {
    if (PORT_KEYS.has(key) || value === undefined) continue;
    const v = value === "on" ? true : value === "off" ? false : value;
    try {
      applyPortOptionValue(config, key, v);
      options[key] = v;
    } catch (error) {
      problems.push(source.problem([...at, key], (error as Error).message));
    }
  }
  try {
    checkPortConfig(config);
    checkPortKind(config, kind);
  } catch (error) {
    problems.push(source.problem(at, `port ${label}: ${(error as Error).message}`));
  }
  return {
    kind,
    name,
    ...(raw.members ? { members: [...raw.members] } : {}),
    ...(raw.netns ? { netns: raw.netns } : {}),
    label,
    persistent: raw.persistent ?? false,
    ...(raw.mtu !== undefined ? { mtu: raw.mtu } : {}),
    ...(raw.mac !== undefined ? { mac: raw.mac } : {}),
    options,
    config,
    where: at,
  };
}

/** Build a PortEntry from the command line's `NAME[@NETNS]` and option map (addif, auto-attach). */
export function portEntryFromOptions(kind: "tap" | "attach", label: string, options: Record<string, unknown>, persistent = false): PortEntry {
  const at = label.indexOf("@");
  const name = at < 0 ? label : label.slice(0, at);
  const netns = at < 0 ? undefined : label.slice(at + 1);
  const config: PortConfig = {};
  const typed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    applyPortOptionValue(config, key, value);
    typed[key] = typedValue(key, value);
  }
  checkPortConfig(config);
  checkPortKind(config, kind);
  return { kind, name, ...(netns ? { netns } : {}), label, persistent, options: typed, config };
}

const SWITCH_WORDS: Record<string, boolean> = { on: true, off: false, true: true, false: false, yes: true, no: false, "1": true, "0": false };

/** A command-line value as the config file would hold it: switches as booleans, integers as numbers. */
function typedValue(key: string, value: unknown): unknown {
  const kind = PORT_OPTIONS.find((o) => o.name === key)?.value.kind;
  if (typeof value !== "string") return value;
  if (kind === "switch") return SWITCH_WORDS[value.toLowerCase()] ?? value;
  // Integers, and text that is one number (access=59), read best as numbers in the saved YAML.
  if ((kind === "integer" || kind === "text") && /^-?\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  return value;
}
