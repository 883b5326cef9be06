/**
 * Structured logs: one JSON object a line, in pino's shape (level numbers,
 * `time`, `msg`), on stderr by default. A disabled level costs one compare.
 */
export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type LevelName = keyof typeof LEVELS;

export interface Logger {
  level: LevelName;
  trace(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

export function createLogger(
  options: { level?: LevelName; write?: (line: string) => void; bindings?: Record<string, unknown> } = {},
): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const bindings = options.bindings ?? {};
  const logger: Logger = {
    level: options.level ?? "info",
    trace: (m, f) => emit(10, m, f),
    debug: (m, f) => emit(20, m, f),
    info: (m, f) => emit(30, m, f),
    warn: (m, f) => emit(40, m, f),
    error: (m, f) => emit(50, m, f),
    child: (more) => createLogger({ level: logger.level, write, bindings: { ...bindings, ...more } }),
  };
  function emit(level: number, msg: string, fields?: Record<string, unknown>): void {
    if (level < LEVELS[logger.level]) return;
    const record: Record<string, unknown> = { level, time: Date.now(), pid: process.pid, ...bindings, ...fields, msg };
    if (fields?.err instanceof Error) {
      const err = fields.err as Error & { code?: string };
      record.err = { type: err.name, message: err.message, code: err.code };
    }
    write(JSON.stringify(record) + "\n");
  }
  return logger;
}

export const silentLogger = createLogger({ level: "silent" });
