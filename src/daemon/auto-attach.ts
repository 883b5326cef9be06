/**
 * Auto-attach: a bridge's `attach-patterns` (shell patterns such as
 * "vif*.*" or "vnet*") name the interfaces it takes as they appear in the
 * daemon's namespace — how Xen's vif hotplug and libvirt's
 * `<interface type='ethernet'>` domains reach tapbridge without hooks.
 *
 * This watches the process's one LinkMonitor (io/link-monitor.ts, shared
 * with the bridges' link following): a link that appears, or is renamed to
 * a matching name, is attached to the first bridge (in config order) whose
 * patterns match, unless it is already a port somewhere, enslaved to a
 * kernel bridge or bond, a bridge itself, loopback, or not Ethernet. When
 * the device goes, the bridge closes the port (link following) and the
 * daemon forgets it; it is attached afresh if it comes back. Auto-attached
 * ports are not written by `save`: the patterns bring them back.
 */
import { ARPHRD_ETHER, type LinkEvent, type LinkInfo, type LinkMonitor, type LinkSubscription } from "../io/link-monitor.js";
import type { Logger } from "../log.js";
import { portEntryFromOptions } from "./config.js";
import { matchesAny, type Daemon } from "./daemon.js";

export class AutoAttach {
  private sub: LinkSubscription | undefined;

  constructor(
    private readonly daemon: Daemon,
    private readonly monitor: () => LinkMonitor,
    private readonly log: Logger,
  ) {}

  /** After any change of bridges or patterns: watch links while some bridge has patterns, and take what matches now. */
  refresh(): void {
    const any = [...this.daemon.bridges.values()].some((b) => b.config.attachPatterns.length > 0);
    if (!any) {
      this.sub?.close();
      this.sub = undefined;
      return;
    }
    if (!this.sub) {
      // The namespace's first dump reports every existing link as "new": they are matched as they arrive. When the
      // monitor already watches the namespace (a port's link following subscribed first), that dump is over: take
      // what its table holds now.
      this.sub = this.monitor().subscribe(undefined, (event) => this.onLink(event));
    }
    for (const link of this.sub.links()) this.consider(link);
  }

  close(): void {
    this.sub?.close();
    this.sub = undefined;
  }

  private onLink(event: LinkEvent): void {
    if (event.type === "new") this.consider(event.link);
    else if (event.type === "changed" && event.previous && event.previous.name !== event.link.name) this.consider(event.link);
  }

  private consider(link: LinkInfo): void {
    if (link.loopback || link.linkType !== ARPHRD_ETHER || link.kind === "bridge" || link.master !== undefined) return;
    if (this.daemon.ownerOf(link.name)) return;
    const managed = [...this.daemon.bridges.values()].find((b) => matchesAny(link.name, b.config.attachPatterns));
    if (!managed) return;
    try {
      // The bridge does not re-attach these by itself: the pattern does, when the device returns.
      this.daemon.addPort(managed.name, portEntryFromOptions("attach", link.name, { reattach: false }), "auto");
      this.log.info("port auto-attached", { bridge: managed.name, port: link.name, patterns: managed.config.attachPatterns });
    } catch (error) {
      this.log.warn("auto-attach failed", { bridge: managed.name, port: link.name, reason: (error as Error).message });
    }
  }
}
