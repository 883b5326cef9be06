/**
 * Errors that reach users carry a stable `code` (scripts match on it) and a
 * sentence that says what is wrong and, where it can, what to do.
 */
export class TapbridgeError extends Error {
  readonly code: string;
  override readonly cause?: unknown;

  constructor(code: string, message: string, cause?: unknown) {
    super(message);
    this.name = "TapbridgeError";
    this.code = code;
    this.cause = cause;
  }
}

/** The shape of an error thrown by the addon: errno name, number and the call that failed. */
export interface NativeError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
}

export function isNativeError(error: unknown): error is NativeError {
  return error instanceof Error && typeof (error as NativeError).code === "string";
}

/**
 * Turn an addon error into a sentence about the interface it concerns.
 * `what` names the thing being done, e.g. "attaching interface eth7".
 */
export function describeNativeError(error: unknown, what: string, ifname: string): TapbridgeError {
  if (!isNativeError(error)) return new TapbridgeError("EUNKNOWN", `${what} failed: ${String(error)}`, error);
  const code = error.code ?? "EUNKNOWN";
  // A refusal (a device Linux would not take as a port, a name taken) is already a sentence.
  if (error.syscall === "refuse") return new TapbridgeError(code, error.message, error);
  const sentence = (() => {
    switch (code) {
      case "ENODEV":
      case "ENXIO":
        return `interface ${ifname} not found`;
      case "EPERM":
      case "EACCES":
        return `${what} needs CAP_NET_ADMIN and CAP_NET_RAW (run as root or grant them to node)`;
      case "EBUSY":
        return `interface ${ifname} is busy: another process holds it open`;
      case "EEXIST":
        return `interface ${ifname} already exists and is not a TAP device`;
      case "ENOENT":
        return `${what} failed: ${error.message} (is /dev/net/tun present and the namespace there?)`;
      default:
        return `${what} failed: ${error.message}`;
    }
  })();
  return new TapbridgeError(code, sentence, error);
}
