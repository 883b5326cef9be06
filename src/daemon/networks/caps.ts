/**
 * What dnsmasq needs from the daemon that starts it. The systemd unit runs
 * the daemon as root with a few capabilities instead of all of them, and a
 * child inherits no more: dnsmasq binds the DHCP and DNS ports
 * (CAP_NET_BIND_SERVICE), drops to user nobody and group dip
 * (CAP_SETUID, CAP_SETGID), and the daemon must be able to signal it once it
 * runs as nobody (CAP_KILL). Without them dnsmasq fails half way or, worse,
 * cannot be stopped; so a network that runs dnsmasq is refused up front,
 * with the capabilities named.
 */
import { readFileSync } from "node:fs";

const NEEDED: [name: string, bit: number][] = [
  ["CAP_NET_BIND_SERVICE", 10],
  ["CAP_SETUID", 7],
  ["CAP_SETGID", 6],
  ["CAP_KILL", 5],
];

/** The effective capability set of this process, from /proc/self/status (all of them when it cannot be read). */
export function effectiveCapabilities(status?: string): bigint {
  try {
    const text = status ?? readFileSync("/proc/self/status", "utf8");
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(text);
    return m ? BigInt(`0x${m[1]}`) : -1n;
  } catch {
    return -1n;
  }
}

/** The capabilities dnsmasq needs that this process lacks (none: an empty list). */
export function missingForDnsmasq(effective = effectiveCapabilities()): string[] {
  if (effective === -1n) return [];
  return NEEDED.filter(([, bit]) => (effective & (1n << BigInt(bit))) === 0n).map(([name]) => name);
}
