/**
 * Structured logs through pino: one JSON object a line on stderr (level
 * numbers, `time`, `msg`), or pino-pretty's human-readable lines when stderr
 * is a terminal. A disabled level costs pino's noop function.
 *
 * Every module logs through the small `Logger` interface below, message
 * first: `log.info("port added", { port, kind })`. This file is the only one
 * that knows pino's own argument order (fields first), so the call sites
 * never change with the implementation. Writes are synchronous: a line
 * logged just before exit (or before a test reads stderr) is never lost.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from "pino";
import { createRequire } from "node:module";

export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type LevelName = keyof typeof LEVELS;

export interface Logger {
  level: LevelName;
  trace(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  fatal(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LevelName;
  /** Where lines go (one JSON object each); default stderr. Tests pass a function. */
  write?: (line: string) => void;
  /** Fields on every line (e.g. `{ bridge: "br0" }`). */
  bindings?: Record<string, unknown>;
  /** Human-readable lines (pino-pretty); default: when stderr is a terminal and no `write` is given. */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (options.write === undefined && process.stderr.isTTY === true);
  const destination: DestinationStream = options.write
    ? { write: options.write }
    : pretty
      ? (createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty"))({ destination: 2, sync: true, colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" })
      : pino.destination({ fd: 2, sync: true });
  const base = pino({ level: options.level ?? "info", base: { pid: process.pid } }, destination);
  return wrap(options.bindings && Object.keys(options.bindings).length > 0 ? base.child(options.bindings) : base);
}

function wrap(p: PinoLogger): Logger {
  const at =
    (method: "trace" | "debug" | "info" | "warn" | "error" | "fatal") =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (fields) p[method](fields, msg);
      else p[method](msg);
    };
  return {
    get level() {
      return p.level as LevelName;
    },
    set level(level: LevelName) {
      p.level = level;
    },
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    fatal: at("fatal"),
    child: (bindings) => wrap(p.child(bindings)),
  };
}

export const silentLogger = createLogger({ level: "silent", write: () => undefined });
