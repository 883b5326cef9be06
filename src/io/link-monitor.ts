/**
 * The process's one view of network devices: which exist, in which network
 * namespace, and whether each is up — kept current by rtnetlink. Bridges
 * follow their ports' devices with it (io/link-follower.ts); the daemon's
 * auto-attach and bonds watch the same table rather than opening their own.
 *
 * Why a native netlink socket. Node cannot open AF_NETLINK sockets, so the
 * choice was between the addon (a NETLINK_ROUTE socket polled with uv_poll
 * on the event loop, next to the dataplane's fds) and a child process per
 * namespace (`ip -n NS monitor link`) whose text would be parsed. The child
 * costs a process per namespace, needs iproute2 at run time, races its own
 * start (changes between "show" and "monitor" are lost) and speaks a format
 * that is not a contract. The socket is one fd per namespace, gets the
 * kernel's binary messages, dumps and subscribes on the same socket so
 * nothing falls between the two, and reports an overrun (ENOBUFS) so the
 * table is re-dumped instead of silently going stale.
 *
 * One socket per namespace. rtnetlink only reports devices of the namespace
 * the socket was created in, so there is one socket for the process's own
 * namespace and one for each other namespace in use, opened on the first
 * subscription and closed with the last (NETLINK_LISTEN_ALL_NSID would see
 * only namespaces that have an id in ours, which `ip netns add` does not
 * give). A socket pins its namespace, as the ports' fds do, so a namespace
 * deleted with `ip netns del` lives on while we hold it: deletion is seen by
 * watching /run/netns (inotify) and comparing the namespace's inode; its
 * subscribers hear "netns-deleted", the socket is closed, and if a namespace
 * of that name comes back it is watched again and its devices reported new.
 *
 * Nothing here keeps the process alive (the socket and the directory watch
 * are unref'd); an idle table costs no CPU.
 */
import { EventEmitter } from "node:events";
import { statSync, watch, type FSWatcher } from "node:fs";
import { TapbridgeError } from "../errors.js";
import { loadNative } from "./native.js";
import type { NativeBinding, NativeLinkEvent, NativeLinkWatcher } from "./native-binding.js";
import { NETNS_RUN_DIR, netnsPath } from "./netns.js";

/** RFC 2863 operational state, as `ip link` prints it (lower case). */
export type OperState = "unknown" | "notpresent" | "down" | "lowerlayerdown" | "testing" | "dormant" | "up";
const OPER_STATES: readonly OperState[] = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"];

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_LOWER_UP = 0x10000;
export const ARPHRD_ETHER = 1;

export interface LinkInfo {
  ifindex: number;
  name: string;
  /** IFF_UP: set up by an administrator (`ip link set X up`). */
  adminUp: boolean;
  /** IFF_LOWER_UP: the device has carrier. */
  carrier: boolean;
  operstate: OperState;
  /**
   * Whether a bridge port on this device may forward, as Linux decides it
   * (br_port_carrier_check: netif_running && netif_oper_up): admin up, and
   * operstate up or unknown.
   */
  up: boolean;
  mtu: number;
  mac?: string;
  /** rtnetlink link kind: "veth", "tun", "bridge", "vxlan", … (absent for physical NICs). */
  kind?: string;
  /** ifindex of the master device (a bridge, a bond), when enslaved. */
  master?: number;
  /** ARPHRD_* link type (1: Ethernet). */
  linkType: number;
  loopback: boolean;
}

export type LinkEvent =
  | {
      type: "new" | "changed" | "deleted";
      /** Namespace name (or path) as subscribed; undefined: the process's own. */
      netns: string | undefined;
      link: LinkInfo;
      /** The record before a change or deletion. */
      previous?: LinkInfo;
      /** Learnt from a dump (the first one, or a re-dump after an overrun), not a notification. */
      dump: boolean;
    }
  | { type: "netns-deleted"; netns: string };

export type LinkListener = (event: LinkEvent) => void;

/** One subscriber's handle on one namespace's links. */
export interface LinkSubscription {
  readonly netns: string | undefined;
  /** Resolves when the namespace's first dump is complete (at once if it already is). */
  readonly ready: Promise<void>;
  /** Whether the first dump is complete. */
  readonly isReady: boolean;
  links(): LinkInfo[];
  byIndex(ifindex: number): LinkInfo | undefined;
  byName(name: string): LinkInfo | undefined;
  /** Stop listening; the namespace's socket closes with its last subscriber. */
  close(): void;
}

export function linkFromNative(e: NativeLinkEvent): LinkInfo {
  const operstate = OPER_STATES[e.operstate] ?? "unknown";
  const adminUp = (e.flags & IFF_UP) !== 0;
  const info: LinkInfo = {
    ifindex: e.ifindex,
    name: e.name,
    adminUp,
    carrier: (e.flags & IFF_LOWER_UP) !== 0,
    operstate,
    up: adminUp && (operstate === "up" || operstate === "unknown"),
    mtu: e.mtu,
    linkType: e.linkType,
    loopback: (e.flags & IFF_LOOPBACK) !== 0,
  };
  if (e.mac) info.mac = e.mac;
  if (e.kind) info.kind = e.kind;
  if (e.master) info.master = e.master;
  return info;
}

function sameLink(a: LinkInfo, b: LinkInfo): boolean {
  return a.name === b.name && a.adminUp === b.adminUp && a.carrier === b.carrier && a.operstate === b.operstate &&
    a.mtu === b.mtu && a.mac === b.mac && a.master === b.master;
}

/** One namespace being watched: its socket, its table, its subscribers. */
class Namespace {
  socket = -1;
  /** Inode of the namespace file when its socket was opened (named namespaces). */
  inode = 0;
  readonly table = new Map<number, LinkInfo>();
  /** ifindexes seen during the dump in progress (to find what vanished during an overrun). */
  dumpSeen: Set<number> | undefined;
  ready = false;
  readyPromise: Promise<void>;
  resolveReady!: () => void;
  readonly listeners = new Set<LinkListener>();

  constructor(readonly key: string | undefined) {
    this.readyPromise = new Promise((resolve) => (this.resolveReady = resolve));
  }
}

export class LinkMonitor extends EventEmitter<{ error: [Error] }> {
  private static readonly instances = new WeakMap<NativeBinding, LinkMonitor>();

  /** The process-wide monitor for this addon (created on first use). */
  static shared(native: NativeBinding = loadNative()): LinkMonitor {
    let monitor = LinkMonitor.instances.get(native);
    if (!monitor) {
      monitor = new LinkMonitor(native);
      LinkMonitor.instances.set(native, monitor);
    }
    return monitor;
  }

  private readonly watcher: NativeLinkWatcher;
  private readonly namespaces = new Map<string, Namespace>();
  private readonly bySocket = new Map<number, Namespace>();
  private dirWatch: FSWatcher | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  private recheckTries = 0;

  constructor(native: NativeBinding) {
    super();
    if (!native.LinkWatcher) throw new TapbridgeError("ENATIVE", "the tapbridge addon has no link watcher; run \"npm rebuild tapbridge\"");
    this.watcher = new native.LinkWatcher((events) => this.onNative(events));
    this.watcher.unref();
  }

  /**
   * Watch the links of a namespace (a name under /run/netns, a path, or
   * undefined for the process's own). The listener hears every change from
   * now on, including the first dump's records as "new".
   */
  subscribe(netns: string | undefined, listener: LinkListener): LinkSubscription {
    const key = netns ?? "";
    let ns = this.namespaces.get(key);
    if (!ns) {
      ns = new Namespace(netns);
      this.namespaces.set(key, ns);
      this.openSocket(ns);
      if (netns !== undefined) this.watchNamespaceDir();
    }
    const space = ns;
    space.listeners.add(listener);
    let closed = false;
    return {
      netns,
      ready: space.readyPromise,
      get isReady() {
        return space.ready;
      },
      links: () => [...space.table.values()],
      byIndex: (ifindex) => space.table.get(ifindex),
      byName: (name) => {
        for (const link of space.table.values()) if (link.name === name) return link;
        return undefined;
      },
      close: () => {
        if (closed) return;
        closed = true;
        space.listeners.delete(listener);
        if (space.listeners.size === 0) this.dropNamespace(space);
      },
    };
  }

  /**
   * A device's state right now, read from the kernel (not from the table,
   * which may still have notifications to catch up on); undefined when the
   * device no longer exists. Throws (ENOENT) when its namespace is no longer
   * there to ask: subscribers hear "netns-deleted" for that.
   */
  query(netns: string | undefined, ifindex: number): LinkInfo | undefined {
    const path = netns === undefined ? undefined : netnsPath(netns);
    const record = this.watcher.query(path, ifindex);
    return record ? linkFromNative(record) : undefined;
  }

  /**
   * Whether a named namespace we watched (or were asked about) is gone: its
   * file under /run/netns is missing, or is no longer the namespace whose
   * socket we opened (`ip netns del` unmounts before it unlinks; a new
   * namespace of that name is another one). A device that vanishes with its
   * namespace is told apart from one deleted on its own by this, whichever
   * of the two reports (the device's, the namespace's) arrives first.
   */
  namespaceGone(netns: string | undefined): boolean {
    if (netns === undefined) return false;
    const path = netns.includes("/") ? netns : `${NETNS_RUN_DIR}/${netns}`;
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return true;
    const ns = this.namespaces.get(netns);
    return ns !== undefined && ns.inode !== 0 && st.ino !== ns.inode;
  }

  /** Namespaces currently watched (undefined: our own). */
  get watched(): (string | undefined)[] {
    return [...this.namespaces.values()].map((ns) => ns.key);
  }

  private openSocket(ns: Namespace): void {
    const path = ns.key === undefined ? undefined : netnsPath(ns.key);
    if (path) ns.inode = statSync(path).ino;
    ns.socket = this.watcher.open(path);
    this.bySocket.set(ns.socket, ns);
    ns.dumpSeen = new Set();
  }

  private closeSocket(ns: Namespace): void {
    if (ns.socket < 0) return;
    this.watcher.closeSocket(ns.socket);
    this.bySocket.delete(ns.socket);
    ns.socket = -1;
  }

  private dropNamespace(ns: Namespace): void {
    this.closeSocket(ns);
    this.namespaces.delete(ns.key ?? "");
    if (![...this.namespaces.values()].some((n) => n.key !== undefined)) {
      this.dirWatch?.close();
      this.dirWatch = undefined;
    }
  }

  private onNative(events: NativeLinkEvent[]): void {
    for (const e of events) {
      const ns = this.bySocket.get(e.socket);
      if (!ns) continue;
      switch (e.type) {
        case "new":
        case "del":
          this.onLink(ns, e);
          break;
        case "dump-done":
          this.onDumpDone(ns);
          break;
        case "overrun":
          // The addon has already asked for a fresh dump; remember what it shows.
          ns.dumpSeen = new Set();
          break;
        case "error":
          this.emit("error", new TapbridgeError(e.code ?? "EUNKNOWN", `link monitor (${ns.key ?? "own namespace"}): ${e.message}`));
          break;
      }
    }
  }

  private onLink(ns: Namespace, e: NativeLinkEvent): void {
    const link = linkFromNative(e);
    const previous = ns.table.get(link.ifindex);
    if (e.type === "del") {
      ns.table.delete(link.ifindex);
      this.tell(ns, { type: "deleted", netns: ns.key, link, ...(previous ? { previous } : {}), dump: false });
      return;
    }
    // A device reported while a dump runs is current too, whether by the dump or by a notification.
    ns.dumpSeen?.add(link.ifindex);
    ns.table.set(link.ifindex, link);
    if (!previous) this.tell(ns, { type: "new", netns: ns.key, link, dump: e.dump });
    else if (!sameLink(previous, link)) this.tell(ns, { type: "changed", netns: ns.key, link, previous, dump: e.dump });
  }

  private onDumpDone(ns: Namespace): void {
    const seen = ns.dumpSeen;
    ns.dumpSeen = undefined;
    if (seen) {
      // After an overrun: what the dump no longer shows was deleted meanwhile.
      for (const [ifindex, link] of ns.table) {
        if (seen.has(ifindex)) continue;
        ns.table.delete(ifindex);
        this.tell(ns, { type: "deleted", netns: ns.key, link, previous: link, dump: true });
      }
    }
    if (!ns.ready) {
      ns.ready = true;
      ns.resolveReady();
    }
  }

  private tell(ns: Namespace, event: LinkEvent): void {
    for (const listener of [...ns.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.emit("error", error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  // ── namespaces that go away (ip netns del) and come back ───────────────

  private watchNamespaceDir(): void {
    if (this.dirWatch) return;
    try {
      this.dirWatch = watch(NETNS_RUN_DIR, { persistent: false }, () => this.scheduleRecheck(50));
      this.dirWatch.on("error", () => {
        this.dirWatch?.close();
        this.dirWatch = undefined;
      });
    } catch {
      // No /run/netns to watch: nothing can be deleted from it either.
    }
  }

  private scheduleRecheck(ms: number): void {
    if (this.recheckTimer) return;
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = undefined;
      this.recheckNamespaces();
    }, ms);
    this.recheckTimer.unref();
  }

  /** Compare each named namespace's file with the namespace we hold. */
  private recheckNamespaces(): void {
    let retry = false;
    for (const ns of this.namespaces.values()) {
      if (ns.key === undefined || ns.key.includes("/")) continue;
      const st = statSync(`${NETNS_RUN_DIR}/${ns.key}`, { throwIfNoEntry: false });
      if (ns.socket >= 0 && (!st || st.ino !== ns.inode)) {
        this.closeSocket(ns);
        ns.table.clear();
        this.tell(ns, { type: "netns-deleted", netns: ns.key });
      }
      if (ns.socket < 0 && st) {
        // A namespace of that name exists (again). `ip netns add` creates the
        // file before it mounts the namespace on it: retry until it is one.
        try {
          this.openSocket(ns);
          this.recheckTries = 0;
        } catch {
          retry = true;
        }
      }
    }
    if (retry && this.recheckTries++ < 40) this.scheduleRecheck(50);
  }
}
