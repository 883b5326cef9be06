/**
 * `tapbridge run`: a foreground bridge from flags — the quickest replacement
 * for `brctl addbr br0; brctl addif br0 eth0 tap0`.
 *
 * Logs go to stderr as JSON lines; `"msg":"bridge running"` says it forwards.
 * Bonds (`--bond bond0=eth1,eth2:mode=balance-slb`) are one port each; their
 * failovers are logged ("bond failover") and their state is in the status.
 * SIGINT/SIGTERM: remove what it created, exit 0. SIGUSR1: log a "status"
 * line with every counter, then the MAC table streamed in "fdb" lines of
 * 512 entries and an "fdb end" line (fdb-dump.ts), between batches.
 */
import { Bridge, MAX_LEARNED_LIMIT } from "../bridge.js";
import { FULL_POLICIES, type FullPolicy } from "../core/fdb.js";
import { dumpStatus } from "../fdb-dump.js";
import { FLAP_ACTIONS, type FlapAction, type MacFlapOptions } from "../fdb-guard.js";
import { parseBondSpec, parsePortSpec, portOptionsHelp, type PortConfig } from "../config/port-options.js";
import { BondPort } from "../ports/bond-port.js";
import { VLAN_PROTOCOL_TPID, type VlanProtocol } from "../core/vlan.js";
import { checkVid } from "../core/vlan-spec.js";
import { PacketPort, TapPort } from "../io/native-port.js";
import { HostPort } from "../io/host-port.js";
import { stableMac } from "../daemon/host-port.js";
import { vxlanPortFromConfig } from "../ports/vxlan-port.js";
import { createLogger, LEVELS, type LevelName } from "../log.js";
import type { Port } from "../ports/port.js";
import { checkBridgeParams } from "../stp/params.js";
import type { StpOptions } from "../stp/bridge-stp.js";
import { helpFor, parseArgs, UsageError, type FlagSpec, type Parsed } from "./args.js";

export const RUN_FLAGS: Record<string, FlagSpec> = {
  name: { type: "string", value: "NAME", help: "bridge name used in logs (default br0)" },
  attach: { type: "string", repeat: true, value: "IFNAME[@NETNS][:OPT]...", help: "attach an existing interface as a promiscuous AF_PACKET port" },
  tap: { type: "string", repeat: true, value: "NAME[@NETNS][:OPT]...", help: "create (or open) a TAP device as a port, inside NETNS if given" },
  bond: { type: "string", repeat: true, value: "NAME=IF[@NETNS],IF...[:OPT]...", help: "bond these interfaces into one port (:mode=active-backup|balance-slb|lacp, see bond options)" },
  vxlan: { type: "string", repeat: true, value: "NAME:vni=N:local=ADDR[:remote=ADDR,...][:port=4789][:netns=NS][:OPT]...", help: "a VXLAN port (RFC 7348, UDP 4789): the kernel's vxlan and Open vSwitch are its peers" },
  persistent: { type: "boolean", help: "keep the TAP devices after exit (TUNSETPERSIST)" },
  ageing: { type: "number", value: "SECONDS", help: "FDB ageing time (default 300; 0 = never learn, always flood)" },
  "max-fdb": { type: "number", value: "ENTRIES", help: "FDB size cap, learned + static (default 131072)" },
  "fdb-max-learned": { type: "number", value: "N", help: "cap on learned MACs, bridge-wide (Linux fdb_max_learned; default 0: only --max-fdb)" },
  "fdb-full-policy": { type: "string", value: "POLICY", help: "when the FDB is full: evict-from-largest-port (default) or refuse" },
  "mac-flap-moves": { type: "number", value: "N", help: "a MAC moving ports more than N times in the window is a flap (default 5; 0: off)" },
  "mac-flap-window": { type: "number", value: "SECONDS", help: "the MAC flap window (default 10)" },
  "mac-flap-action": { type: "string", value: "ACTION", help: "log (default), or shutdown: err-disable the port blamed" },
  "mac-flap-recover": { type: "number", value: "SECONDS", help: "bring an err-disabled port back after this long (default 0: never)" },
  "vlan-filtering": { type: "boolean", help: "filter on 802.1Q VLANs even if no port has VLAN options (on by itself when one has)" },
  "vlan-protocol": { type: "string", value: "802.1Q|802.1ad", help: "the VLAN tag the bridge filters on, inserts and strips (default 802.1Q)" },
  "default-pvid": { type: "number", value: "VID", help: "VLAN of ports without VLAN options (default 1; 0: none), as Linux's default_pvid" },
  stp: { type: "boolean", help: "run 802.1D spanning tree (as brctl stp br0 on)" },
  rstp: { type: "boolean", help: "run 802.1w rapid spanning tree" },
  priority: { type: "number", value: "N", help: "spanning tree bridge priority, 0-65535 (default 32768)" },
  hello: { type: "number", value: "SECONDS", help: "spanning tree hello time, 1-10 (default 2)" },
  "max-age": { type: "number", value: "SECONDS", help: "spanning tree max age, 6-40 (default 20)" },
  "forward-delay": { type: "number", value: "SECONDS", help: "spanning tree forward delay, 2-30 (default 15)" },
  "host-port": { type: "boolean", help: "give the bridge its own interface in the host, a TAP named like it (--name), as Linux's bridge device" },
  "host-mac": { type: "string", value: "MAC", help: "the host port's MAC (default: stable, from the machine id and the bridge name)" },
  "host-netns": { type: "string", value: "NETNS", help: "the namespace the host port lives in (default: this process's)" },
  "log-level": { type: "string", value: "LEVEL", help: "trace, debug, info (default), warn, error or silent" },
  help: { type: "boolean", help: "show this help" },
};

export const RUN_USAGE = "Usage: tapbridge run [--name br0] [--attach IFNAME[@NETNS][:OPT]...]... [--tap NAME[@NETNS][:OPT]...]... [--bond NAME=IF,IF[:OPT]...]... [--vxlan NAME:vni=N:local=ADDR[:remote=ADDR,...]...]... [--ageing SECONDS] [--stp | --rstp [--priority N] [--hello S] [--max-age S] [--forward-delay S]]";

export async function runCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, RUN_FLAGS, "run");
  if (flags.help) {
    process.stdout.write(helpFor(RUN_USAGE, RUN_FLAGS) + `\nPort options (after the port name, each after a ':'):\n${portOptionsHelp()}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`"tapbridge run" takes no arguments, only options; got "${positionals.join(" ")}"`);
  const level = (flags["log-level"] as string | undefined) ?? "info";
  if (!(level in LEVELS)) throw new UsageError(`--log-level must be one of ${Object.keys(LEVELS).join(", ")}, not "${level}"`);
  const attach = (flags.attach as string[] | undefined) ?? [];
  const taps = (flags.tap as string[] | undefined) ?? [];
  const bonds = (flags.bond as string[] | undefined) ?? [];
  const vxlans = (flags.vxlan as string[] | undefined) ?? [];
  if (attach.length + taps.length + bonds.length + vxlans.length === 0) throw new UsageError(`"tapbridge run" needs at least one port: --attach IFNAME, --tap NAME, --bond NAME=IF,IF or --vxlan NAME:vni=N:local=ADDR`);

  const vlanProtocol = checkVlanProtocol(flags["vlan-protocol"] as string | undefined);
  const defaultPvid = checkDefaultPvid(flags["default-pvid"] as number | undefined);
  const stp = stpOptions(flags);
  const name = (flags.name as string | undefined) ?? "br0";
  const log = createLogger({ level: level as LevelName, bindings: { bridge: name } });
  // Validate every port and its options before creating anything.
  const ports: { port: Port; config: PortConfig }[] = [
    ...attach.map((text) => usagePortSpec(text, "--attach")).map((spec) => ({ port: new PacketPort(spec.label), config: spec.config })),
    ...taps.map((text) => usagePortSpec(text, "--tap")).map((spec) => ({ port: new TapPort({ name: spec.label, persist: flags.persistent === true }), config: spec.config })),
    ...bonds.map(usageBond),
    ...hostPortOf(flags, (flags.name as string | undefined) ?? "br0"),
    ...vxlans.map((text) => usagePortSpec(text, "--vxlan", true)).map((spec) => ({ port: usage(() => vxlanPortFromConfig(spec.name, spec.netns, spec.config), "--vxlan", spec.label), config: spec.config })),
  ];
  const bridge = new Bridge({
    name,
    logger: log,
    ...(flags.ageing !== undefined ? { ageingTime: flags.ageing as number } : {}),
    ...(flags["max-fdb"] !== undefined ? { maxFdbEntries: checkMaxFdb(flags["max-fdb"] as number) } : {}),
    ...(flags["vlan-filtering"] ? { vlanFiltering: true } : {}),
    ...(vlanProtocol ? { vlanProtocol } : {}),
    ...(defaultPvid !== undefined ? { defaultPvid } : {}),
    ...fdbDefences(flags),
    ...(stp ? { stp } : {}),
  });
  try {
    for (const { port, config } of ports) bridge.addPort(port, config);
  } catch (error) {
    bridge.close();
    throw error;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info("stopping", { signal });
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      process.off("SIGUSR1", onUsr1);
      // The final figures are read after the ports closed, so nothing counted while closing is lost.
      const finalStats = bridge.close();
      log.info("bridge stopped", { ports: finalStats });
      resolve(0);
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    const onUsr1 = () => {
      dumpStatus(bridge, log).catch((error: unknown) => log.error("status dump failed", { err: error }));
    };
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    process.on("SIGUSR1", onUsr1);
    // Only now, with the signal handlers in place, may a script act on this line.
    log.info("bridge running", { ports: bridge.ports.map((p) => ({ name: p.label, kind: p.kind, mtu: p.mtu, mac: p.mac, ...(p instanceof BondPort ? { members: p.memberNames } : {}) })) });
  });
}

/** --host-port: the bridge's own interface, named like it (io/host-port.ts); its MAC stable unless --host-mac. */
function hostPortOf(flags: Parsed, name: string): { port: Port; config: PortConfig }[] {
  const mac = flags["host-mac"] as string | undefined;
  const netns = flags["host-netns"] as string | undefined;
  if (!flags["host-port"]) {
    if (mac !== undefined || netns !== undefined) throw new UsageError("--host-mac and --host-netns go with --host-port");
    return [];
  }
  if (mac !== undefined && !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) throw new UsageError(`--host-mac must be a MAC address like 52:54:00:00:00:01, not "${mac}"`);
  return [{ port: new HostPort({ name, ...(netns ? { netns } : {}), mac: mac?.toLowerCase() ?? stableMac(name) }), config: {} }];
}

/** A --bond spec: the bond port (its options checked) and the port settings. */
function usageBond(text: string): { port: Port; config: PortConfig } {
  try {
    const spec = parseBondSpec(text);
    const { bond, ...config } = spec.config;
    return { port: new BondPort({ name: spec.name, members: spec.members, ...bond }), config };
  } catch (error) {
    throw new UsageError(`--bond ${text}: ${(error as Error).message}`);
  }
}

/** A port spec from the command line; a bad one is a usage error (exit 2) that names the flag. */
function usagePortSpec(text: string, flag: string, vxlan = false) {
  return usage(() => parsePortSpec(text, vxlan ? "vxlan" : "port"), flag, text);
}

function usage<T>(fn: () => T, flag: string, text: string): T {
  try {
    return fn();
  } catch (error) {
    throw new UsageError(`${flag} ${text}: ${(error as Error).message}`);
  }
}

function checkVlanProtocol(text: string | undefined): VlanProtocol | undefined {
  if (text === undefined) return undefined;
  const match = (Object.keys(VLAN_PROTOCOL_TPID) as VlanProtocol[]).find((p) => p.toLowerCase() === text.toLowerCase());
  if (!match) throw new UsageError(`--vlan-protocol must be 802.1Q or 802.1ad, not "${text}"`);
  return match;
}

function checkDefaultPvid(n: number | undefined): number | undefined {
  if (n === undefined || n === 0) return n;
  try {
    return checkVid(n, "--default-pvid");
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (or 0 for none)`);
  }
}

/** --stp/--rstp and the bridge's times, checked (a bad one is a usage error that names the flag). */
function stpOptions(flags: Parsed): StpOptions | undefined {
  const given = (["priority", "hello", "max-age", "forward-delay"] as const).filter((f) => flags[f] !== undefined);
  if (flags.stp && flags.rstp) throw new UsageError(`--stp and --rstp exclude each other: pick one`);
  if (!flags.stp && !flags.rstp) {
    if (given.length > 0) throw new UsageError(`--${given[0]} is a spanning tree setting: add --stp or --rstp`);
    return undefined;
  }
  const options: StpOptions = { protocol: flags.rstp ? "rstp" : "stp" };
  if (flags.priority !== undefined) options.priority = flags.priority as number;
  if (flags.hello !== undefined) options.helloTime = flags.hello as number;
  if (flags["max-age"] !== undefined) options.maxAge = flags["max-age"] as number;
  if (flags["forward-delay"] !== undefined) options.forwardDelay = flags["forward-delay"] as number;
  try {
    checkBridgeParams(options);
  } catch (error) {
    const flag = (error as Error).message.startsWith("bridge priority") ? "--priority" : (error as Error).message.startsWith("hello") ? "--hello" : (error as Error).message.startsWith("max age") ? "--max-age" : "--forward-delay";
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
  return options;
}

function checkMaxFdb(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 16_777_216) throw new UsageError(`--max-fdb must be a whole number from 1 to 16777216, not ${n}`);
  return n;
}

/** The FDB limit, full policy and MAC flap flags, checked here so that a mistake names its flag. */
function fdbDefences(flags: Record<string, unknown>): { fdbMaxLearned?: number; fdbFullPolicy?: FullPolicy; macFlap: MacFlapOptions } {
  const out: { fdbMaxLearned?: number; fdbFullPolicy?: FullPolicy; macFlap: MacFlapOptions } = { macFlap: {} };
  const learned = flags["fdb-max-learned"] as number | undefined;
  if (learned !== undefined) {
    if (!Number.isInteger(learned) || learned < 0 || learned > MAX_LEARNED_LIMIT) throw new UsageError(`--fdb-max-learned must be a whole number from 0 (no limit) to ${MAX_LEARNED_LIMIT}, not ${learned}`);
    out.fdbMaxLearned = learned;
  }
  const policy = flags["fdb-full-policy"] as string | undefined;
  if (policy !== undefined) {
    if (!(FULL_POLICIES as readonly string[]).includes(policy)) throw new UsageError(`--fdb-full-policy must be ${FULL_POLICIES.join(" or ")}, not "${policy}"`);
    out.fdbFullPolicy = policy as FullPolicy;
  }
  const moves = flags["mac-flap-moves"] as number | undefined;
  if (moves !== undefined) {
    if (!Number.isInteger(moves) || moves < 0 || moves > 1_000_000) throw new UsageError(`--mac-flap-moves must be a whole number from 0 (off) to 1000000, not ${moves}`);
    out.macFlap.moves = moves;
  }
  const window = flags["mac-flap-window"] as number | undefined;
  if (window !== undefined) {
    if (!(window > 0 && window <= 3600)) throw new UsageError(`--mac-flap-window must be more than 0 and at most 3600 seconds, not ${window}`);
    out.macFlap.windowSeconds = window;
  }
  const action = flags["mac-flap-action"] as string | undefined;
  if (action !== undefined) {
    if (!(FLAP_ACTIONS as readonly string[]).includes(action)) throw new UsageError(`--mac-flap-action must be ${FLAP_ACTIONS.join(" or ")}, not "${action}"`);
    out.macFlap.action = action as FlapAction;
  }
  const recover = flags["mac-flap-recover"] as number | undefined;
  if (recover !== undefined) {
    if (!(recover >= 0 && recover <= 86_400)) throw new UsageError(`--mac-flap-recover must be 0 (never) to 86400 seconds, not ${recover}`);
    out.macFlap.recoverSeconds = recover;
  }
  return out;
}
