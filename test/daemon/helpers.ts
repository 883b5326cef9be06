/**
 * Running `tapbridge daemon` as users do — a child process, ready when it
 * logs "daemon ready" — optionally inside a network namespace (so example
 * configs that name eth0 find the test's own eth0), and the CLI against
 * its socket.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run, type RunResult } from "../../src/testing/lab.js";

export const CLI = fileURLToPath(new URL("../../bin/tapbridge.js", import.meta.url));
export const REPO = fileURLToPath(new URL("../..", import.meta.url));

const dirs: string[] = [];
const children = new Set<ChildProcess>();

export function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tb${tag}-`));
  dirs.push(dir);
  return dir;
}

export function cleanupDaemons(): void {
  for (const c of children) c.kill("SIGKILL");
  children.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export class DaemonProcess {
  child!: ChildProcess;
  stderr = "";
  exited!: Promise<number>;

  constructor(
    readonly socket: string,
    readonly configFile: string | undefined,
    readonly netns?: string,
    /** A command the daemon runs under (e.g. setpriv with a capability set), inside the namespace. */
    readonly wrap: string[] = [],
  ) {}

  /** Start; resolves when "daemon ready" is logged, rejects with its stderr if it exits first. */
  static async start(options: { dir: string; config?: string; configFile?: string; netns?: string; args?: string[]; wrap?: string[] }): Promise<DaemonProcess> {
    let configFile = options.configFile;
    if (options.config !== undefined) {
      configFile = join(options.dir, "tapbridge.yaml");
      writeFileSync(configFile, options.config);
    }
    const d = new DaemonProcess(join(options.dir, "control.sock"), configFile, options.netns, options.wrap);
    await d.launch(options.args ?? []);
    return d;
  }

  async launch(extra: string[] = []): Promise<void> {
    const argv = [...this.wrap, process.execPath, CLI, "daemon", "--socket", this.socket, ...(this.configFile ? ["-c", this.configFile] : []), ...extra];
    const full = this.netns ? ["ip", "netns", "exec", this.netns, ...argv] : argv;
    const child = spawn(full[0]!, full.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    children.add(child);
    this.stderr = "";
    child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    child.stdout!.resume();
    this.exited = new Promise((resolve) => child.on("exit", (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? 128 : -1));
    }));
    await this.waitForLog("daemon ready", 30_000);
  }

  /** Resolves when a log line with this msg appears (counting from `after` characters of stderr). */
  waitForLog(msg: string, timeoutMs = 15_000, after = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      const needle = `"msg":"${msg}"`;
      const check = () => this.stderr.indexOf(needle, after) >= 0;
      if (check()) return resolve();
      const timer = setTimeout(() => {
        this.child.stderr!.off("data", onData);
        reject(new Error(`no "${msg}" in the daemon's log: ${this.stderr.slice(-3000)}`));
      }, timeoutMs);
      const onData = () => {
        if (check()) {
          clearTimeout(timer);
          this.child.stderr!.off("data", onData);
          resolve();
        }
      };
      this.child.stderr!.on("data", onData);
      void this.exited.then((code) => {
        clearTimeout(timer);
        if (!check()) reject(new Error(`the daemon exited (${code}) before "${msg}": ${this.stderr.slice(-3000)}`));
      });
    });
  }

  /** `tapbridge ARGS --socket S`; never throws on a non-zero exit. */
  cli(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
    return runEnv([process.execPath, CLI, ...args, "--socket", this.socket], env);
  }

  /** Parsed log lines. */
  logs(): Record<string, unknown>[] {
    return this.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode ?? 128;
    this.child.kill(signal);
    return this.exited;
  }
}

function runEnv(argv: string[], env: Record<string, string>): Promise<RunResult> {
  if (Object.keys(env).length === 0) return run(argv, { allowFail: true, timeoutMs: 30_000 });
  return run(["env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv], { allowFail: true, timeoutMs: 30_000 });
}

/** Run in a namespace, output as text; never throws on a non-zero exit. */
export function inNs(ns: string, argv: string[]): Promise<RunResult> {
  return run(["ip", "netns", "exec", ns, ...argv], { allowFail: true, timeoutMs: 30_000 });
}

/** Start a ping that runs until stopped; `done()` returns transmitted/received and the longest gap between replies (ms). */
export function startPing(ns: string, target: string, intervalSeconds = 0.01) {
  const child = spawn("ip", ["netns", "exec", ns, "ping", "-D", "-i", String(intervalSeconds), "-W", "1", target], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return {
    replies: () => (out.match(/ bytes from /g) ?? []).length,
    async done(): Promise<{ transmitted: number; received: number; maxGapMs: number }> {
      child.kill("SIGINT");
      await exited;
      children.delete(child);
      const times = [...out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000);
      let maxGapMs = 0;
      for (let i = 1; i < times.length; i++) maxGapMs = Math.max(maxGapMs, times[i]! - times[i - 1]!);
      const stats = /(\d+) packets transmitted, (\d+) received/.exec(out);
      return { transmitted: Number(stats?.[1] ?? 0), received: Number(stats?.[2] ?? times.length), maxGapMs: Math.round(maxGapMs) };
    },
  };
}

/** Resolve once `check` is true (polling), or reject after timeoutMs. */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A 10 ms UDP echo across the bridge, for measuring outages: unlike ping,
 * which slows down while replies are missing, it keeps sending every 10 ms,
 * so the longest gap between echoes is the outage plus at most one interval.
 */
export async function startEcho(fromNs: string, toNs: string, toIp: string, port = 7777) {
  const server = spawn("ip", ["netns", "exec", toNs, process.execPath, "-e",
    `const s=require("dgram").createSocket("udp4");s.on("message",(m,r)=>s.send(m,r.port,r.address));s.bind(${port},()=>console.log("ready"))`], { stdio: ["ignore", "pipe", "inherit"] });
  children.add(server);
  await new Promise<void>((resolve) => server.stdout!.once("data", () => resolve()));
  const client = spawn("ip", ["netns", "exec", fromNs, process.execPath, "-e", `
    const s=require("dgram").createSocket("udp4"); let sent=0, got=0, last=0, maxGap=0, first=0;
    s.on("message",()=>{const now=performance.now(); got++; if(last) maxGap=Math.max(maxGap, now-last); else first=now; last=now; });
    const t=setInterval(()=>{sent++; s.send(Buffer.from(String(sent)), ${port}, "${toIp}");}, 10);
    setInterval(()=>console.log(JSON.stringify({sent, got, maxGap: Math.round(maxGap)})), 50);
    process.on("SIGINT",()=>{clearInterval(t); console.log(JSON.stringify({sent, got, maxGap: Math.round(maxGap), done: true})); process.exit(0);});
  `], { stdio: ["ignore", "pipe", "inherit"] });
  children.add(client);
  let latest = { sent: 0, got: 0, maxGap: 0 };
  client.stdout!.on("data", (d: Buffer) => {
    for (const line of d.toString().split("\n")) if (line.startsWith("{")) latest = JSON.parse(line);
  });
  const exited = new Promise<void>((resolve) => client.on("exit", () => resolve()));
  return {
    received: () => latest.got,
    async done(): Promise<{ sent: number; received: number; maxGapMs: number }> {
      client.kill("SIGINT");
      await exited;
      server.kill("SIGKILL");
      children.delete(client);
      children.delete(server);
      return { sent: latest.sent, received: latest.got, maxGapMs: latest.maxGap };
    },
  };
}
