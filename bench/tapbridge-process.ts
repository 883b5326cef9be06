/**
 * tapbridge as the system under test: a separate `node bin/tapbridge.js run`
 * process, so its CPU time is its own (/proc/PID/stat) and a crash of the
 * bridge cannot take the suite down. node is spawned directly (not through
 * npx or a shell), so `pid` is the bridge's own process.
 *
 * The process talks in JSON lines on stderr: `"msg":"bridge running"` when it
 * forwards, `"msg":"status"` after SIGUSR1 (ports, dataplane counters), and
 * `"msg":"bridge stopped"` after SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Bridge, FdbStats, PortStats, PortVlans } from "../src/bridge.js";
import type { BondStatus } from "../src/bond/status.js";

// dist/bench/ when built, bench/ when run from sources (tests import it too).
const BIN = ["../../bin/tapbridge.js", "../bin/tapbridge.js"].map((p) => fileURLToPath(new URL(p, import.meta.url))).find((p) => existsSync(p))!;

/** A port's counters as the status line carries them (Bridge.portStats). */
export type PortStatus = PortStats;

/** The addon's dataplane counters (Bridge.dataplaneStats). */
export type DataplaneStatus = NonNullable<ReturnType<Bridge["dataplaneStats"]>>;

export interface Status {
  ports: PortStatus[];
  dataplane: DataplaneStatus | undefined;
  /** Per port, its VLANs and their counters (when the bridge filters VLANs). */
  vlans?: PortVlans[];
  /** The FDB's counters (Bridge.fdbStats). */
  fdbStats?: FdbStats;
  /** Bonds: members, their counters, buckets (when the bridge has bonds). */
  bonds?: BondStatus[];
}

type Line = Record<string, unknown>;

export class TapbridgeProcess {
  readonly child: ChildProcess;
  private lines: Line[] = [];
  private waiters: { test: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  private stderrTail = "";
  private exited = false;

  private constructor(args: string[], env?: Record<string, string>) {
    this.child = spawn(process.execPath, [BIN, "run", "--log-level", "info", ...args], { stdio: ["ignore", "ignore", "pipe"], ...(env ? { env: { ...process.env, ...env } } : {}) });
    let partial = "";
    this.child.stderr!.on("data", (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const parts = text.split("\n");
      partial = parts.pop()!;
      for (const raw of parts) this.onLine(raw);
    });
    this.child.on("exit", () => {
      this.exited = true;
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Start a bridge and wait until it forwards. */
  /** `env`: variables added to the bridge's environment. */
  static async start(args: string[], timeoutMs = 15_000, env?: Record<string, string>): Promise<TapbridgeProcess> {
    const tb = new TapbridgeProcess(args, env);
    try {
      await tb.waitFor((l) => l.msg === "bridge running", timeoutMs, "start");
    } catch (error) {
      tb.kill();
      throw error;
    }
    return tb;
  }

  private onLine(raw: string): void {
    this.stderrTail = (this.stderrTail + raw + "\n").slice(-2000);
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      return;
    }
    const waiter = this.waiters.find((w) => w.test(line));
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    } else if (line.msg === "status" || line.msg === "bridge stopped") {
      this.lines.push(line);
    }
  }

  private waitFor(test: (l: Line) => boolean, timeoutMs: number, what: string): Promise<Line> {
    const queued = this.lines.findIndex(test);
    if (queued >= 0) return Promise.resolve(this.lines.splice(queued, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve: (l: Line) => (clearTimeout(timer), this.child.off("exit", onExit), resolve(l)) };
      const fail = (why: string) => {
        clearTimeout(timer);
        this.child.off("exit", onExit);
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`tapbridge ${why} (waiting for ${what}); its last output: ${this.stderrTail.trim().slice(-600) || "(none)"}`));
      };
      const onExit = (code: number | null) => fail(`exited with code ${code}`);
      const timer = setTimeout(() => fail(`did not answer within ${timeoutMs} ms`), timeoutMs);
      this.waiters.push(waiter);
      if (this.exited) onExit(this.child.exitCode);
      else this.child.on("exit", onExit);
    });
  }

  /** Port and dataplane counters, via SIGUSR1. */
  async status(): Promise<Status> {
    const reply = this.waitFor((l) => l.msg === "status", 5000, "status");
    this.child.kill("SIGUSR1");
    const line = await reply;
    return {
      ports: (line.ports as PortStatus[]) ?? [],
      dataplane: line.dataplane as DataplaneStatus | undefined,
      ...(line.vlans ? { vlans: line.vlans as PortVlans[] } : {}),
      ...(line.fdbStats ? { fdbStats: line.fdbStats as FdbStats } : {}),
      ...(line.bonds ? { bonds: line.bonds as BondStatus[] } : {}),
    };
  }

  /** SIGTERM and wait for a clean exit (SIGKILL after a grace period). */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.kill(), graceMs);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }
}

/** What changed between two status readings: the "where the time goes" figures. */
export interface DataplaneDelta {
  frames: number;
  batches: number;
  framesPerBatch: number;
  syscallsPerFrame: number;
  /** Share of the dataplane's measured time spent in TypeScript (decide) vs native rx+tx. */
  jsShare: number;
  nativeShare: number;
  jsNanosPerFrame: number;
  nativeNanosPerFrame: number;
  wakeups: number;
  drops: number;
  /** GSO frames segmented in software toward ports without virtio-net headers. */
  segmented: number;
  /** Bytes per frame received on all ports (above 1514: GSO frames passed whole). */
  bytesPerFrame: number;
}

export function dataplaneDelta(before: Status, after: Status): DataplaneDelta | undefined {
  const a = before.dataplane;
  const b = after.dataplane;
  if (!a || !b) return undefined;
  const frames = b.frames - a.frames;
  const batches = b.batches - a.batches;
  const sum = (s: Status, pick: (p: PortStatus) => number) => s.ports.reduce((t, p) => t + pick(p), 0);
  const syscalls = sum(after, (p) => p.rxSyscalls + p.txSyscalls) - sum(before, (p) => p.rxSyscalls + p.txSyscalls);
  const dropCount = (p: PortStatus) => p.rxDropped + p.txDropped + Object.values(p.drops ?? {}).reduce((t, n) => t + n, 0);
  // jsNanos is the time inside onBatch, which includes the transmit() call
  // TypeScript makes from there: the decisions alone are jsNanos - txNanos.
  const js = b.jsNanos - a.jsNanos - (b.txNanos - a.txNanos);
  const none = frames > 0 ? 1 : Number.NaN; // no frames: the ratios below are undefined, not zero
  const native = b.rxNanos - a.rxNanos + (b.txNanos - a.txNanos);
  return {
    frames,
    batches,
    framesPerBatch: (frames / Math.max(1, batches)) * none,
    syscallsPerFrame: (syscalls / frames) * none,
    jsShare: js + native > 0 ? (js / (js + native)) * none : Number.NaN,
    nativeShare: js + native > 0 ? (native / (js + native)) * none : Number.NaN,
    jsNanosPerFrame: (js / frames) * none,
    nativeNanosPerFrame: (native / frames) * none,
    wakeups: b.wakeups - a.wakeups,
    drops: sum(after, dropCount) - sum(before, dropCount),
    segmented: sum(after, (p) => p.txSegmented) - sum(before, (p) => p.txSegmented),
    bytesPerFrame: ((sum(after, (p) => p.rxBytes) - sum(before, (p) => p.rxBytes)) / Math.max(1, sum(after, (p) => p.rxPackets) - sum(before, (p) => p.rxPackets))) * none,
  };
}
