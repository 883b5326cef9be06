/**
 * `tapbridge demo`: the main job on a built-in default. Three namespaces,
 * each with a TAP port of one tapbridge bridge (created inside the
 * namespace), addresses 10.77.0.1-3/24; ping across, a short iperf3 TCP run,
 * the learned MAC table and the port counters; then everything is removed.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Bridge } from "../bridge.js";
import { TapPort } from "../io/native-port.js";
import { Lab } from "../testing/lab.js";
import { createLogger } from "../log.js";
import { TapbridgeError } from "../errors.js";
import { helpFor, parseArgs, UsageError, type FlagSpec } from "./args.js";
import { formatPortStats, formatShowmacs } from "./format.js";

const DEMO_FLAGS: Record<string, FlagSpec> = {
  hosts: { type: "number", value: "N", help: "number of namespaces (2 to 8, default 3)" },
  seconds: { type: "number", value: "S", help: "iperf3 duration (1 to 60, default 3)" },
  help: { type: "boolean", help: "show this help" },
};

const say = (text: string) => process.stdout.write(text + "\n");

export async function demoCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, DEMO_FLAGS, "demo");
  if (flags.help) {
    process.stdout.write(helpFor("Usage: tapbridge demo [--hosts N] [--seconds S]", DEMO_FLAGS));
    return 0;
  }
  if (positionals.length) throw new UsageError(`"tapbridge demo" takes no arguments, only options`);
  const hosts = (flags.hosts as number | undefined) ?? 3;
  const seconds = (flags.seconds as number | undefined) ?? 3;
  if (!Number.isInteger(hosts) || hosts < 2 || hosts > 8) throw new UsageError(`--hosts must be a whole number from 2 to 8, not ${hosts}`);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60) throw new UsageError(`--seconds must be a whole number from 1 to 60, not ${seconds}`);
  if (process.getuid?.() !== 0) throw new TapbridgeError("EPERM", "the demo creates network namespaces and TAP devices: run it as root");
  ensureTools(["ip", "ping", "iperf3"]);

  const lab = new Lab("tbdemo");
  const bridge = new Bridge({ name: "demo0", logger: createLogger({ level: "warn" }) });
  const onSignal = () => void cleanup().then(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  async function cleanup() {
    bridge.close();
    await lab.destroy();
  }

  try {
    say(`tapbridge demo: ${hosts} namespaces bridged through TAP ports of one userspace bridge\n`);
    const nodes: { ns: string; tap: string; ip: string }[] = [];
    for (let i = 0; i < hosts; i++) {
      const ns = await lab.netns(`h${i}`);
      const tap = lab.ifname(`t${i}`);
      bridge.addPort(new TapPort({ name: tap, netns: ns }));
      const ip = `10.77.0.${i + 1}`;
      await lab.address(ns, tap, `${ip}/24`);
      nodes.push({ ns, tap, ip });
      say(`  ${ns.padEnd(18)} ${tap.padEnd(15)} ${ip}/24`);
    }
    say("");

    for (let i = 1; i < nodes.length; i++) {
      const r = await lab.exec(nodes[0]!.ns, ["ping", "-c", "3", "-i", "0.2", "-W", "2", nodes[i]!.ip], { allowFail: true });
      const summary = r.stdout.split("\n").filter((l) => /packets transmitted|rtt/.test(l)).join("; ");
      say(`ping ${nodes[0]!.ip} -> ${nodes[i]!.ip}: ${summary || r.stderr.trim()}`);
      if (r.code !== 0) throw new TapbridgeError("EDEMO", `ping from ${nodes[0]!.ip} to ${nodes[i]!.ip} failed`);
    }

    const server = await lab.iperfServer(nodes[1]!.ns, nodes[1]!.ip);
    const client = await lab.exec(nodes[0]!.ns, ["iperf3", "-c", nodes[1]!.ip, "-t", String(seconds), "-J"], { allowFail: true, timeoutMs: (seconds + 20) * 1000 });
    server.kill();
    try {
      const report = JSON.parse(client.stdout) as { end: { sum_received: { bits_per_second: number; bytes: number } } };
      const gbps = report.end.sum_received.bits_per_second / 1e9;
      say(`\niperf3 TCP ${nodes[0]!.ip} -> ${nodes[1]!.ip}, ${seconds} s: ${gbps.toFixed(2)} Gbit/s`);
    } catch {
      throw new TapbridgeError("EDEMO", `iperf3 did not complete: ${client.stderr.trim() || client.stdout.slice(0, 300)}`);
    }

    const portNumber = (name: string) => (bridge.findPort(name)?.index ?? -1) + 1;
    say(`\nMAC table (brctl showmacs ${bridge.name}):`);
    process.stdout.write(formatShowmacs(bridge.fdbEntries(), portNumber));
    say(`\nPort counters:`);
    process.stdout.write(formatPortStats(bridge.stats()));
    const dp = bridge.dataplaneStats();
    if (dp && dp.batches > 0) say(`\n${dp.frames} frames in ${dp.batches} batches (${(dp.frames / dp.batches).toFixed(1)} frames per batch)`);
    say(`\nRemoving the namespaces and TAP devices.`);
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  }
}

/** Install missing Debian packages for the given commands (scripts/ensure-system-deps.sh). */
export function ensureTools(commands: string[]): void {
  const script = fileURLToPath(new URL("../../../scripts/ensure-system-deps.sh", import.meta.url));
  const r = spawnSync("bash", [script, ...commands], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new TapbridgeError("EDEPS", `missing tools (${commands.join(", ")}) could not be installed`);
}
