/**
 * `tapbridge net-*`: the daemon's networks with virsh's verbs and layouts
 * (net-list, net-info, net-define, net-undefine, net-start, net-destroy,
 * net-autostart, net-dhcp-leases; net-dump for net-dumpxml, in YAML), so
 * what an operator types to manage libvirt's `default` works here too.
 */
import { readFileSync } from "node:fs";
import { TapbridgeError } from "../errors.js";
import type { NetworkRow } from "../daemon/networks/manager.js";
import type { Lease } from "../daemon/networks/dnsmasq.js";
import { helpFor, parseArgs, UsageError, type FlagSpec, type Parsed } from "./args.js";
import { call, CLIENT_FLAGS, socketPath } from "./client.js";

interface NetVerb {
  args: string;
  help: string;
  count: number;
  flags?: Record<string, FlagSpec>;
  run(socket: string, a: string[], flags: Parsed): Promise<string>;
}

const JSON_FLAG: Record<string, FlagSpec> = { json: { type: "boolean", short: "j", help: "print JSON" } };

const said = (r: { changes: string[] }) => r.changes.map((c) => c + "\n").join("");

/** virsh's tables: a leading space, columns three spaces apart, a rule two longer than the header, a blank line after. */
export function vshTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => (" " + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("")).trimEnd();
  const head = line(header);
  return `${head}\n${"-".repeat(head.length + 2)}\n${rows.map((r) => line(r) + "\n").join("")}\n`;
}

const yesNo = (b: boolean) => (b ? "yes" : "no");

function expiry(seconds: number): string {
  if (seconds === 0) return "never";
  const d = new Date(seconds * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export const NET_VERBS: Record<string, NetVerb> = {
  "net-list": {
    args: "[--all] [-j]",
    help: "active networks; --all: every defined network (virsh net-list)",
    count: 0,
    flags: { all: { type: "boolean", help: "inactive networks too" }, ...JSON_FLAG },
    run: async (socket, _a, flags) => {
      const rows = await call<NetworkRow[]>(socket, "net.list", { all: flags.all === true });
      if (flags.json) return JSON.stringify(rows) + "\n";
      return vshTable(["Name", "State", "Autostart", "Persistent"], rows.map((r) => [r.name, r.active ? "active" : "inactive", yesNo(r.autostart), yesNo(r.persistent)]));
    },
  },
  "net-info": {
    args: "NETWORK [-j]",
    help: "a network: state, bridge, mode, addresses, dnsmasq, what it changed (virsh net-info)",
    count: 1,
    flags: JSON_FLAG,
    run: async (socket, a, flags) => {
      const i = await call<Record<string, unknown>>(socket, "net.info", { network: a[0] });
      if (flags.json) return JSON.stringify(i) + "\n";
      const rows: [string, unknown][] = [
        ["Name", i.name],
        ["Active", yesNo(i.active === true)],
        ["Persistent", yesNo(i.persistent === true)],
        ["Autostart", yesNo(i.autostart === true)],
        ["Bridge", i.bridge],
        ["Mode", i.mode],
        ["Host port", i.hostPort ?? "-"],
        ["Addresses", (i.addresses as string[]).join(" ") || "-"],
        ["Uplink", i.uplink ?? "-"],
        ["DHCP", i.dhcp ?? "-"],
        ["dnsmasq pid", i.dnsmasqPid ?? "-"],
      ];
      let out = rows.map(([k, v]) => `${(k + ":").padEnd(16)}${String(v)}\n`).join("");
      for (const c of i.changes as string[]) out += `${"Changed:".padEnd(16)}${c}\n`;
      if (i.pending) out += `${"Pending:".padEnd(16)}${String(i.pending)}\n`;
      return out;
    },
  },
  "net-define": {
    args: "FILE",
    help: "define networks from a YAML file with a networks: section (virsh net-define)",
    count: 1,
    run: async (socket, a) => {
      let yaml: string;
      try {
        yaml = readFileSync(a[0]!, "utf8");
      } catch (error) {
        throw new TapbridgeError("ENOENT", `cannot read ${a[0]}: ${(error as Error).message}`);
      }
      return said(await call<{ changes: string[] }>(socket, "net.define", { yaml, file: a[0] }));
    },
  },
  "net-undefine": { args: "NETWORK", help: "forget an inactive network (virsh net-undefine)", count: 1, run: async (s, a) => said(await call(s, "net.undefine", { network: a[0] })) },
  "net-start": { args: "NETWORK", help: "start a defined network (virsh net-start)", count: 1, run: async (s, a) => said(await call(s, "net.start", { network: a[0] }, 120_000)) },
  "net-destroy": {
    args: "NETWORK",
    help: "stop a network and undo everything it changed (virsh net-destroy)",
    count: 1,
    run: async (s, a) => said(await call(s, "net.destroy", { network: a[0] }, 120_000)),
  },
  "net-autostart": {
    args: "NETWORK [--disable]",
    help: "start the network with the daemon (virsh net-autostart)",
    count: 1,
    flags: { disable: { type: "boolean", help: "do not start it with the daemon" } },
    run: async (s, a, flags) => said(await call(s, "net.autostart", { network: a[0], on: flags.disable !== true })),
  },
  "net-dump": {
    args: "NETWORK",
    help: "a network's definition as YAML (virsh net-dumpxml)",
    count: 1,
    run: async (s, a) => (await call<{ yaml: string }>(s, "net.dump", { network: a[0] })).yaml,
  },
  "net-dhcp-leases": {
    args: "NETWORK [-j]",
    help: "the DHCP leases dnsmasq handed out (virsh net-dhcp-leases)",
    count: 1,
    flags: JSON_FLAG,
    run: async (s, a, flags) => {
      const leases = await call<Lease[]>(s, "net.leases", { network: a[0] });
      if (flags.json) return JSON.stringify(leases) + "\n";
      return vshTable(
        ["Expiry Time", "MAC address", "Protocol", "IP address", "Hostname", "Client ID or DUID"],
        leases.map((l) => [expiry(l.expiry), l.mac, "ipv4", l.ip, l.hostname || "-", l.clientId || "-"]),
      );
    },
  },
};

export async function netCommand(verb: string, argv: string[]): Promise<number> {
  const spec = NET_VERBS[verb]!;
  const specs = { ...CLIENT_FLAGS, ...(spec.flags ?? {}) };
  const { flags, positionals } = parseArgs(argv, specs, verb);
  if (flags.help) {
    process.stdout.write(helpFor(`Usage: tapbridge ${verb} ${spec.args}\n\n${spec.help}`, specs));
    return 0;
  }
  if (positionals.length !== spec.count) throw new UsageError(`usage: tapbridge ${verb} ${spec.args}`);
  process.stdout.write(await spec.run(socketPath(flags), positionals, flags));
  return 0;
}
