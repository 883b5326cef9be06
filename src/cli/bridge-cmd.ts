/**
 * iproute2 `bridge` verbs over the control socket: `fdb`, `link`, `vlan`,
 * with bridge's keyword arguments (`dev IF`, `vlan N`, `learning on`…) and
 * its layouts; `-j` prints the keys `bridge -j` prints, `-d` the details.
 */
import { TapbridgeError } from "../errors.js";
import type { FdbRow, LinkRow, VlanStatsRow, VlanTunnelRow } from "../daemon/views.js";
import { parseArgs, UsageError, type FlagSpec } from "./args.js";
import { formatFdb, formatLink, formatVlan, formatVlanStats, formatVlanTunnels, linkJson, type VlanRow } from "./bridge-layout.js";
import { call, CLIENT_FLAGS, socketPath } from "./client.js";

const FLAGS: Record<string, FlagSpec> = {
  ...CLIENT_FLAGS,
  json: { type: "boolean", short: "j", help: "JSON, with the keys of bridge -j" },
  details: { type: "boolean", short: "d", help: "more detail (link show)" },
  statistics: { type: "boolean", short: "s", help: "per-VLAN packet and byte counters (vlan show)" },
};

const USAGE: Record<string, string> = {
  fdb: `Usage: tapbridge fdb show [br BRIDGE] [brport PORT] [vlan VID] [-j]
       tapbridge fdb add MAC dev PORT [vlan VID] [master] [static|sticky] [dst VTEP]
       tapbridge fdb append 00:00:00:00:00:00 dev VXLANPORT dst VTEP
       tapbridge fdb del MAC dev PORT [vlan VID] [master] [dst VTEP]
       tapbridge fdb flush dev BRIDGE|PORT [brport PORT] [vlan VID] [dynamic]
`,
  link: `Usage: tapbridge link show [dev PORT] [-d] [-j]
       tapbridge link set dev PORT [learning on|off] [flood on|off] [mcast_flood on|off] [bcast_flood on|off]
                 [hairpin on|off] [isolated on|off] [state 0-4|NAME] [cost N] [priority N]
`,
  vlan: `Usage: tapbridge vlan show [dev PORT] [vid VID] [-s] [-j]
       tapbridge vlan tunnelshow [dev PORT] [-j]
       tapbridge vlan add dev PORT vid VID[-VID] [pvid] [untagged]
       tapbridge vlan del dev PORT vid VID[-VID]
`,
};

/** Keyword arguments: `dev X vlan 5 static` → { dev: "X", vlan: "5", static: true }. */
function keywords(words: string[], withValue: string[], bare: string[], verb: string): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (bare.includes(w)) out[w] = true;
    else if (withValue.includes(w)) {
      const v = words[++i];
      if (v === undefined) throw new UsageError(`"${w}" needs a value`);
      out[w] = v;
    } else throw new UsageError(`unknown argument "${w}" for "tapbridge ${verb}" (see "tapbridge ${verb.split(" ")[0]} help")`);
  }
  return out;
}

function int(text: string | true | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = typeof text === "string" && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what} must be a whole number, not "${String(text)}"`);
  return n;
}

function onOff(text: string | true | undefined, what: string): boolean | undefined {
  if (text === undefined) return undefined;
  if (text === "on") return true;
  if (text === "off") return false;
  throw new UsageError(`${what} takes on or off, not "${String(text)}"`);
}

const STATE_NUMBERS = ["disabled", "listening", "learning", "forwarding", "blocking"];

export async function bridgeCommand(object: string, argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, FLAGS, object);
  const [action = "show", ...rest] = positionals;
  if (flags.help || action === "help") {
    process.stdout.write(USAGE[object]!);
    return 0;
  }
  const socket = socketPath(flags);
  const verb = `${object} ${action}`;
  const print = (text: string) => process.stdout.write(text);
  switch (verb) {
    case "fdb show":
    case "fdb list": {
      const k = keywords(rest, ["br", "brport", "dev", "vlan"], [], verb);
      const brport = (k.brport ?? k.dev) as string | undefined;
      const rows = await call<FdbRow[]>(socket, "fdb.show", { ...(k.br ? { bridge: k.br } : {}), ...(brport ? { brport } : {}), ...(k.vlan ? { vlan: int(k.vlan, "vlan") } : {}) });
      print(flags.json ? JSON.stringify(rows) + "\n" : formatFdb(rows));
      return 0;
    }
    case "fdb add":
    case "fdb append":
    case "fdb del":
    case "fdb delete": {
      const [mac, ...more] = rest;
      if (!mac) throw new UsageError(`"tapbridge ${verb}" needs a MAC address`);
      const k = keywords(more, ["dev", "vlan", "dst"], ["master", "self", "static", "sticky", "permanent", "local", "dynamic"], verb);
      if (!k.dev) throw new UsageError(`"tapbridge ${verb}" needs dev PORT`);
      if (k.local || (k.permanent && k.dst === undefined)) throw new TapbridgeError("ENOTSUP", "local (permanent) entries are the bridge's own addresses; tapbridge has none: use static");
      if (k.dynamic) throw new TapbridgeError("ENOTSUP", "dynamic entries are learned from traffic; add static or sticky ones");
      const vlan = int(k.vlan, "vlan");
      const dst = k.dst !== undefined ? { dst: k.dst as string } : {};
      if (action !== "del" && action !== "delete") await call(socket, "fdb.add", { dev: k.dev, mac, ...(vlan !== undefined ? { vlan } : {}), ...(k.sticky ? { sticky: true } : {}), ...dst });
      else await call(socket, "fdb.del", { dev: k.dev, mac, ...(vlan !== undefined ? { vlan } : {}), ...dst });
      return 0;
    }
    case "fdb flush": {
      // Learned (dynamic) entries of the bridge, or of one port, or of one VLAN; static entries stay.
      const k = keywords(rest, ["dev", "brport", "vlan"], ["master", "dynamic"], verb);
      if (!k.dev) throw new UsageError(`"tapbridge fdb flush" needs dev BRIDGE or dev PORT`);
      const vlan = int(k.vlan, "vlan");
      const reply = await call<{ changes: string[] }>(socket, "fdb.flush", { dev: k.dev, ...(k.brport ? { brport: k.brport } : {}), ...(vlan !== undefined ? { vlan } : {}) });
      for (const line of reply.changes) print(line + "\n");
      return 0;
    }
    case "link show":
    case "link list": {
      const k = keywords(rest, ["dev"], [], verb);
      const rows = await call<LinkRow[]>(socket, "link.show", k.dev ? { dev: k.dev } : {});
      print(flags.json ? JSON.stringify(linkJson(rows, flags.details === true)) + "\n" : formatLink(rows, flags.details === true));
      return 0;
    }
    case "link set": {
      const k = keywords(rest, ["dev", "learning", "flood", "mcast_flood", "bcast_flood", "hairpin", "isolated", "state", "cost", "priority"], [], verb);
      if (!k.dev) throw new UsageError(`"tapbridge link set" needs dev PORT`);
      const params: Record<string, unknown> = { dev: k.dev };
      for (const key of ["learning", "flood", "mcast_flood", "bcast_flood", "hairpin", "isolated"]) {
        const v = onOff(k[key], key);
        if (v !== undefined) params[key] = v;
      }
      if (k.state !== undefined) {
        const s = String(k.state);
        const state = /^\d$/.test(s) ? STATE_NUMBERS[Number(s)] : s;
        if (!state || !STATE_NUMBERS.includes(state)) throw new UsageError(`state must be 0-4 or one of ${STATE_NUMBERS.join(", ")}, not "${s}"`);
        params.state = state;
      }
      if (k.cost !== undefined) params.cost = int(k.cost, "cost");
      if (k.priority !== undefined) params.priority = int(k.priority, "priority");
      if (Object.keys(params).length === 1) throw new UsageError(`"tapbridge link set dev ${k.dev}" names nothing to set`);
      await call(socket, "link.set", params);
      return 0;
    }
    case "vlan show":
    case "vlan list": {
      const k = keywords(rest, ["dev", "vid"], [], verb);
      const vid = int(k.vid, "vid");
      const params = { ...(k.dev ? { dev: k.dev } : {}), ...(vid !== undefined ? { vid } : {}) };
      if (flags.statistics) {
        const rows = await call<VlanStatsRow[]>(socket, "vlan.show", { ...params, stats: true });
        print(flags.json ? JSON.stringify(rows) + "\n" : formatVlanStats(rows));
      } else {
        const rows = await call<VlanRow[]>(socket, "vlan.show", params);
        print(flags.json ? JSON.stringify(rows) + "\n" : formatVlan(rows));
      }
      return 0;
    }
    case "vlan tunnelshow": {
      const k = keywords(rest, ["dev"], [], verb);
      const rows = await call<VlanTunnelRow[]>(socket, "vlan.tunnelshow", k.dev ? { dev: k.dev } : {});
      print(flags.json ? JSON.stringify(rows) + "\n" : formatVlanTunnels(rows));
      return 0;
    }
    case "vlan add":
    case "vlan del":
    case "vlan delete": {
      const k = keywords(rest, ["dev", "vid"], ["pvid", "untagged", "master", "self"], verb);
      if (!k.dev || !k.vid) throw new UsageError(`"tapbridge ${verb}" needs dev PORT vid VID`);
      // vid N or a range N-M, as iproute2 takes it.
      const [from, to] = String(k.vid).split("-", 2) as [string, string | undefined];
      const vids = { vid: int(from, "vid"), ...(to !== undefined ? { vidEnd: int(to, "the end of the vid range") } : {}) };
      if (action === "add") await call(socket, "vlan.add", { dev: k.dev, ...vids, ...(k.pvid ? { pvid: true } : {}), ...(k.untagged ? { untagged: true } : {}) });
      else await call(socket, "vlan.del", { dev: k.dev, ...vids });
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${verb}"\n${USAGE[object]}`);
  }
}
