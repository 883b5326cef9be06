/**
 * What the network tests share: a "host" namespace the daemon runs in (so
 * its sysctls, nftables, addresses and routes are the test's own), an
 * "uplink" namespace on the far side of a veth (the outside world: a
 * router at 203.0.113.1 with a far address on its loopback), DHCP with
 * busybox udhcpc in a guest namespace, and a snapshot of everything a
 * network may change on the host, to compare before start and after stop.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Lab, run } from "../../../src/testing/lab.js";
import { cleanupDaemons, type DaemonProcess, until } from "../helpers.js";

/** busybox udhcpc's event script: the lease becomes the interface's address and default route. */
const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    echo "LEASE $ip/$mask router=$router dns=$dns" ;;
esac
exit 0
`;

export function udhcpcScript(dir: string): string {
  const file = join(dir, "udhcpc.sh");
  writeFileSync(file, UDHCPC_SCRIPT, { mode: 0o755 });
  return file;
}

/** DHCP on `dev` in `ns` with busybox udhcpc; resolves with the leased address and router (throws with udhcpc's output if none). */
export async function dhcp(lab: Lab, ns: string, dev: string, script: string): Promise<{ ip: string; mask: string; router: string }> {
  await run(["ip", "-n", ns, "link", "set", "dev", dev, "up"]);
  const r = await lab.exec(ns, ["busybox", "udhcpc", "-i", dev, "-n", "-q", "-f", "-t", "8", "-T", "2", "-A", "2", "-s", script], { allowFail: true, timeoutMs: 60_000 });
  const m = /LEASE (\S+)\/(\S+) router=(\S*)/.exec(r.stdout);
  if (!m) throw new Error(`no DHCP lease on ${dev} in ${ns} (exit ${r.code}): ${r.stdout} ${r.stderr}`);
  return { ip: m[1]!, mask: m[2]!, router: m[3]! };
}

/** The outside world: `up` namespace with 203.0.113.1/24 toward the host, 198.51.100.1 on its loopback (a far address). */
export async function uplinkWorld(lab: Lab, host: string, hostIf: string, upIf: string): Promise<string> {
  const up = await lab.netns("up");
  await lab.veth({ ns: host, name: hostIf, address: "203.0.113.2/24" }, { ns: up, name: upIf, address: "203.0.113.1/24" });
  await run(["ip", "-n", up, "addr", "add", "198.51.100.1/32", "dev", "lo"]);
  await run(["ip", "-n", host, "route", "add", "default", "via", "203.0.113.1"]);
  return up;
}

export const FAR = "198.51.100.1";

export interface HostSnapshot {
  links: string;
  addresses: string;
  routes: string;
  ruleset: string;
  sysctls: string;
  processes: string;
}

const SYSCTLS = ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.conf.all.proxy_arp"];

/**
 * Everything a network may change in namespace `ns`: links (name, state, MAC), addresses, routes of every table,
 * the nftables ruleset, forwarding and proxy ARP sysctls of every interface, and the processes in it
 * (other than `ignorePids`, the daemon itself).
 */
export async function snapshot(ns: string, ignorePids: number[] = []): Promise<HostSnapshot> {
  const sh = (argv: string[]) => run(["ip", "netns", "exec", ns, ...argv], { allowFail: true }).then((r) => r.stdout.trim());
  const links = await sh(["ip", "-br", "link"]);
  const ifs = links.split("\n").map((l) => l.split(/\s+/)[0]!.split("@")[0]!).filter(Boolean);
  const keys = [...SYSCTLS, ...ifs.map((i) => `net.ipv4.conf.${i}.proxy_arp`), ...ifs.map((i) => `net.ipv4.conf.${i}.forwarding`)];
  const pids = (await run(["ip", "netns", "pids", ns], { allowFail: true })).stdout.split("\n").map(Number).filter((p) => p > 0 && !ignorePids.includes(p));
  const processes = (await Promise.all(pids.map((p) => run(["cat", `/proc/${p}/cmdline`], { allowFail: true }).then((r) => r.stdout.replace(/\0/g, " ").trim())))).sort().join("\n");
  return {
    links: links.replace(/\s+LOWER_UP/g, ""),
    addresses: await sh(["ip", "-br", "addr"]),
    routes: [await sh(["ip", "-4", "route", "show", "table", "all"]), await sh(["ip", "-6", "route", "show", "table", "all"])].join("\n"),
    ruleset: await sh(["nft", "list", "ruleset"]),
    sysctls: await sh(["sysctl", ...keys]),
    processes,
  };
}

/** Kill every process left in a namespace (dnsmasq daemonizes; a failed test must not leave it running). */
export async function killNamespaceProcesses(ns: string): Promise<void> {
  if (!ns) return;
  const pids = (await run(["ip", "netns", "pids", ns], { allowFail: true })).stdout.split("\n").map(Number).filter((p) => p > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/** Ping from a namespace; true when at least one reply came. */
export async function pings(lab: Lab, ns: string, to: string, count = 3): Promise<boolean> {
  const r = await lab.exec(ns, ["ping", "-c", String(count), "-i", "0.3", "-W", "2", to], { allowFail: true, timeoutMs: 30_000 });
  return r.code === 0;
}

/**
 * Start tcpdump in `ns` on `dev` with a filter; `done()` stops it and returns the lines it printed. `done(wanted)`
 * first waits (up to 10 s) for a line matching `wanted`: on a loaded machine tcpdump may print a moment late.
 */
export async function capture(lab: Lab, ns: string, dev: string, filter: string[]): Promise<{ done(wanted?: RegExp): Promise<string> }> {
  const child = lab.spawn(ns, ["tcpdump", "-l", "-n", "-i", dev, ...filter]);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 15_000;
  while (!err.includes("listening on") && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  return {
    async done(wanted?: RegExp) {
      const until = Date.now() + 10_000;
      while (wanted && !wanted.test(out) && Date.now() < until && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 300));
      child.kill("SIGINT");
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
      return out;
    },
  };
}

/** afterAll of a network test: the daemon stopped (its networks undone), stray processes of `hosts` killed, the lab removed. */
export async function tearDown(lab: Lab, daemon: { stop(): Promise<number> } | undefined, ...hosts: string[]): Promise<void> {
  await daemon?.stop();
  cleanupDaemons();
  for (const ns of hosts) await killNamespaceProcesses(ns);
  await lab.destroy();
}

/** Wait until the daemon's `show BRIDGE` lists `port` (attached by pattern). */
export function untilAttached(daemon: DaemonProcess, bridge: string, port: string, timeoutMs = 15_000): Promise<void> {
  return until(async () => (await daemon.cli(["show", bridge])).stdout.includes(port), `${port} to be attached to ${bridge}`, timeoutMs);
}
