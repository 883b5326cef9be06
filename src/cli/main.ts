/** The `tapbridge` command: verbs, help, and how errors reach the user (a sentence, exit 1; usage errors exit 2). */
import { existsSync, readFileSync } from "node:fs";
import { TapbridgeError } from "../errors.js";
import { UsageError } from "./args.js";
import { runCommand } from "./run.js";
import { demoCommand } from "./demo.js";
import { daemonCommand, reloadCommand, saveCommand, statusCommand } from "./daemon.js";
import { BRCTL_VERBS, brctlCommand } from "./brctl.js";
import { bridgeCommand } from "./bridge-cmd.js";
import { bondCommand } from "./bond-cmd.js";
import { NET_VERBS, netCommand } from "./net.js";

const VERBS: Record<string, { help: string; run: (argv: string[]) => Promise<number> }> = {
  run: { help: "run a bridge in the foreground from flags (like brctl addbr + addif)", run: runCommand },
  demo: { help: "bridge three namespaces through TAP ports, ping, iperf3, show the MAC table", run: demoCommand },
  bench: { help: "measure tapbridge against the kernel bridge (and Open vSwitch) in namespaces", run: benchCommand },
  daemon: { help: "run bridges from a config file, managed through a control socket", run: daemonCommand },
  ...Object.fromEntries(Object.entries(BRCTL_VERBS).map(([verb, v]) => [verb, { help: verb === "host-port" ? v.help : `${v.help} (brctl ${verb})`, run: (argv: string[]) => brctlCommand(verb, argv) }])),
  fdb: { help: "forwarding entries: show, add, del (bridge fdb)", run: (argv) => bridgeCommand("fdb", argv) },
  link: { help: "bridge ports: show, set (bridge link)", run: (argv) => bridgeCommand("link", argv) },
  vlan: { help: "port VLANs: show, add, del (bridge vlan)", run: (argv) => bridgeCommand("vlan", argv) },
  bond: { help: "bonds: members, active member, hash buckets, LACP (as ovs-appctl bond/show)", run: bondCommand },
  ...Object.fromEntries(Object.entries(NET_VERBS).map(([verb, v]) => [verb, { help: v.help, run: (argv: string[]) => netCommand(verb, argv) }])),
  save: { help: "print the daemon's running configuration as YAML", run: saveCommand },
  reload: { help: "make the daemon re-read its config file (as SIGHUP)", run: reloadCommand },
  status: { help: "the daemon's pid, version and bridges", run: statusCommand },
};

/** The benchmark suite lives in the repository (dist/bench after a build), not in the published package. */
async function benchCommand(argv: string[]): Promise<number> {
  const url = new URL("../../bench/main.js", import.meta.url);
  if (!existsSync(url)) {
    throw new TapbridgeError("ENOENT", 'the benchmark suite is not part of the installed package: run it from a clone of the tapbridge repository ("npm install && npm run bench")');
  }
  const suite = (await import(url.href)) as { main(argv: string[]): Promise<number> };
  return suite.main(argv);
}

function usage(): string {
  const verbs = Object.entries(VERBS).map(([name, v]) => `  ${name.padEnd(14)} ${v.help}`);
  return `Usage: tapbridge <command> [options]\n\nCommands:\n${verbs.join("\n")}\n\n"tapbridge <command> --help" shows a command's options.\n`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === "help" || verb === "--help" || verb === "-h") {
    process.stdout.write(usage());
    return verb === undefined ? 2 : 0;
  }
  if (verb === "--version" || verb === "version") {
    process.stdout.write(version() + "\n");
    return 0;
  }
  const command = VERBS[verb];
  if (!command) {
    process.stderr.write(`tapbridge: unknown command "${verb}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`tapbridge ${verb}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof TapbridgeError) {
      process.stderr.write(`tapbridge ${verb}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`tapbridge ${verb}: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}
