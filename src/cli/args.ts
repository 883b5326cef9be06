/**
 * A small, strict argument parser: `--flag value`, `--flag=value`, repeatable
 * flags, booleans. Anything unknown or malformed is rejected with a sentence
 * that names it, so a typo never silently changes what runs.
 */
import { TapbridgeError } from "../errors.js";

export interface FlagSpec {
  type: "string" | "number" | "boolean";
  repeat?: boolean;
  /** One line for --help. */
  help: string;
  /** Placeholder for --help, e.g. "SECONDS". */
  value?: string;
}

export type Parsed = Record<string, string | number | boolean | string[] | number[] | undefined>;

export class UsageError extends TapbridgeError {
  constructor(message: string) {
    super("EUSAGE", message);
    this.name = "UsageError";
  }
}

export function parseArgs(argv: string[], specs: Record<string, FlagSpec>, verb: string): { flags: Parsed; positionals: string[] } {
  const flags: Parsed = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--")) {
      if (arg.startsWith("-") && arg !== "-") throw new UsageError(`unknown option ${arg} for "tapbridge ${verb}" (see "tapbridge ${verb} --help")`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown option --${name} for "tapbridge ${verb}" (see "tapbridge ${verb} --help")`);
    let raw: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (spec.type === "boolean") {
      if (raw !== undefined && raw !== "true" && raw !== "false") throw new UsageError(`--${name} takes no value (or =true/=false), not "${raw}"`);
      flags[name] = raw !== "false";
      continue;
    }
    if (raw === undefined) {
      raw = argv[++i];
      if (raw === undefined || (raw.startsWith("--") && raw.length > 2)) throw new UsageError(`--${name} needs a value (${spec.value ?? spec.type})`);
    }
    let value: string | number = raw;
    if (spec.type === "number") {
      value = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(value)) throw new UsageError(`--${name} needs a number, not "${raw}"`);
    }
    if (spec.repeat) {
      const list = (flags[name] as (string | number)[] | undefined) ?? [];
      list.push(value);
      flags[name] = list as string[] | number[];
    } else {
      if (flags[name] !== undefined) throw new UsageError(`--${name} was given twice`);
      flags[name] = value;
    }
  }
  return { flags, positionals };
}

export function helpFor(usage: string, specs: Record<string, FlagSpec>): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = `  --${name}${s.type === "boolean" ? "" : ` ${s.value ?? s.type.toUpperCase()}`}`;
    return `${left.padEnd(30)} ${s.help}${s.repeat ? " (repeatable)" : ""}`;
  });
  return `${usage}\n\nOptions:\n${rows.join("\n")}\n`;
}
