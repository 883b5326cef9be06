/**
 * The control socket's protocol: JSON-RPC 2.0 over newline-delimited JSON.
 * Malformed, unknown, mistyped and oversized requests each get an error
 * reply and the connection (and daemon) go on; a peer that is not root is
 * refused by SO_PEERCRED even when the file mode would let it in.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlSocket, MAX_REQUEST_BYTES } from "../../src/daemon/control-socket.js";
import { Daemon } from "../../src/daemon/daemon.js";
import { loadNative } from "../../src/io/native.js";
import { createLogger } from "../../src/log.js";
import { run } from "../../src/testing/lab.js";

const CLI = fileURLToPath(new URL("../../bin/tapbridge.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "tbctl-"));
const path = join(dir, "control.sock");
const daemon = new Daemon();
const logs: string[] = [];
const control = new ControlSocket({
  path,
  logger: createLogger({ write: (l) => logs.push(l) }),
  peerCredentials: loadNative().peerCredentials!,
  context: { daemon, reload: async () => [], save: () => "", status: () => ({ pid: process.pid }) },
});

beforeAll(async () => {
  await control.listen();
});
afterAll(() => {
  control.close();
  daemon.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A connection that reads replies line by line. */
function open(): { socket: Socket; next: () => Promise<Record<string, any>>; send: (text: string) => void } {
  const socket = connect(path);
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let partial = "";
  socket.on("data", (d: Buffer) => {
    partial += d.toString();
    for (let nl = partial.indexOf("\n"); nl >= 0; nl = partial.indexOf("\n")) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  return {
    socket,
    send: (text) => socket.write(text),
    next: () => new Promise((resolve) => {
      const l = lines.shift();
      if (l !== undefined) resolve(JSON.parse(l));
      else waiters.push((line) => resolve(JSON.parse(line)));
    }),
  };
}

describe("control socket", () => {
  it("answers requests in order and applies them", async () => {
    const c = open();
    c.send('{"jsonrpc":"2.0","id":1,"method":"addbr","params":{"bridge":"ctl0"}}\n{"jsonrpc":"2.0","id":"two","method":"show"}\n');
    expect(await c.next()).toEqual({ jsonrpc: "2.0", id: 1, result: { changes: ["bridge ctl0 added"] } });
    expect(await c.next()).toMatchObject({ id: "two", result: [{ name: "ctl0", id: "8000.000000000000", stp: false, interfaces: [] }] });
    c.socket.destroy();
  });

  it("gives malformed, unknown and mistyped requests an error reply and keeps serving", async () => {
    const c = open();
    c.send("this is not json\n");
    expect(await c.next()).toMatchObject({ id: null, error: { code: -32700, message: "parse error: the request is not JSON" } });
    c.send('[1,2]\n{"id":3,"method":"show"}\n');
    expect(await c.next()).toMatchObject({ error: { code: -32600 } });
    expect(await c.next()).toMatchObject({ id: 3, error: { code: -32600, message: expect.stringContaining('"jsonrpc": "2.0"') } });
    c.send('{"jsonrpc":"2.0","id":4,"method":"frobnicate"}\n');
    expect(await c.next()).toMatchObject({ id: 4, error: { code: -32601, message: 'unknown method "frobnicate" (the "methods" method lists them)' } });
    c.send('{"jsonrpc":"2.0","id":5,"method":"setageing","params":{"bridge":"ctl0","seconds":"soon"}}\n');
    expect(await c.next()).toMatchObject({ id: 5, error: { code: -32602, message: "invalid params for setageing: params.seconds: expected number" } });
    c.send('{"jsonrpc":"2.0","id":6,"method":"addbr","params":{"bridge":"ctl0","colour":1}}\n');
    expect(await c.next()).toMatchObject({ id: 6, error: { code: -32602, message: 'invalid params for addbr: params: unknown member "colour"' } });
    c.send('{"jsonrpc":"2.0","id":7,"method":"delbr","params":{"bridge":"nosuch"}}\n');
    expect(await c.next()).toMatchObject({ id: 7, error: { code: -32000, message: "bridge nosuch does not exist", data: { code: "ENOENT" } } });
    c.send('{"jsonrpc":"2.0","method":"addbr","params":{"bridge":"ctl1"}}\n{"jsonrpc":"2.0","id":8,"method":"show","params":{"bridge":"ctl1"}}\n');
    expect(await c.next()).toMatchObject({ id: 8, result: [{ name: "ctl1" }] });
    c.socket.destroy();
  });

  it("refuses a 10 MB line without buffering it, and the connection goes on", async () => {
    const c = open();
    const big = Buffer.alloc(10 * 1024 * 1024, 0x61);
    c.send(`{"jsonrpc":"2.0","id":9,"method":"show","params":{"x":"`);
    c.socket.write(big);
    c.send('"}}\n{"jsonrpc":"2.0","id":10,"method":"show","params":{"bridge":"ctl0"}}\n');
    expect(await c.next()).toMatchObject({ id: null, error: { code: -32600, message: `request too large: a request line may be at most ${MAX_REQUEST_BYTES} bytes` } });
    expect(await c.next()).toMatchObject({ id: 10, result: [{ name: "ctl0" }] });
    c.socket.destroy();
    expect(daemon.bridges.has("ctl0")).toBe(true);
  });

  it("refuses a peer that is not root: by file mode, and by SO_PEERCRED when the mode lets it in", async () => {
    const asNobody = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", process.execPath, CLI, "show", "--socket", path];
    const denied = await run(asNobody, { allowFail: true });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(`permission denied on ${path}`);
    chmodSync(dir, 0o755);
    chmodSync(path, 0o666);
    try {
      const refused = await run(asNobody, { allowFail: true });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/permission denied: uid 65534 may not use the control socket: only root/);
      expect(logs.join("")).toContain('"msg":"control connection refused"');
    } finally {
      chmodSync(path, 0o600);
    }
    const asRoot = await run([process.execPath, CLI, "show", "--socket", path]);
    expect(asRoot.stdout).toContain("ctl0");
  });

  it("serves members of the configured group (a supplementary group counts)", async () => {
    const groupPath = join(dir, "group.sock");
    const gid = 4242;
    const grouped = new ControlSocket({
      path: groupPath,
      gid,
      logger: createLogger({ write: () => undefined }),
      peerCredentials: loadNative().peerCredentials!,
      context: { daemon, reload: async () => [], save: () => "", status: () => ({}) },
    });
    await grouped.listen();
    try {
      chmodSync(dir, 0o755);
      const member = await run(["setpriv", "--reuid", "nobody", "--regid", "nogroup", `--groups=${gid}`, process.execPath, CLI, "show", "--socket", groupPath], { allowFail: true });
      expect(member.code, member.stderr).toBe(0);
      expect(member.stdout).toContain("ctl0");
      const stranger = await run(["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", process.execPath, CLI, "show", "--socket", groupPath], { allowFail: true });
      expect(stranger.code).toBe(1);
      expect(stranger.stderr).toMatch(/permission denied/);
    } finally {
      grouped.close();
    }
  });
});
