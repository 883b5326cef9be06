/**
 * Undoing what a network did, one recorded action at a time (state.ts):
 * on `net-destroy` and shutdown with the daemon that did it (`bridges`
 * given: bridges, host ports and uplink ports are the daemon's to remove),
 * and after a crash from the state file alone (`bridges` absent: those
 * died with the process — a TAP closes with it — and only what outlives a
 * process is undone: addresses, routes, names, sysctls, nft tables,
 * dnsmasq). Every undo tolerates finding its work already done.
 */
import type { Logger } from "../../log.js";
import { addAddress, addRoute, deleteAddress, deleteRoute, renameKeepingRoutes } from "./addresses.js";
import { stopDnsmasq } from "./dnsmasq.js";
import type { HostNs } from "./host-ns.js";
import type { SysctlLedger } from "./sysctls.js";
import type { Action } from "./state.js";

/** What a network asks of the daemon's bridges (daemon.ts), while the daemon runs. */
export interface BridgeSide {
  hasBridge(bridge: string): boolean;
  createBridge(bridge: string, network: string): void;
  /** Delete a bridge the network created (still its own). */
  deleteBridge(bridge: string, network: string): void;
  hostPort(bridge: string): { label: string; name: string; netns?: string; mac: string; origin: string } | undefined;
  addHostPort(bridge: string, netns: string | undefined, mac: string, uplinkMac: string | undefined): { mac: string };
  removeHostPort(bridge: string): void;
  hasPort(bridge: string, label: string): boolean;
  addPort(bridge: string, label: string, options: Record<string, unknown>): void;
  deletePort(bridge: string, label: string): void;
  setPrivate(bridge: string, on: boolean): void;
  /** Mark (or unmark) the bridge as carrying the network. */
  setNetwork(bridge: string, network: string | undefined): void;
}

export interface UndoContext {
  network: string;
  ns: HostNs;
  ledger: SysctlLedger;
  log: Logger;
  /** The daemon's bridges; absent after a crash. */
  bridges?: BridgeSide;
}

export async function undoAction(a: Action, ctx: UndoContext): Promise<void> {
  const { ns, bridges } = ctx;
  switch (a.kind) {
    case "bridge":
      if (bridges?.hasBridge(a.bridge)) bridges.deleteBridge(a.bridge, ctx.network);
      return;
    case "host-port":
      if (bridges) bridges.removeHostPort(a.bridge);
      else if ((await ns.link(a.name))?.linkinfo?.info_kind === "tun") await ns.run(["ip", "link", "del", "dev", a.name]); // only if it outlived the crash
      return;
    case "port":
      if (bridges?.hasPort(a.bridge, a.label)) bridges.deletePort(a.bridge, a.label);
      return;
    case "private":
      if (bridges?.hasBridge(a.bridge)) bridges.setPrivate(a.bridge, false);
      return;
    case "rename": {
      const renamed = await ns.link(a.to);
      if (!renamed || (await ns.link(a.from))) return;
      await renameKeepingRoutes(ns, a.to, a.from, a.up);
      return;
    }
    case "address":
      await deleteAddress(ns, a.dev, a.cidr);
      return;
    case "moved-address":
      await deleteAddress(ns, a.to, a.cidr);
      await addAddress(ns, a.from, a.cidr, a.args);
      return;
    case "moved-route":
      await deleteRoute(ns, { family: a.family, spec: a.spec }, a.to);
      await addRoute(ns, { family: a.family, spec: a.spec }, a.from);
      return;
    case "sysctl":
      await ctx.ledger.release(ctx.network, ns, a.key);
      return;
    case "nft": {
      const r = await ns.run(["nft", "delete", "table", a.family, a.table]);
      if (r.code !== 0 && !/No such file|does not exist/i.test(r.stderr)) ctx.log.warn("nft table not deleted", { network: ctx.network, table: a.table, stderr: r.stderr.trim() });
      return;
    }
    case "dnsmasq":
      await stopDnsmasq(a.pid, a.conf, a.dir);
      return;
  }
}

/** Undo a list in reverse; a failing undo is logged and the rest still run. Returns the sentences of what failed. */
export async function undoAll(actions: Action[], ctx: UndoContext, onEach?: (remaining: Action[]) => void): Promise<string[]> {
  const failed: string[] = [];
  const left = [...actions];
  while (left.length > 0) {
    const a = left.pop()!;
    try {
      await undoAction(a, ctx);
    } catch (error) {
      failed.push((error as Error).message);
      ctx.log.warn("undoing a network action failed", { network: ctx.network, action: a, err: error });
    }
    onEach?.(left);
  }
  return failed;
}
