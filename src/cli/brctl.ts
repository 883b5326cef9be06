/**
 * brctl's verbs, over the control socket: same arguments, same output, same
 * silence on success, so scripts written for brctl run unchanged with
 * `tapbridge` in its place.
 */
import { TapbridgeError } from "../errors.js";
import type { MacRow, ShowBridge, StpBridgeView } from "../daemon/views.js";
import { helpFor, parseArgs, UsageError, type FlagSpec, type Parsed } from "./args.js";
import { formatShow, formatShowmacs, formatShowstp } from "./brctl-layout.js";
import { call, CLIENT_FLAGS, socketPath } from "./client.js";

type Run = (socket: string, args: string[], flags: Parsed) => Promise<string | void>;

interface BrctlVerb {
  args: string;
  help: string;
  /** Positional count: exact, or [min, max]. */
  count: number | [number, number];
  flags?: Record<string, FlagSpec>;
  run: Run;
}

const JSON_FLAG: Record<string, FlagSpec> = { json: { type: "boolean", short: "j", help: "print JSON instead of brctl's layout" } };

function onOff(word: string, what: string): boolean {
  if (word === "on" || word === "yes" || word === "1") return true;
  if (word === "off" || word === "no" || word === "0") return false;
  throw new UsageError(`${what} takes on or off, not "${word}"`);
}

function number(word: string, what: string): number {
  const n = Number(word);
  if (word.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${what} must be a number, not "${word}"`);
  return n;
}

const json = (value: unknown) => JSON.stringify(value) + "\n";

const HOST_PORT_FLAGS: Record<string, FlagSpec> = {
  "host-port": { type: "boolean", help: "give the bridge its own interface in the host (a TAP named like the bridge)" },
  "host-mac": { type: "string", value: "MAC", help: "its MAC: an address, stable (default: from the machine id and the name) or lowest-port (Linux's rule)" },
  "host-netns": { type: "string", value: "NETNS", help: "the namespace it lives in (default: the daemon's)" },
};

function hostPortParam(flags: Parsed): true | { mac?: string; netns?: string } | undefined {
  const mac = flags["host-mac"] as string | undefined;
  const netns = flags["host-netns"] as string | undefined;
  if (!flags["host-port"]) {
    if (mac !== undefined || netns !== undefined) throw new UsageError("--host-mac and --host-netns go with --host-port");
    return undefined;
  }
  return mac === undefined && netns === undefined ? true : { ...(mac !== undefined ? { mac } : {}), ...(netns !== undefined ? { netns } : {}) };
}

const simple =
  (method: string, build: (a: string[]) => Record<string, unknown>): Run =>
  async (socket, a) => {
    await call(socket, method, build(a));
  };

export const BRCTL_VERBS: Record<string, BrctlVerb> = {
  show: {
    args: "[BRIDGE]...",
    help: "bridges, their ids, STP and interfaces",
    count: [0, 64],
    flags: JSON_FLAG,
    run: async (socket, a, flags) => {
      const all = await call<ShowBridge[]>(socket, "show");
      const missing = a.filter((n) => !all.some((b) => b.name === n));
      if (missing.length) throw new TapbridgeError("ENOENT", `bridge ${missing[0]} does not exist!`);
      const list = a.length ? all.filter((b) => a.includes(b.name)) : all;
      return flags.json ? json(list) : formatShow(list);
    },
  },
  showmacs: {
    args: "BRIDGE",
    help: "the MAC table",
    count: 1,
    flags: JSON_FLAG,
    run: async (socket, a, flags) => {
      const rows = await call<MacRow[]>(socket, "showmacs", { bridge: a[0] });
      return flags.json ? json(rows) : formatShowmacs(rows);
    },
  },
  showstp: {
    args: "BRIDGE",
    help: "spanning tree state",
    count: 1,
    flags: JSON_FLAG,
    run: async (socket, a, flags) => {
      const view = await call<StpBridgeView>(socket, "showstp", { bridge: a[0] });
      return flags.json ? json(view) : formatShowstp(view);
    },
  },
  addbr: {
    args: "BRIDGE [--host-port [--host-mac MAC|stable|lowest-port] [--host-netns NETNS]]",
    help: "create a bridge; --host-port also gives it its interface in the host, named like it, as Linux's bridge device",
    count: 1,
    flags: HOST_PORT_FLAGS,
    run: async (socket, a, flags) => {
      const host = hostPortParam(flags);
      await call(socket, "addbr", { bridge: a[0], ...(host ? { host_port: host } : {}) });
    },
  },
  delbr: { args: "BRIDGE", help: "delete a bridge", count: 1, run: simple("delbr", (a) => ({ bridge: a[0] })) },
  addif: {
    args: "BRIDGE IFNAME[@NETNS][:OPT]...",
    help: "attach interfaces (AF_PACKET), or create TAPs with --tap",
    count: [2, 64],
    flags: {
      tap: { type: "boolean", help: "create (or open) TAP devices of these names instead of attaching interfaces" },
      persistent: { type: "boolean", help: "with --tap: keep the TAPs across daemon restarts (TUNSETPERSIST)" },
    },
    run: async (socket, a, flags) => {
      for (const port of a.slice(1)) await call(socket, "addif", { bridge: a[0], port, ...(flags.tap ? { tap: true } : {}), ...(flags.persistent ? { persistent: true } : {}) });
    },
  },
  delif: {
    args: "BRIDGE IFNAME...",
    help: "detach interfaces",
    count: [2, 64],
    run: async (socket, a) => {
      for (const port of a.slice(1)) await call(socket, "delif", { bridge: a[0], port });
    },
  },
  setageing: { args: "BRIDGE SECONDS", help: "FDB ageing time (0: never learn)", count: 2, run: simple("setageing", (a) => ({ bridge: a[0], seconds: number(a[1]!, "the ageing time") })) },
  stp: { args: "BRIDGE on|off", help: "spanning tree on or off", count: 2, run: simple("stp", (a) => ({ bridge: a[0], on: onOff(a[1]!, "stp") })) },
  setbridgeprio: { args: "BRIDGE PRIORITY", help: "bridge priority (0 to 65535)", count: 2, run: simple("setbridgeprio", (a) => ({ bridge: a[0], priority: number(a[1]!, "the priority") })) },
  setfd: { args: "BRIDGE SECONDS", help: "forward delay (2 to 30)", count: 2, run: simple("setfd", (a) => ({ bridge: a[0], seconds: number(a[1]!, "the forward delay") })) },
  sethello: { args: "BRIDGE SECONDS", help: "hello time (1 to 10)", count: 2, run: simple("sethello", (a) => ({ bridge: a[0], seconds: number(a[1]!, "the hello time") })) },
  setmaxage: { args: "BRIDGE SECONDS", help: "max age (6 to 40)", count: 2, run: simple("setmaxage", (a) => ({ bridge: a[0], seconds: number(a[1]!, "the max age") })) },
  setpathcost: { args: "BRIDGE PORT COST", help: "STP path cost of a port", count: 3, run: simple("setpathcost", (a) => ({ bridge: a[0], port: a[1], cost: number(a[2]!, "the path cost") })) },
  setportprio: { args: "BRIDGE PORT PRIORITY", help: "STP priority of a port (0 to 63)", count: 3, run: simple("setportprio", (a) => ({ bridge: a[0], port: a[1], priority: number(a[2]!, "the port priority") })) },
  hairpin: { args: "BRIDGE PORT on|off", help: "hairpin mode of a port", count: 3, run: simple("hairpin", (a) => ({ bridge: a[0], port: a[1], on: onOff(a[2]!, "hairpin") })) },
  "host-port": {
    args: "BRIDGE add|del [--host-mac MAC] [--host-netns NETNS]",
    help: "give a bridge its interface in the host, or take it away (not brctl's: Linux's bridge always has one)",
    count: 2,
    flags: { "host-mac": HOST_PORT_FLAGS["host-mac"]!, "host-netns": HOST_PORT_FLAGS["host-netns"]! },
    run: async (socket, a, flags) => {
      if (a[1] === "del") return void (await call(socket, "hostport.del", { bridge: a[0] }));
      if (a[1] !== "add") throw new UsageError(`host-port takes add or del, not "${a[1]}"`);
      await call(socket, "hostport.add", { bridge: a[0], host_port: hostPortParam({ ...flags, "host-port": true })! });
    },
  },
};

export async function brctlCommand(verb: string, argv: string[]): Promise<number> {
  const spec = BRCTL_VERBS[verb]!;
  const specs = { ...CLIENT_FLAGS, ...(spec.flags ?? {}) };
  const { flags, positionals } = parseArgs(argv, specs, verb);
  if (flags.help) {
    process.stdout.write(helpFor(`Usage: tapbridge ${verb} ${spec.args}\n\n${spec.help} (as brctl ${verb})`, specs));
    return 0;
  }
  const [min, max] = typeof spec.count === "number" ? [spec.count, spec.count] : spec.count;
  if (positionals.length < min || positionals.length > max) throw new UsageError(`usage: tapbridge ${verb} ${spec.args}`);
  const out = await spec.run(socketPath(flags), positionals, flags);
  if (out) process.stdout.write(out);
  return 0;
}
