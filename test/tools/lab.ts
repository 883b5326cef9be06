/**
 * Namespaces, veth pairs and the two contenders of the differential test.
 *
 *   tbd-hosts-<id>                    tbd-dut-<id>
 *   h0 ───────── veth ───────────── p0 ┐
 *   h1 ───────── veth ───────────── p1 ├─ br0 (kernel) or tapbridge (AF_PACKET)
 *   h2 ───────── veth ───────────── p2 │
 *   h3 ───────── veth ───────────── p3 ┘
 *
 * Frames are injected and captured on h0..h3 by replay.py. Every interface
 * gets a fixed MAC so both contenders see identical topologies and the frame
 * generator can keep clear of them.
 *
 * All commands run asynchronously: while tapbridge runs, its stderr pipe must
 * keep draining or it would block on a log write.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MAGIC, NPORTS, type Frame } from "./frames.js";

const execFileP = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
export const REPLAY_PY = join(here, "replay.py");
export const REPO_ROOT = join(here, "..", "..");

export const PORT_MAC = (i: number) => `02:7b:d0:00:01:0${i}`;
export const HOST_MAC = (i: number) => `02:7b:d0:00:02:0${i}`;
export const BRIDGE_MAC = "02:7b:d0:00:00:01";
/** Every MAC the topology itself owns; crafted frames never use these. */
export const TOPOLOGY_MACS = [BRIDGE_MAC, ...Array.from({ length: NPORTS }, (_, i) => [PORT_MAC(i), HOST_MAC(i)]).flat()];

export async function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  try {
    const { stdout } = await execFileP(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${err.stderr?.trim() || err.message}`);
  }
}

/** Everything this process created, so afterAll can remove it even after a failure. */
export const created = { namespaces: new Set<string>(), children: new Set<ChildProcess>(), dirs: new Set<string>() };

export async function cleanupAll(): Promise<void> {
  for (const child of created.children) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  }
  created.children.clear();
  for (const ns of created.namespaces) await run("ip", ["netns", "del", ns]).catch(() => undefined);
  created.namespaces.clear();
  for (const d of created.dirs) rmSync(d, { recursive: true, force: true });
  created.dirs.clear();
}

export interface KernelOptions {
  /** IGMP/MLD snooping on br0 (kernel default 1). */
  multicastSnooping: boolean;
  /** net.bridge.bridge-nf-call-{iptables,ip6tables,arptables} in the dut namespace (default 1 where br_netfilter is built in). */
  bridgeNetfilter: boolean;
}

export interface Topology {
  id: string;
  dutNs: string;
  hostsNs: string;
  ports: string[]; // p0..p3 (in dutNs)
  hosts: string[]; // h0..h3 (in hostsNs)
}

async function newNamespace(name: string): Promise<void> {
  await run("ip", ["netns", "add", name]);
  created.namespaces.add(name);
  // Before any link exists, so no interface ever gets IPv6 (no MLD, no DAD, no RS).
  await run("ip", ["netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
  await run("ip", ["netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
}

export async function buildTopology(id: string, kernel?: KernelOptions): Promise<Topology> {
  const t: Topology = {
    id,
    dutNs: `tbd-dut-${id}`,
    hostsNs: `tbd-hosts-${id}`,
    ports: Array.from({ length: NPORTS }, (_, i) => `p${i}`),
    hosts: Array.from({ length: NPORTS }, (_, i) => `h${i}`),
  };
  await newNamespace(t.dutNs);
  await newNamespace(t.hostsNs);
  const dut = (...a: string[]) => run("ip", ["-n", t.dutNs, ...a]);
  const hst = (...a: string[]) => run("ip", ["-n", t.hostsNs, ...a]);
  for (let i = 0; i < NPORTS; i++) {
    await dut("link", "add", t.ports[i], "address", PORT_MAC(i), "type", "veth", "peer", "name", t.hosts[i], "address", HOST_MAC(i), "netns", t.hostsNs);
  }
  if (kernel) {
    // vlan_filtering is not passed: this kernel is built without
    // CONFIG_BRIDGE_VLAN_FILTERING, so the option is rejected with EOPNOTSUPP
    // and every bridge is VLAN-unaware. We check the resulting value below.
    await dut("link", "add", "br0", "address", BRIDGE_MAC, "type", "bridge", "stp_state", "0", "mcast_snooping", kernel.multicastSnooping ? "1" : "0");
    for (const p of t.ports) await dut("link", "set", p, "master", "br0");
    for (const v of ["iptables", "ip6tables", "arptables"]) {
      await run("ip", ["netns", "exec", t.dutNs, "sysctl", "-qw", `net.bridge.bridge-nf-call-${v}=${kernel.bridgeNetfilter ? 1 : 0}`]).catch((e) => {
        // No br_netfilter in this kernel means it is off anyway.
        if (kernel.bridgeNetfilter || !/No such file|cannot stat/i.test(String(e))) throw e;
      });
    }
    await dut("link", "set", "br0", "up");
  }
  for (const p of t.ports) await dut("link", "set", p, "up");
  for (const h of t.hosts) await hst("link", "set", h, "promisc", "on", "up");
  await waitForLinks(t, !!kernel);
  return t;
}

async function waitForLinks(t: Topology, bridged: boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const links = JSON.parse(await run("ip", ["-n", t.dutNs, "-j", "link", "show"])) as Array<{ ifname: string; operstate: string }>;
    let ok = t.ports.every((p) => links.find((l) => l.ifname === p)?.operstate === "UP");
    if (ok && bridged) {
      const bl = JSON.parse(await run("bridge", ["-n", t.dutNs, "-j", "link", "show"])) as Array<{ ifname: string; state: string }>;
      ok = t.ports.every((p) => bl.find((l) => l.ifname === p)?.state === "forwarding");
    }
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`ports of ${t.dutNs} did not come up: ${JSON.stringify(links.map((l) => [l.ifname, l.operstate]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** MACs the kernel side actually has (br0, p0..p3), lower case. */
export async function readDutMacs(t: Topology): Promise<Map<string, string>> {
  const links = JSON.parse(await run("ip", ["-n", t.dutNs, "-j", "link", "show"])) as Array<{ ifname: string; address: string }>;
  return new Map(links.filter((l) => l.ifname !== "lo").map((l) => [l.ifname, l.address.toLowerCase()]));
}

export async function readBridgeSettings(t: Topology): Promise<Record<string, unknown>> {
  const [link] = JSON.parse(await run("ip", ["-n", t.dutNs, "-d", "-j", "link", "show", "br0"])) as Array<{
    linkinfo: { info_data: Record<string, unknown> };
  }>;
  return link.linkinfo.info_data;
}

export async function destroyTopology(t: Topology): Promise<void> {
  for (const ns of [t.dutNs, t.hostsNs]) {
    await run("ip", ["netns", "del", ns]).catch(() => undefined);
    created.namespaces.delete(ns);
  }
}

export interface Capture {
  ports: number[];
  captures: Record<string, string[]>; // port -> hex of each copy seen there
}
export interface ReplayResult {
  results: Record<string, Capture>;
  unmarked: number;
  unmarked_samples: Array<{ port: number; head: string }>;
  foreign: number;
}

export interface ReplayOptions {
  gapMs?: number;
  settleMs?: number;
  /** per-frame ports to wait for before the gap (paces a slower bridge) */
  waitFor?: Map<number, number[]>;
  /** per-frame gap overriding gapMs */
  gapFor?: Map<number, number>;
  maxWaitMs?: number;
}

export async function replay(t: Topology, frames: Frame[], o: ReplayOptions = {}): Promise<ReplayResult> {
  const dir = mkdtempSync(join(tmpdir(), "tbd-"));
  created.dirs.add(dir);
  const input = join(dir, "in.json");
  const output = join(dir, "out.json");
  writeFileSync(
    input,
    JSON.stringify({
      ports: t.hosts,
      magic: MAGIC.toString("hex"),
      gap_ms: o.gapMs ?? 8,
      settle_ms: o.settleMs ?? 300,
      max_wait_ms: o.maxWaitMs ?? 0,
      frames: frames.map((f) => ({ seq: f.seq, port: f.ingress, hex: f.bytes.toString("hex"), wait_for: o.waitFor?.get(f.seq) ?? [], gap_ms: o.gapFor?.get(f.seq) ?? o.gapMs ?? 8 })),
    }),
  );
  await run("ip", ["netns", "exec", t.hostsNs, "python3", REPLAY_PY, input, output], 90_000);
  const result = JSON.parse(readFileSync(output, "utf8")) as ReplayResult;
  rmSync(dir, { recursive: true, force: true });
  created.dirs.delete(dir);
  return result;
}

/** One kernel-bridge run on a fresh topology. */
export async function runKernel(id: string, frames: Frame[], opts: KernelOptions): Promise<{ result: ReplayResult; macs: Map<string, string>; settings: Record<string, unknown> }> {
  const t = await buildTopology(id, opts);
  try {
    const macs = await readDutMacs(t);
    const settings = await readBridgeSettings(t);
    const result = await replay(t, frames);
    return { result, macs, settings };
  } finally {
    await destroyTopology(t);
  }
}

export interface TapbridgeRun {
  result: ReplayResult;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * One tapbridge run: same topology without br0; tapbridge attaches p0..p3
 * inside the dut namespace with the IFNAME@NETNS form.
 */
export async function runTapbridge(
  id: string,
  frames: Frame[],
  replayOpts: ReplayOptions,
  /** [program, ...args] to run instead of `node bin/tapbridge.js`, for checking this harness */
  command?: (t: Topology) => string[],
): Promise<TapbridgeRun> {
  const t = await buildTopology(id);
  const bin = join(REPO_ROOT, "bin", "tapbridge.js");
  const [program, ...args] = command?.(t) ?? [
    process.execPath,
    bin,
    "run",
    "--name",
    `tbd${id}`,
    ...t.ports.flatMap((p) => ["--attach", `${p}@${t.dutNs}`]),
  ];
  const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], cwd: REPO_ROOT });
  created.children.add(child);
  let stderr = "";
  let stdout = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tapbridge did not log "bridge running" within 20 s. stderr:\n${stderr}\nstdout:\n${stdout}`)), 20_000);
      child.stderr!.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (stderr.split("\n").some((l) => l.includes('"msg":"bridge running"'))) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot start tapbridge: ${e.message}`));
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`tapbridge exited (code ${code}, signal ${signal}) before "bridge running". command: ${program} ${args.join(" ")}\nstderr:\n${stderr}\nstdout:\n${stdout}`));
      });
    });
    const result = await replay(t, frames, replayOpts);
    child.kill("SIGTERM");
    const timeout = new Promise<null>((r) => setTimeout(() => r(null), 10_000));
    const end = await Promise.race([exited, timeout]);
    if (!end) {
      child.kill("SIGKILL");
      throw new Error(`tapbridge did not exit within 10 s of SIGTERM. stderr:\n${stderr}`);
    }
    return { result, exitCode: end.code, signal: end.signal, stderr };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    created.children.delete(child);
    await destroyTopology(t);
  }
}
