/**
 * DHCP and DNS for a network's guests: dnsmasq, started and stopped by
 * tapbridge, one per network, bound to the host port only — the
 * configuration libvirt writes for its networks (strict-order,
 * except-interface=lo, bind-dynamic, interface=, dhcp-range,
 * dhcp-no-override, dhcp-authoritative, dhcp-lease-max), with its files in
 * the network's directory under tapbridge's runtime directory:
 *
 *   dnsmasq.conf    written at start, removed at stop
 *   dnsmasq.pid     dnsmasq's own pid file
 *   dnsmasq.leases  the lease file; kept across stops, as libvirt keeps its
 *                   status file, so guests keep their addresses
 *   dnsmasq.log     dnsmasq's log (log-facility)
 *
 * Static leases (dhcp.hosts) are `dhcp-host=` lines of the config, not a
 * dhcp-hostsfile: dnsmasq reads a hosts file after it has dropped to user
 * nobody, which cannot read it from a runtime directory of mode 0700; the
 * config is read while it is still root.
 *
 * dnsmasq daemonizes itself: it survives a crash of tapbridge, and the
 * next start finds it by its pid file and stops it before starting afresh
 * (state.ts). It is only ever signalled when /proc/PID/cmdline shows our
 * config file, so a recycled pid is never hit.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TapbridgeError } from "../../errors.js";
import type { DhcpConfig } from "./config.js";
import type { HostNs } from "./host-ns.js";
import { lastOf, networkOf, netmask4, parseIp, parsePrefix } from "./ip.js";

export interface DnsmasqInput {
  network: string;
  hostPort: string;
  dir: string;
  addresses: string[];
  dhcp?: DhcpConfig;
  dns: boolean;
  domain?: string;
  /** A host-only network gives its guests no default route (DHCP option 3 empty). */
  noRouter: boolean;
}

export function dnsmasqFiles(dir: string) {
  return { conf: join(dir, "dnsmasq.conf"), pid: join(dir, "dnsmasq.pid"), leases: join(dir, "dnsmasq.leases"), hosts: join(dir, "dnsmasq.hosts"), log: join(dir, "dnsmasq.log") };
}

/** dnsmasq's configuration file for a network. */
export function dnsmasqConf(input: DnsmasqInput): string {
  const f = dnsmasqFiles(input.dir);
  const lines = [
    `# Written by tapbridge for network ${input.network}; rewritten at every start.`,
    "strict-order",
    `pid-file=${f.pid}`,
    "except-interface=lo",
    "bind-dynamic",
    `interface=${input.hostPort}`,
    `log-facility=${f.log}`,
  ];
  if (!input.dns) lines.push("port=0");
  if (input.domain) lines.push(`domain=${input.domain}`, `local=/${input.domain}/`, "expand-hosts");
  const d = input.dhcp;
  if (d) {
    const net = input.addresses.map(parsePrefix).find((p) => p.family === 4 && parseIp(d.start).address >= networkOf(p) && parseIp(d.start).address <= lastOf(p))!;
    const lease = d.leaseTime === "infinite" ? "infinite" : `${d.leaseTime}`;
    const size = Number(parseIp(d.end).address - parseIp(d.start).address) + 1;
    lines.push(
      `dhcp-range=${d.start},${d.end},${netmask4(net.length)},${lease}`,
      "dhcp-no-override",
      "dhcp-authoritative",
      `dhcp-lease-max=${size}`,
      `dhcp-leasefile=${f.leases}`,
    );
    for (const h of d.hosts) lines.push(`dhcp-host=${h.mac},${h.ip}${h.name ? `,${h.name}` : ""}`);
    if (input.noRouter) lines.push("dhcp-option=3");
  }
  return lines.join("\n") + "\n";
}

/** Whether `pid` is a dnsmasq running with this config file. */
export function isOurDnsmasq(pid: number, conf: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.includes(`--conf-file=${conf}`);
  } catch {
    return false;
  }
}

/** Start dnsmasq; resolves with its pid once it has daemonized (it reports a failure to start on stderr and exits non-zero). */
export async function startDnsmasq(ns: HostNs, binary: string, input: DnsmasqInput): Promise<{ pid: number; conf: string; pidFile: string }> {
  const f = dnsmasqFiles(input.dir);
  mkdirSync(input.dir, { recursive: true, mode: 0o755 });
  rmSync(f.pid, { force: true });
  writeFileSync(f.conf, dnsmasqConf(input));
  if (input.dhcp && !existsSync(f.leases)) writeFileSync(f.leases, "");
  const r = await ns.run([binary, `--conf-file=${f.conf}`]);
  if (r.code !== 0) {
    throw new TapbridgeError("EDNSMASQ", `dnsmasq for network ${input.network} did not start: ${(r.stderr || r.stdout).trim().replace(/^dnsmasq: /, "") || `exit ${r.code}`}`);
  }
  // The pid file is written before the parent exits; wait a moment on a loaded machine anyway.
  for (let i = 0; i < 50; i++) {
    const pid = readPid(f.pid);
    if (pid && isOurDnsmasq(pid, f.conf)) return { pid, conf: f.conf, pidFile: f.pid };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new TapbridgeError("EDNSMASQ", `dnsmasq for network ${input.network} started but wrote no pid file (${f.pid}); its log: ${f.log}`);
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Stop our dnsmasq (SIGTERM, then SIGKILL after 5 s) and remove its config and pid files; the lease file stays. */
export async function stopDnsmasq(pid: number, conf: string, dir: string): Promise<boolean> {
  let stopped = false;
  if (isOurDnsmasq(pid, conf)) {
    try {
      process.kill(pid, "SIGTERM");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EPERM") {
        throw new TapbridgeError("EPERM", `cannot stop dnsmasq (pid ${pid}): the daemon may not signal it (it lacks CAP_KILL; see packaging/tapbridge.service.d/networks.conf)`);
      }
      /* gone */
    }
    for (let i = 0; i < 50 && isOurDnsmasq(pid, conf); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    if (isOurDnsmasq(pid, conf)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
      for (let i = 0; i < 20 && isOurDnsmasq(pid, conf); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    stopped = true;
  }
  const f = dnsmasqFiles(dir);
  // dnsmasq.hosts: left by versions that wrote static leases to a hosts file.
  for (const file of [f.conf, f.pid, f.hosts]) rmSync(file, { force: true });
  return stopped;
}

export interface Lease {
  /** Seconds since the epoch (0: infinite). */
  expiry: number;
  mac: string;
  ip: string;
  hostname: string;
  clientId: string;
}

/** dnsmasq's lease file: "EXPIRY MAC IP HOSTNAME CLIENTID" per line. */
export function readLeases(dir: string): Lease[] {
  let text: string;
  try {
    text = readFileSync(dnsmasqFiles(dir).leases, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w.length >= 4 && /^\d+$/.test(w[0]!))
    .map(([expiry, mac, ip, hostname, clientId]) => ({ expiry: Number(expiry), mac: mac!, ip: ip!, hostname: hostname === "*" ? "" : hostname!, clientId: !clientId || clientId === "*" ? "" : clientId }));
}
