/**
 * A member's health, as the Linux bonding driver judges a slave: its link
 * (carrier from rtnetlink, pushed here as it changes), optionally whether it
 * still reaches the ARP monitor's targets, and the updelay/downdelay that
 * keep a flapping link from flapping the bond.
 *
 *   down ──link up──► going-up ──updelay──► up ──link down──► going-down ──downdelay──► down
 *     ▲                  │                   ▲                    │
 *     └──link down───────┘                   └────link up─────────┘
 *
 * With a delay of 0 the middle state is skipped. A member is usable while
 * up or going down (Linux keeps using a slave during downdelay). The ARP
 * monitor's verdict counts as part of the link: a member that heard nothing
 * from any target for two intervals is "down" (reason "arp"), and "up"
 * again once it hears one. Pure: time comes from `tick(ms)`.
 */
import { Timer } from "../stp/timer.js";

export type HealthState = "down" | "going-up" | "up" | "going-down";

export class MemberHealth {
  state: HealthState = "down";
  carrier = false;
  /** ARP monitor's verdict (true while monitoring is off). */
  arpOk = true;
  /** Why the link last went down (or came up). */
  reason = "initial";
  /** Milliseconds since the last ARP frame from a target (ARP monitoring only). */
  sinceArp = 0;
  readonly delay = new Timer();

  constructor(
    public updelay = 0,
    public downdelay = 0,
  ) {}

  get usable(): boolean {
    return this.state === "up" || this.state === "going-down";
  }

  /** Carrier (or admin state, device gone, …) changed. Returns whether `usable` changed. */
  setCarrier(up: boolean, reason: string): boolean {
    this.carrier = up;
    return this.evaluate(reason);
  }

  /** The ARP monitor's verdict changed. Returns whether `usable` changed. */
  setArp(ok: boolean): boolean {
    this.arpOk = ok;
    return this.evaluate("arp");
  }

  /** Advance the delay timer. Returns whether `usable` changed. */
  tick(ms: number): boolean {
    if (!this.delay.advance(ms)) return false;
    const was = this.usable;
    if (this.state === "going-up") this.state = "up";
    else if (this.state === "going-down") this.state = "down";
    return was !== this.usable;
  }

  private evaluate(reason: string): boolean {
    const was = this.usable;
    const linkUp = this.carrier && this.arpOk;
    if (linkUp && (this.state === "down" || this.state === "going-down")) {
      this.reason = reason;
      if (this.state === "going-down") {
        this.state = "up";
        this.delay.stop();
      } else if (this.updelay > 0) {
        this.state = "going-up";
        this.delay.start(this.updelay);
      } else this.state = "up";
    } else if (!linkUp && (this.state === "up" || this.state === "going-up")) {
      this.reason = reason;
      if (this.state === "going-up") {
        this.state = "down";
        this.delay.stop();
      } else if (this.downdelay > 0) {
        this.state = "going-down";
        this.delay.start(this.downdelay);
      } else this.state = "down";
    }
    return was !== this.usable;
  }

  /** Milliseconds left of the running updelay/downdelay (0: none). */
  get delayLeft(): number {
    return this.delay.active ? Math.max(0, Math.round(this.delay.remaining)) : 0;
  }
}
