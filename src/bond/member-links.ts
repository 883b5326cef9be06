/**
 * Bond members follow their devices through the process's one rtnetlink
 * view (io/link-monitor.ts), as bridge ports do (io/link-follower.ts), but
 * they are not bridge ports: a member's carrier goes to its bond, not to the
 * port table. Per member:
 *
 *   carrier or admin change → `carrier(slot, up, "carrier" | "admin")`,
 *                             read from the kernel now, not the event
 *   device deleted          → `gone(slot)` (its fd is closed; the slot waits)
 *   a device of that name
 *   appears again           → `back(slot)` (the bond reopens it)
 *   namespace deleted       → `gone` for every member in it
 *
 * One subscription per namespace the members live in. Notifications alone
 * are late: the kernel sends a device's carrier change from its link-watch
 * work, which runs at most once a second for devices that are no kernel
 * bond's slaves (up to a second after the cable is pulled). So, as the
 * Linux bonding driver's miimon does, `poll()` asks the kernel every few
 * milliseconds — an RTM_GETLINK reads the carrier as the driver set it.
 */
import type { LinkEvent, LinkMonitor, LinkSubscription } from "../io/link-monitor.js";
import type { Logger } from "../log.js";

export interface FollowedMember {
  name: string;
  netns: string | undefined;
  /** undefined while the device is gone. */
  ifindex: number | undefined;
}

export interface MemberLinkHooks {
  carrier(slot: number, up: boolean, reason: string): void;
  gone(slot: number, reason: string): void;
  back(slot: number): void;
}

export class MemberLinks {
  private readonly subs = new Map<string, LinkSubscription>();
  private closed = false;

  constructor(
    private readonly monitor: LinkMonitor,
    private readonly members: () => (FollowedMember | undefined)[],
    private readonly hooks: MemberLinkHooks,
    private readonly log: Logger,
  ) {
    for (const m of members()) {
      if (!m) continue;
      const k = m.netns ?? "";
      if (!this.subs.has(k)) this.subs.set(k, monitor.subscribe(m.netns, (event) => this.onLink(event)));
    }
  }

  /** The member's link now, from the kernel (at start, and after a reopen). */
  refresh(slot: number): void {
    const m = this.members()[slot];
    if (!m || m.ifindex === undefined || this.closed) return;
    try {
      const link = this.monitor.query(m.netns, m.ifindex);
      if (!link) return this.hooks.gone(slot, "deleted");
      this.hooks.carrier(slot, link.up, link.adminUp ? "carrier" : "admin");
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") this.log.warn("reading a bond member's link state failed", { member: m.name, err: error });
    }
  }

  /** Every member's link, read from the kernel now (miimon). */
  poll(): void {
    this.members().forEach((_m, slot) => this.refresh(slot));
  }

  close(): void {
    this.closed = true;
    for (const sub of this.subs.values()) sub.close();
    this.subs.clear();
  }

  private onLink(event: LinkEvent): void {
    if (this.closed) return;
    const members = this.members();
    if (event.type === "netns-deleted") {
      members.forEach((m, slot) => {
        if (m && m.netns === event.netns && m.ifindex !== undefined) this.hooks.gone(slot, "netns-deleted");
      });
      return;
    }
    members.forEach((m, slot) => {
      if (!m || m.netns !== event.netns) return;
      if (m.ifindex === event.link.ifindex) {
        if (event.type === "deleted") this.hooks.gone(slot, "deleted");
        else this.refresh(slot);
      } else if (m.ifindex === undefined && event.type !== "deleted" && event.link.name === m.name) {
        this.hooks.back(slot);
      }
    });
  }
}
