/**
 * The control socket: a Unix stream socket speaking JSON-RPC 2.0, one JSON
 * object per line each way (newline-delimited JSON). Requests on one
 * connection are answered in order; a notification (no `id`) gets no reply.
 *
 * Who may connect. The socket file is created with mode 0600 (0660 and the
 * configured group when there is one), inside a directory the daemon owns.
 * File modes are not the whole check: before serving a connection the
 * daemon asks the kernel who is at the other end (SO_PEERCRED, with the
 * peer's supplementary groups from SO_PEERGROUPS) and serves only uid 0 or
 * a member of the configured group. Node has no API for these, so the addon
 * exports `peerCredentials(fd)` — two getsockopt calls on the accepted
 * socket's own fd. The alternative, matching the socket's inode in
 * /proc/net/unix and then searching /proc/<pid>/fd for the peer, is racy
 * (the peer may exit and its pid be reused) and needs a scan of every
 * process; getsockopt reads what the kernel recorded at connect() time.
 *
 * Bad input never harms the daemon: a line that is not JSON, not a request,
 * names an unknown method or carries wrong params gets an error reply; a
 * line longer than MAX_REQUEST_BYTES gets an error reply and the rest of it
 * is discarded without being buffered.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { TapbridgeError } from "../errors.js";
import type { PeerCredentials } from "../io/native-binding.js";
import type { Logger } from "../log.js";
import { describeParams, METHODS, RpcError, type RpcContext, type RpcErrorObject } from "./rpc.js";

export { DEFAULT_SOCKET } from "./paths.js";
export const MAX_REQUEST_BYTES = 1 << 20;

export interface ControlSocketOptions {
  path: string;
  context: RpcContext;
  logger: Logger;
  /** gid whose members may connect besides root. */
  gid?: number;
  /** Reads the peer's credentials from a connected socket's fd (the addon's peerCredentials). */
  peerCredentials: (fd: number) => PeerCredentials;
}

export class ControlSocket {
  private server: Server | undefined;

  constructor(private readonly options: ControlSocketOptions) {}

  async listen(): Promise<void> {
    const { path, gid } = this.options;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    if (existsSync(path)) {
      if (await answers(path)) throw new TapbridgeError("EADDRINUSE", `a tapbridge daemon already listens on ${path}`);
      unlinkSync(path);
    }
    const server = createServer({ allowHalfOpen: false }, (socket) => this.serve(socket));
    this.server = server;
    const mask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(path, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } finally {
      process.umask(mask);
    }
    if (gid !== undefined) {
      chownSync(path, 0, gid);
      chmodSync(path, 0o660);
    } else chmodSync(path, 0o600);
    server.on("error", (error) => this.options.logger.error("control socket error", { err: error }));
  }

  close(): void {
    this.server?.close();
    try {
      unlinkSync(this.options.path);
    } catch {
      /* already gone */
    }
  }

  private allowed(socket: Socket): { ok: true; peer: PeerCredentials } | { ok: false; reason: string } {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== "number" || fd < 0) return { ok: false, reason: "the peer's credentials cannot be read" };
    let peer: PeerCredentials;
    try {
      peer = this.options.peerCredentials(fd);
    } catch (error) {
      return { ok: false, reason: `the peer's credentials cannot be read (${(error as Error).message})` };
    }
    const { gid } = this.options;
    if (peer.uid === 0 || (gid !== undefined && (peer.gid === gid || peer.groups.includes(gid)))) return { ok: true, peer };
    return { ok: false, reason: `uid ${peer.uid} may not use the control socket: only root${gid !== undefined ? ` and members of group ${gid}` : ""}` };
  }

  private serve(socket: Socket): void {
    const check = this.allowed(socket);
    if (!check.ok) {
      this.options.logger.warn("control connection refused", { reason: check.reason });
      socket.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: RpcError.invalidRequest, message: `permission denied: ${check.reason}`, data: { code: "EPERM" } } }) + "\n");
      return;
    }
    const peer = check.peer;
    let buffered: Buffer[] = [];
    let size = 0;
    let discarding = false;
    let queue = Promise.resolve();
    const reply = (obj: unknown) => {
      if (!socket.destroyed) socket.write(JSON.stringify(obj) + "\n");
    };
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl);
        start = nl + 1;
        if (discarding) {
          discarding = false;
          continue;
        }
        const line = Buffer.concat([...buffered, piece]).toString("utf8");
        buffered = [];
        size = 0;
        if (line.trim() === "") continue;
        queue = queue.then(async () => {
          const r = await this.handle(line, peer);
          if (r !== undefined) reply(r);
        });
      }
      if (start < chunk.length && !discarding) {
        const rest = chunk.subarray(start);
        size += rest.length;
        if (size > MAX_REQUEST_BYTES) {
          buffered = [];
          size = 0;
          discarding = true;
          queue = queue.then(() => reply(errorReply(null, RpcError.invalidRequest, `request too large: a request line may be at most ${MAX_REQUEST_BYTES} bytes`)));
          this.options.logger.warn("control request too large", { peerPid: peer.pid, limit: MAX_REQUEST_BYTES });
        } else buffered.push(Buffer.from(rest));
      }
    });
  }

  /** One request line → its reply (undefined for a notification). */
  async handle(line: string, peer?: PeerCredentials): Promise<unknown> {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return errorReply(null, RpcError.parse, "parse error: the request is not JSON");
    }
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      return errorReply(null, RpcError.invalidRequest, "invalid request: expected a JSON-RPC 2.0 request object");
    }
    const r = request as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    const id = typeof r.id === "string" || typeof r.id === "number" ? r.id : null;
    if (r.jsonrpc !== "2.0" || typeof r.method !== "string") {
      return errorReply(id, RpcError.invalidRequest, 'invalid request: needs "jsonrpc": "2.0" and a string "method"');
    }
    const m = Object.hasOwn(METHODS, r.method) ? METHODS[r.method] : undefined;
    if (!m) return errorReply(id, RpcError.methodNotFound, `unknown method "${r.method}" (the "methods" method lists them)`);
    const parsed = m.params.safeParse(r.params ?? {});
    if (!parsed.success) return errorReply(id, RpcError.invalidParams, `invalid params for ${r.method}: ${describeParams(parsed.error)}`);
    const notification = r.id === undefined;
    try {
      const result = await m.run(this.options.context, parsed.data);
      if (!isReadOnly(r.method)) this.options.logger.info("control request applied", { method: r.method, params: parsed.data, peerPid: peer?.pid, peerUid: peer?.uid, result });
      return notification ? undefined : { jsonrpc: "2.0", id, result: result ?? null };
    } catch (error) {
      if (error instanceof TapbridgeError) {
        this.options.logger.info("control request refused", { method: r.method, params: parsed.data, peerPid: peer?.pid, reason: error.message });
        return notification ? undefined : errorReply(id, RpcError.refused, error.message, error.code);
      }
      this.options.logger.error("control request failed", { method: r.method, err: error });
      return notification ? undefined : errorReply(id, RpcError.refused, `internal error: ${(error as Error).message}`, "EINTERNAL");
    }
  }
}

function isReadOnly(method: string): boolean {
  return ["show", "showmacs", "showstp", "stats", "fdb.show", "link.show", "vlan.show", "save", "status", "methods"].includes(method);
}

function errorReply(id: string | number | null, code: number, message: string, dataCode?: string): { jsonrpc: "2.0"; id: string | number | null; error: RpcErrorObject } {
  return { jsonrpc: "2.0", id, error: { code, message, ...(dataCode ? { data: { code: dataCode } } : {}) } };
}

/** Whether something accepts connections on this socket path. */
/** Whether a daemon listens on the socket at `path`. */
export function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
