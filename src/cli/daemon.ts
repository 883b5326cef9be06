/**
 * `tapbridge daemon`: the long-running switch (src/daemon/service.ts), and
 * the verbs that manage it as a whole: `save`, `reload`, `status`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createLogger, LEVELS, type LevelName } from "../log.js";
import { DEFAULT_CONFIG } from "../daemon/paths.js";
import { helpFor, parseArgs, UsageError, type FlagSpec } from "./args.js";
import { call, CLIENT_FLAGS, socketPath } from "./client.js";


export const DAEMON_FLAGS: Record<string, FlagSpec> = {
  config: { type: "string", short: "c", value: "FILE", help: `config file (default ${DEFAULT_CONFIG} when it exists; none: start as an empty switch)` },
  socket: { type: "string", value: "PATH", help: "control socket (default: the config's control.socket, or /run/tapbridge/tapbridge.sock)" },
  "runtime-dir": { type: "string", value: "DIR", help: "networks' state file and dnsmasq's files (default: the control socket's directory)" },
  "log-level": { type: "string", value: "LEVEL", help: "trace, debug, info (default), warn, error or silent" },
  help: { type: "boolean", help: "show this help" },
};

export async function daemonCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, DAEMON_FLAGS, "daemon");
  if (flags.help) {
    process.stdout.write(helpFor("Usage: tapbridge daemon [-c FILE] [--socket PATH]", DAEMON_FLAGS));
    return 0;
  }
  if (positionals.length) throw new UsageError(`"tapbridge daemon" takes no arguments, only options; got "${positionals.join(" ")}"`);
  const level = (flags["log-level"] as string | undefined) ?? "info";
  if (!(level in LEVELS)) throw new UsageError(`--log-level must be one of ${Object.keys(LEVELS).join(", ")}, not "${level}"`);
  const configFile = (flags.config as string | undefined) ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  const logger = createLogger({ level: level as LevelName });
  const { Service } = await import("../daemon/service.js");
  const service = new Service({
    ...(configFile ? { configFile } : {}),
    ...(flags.socket ? { socket: flags.socket as string } : {}),
    ...(flags["runtime-dir"] ? { runtimeDir: flags["runtime-dir"] as string } : {}),
    logger,
    version: version(),
  });
  await service.start();
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logger.info("stopping", { signal });
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      process.off("SIGHUP", onHup);
      void service.stop().then(() => {
        logger.info("daemon stopped", {});
        resolve(0);
      });
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    const onHup = () => void service.reload().catch(() => undefined);
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    process.on("SIGHUP", onHup);
  });
}

function version(): string {
  return (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

const SAVE_FLAGS: Record<string, FlagSpec> = {
  ...CLIENT_FLAGS,
  output: { type: "string", short: "o", value: "FILE", help: "write to FILE instead of standard output" },
};

export async function saveCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, SAVE_FLAGS, "save");
  if (flags.help) {
    process.stdout.write(helpFor("Usage: tapbridge save [BRIDGE] [-o FILE]\n\nThe running configuration as YAML that tapbridge daemon -c accepts.", SAVE_FLAGS));
    return 0;
  }
  if (positionals.length > 1) throw new UsageError("usage: tapbridge save [BRIDGE] [-o FILE]");
  const { yaml } = await call<{ yaml: string }>(socketPath(flags), "save", positionals[0] ? { bridge: positionals[0] } : {});
  if (flags.output) writeFileSync(flags.output as string, yaml);
  else process.stdout.write(yaml);
  return 0;
}

export async function reloadCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, CLIENT_FLAGS, "reload");
  if (flags.help) {
    process.stdout.write(helpFor("Usage: tapbridge reload\n\nRe-read the daemon's config file and apply the difference (as SIGHUP); prints what changed.", CLIENT_FLAGS));
    return 0;
  }
  if (positionals.length) throw new UsageError('"tapbridge reload" takes no arguments');
  const { changes } = await call<{ changes: string[] }>(socketPath(flags), "reload");
  process.stdout.write(changes.length ? changes.map((c) => c + "\n").join("") : "no changes\n");
  return 0;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, CLIENT_FLAGS, "status");
  if (flags.help) {
    process.stdout.write(helpFor("Usage: tapbridge status", CLIENT_FLAGS));
    return 0;
  }
  if (positionals.length) throw new UsageError('"tapbridge status" takes no arguments');
  process.stdout.write(JSON.stringify(await call(socketPath(flags), "status"), null, 2) + "\n");
  return 0;
}
