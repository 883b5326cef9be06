/**
 * The CLI's side of the control socket: one JSON-RPC request, one reply,
 * then the connection closes. A refused request becomes a TapbridgeError
 * carrying the daemon's sentence and code (exit 1).
 */
import { connect } from "node:net";
import { TapbridgeError } from "../errors.js";
import { DEFAULT_SOCKET } from "../daemon/paths.js";
import type { FlagSpec, Parsed } from "./args.js";

/** Flags every verb that talks to the daemon takes. */
export const CLIENT_FLAGS: Record<string, FlagSpec> = {
  socket: { type: "string", value: "PATH", help: `the daemon's control socket (default $TAPBRIDGE_SOCKET or ${DEFAULT_SOCKET})` },
  help: { type: "boolean", help: "show this help" },
};

export function socketPath(flags: Parsed): string {
  return (flags.socket as string | undefined) ?? process.env.TAPBRIDGE_SOCKET ?? DEFAULT_SOCKET;
}

let nextId = 1;

export function call<T = unknown>(path: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TapbridgeError("ETIMEDOUT", `the daemon on ${path} did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    socket.on("connect", () => socket.write(JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }) + "\n"));
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString("utf8");
      const nl = data.indexOf("\n");
      if (nl < 0) return;
      let reply: { result?: T; error?: { message: string; data?: { code?: string } } };
      try {
        reply = JSON.parse(data.slice(0, nl));
      } catch {
        return done(() => reject(new TapbridgeError("EPROTO", `the daemon on ${path} sent something that is not JSON`)));
      }
      if (reply.error) {
        const error = reply.error;
        return done(() => reject(new TapbridgeError(error.data?.code ?? "ERPC", error.message)));
      }
      done(() => resolve(reply.result as T));
    });
    socket.on("end", () => done(() => reject(new TapbridgeError("EPROTO", `the daemon on ${path} closed the connection without answering`))));
    socket.on("error", (error: NodeJS.ErrnoException) =>
      done(() => {
        if (error.code === "ENOENT" || error.code === "ECONNREFUSED") {
          reject(new TapbridgeError("ENODAEMON", `no tapbridge daemon is listening on ${path} (start one with "tapbridge daemon", or give --socket PATH)`));
        } else if (error.code === "EACCES") {
          reject(new TapbridgeError("EPERM", `permission denied on ${path}: the control socket is for root (and the group the config names)`));
        } else reject(new TapbridgeError(error.code ?? "EIO", `cannot reach the daemon on ${path}: ${error.message}`));
      }),
    );
  });
}
