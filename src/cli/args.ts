/**
 * Command-line flags: node:util parseArgs splits the words (`--flag value`,
 * `--flag=value`, `-j`, `--`), and each verb's table of FlagSpec rows says
 * what every flag takes. The checks on top of the library's tokens are ours
 * so that every mistake gets a sentence naming the flag and the verb
 * (`--ageing needs a number, not "5s"`), and a typo never silently changes
 * what runs. Verbs keep their tables (RUN_FLAGS and the rest); adding a flag
 * is adding a row.
 */
import { parseArgs as tokenize } from "node:util";
import { TapbridgeError } from "../errors.js";

export interface FlagSpec {
  type: "string" | "number" | "boolean";
  repeat?: boolean;
  /** One line for --help. */
  help: string;
  /** Placeholder for --help, e.g. "SECONDS". */
  value?: string;
  /** A one-letter alias, e.g. "c" for -c. */
  short?: string;
}

export type Parsed = Record<string, string | number | boolean | string[] | number[] | undefined>;

export class UsageError extends TapbridgeError {
  constructor(message: string) {
    super("EUSAGE", message);
    this.name = "UsageError";
  }
}

export function parseArgs(argv: string[], specs: Record<string, FlagSpec>, verb: string): { flags: Parsed; positionals: string[] } {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = { type: spec.type === "boolean" ? "boolean" : "string", ...(spec.short ? { short: spec.short } : {}) };
  }
  // strict: false so that the library hands every token over and the sentences below are ours.
  const { tokens } = tokenize({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const flags: Parsed = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === "option-terminator") continue;
    const name = token.name;
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown option ${token.rawName} for "tapbridge ${verb}" (see "tapbridge ${verb} --help")`);
    const raw = token.value;
    if (spec.type === "boolean") {
      if (raw !== undefined && raw !== "true" && raw !== "false") throw new UsageError(`--${name} takes no value (or =true/=false), not "${raw}"`);
      flags[name] = raw !== "false";
      continue;
    }
    if (raw === undefined || (!token.inlineValue && raw.startsWith("--") && raw.length > 2)) {
      throw new UsageError(`--${name} needs a value (${spec.value ?? spec.type})`);
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
    const left = `  ${s.short ? `-${s.short}, ` : ""}--${name}${s.type === "boolean" ? "" : ` ${s.value ?? s.type.toUpperCase()}`}`;
    return `${left.padEnd(30)} ${s.help}${s.repeat ? " (repeatable)" : ""}`;
  });
  return `${usage}\n\nOptions:\n${rows.join("\n")}\n`;
}
