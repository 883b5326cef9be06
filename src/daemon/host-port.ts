/**
 * A bridge's host port in the daemon: its configuration (`host-port:` under
 * a bridge, or implied by a network) and which MAC it carries.
 *
 * The MAC. Linux gives a bridge the lowest MAC of its ports unless one is
 * set, and the bridge's MAC then changes as ports come and go — a guest
 * whose vnetN has a lower MAC joins, and every ARP cache that knew the host
 * on that bridge (guests', the upstream router's) points at an address
 * nobody answers to any more. libvirt pins virbr0's MAC for that reason (it
 * writes one into the network's XML; older versions added a dummy
 * `virbr0-nic` to hold it), and systemd-networkd gives bridges a stable MAC
 * by default. So tapbridge's default is a fixed MAC:
 *
 *   mac: stable        (default) derived from /etc/machine-id and the
 *                      bridge's name, locally administered: the same on
 *                      every start of this machine, whatever the ports;
 *   mac: uplink        the uplink's MAC, the default of a bridge-mode
 *                      network that moves the uplink's addresses (Xen's
 *                      network-bridge): peers' ARP entries for those
 *                      addresses stay right;
 *   mac: lowest-port   Linux's rule: the lowest MAC of the bridge's
 *                      attached interfaces (AF_PACKET ports — the host's own
 *                      devices; TAPs the daemon creates are the guests'
 *                      NICs and do not count), changing as they change;
 *   mac: 52:54:00:…    fixed.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parseMac } from "../core/frame.js";
import type { PortConfig } from "../config/port-options.js";
import type { Bridge } from "../bridge.js";

export type MacPolicy = "stable" | "uplink" | "lowest-port";

export interface HostPortConfig {
  /** Namespace of the host stack (ip netns name or path); absent: the daemon's own. */
  netns?: string;
  /** A MAC, or how it is chosen. */
  mac: MacPolicy | string;
  mtu?: number;
  /** VLAN options of the port option table (access, trunk, native, pvid, vlans, untagged), as written. */
  options: Record<string, unknown>;
  config: PortConfig;
}

export const MAC_POLICIES: readonly MacPolicy[] = ["stable", "uplink", "lowest-port"];

export function isMacPolicy(mac: string): mac is MacPolicy {
  return (MAC_POLICIES as readonly string[]).includes(mac);
}

let machineId: string | undefined;

function readMachineId(): string {
  if (machineId !== undefined) return machineId;
  for (const file of ["/etc/machine-id", "/var/lib/dbus/machine-id"]) {
    try {
      const id = readFileSync(file, "utf8").trim();
      if (id) return (machineId = id);
    } catch {
      /* next */
    }
  }
  return (machineId = `host:${hostname()}`);
}

/** A locally administered unicast MAC derived from the machine and the bridge's name (systemd's MACAddressPolicy=persistent, in spirit). */
export function stableMac(bridgeName: string, id = readMachineId()): string {
  const h = createHash("sha256").update(`tapbridge host port\0${id}\0${bridgeName}`).digest();
  h[0] = (h[0]! & 0xfe) | 0x02;
  return [...h.subarray(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** Linux's rule over the bridge's attached interfaces; undefined when it has none. */
export function lowestPortMac(bridge: Bridge): string | undefined {
  let best: string | undefined;
  for (const p of bridge.ports) {
    if (p.self || p.kind !== "packet" || !p.mac) continue;
    const mac = p.mac.toLowerCase();
    if (!best || mac < best) best = mac;
  }
  return best;
}

/** The MAC a host port starts with. `uplinkMac`: the network's uplink, when it has one. */
export function chooseMac(policy: string, bridgeName: string, bridge: Bridge, uplinkMac?: string): string {
  if (!isMacPolicy(policy)) {
    parseMac(policy);
    return policy.toLowerCase();
  }
  if (policy === "uplink" && uplinkMac) return uplinkMac.toLowerCase();
  if (policy === "lowest-port") return lowestPortMac(bridge) ?? stableMac(bridgeName);
  return stableMac(bridgeName);
}
