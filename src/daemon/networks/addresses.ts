/**
 * Addresses and routes of the host: checking a network's subnet against
 * what the host already reaches, and moving an uplink's addresses and
 * routes to the host port and back (Xen's network-bridge `transfer_addrs`
 * and `transfer_routes`, IPv6 included).
 *
 * A clash is a route of the host, in any table, that overlaps a network's
 * subnet — the host already reaches those addresses another way, as
 * libvirt refuses "network is already in use by interface eth1". Default
 * routes, local/broadcast/multicast routes and routes through interfaces
 * that are about to hand their addresses over do not count.
 *
 * Moving: routes first (recorded, taken off the uplink), then addresses
 * (each taken off the uplink and put on the host port, IPv6 without DAD —
 * the address was in use a moment ago), then the routes again on the host
 * port. Kernel routes (those an address brings) come and go with their
 * addresses. The undo (undo.ts) runs the records in reverse: addresses go
 * back first, so gateways are reachable again when the routes return.
 */
import { TapbridgeError } from "../../errors.js";
import type { HostNs, IpAddr, IpRoute } from "./host-ns.js";
import { formatPrefix, overlaps, parseIp, parsePrefix, type Prefix } from "./ip.js";

function routePrefix(r: IpRoute, family: 4 | 6): Prefix | undefined {
  if (r.dst === "default") return undefined;
  try {
    return parsePrefix(r.dst.includes("/") ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`);
  } catch {
    return undefined;
  }
}

function describeRoute(r: IpRoute): string {
  return `${r.dst}${r.gateway ? ` via ${r.gateway}` : ""}${r.dev ? ` dev ${r.dev}` : ""}${r.protocol ? ` proto ${r.protocol}` : ""}${r.table && r.table !== "main" ? ` table ${r.table}` : ""}`;
}

/**
 * Refuse a network whose addresses overlap a route of the host (or equal an
 * address the host has), ignoring interfaces in `ignoreDevs` (the network's
 * own host port, an uplink whose addresses move).
 */
export async function checkClashes(ns: HostNs, network: string, addresses: string[], ignoreDevs: string[]): Promise<void> {
  const prefixes = addresses.map(parsePrefix);
  for (const family of [4, 6] as const) {
    const mine = prefixes.filter((p) => p.family === family);
    if (mine.length === 0) continue;
    for (const r of await ns.routes(family)) {
      if (r.dev && ignoreDevs.includes(r.dev)) continue;
      if (r.table === "local" || (r.type && r.type !== "unicast")) continue;
      const rp = routePrefix(r, family);
      if (!rp || rp.length === 0) continue;
      if (family === 6 && rp.length >= 8 && formatPrefix(rp, true).startsWith("fe80:")) continue;
      for (const p of mine) {
        if (overlaps(p, rp)) {
          throw new TapbridgeError(
            "EADDRINUSE",
            `address ${formatPrefix(p)} of network ${network} clashes with the route ${describeRoute(r)} in ${ns.where}: the host already reaches ${formatPrefix(rp, true)} another way; choose a subnet no route covers`,
          );
        }
      }
    }
  }
  for (const a of await ns.addresses()) {
    if (ignoreDevs.includes(a.dev)) continue;
    const ip = parseIp(a.local);
    const same = prefixes.find((p) => p.family === ip.family && p.address === ip.address);
    if (same) throw new TapbridgeError("EADDRINUSE", `address ${a.local} of network ${network} is already on ${a.dev} in ${ns.where}`);
  }
}

export interface MovedAddress {
  cidr: string;
  family: 4 | 6;
  /** What follows the address in `ip addr add` (brd, noprefixroute, nodad). */
  args: string[];
}

export interface MovedRoute {
  family: 4 | 6;
  /** `ip route add` words without the device. */
  spec: string[];
}

/** The uplink's addresses a move takes: global (and site) scope; link-local ones stay with the device. */
export function movableAddresses(addrs: IpAddr[]): MovedAddress[] {
  return addrs
    .filter((a) => a.scope === "global" || a.scope === "site")
    .map((a) => {
      const family = a.family === "inet" ? 4 : 6;
      const args = [...(a.broadcast ? ["brd", a.broadcast] : []), ...(a.noprefixroute ? ["noprefixroute"] : []), ...(family === 6 ? ["nodad"] : [])];
      return { cidr: `${a.local}/${a.prefixlen}`, family, args };
    });
}

/** The uplink's routes a move takes: what was added by hand or by a DHCP client, not what the kernel derives from addresses. */
export function movableRoutes(routes: IpRoute[], family: 4 | 6): MovedRoute[] {
  const out: MovedRoute[] = [];
  for (const r of routes) {
    if (r.protocol === "kernel" || r.table === "local" || (r.type && r.type !== "unicast")) continue;
    if (r.dst.startsWith("fe80:") || r.dst.startsWith("ff00:")) continue;
    const spec = [r.dst];
    if (r.gateway) spec.push("via", r.gateway);
    if (r.protocol) spec.push("proto", r.protocol);
    if (r.scope && r.scope !== "global" && r.scope !== "universe") spec.push("scope", r.scope);
    if (r.prefsrc) spec.push("src", r.prefsrc);
    if (r.metric !== undefined) spec.push("metric", String(r.metric));
    if (r.table && r.table !== "main") spec.push("table", r.table);
    if (r.flags?.includes("onlink")) spec.push("onlink");
    out.push({ family, spec });
  }
  return out;
}

/** `ip addr add`, tolerating an address already there (undo after a crash, a re-adoption). */
export async function addAddress(ns: HostNs, dev: string, cidr: string, args: string[] = []): Promise<void> {
  const r = await ns.run(["ip", "addr", "add", cidr, ...args, "dev", dev]);
  if (r.code !== 0 && !/exists/i.test(r.stderr)) throw new TapbridgeError("ECOMMAND", `ip addr add ${cidr} dev ${dev} failed in ${ns.where}: ${r.stderr.trim()}`);
}

/** `ip addr del`, tolerating an address (or a device) no longer there. */
export async function deleteAddress(ns: HostNs, dev: string, cidr: string): Promise<void> {
  const r = await ns.run(["ip", "addr", "del", cidr, "dev", dev]);
  if (r.code !== 0 && !/Cannot assign|not exist|not found|Cannot find device|No such device/i.test(r.stderr)) {
    throw new TapbridgeError("ECOMMAND", `ip addr del ${cidr} dev ${dev} failed in ${ns.where}: ${r.stderr.trim()}`);
  }
}

export async function addRoute(ns: HostNs, route: MovedRoute, dev: string): Promise<void> {
  const r = await ns.run(["ip", `-${route.family}`, "route", "add", ...route.spec, "dev", dev]);
  if (r.code !== 0 && !/exists/i.test(r.stderr)) throw new TapbridgeError("ECOMMAND", `ip route add ${route.spec.join(" ")} dev ${dev} failed in ${ns.where}: ${r.stderr.trim()}`);
}

export async function deleteRoute(ns: HostNs, route: MovedRoute, dev: string): Promise<void> {
  await ns.run(["ip", `-${route.family}`, "route", "del", ...route.spec, "dev", dev]);
}

/**
 * Rename a device (down, rename, up again if it was), keeping its routes: taking a link down drops every route
 * through it but the kernel's own, so the routes added by hand or by a DHCP client are read first and put back on
 * the new name. Xen's network-bridge renames eth0 to peth0 this way.
 */
export async function renameKeepingRoutes(ns: HostNs, from: string, to: string, up: boolean): Promise<void> {
  const routes = [...movableRoutes(await ns.routes(4, from), 4), ...movableRoutes(await ns.routes(6, from), 6)];
  await ns.must(["ip", "link", "set", "dev", from, "down"], `taking ${from} down to rename it`);
  await ns.must(["ip", "link", "set", "dev", from, "name", to], `renaming ${from} to ${to}`);
  if (up) await ns.must(["ip", "link", "set", "dev", to, "up"], `bringing ${to} up`);
  for (const r of routes) await addRoute(ns, r, to);
}
