/**
 * Open vSwitch as a peer, with daemons of its own: ovsdb-server and
 * ovs-vswitchd started in a namespace, their database, sockets and logs in a
 * private temporary directory (nothing of the host's OVS is touched). Used
 * by the bond benchmarks (LACP peer) and by the interop tests (RSTP, LACP).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { run, type Lab } from "../src/testing/lab.js";

export function ovsSchema(): string | undefined {
  return ["/usr/share/openvswitch/vswitch.ovsschema", "/usr/local/share/openvswitch/vswitch.ovsschema"].find((p) => existsSync(p));
}

export function ovsInstalled(): boolean {
  return spawnSync("sh", ["-c", "command -v ovs-vswitchd && command -v ovsdb-server"], { stdio: "ignore" }).status === 0 && ovsSchema() !== undefined;
}

export interface OvsSwitch {
  vsctl(...args: string[]): Promise<string>;
  appctl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** ovsdb-server and ovs-vswitchd of its own, in `ns`, state under a private temporary directory. */
export async function startOvs(lab: Lab, ns: string, tag: string): Promise<OvsSwitch> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${lab.id}-${tag}-ovs-`));
  const env = [`OVS_RUNDIR=${dir}`, `OVS_DBDIR=${dir}`, `OVS_LOGDIR=${dir}`, `OVS_PKGDATADIR=/usr/share/openvswitch`];
  const db = `unix:${dir}/db.sock`;
  const vsctl = async (...args: string[]) => (await run(["env", ...env, "ovs-vsctl", `--db=${db}`, "--timeout=20", ...args], { timeoutMs: 25_000 })).stdout;
  const appctl = async (...args: string[]) => (await run(["env", ...env, "ovs-appctl", "-t", `${dir}/ovs-vswitchd.ctl`, ...args], { timeoutMs: 10_000 })).stdout;
  await run(["ovsdb-tool", "create", `${dir}/conf.db`, ovsSchema()!]);
  const server = lab.spawn(ns, ["env", ...env, "ovsdb-server", `${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, `--pidfile=${dir}/ovsdb-server.pid`, `--log-file=${dir}/ovsdb-server.log`, `--unixctl=${dir}/ovsdb-server.ctl`]);
  const until = Date.now() + 10_000;
  while (!existsSync(`${dir}/db.sock`)) {
    if (Date.now() > until) throw new Error(`ovsdb-server did not start (log ${dir}/ovsdb-server.log)`);
    await sleep(50);
  }
  await vsctl("--no-wait", "init");
  const vswitchd = lab.spawn(ns, ["env", ...env, "ovs-vswitchd", db, `--pidfile=${dir}/ovs-vswitchd.pid`, `--log-file=${dir}/ovs-vswitchd.log`, `--unixctl=${dir}/ovs-vswitchd.ctl`]);
  return {
    vsctl,
    appctl,
    stop: async () => {
      for (const child of [vswitchd, server]) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([gone, sleep(3000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
