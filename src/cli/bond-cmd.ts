/**
 * `tapbridge bond show [NAME] [-j]`: the daemon's bonds — mode, active
 * member, each member's link, counters, hash buckets and load, and LACP's
 * actor and partner (bond-layout.ts). A foreground `tapbridge run` prints
 * the same objects in its status line (SIGUSR1).
 */
import { parseArgs, UsageError, type FlagSpec } from "./args.js";
import { formatBondShow, type BondShowRow } from "./bond-layout.js";
import { call, CLIENT_FLAGS, socketPath } from "./client.js";

const FLAGS: Record<string, FlagSpec> = {
  ...CLIENT_FLAGS,
  json: { type: "boolean", short: "j", help: "JSON: the status objects" },
};

const USAGE = `Usage: tapbridge bond show [NAME] [-j] [--socket PATH]
`;

export async function bondCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, FLAGS, "bond");
  const [action = "show", ...rest] = positionals;
  if (flags.help || action === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (action !== "show") throw new UsageError(`unknown action "${action}" for "tapbridge bond" (show)`);
  if (rest.length > 1) throw new UsageError(`"tapbridge bond show" takes at most one bond name`);
  const rows = await call<BondShowRow[]>(socketPath(flags), "bond.show", rest[0] ? { bond: rest[0] } : {});
  process.stdout.write(flags.json ? JSON.stringify(rows) + "\n" : formatBondShow(rows));
  return 0;
}
