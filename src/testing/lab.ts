/**
 * A lab of network namespaces for demos, tests and benchmarks: hosts are
 * namespaces, links are veth pairs. Every name carries a unique prefix, and
 * everything made is recorded and removed by `destroy()` — on success, on
 * failure, on exit, and on SIGINT/SIGTERM/SIGHUP (re-raised afterwards when
 * nothing else handles the signal).
 *
 * Commands run asynchronously: a bridge in the same process forwards on the
 * same event loop, so nothing here may block it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { TapbridgeError } from "../errors.js";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a program; resolve with its output; reject if it exits non-zero (unless `allowFail`). */
export function run(argv: string[], options: { allowFail?: boolean; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : undefined;
    child.on("error", (error) => {
      if (timer) clearTimeout(timer);
      reject(new TapbridgeError("ENOENT", `cannot run ${argv[0]}: ${error.message}`, error));
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
      if (result.code !== 0 && !options.allowFail) {
        reject(new TapbridgeError("ECOMMAND", `"${argv.join(" ")}" failed (exit ${result.code}): ${stderr.trim() || stdout.trim()}`));
      } else resolve(result);
    });
    if (child.stdin) {
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.input);
    }
  });
}

let labCounter = 0;
const liveLabs = new Set<Lab>();

export class Lab {
  /** Short unique prefix for every name this lab makes (interface names stay ≤ 15 bytes). */
  readonly id: string;
  private readonly namespaces: string[] = [];
  private readonly processes = new Set<ChildProcess>();

  constructor(tag = "tb") {
    this.id = `${tag}${process.pid.toString(36)}${(labCounter++).toString(36)}`;
    liveLabs.add(this);
    installExitHandler();
  }

  /** Create a namespace named `<id>-<name>` with loopback up and IPv6 off; returns its name. */
  async netns(name: string, options: { ipv6?: boolean } = {}): Promise<string> {
    const ns = `${this.id}-${name}`;
    await run(["ip", "netns", "add", ns]);
    this.namespaces.push(ns);
    await run(["ip", "-n", ns, "link", "set", "lo", "up"]);
    if (!options.ipv6) {
      await this.exec(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
    }
    return ns;
  }

  /** Interface name `<id><suffix>`, checked against the 15-byte limit. */
  ifname(suffix: string): string {
    const name = `${this.id}${suffix}`;
    if (name.length > 15) throw new TapbridgeError("EINVAL", `interface name ${name} is longer than 15 bytes`);
    return name;
  }

  /** A veth pair with one end in each namespace, both up. */
  async veth(a: { ns: string; name: string; address?: string; mtu?: number }, b: { ns: string; name: string; address?: string; mtu?: number }): Promise<void> {
    await run(["ip", "-n", a.ns, "link", "add", "name", a.name, "type", "veth", "peer", "name", b.name, "netns", b.ns]);
    for (const end of [a, b]) {
      if (end.mtu) await run(["ip", "-n", end.ns, "link", "set", "dev", end.name, "mtu", String(end.mtu)]);
      await run(["ip", "-n", end.ns, "link", "set", "dev", end.name, "up"]);
      if (end.address) await run(["ip", "-n", end.ns, "addr", "add", end.address, "dev", end.name]);
    }
  }

  /** Add an address to an interface in a namespace, bringing it up. */
  async address(ns: string, dev: string, cidr: string): Promise<void> {
    await run(["ip", "-n", ns, "addr", "add", cidr, "dev", dev]);
    await run(["ip", "-n", ns, "link", "set", "dev", dev, "up"]);
  }

  exec(ns: string, argv: string[], options: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    return run(["ip", "netns", "exec", ns, ...argv], options);
  }

  /** Start a long-running program in a namespace; it is killed by destroy(). */
  spawn(ns: string, argv: string[]): ChildProcess {
    const child = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    this.processes.add(child);
    child.on("exit", () => this.processes.delete(child));
    return child;
  }

  /**
   * Start a one-shot iperf3 server bound to `ip` in `ns` and resolve once it
   * listens, so a client started next never races it (a fixed sleep does, on
   * a loaded machine). Killed by destroy() if still running.
   */
  async iperfServer(ns: string, ip: string, options: { port?: number; timeoutMs?: number } = {}): Promise<ChildProcess> {
    const port = options.port ?? 5201;
    const server = this.spawn(ns, ["iperf3", "-s", "-1", "-B", ip, "-p", String(port)]);
    const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
    let gone = false;
    void exited.then(() => (gone = true));
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    while (!gone) {
      const { stdout } = await this.exec(ns, ["ss", "-Hltn", `sport = :${port}`], { allowFail: true });
      if (stdout.trim() !== "") return server;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    server.kill("SIGKILL");
    throw new TapbridgeError("ECOMMAND", `iperf3 server on ${ip}:${port} in ${ns} did not start listening${gone ? " (it exited)" : ""}`);
  }

  /** Remove everything this lab made. Idempotent; never throws. */
  async destroy(): Promise<void> {
    for (const child of this.processes) child.kill("SIGKILL");
    this.processes.clear();
    for (const ns of this.namespaces.splice(0).reverse()) {
      await run(["ip", "netns", "del", ns], { allowFail: true }).catch(() => undefined);
    }
    liveLabs.delete(this);
  }

  /** Synchronous cleanup for exit paths. */
  destroySync(): void {
    for (const child of this.processes) child.kill("SIGKILL");
    for (const ns of this.namespaces.splice(0)) {
      spawnSyncQuiet(["ip", "netns", "del", ns]);
    }
    liveLabs.delete(this);
  }
}

function spawnSyncQuiet(argv: string[]): void {
  spawnSync(argv[0]!, argv.slice(1), { stdio: "ignore" });
}

let exitHandlerInstalled = false;
function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on("exit", () => {
    for (const lab of liveLabs) lab.destroySync();
  });
  // A signal ends the process without "exit" handlers: clean up first. When
  // nobody else listens, re-raise it so the process ends as it would have.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      for (const lab of liveLabs) lab.destroySync();
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}
