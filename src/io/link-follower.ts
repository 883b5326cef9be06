/**
 * A bridge's native ports follow their devices, as Linux bridge ports do
 * (br_port_carrier_check, br_device_event):
 *
 *   carrier or admin down → Bridge.setPortLink(port, false): the port leaves
 *                           forwarding, its learned entries are flushed
 *   carrier back          → setPortLink(port, true): it returns (through the
 *                           STP states when STP runs)
 *   device deleted        → the port is closed ("port-removed", reason
 *                           "deleted"); an attached interface (PacketPort) is
 *                           re-attached, with the settings it had, when a
 *                           device of the same name appears in its namespace
 *                           (port setting `reattach`, on by default)
 *   namespace deleted     → every port in it is closed (reason
 *                           "netns-deleted"); attached interfaces come back
 *                           if the namespace and the device do
 *   receive side dead     → the addon reports "rx-stopped" (a TAP whose device
 *                           vanished): the port is closed (reason "deleted")
 *
 * Whichever report comes first, a port whose namespace is gone (its file
 * under /run/netns missing or another namespace's) is closed as
 * "netns-deleted", never as "deleted": the reason names the cause.
 *
 * Link state comes from the process's LinkMonitor (one rtnetlink socket per
 * namespace, shared with every bridge); this module only maps devices to
 * ports. Ports are matched by (namespace, ifindex) while they live, and by
 * (namespace, name) while they wait to be re-attached.
 */
import type { Bridge } from "../bridge.js";
import type { Logger } from "../log.js";
import type { PortSettings } from "../ports/port.js";
import type { LinkEvent, LinkInfo, LinkMonitor, LinkSubscription } from "./link-monitor.js";
import type { NativePortEventType } from "./native-binding.js";
import { NativePort, PacketPort } from "./native-port.js";

interface Space {
  sub: LinkSubscription;
  /** Tracked ports and pending re-attachments in this namespace. */
  users: number;
}

interface Pending {
  netns: string | undefined;
  name: string;
  make: () => NativePort;
  settings: PortSettings;
}

const key = (netns: string | undefined, name: string): string => `${netns ?? ""}\0${name}`;

export class LinkFollower {
  private readonly spaces = new Map<string, Space>();
  private readonly tracked = new Map<NativePort, Space>();
  private readonly pending = new Map<string, Pending>();
  /** Why each port's link went down ("admin" or "carrier"): its way back up says the same. */
  private readonly downReason = new Map<NativePort, string>();
  private readonly renamed = new Map<NativePort, string>();
  private closed = false;

  constructor(
    private readonly bridge: Bridge,
    private readonly monitor: LinkMonitor,
    private readonly log: Logger,
    /** Default for ports that do not set `reattach`. */
    private readonly reattachDefault: boolean,
  ) {}

  /** Start following a port's device (after it was opened). */
  track(port: NativePort): void {
    if (this.closed || port.ifindex === undefined) return;
    const space = this.acquire(port.netns);
    this.tracked.set(port, space);
    this.refresh(port);
  }

  /** The bridge removed the port (for whatever reason): stop following it. */
  untrack(port: NativePort): void {
    const space = this.tracked.get(port);
    if (!space) return;
    this.tracked.delete(port);
    this.downReason.delete(port);
    this.renamed.delete(port);
    this.release(port.netns);
  }

  /** Ports waiting for their device to come back ("name@netns"). */
  get waiting(): string[] {
    return [...this.pending.values()].map((p) => (p.netns ? `${p.name}@${p.netns}` : p.name));
  }

  /** Forget a port waiting to be re-attached (e.g. removed by the user meanwhile). Returns whether one was waiting. */
  cancelReattach(label: string): boolean {
    for (const [k, p] of this.pending) {
      if ((p.netns ? `${p.name}@${p.netns}` : p.name) !== label) continue;
      this.pending.delete(k);
      this.release(p.netns);
      return true;
    }
    return false;
  }

  /** From the addon: something happened on a port's fd. */
  onPortEvent(port: NativePort, type: NativePortEventType, code: string | undefined): void {
    const index = port.index;
    if (type === "rx-error") {
      this.log.warn("port receive error; polling restarted", { port: port.label, code });
      this.bridge.emit("port-error", { port: port.label, index, code: code ?? "EUNKNOWN", action: "restarted" });
      return;
    }
    this.log.warn("port receive side ended; closing the port", { port: port.label, code });
    this.bridge.emit("port-error", { port: port.label, index, code: code ?? "EUNKNOWN", action: "closed" });
    if (this.namespaceGone(port)) return;
    this.close_(port, code === "EBADFD" ? "deleted" : "rx-stopped");
  }

  close(): void {
    this.closed = true;
    for (const space of this.spaces.values()) space.sub.close();
    this.spaces.clear();
    this.tracked.clear();
    this.pending.clear();
  }

  // ── namespaces ────────────────────────────────────────────────────────

  private acquire(netns: string | undefined): Space {
    const k = netns ?? "";
    let space = this.spaces.get(k);
    if (!space) {
      space = { sub: this.monitor.subscribe(netns, (event) => this.onLink(event)), users: 0 };
      this.spaces.set(k, space);
    }
    space.users++;
    return space;
  }

  private release(netns: string | undefined): void {
    const k = netns ?? "";
    const space = this.spaces.get(k);
    if (!space || --space.users > 0) return;
    space.sub.close();
    this.spaces.delete(k);
  }

  // ── link events ───────────────────────────────────────────────────────

  private onLink(event: LinkEvent): void {
    if (this.closed || this.bridge.isClosed) return;
    if (event.type === "netns-deleted") {
      for (const port of this.portsIn(event.netns)) this.netnsDeleted(port);
      return;
    }
    const { link } = event;
    const port = this.portFor(event.netns, link.ifindex);
    if (port) {
      if (event.type === "deleted") this.deviceGone(port);
      else this.refresh(port);
      return;
    }
    if (event.type !== "deleted") this.maybeReattach(event.netns, link);
  }

  /**
   * Mirror the device's state on the port. The state is read from the kernel
   * now rather than taken from the event: notifications queued before the
   * port was opened (a TAP's creation, an interface brought up by the
   * attach) would otherwise flap the port through states long gone.
   */
  private refresh(port: NativePort): void {
    let link: LinkInfo | undefined;
    try {
      link = this.monitor.query(port.netns, port.ifindex!);
    } catch (error) {
      // A namespace deleted meanwhile: the port goes with it ("netns-deleted"), now or at the namespace's own event.
      if ((error as { code?: string }).code === "ENOENT") this.namespaceGone(port);
      else this.log.warn("reading a port's link state failed", { port: port.label, err: error });
      return;
    }
    if (!link) return this.deviceGone(port);
    if (link.name !== port.name && link.name !== this.renamed.get(port)) {
      this.renamed.set(port, link.name);
      this.log.info("port device renamed; the port keeps its name", { port: port.label, device: link.name });
    }
    if (link.up === this.bridge.portLinkUp(port)) return;
    if (!link.up) {
      const reason = link.adminUp ? "carrier" : "admin";
      this.downReason.set(port, reason);
      this.bridge.setPortLink(port, false, reason);
    } else {
      this.bridge.setPortLink(port, true, this.downReason.get(port) ?? "carrier");
      this.downReason.delete(port);
    }
  }

  private deviceGone(port: NativePort): void {
    if (this.namespaceGone(port)) return;
    this.log.warn("port device deleted; closing the port", { port: port.label, ifindex: port.ifindex });
    this.close_(port, "deleted");
  }

  /**
   * A port whose device went with its namespace is closed as the namespace's
   * (reason "netns-deleted"), whichever report came first: the device's
   * deletion, its fd's end, or the namespace's own event. Returns whether it was.
   */
  private namespaceGone(port: NativePort): boolean {
    if (!this.monitor.namespaceGone(port.netns)) return false;
    this.netnsDeleted(port);
    return true;
  }

  private netnsDeleted(port: NativePort): void {
    this.log.warn("port's network namespace was deleted; closing the port", { port: port.label, netns: port.netns });
    this.close_(port, "netns-deleted");
  }

  private close_(port: NativePort, reason: string): void {
    if (port.index < 0) return;
    const settings = this.bridge.portConfig(port);
    const reattach = port instanceof PacketPort && (settings.reattach ?? this.reattachDefault);
    // Keep the namespace watched across the removal, so the device's return is seen.
    if (reattach) this.acquire(port.netns);
    this.bridge.removePort(port, reason);
    if (!reattach) return;
    const k = key(port.netns, port.name);
    const { state: _state, ...kept } = settings;
    if (this.pending.has(k)) this.release(port.netns);
    this.pending.set(k, { netns: port.netns, name: port.name, make: () => (port as PacketPort).recreate(), settings: kept });
    this.log.info("port waits for its device to return", { port: port.label });
  }

  private maybeReattach(netns: string | undefined, link: LinkInfo): void {
    const k = key(netns, link.name);
    const p = this.pending.get(k);
    if (!p) return;
    const port = p.make();
    try {
      this.bridge.addPort(port, p.settings);
    } catch (error) {
      // Left pending: the next change of that device tries again.
      this.log.warn("re-attaching port failed", { port: port.label, err: error });
      return;
    }
    this.pending.delete(k);
    this.release(netns);
    this.log.info("port re-attached", { port: port.label, ifindex: port.ifindex });
    this.bridge.emit("port-reattached", { port: port.label, index: port.index, kind: port.kind });
  }

  private portFor(netns: string | undefined, ifindex: number): NativePort | undefined {
    for (const port of this.tracked.keys()) if (port.netns === netns && port.ifindex === ifindex) return port;
    return undefined;
  }

  private portsIn(netns: string | undefined): NativePort[] {
    return [...this.tracked.keys()].filter((p) => p.netns === netns);
  }
}
