/**
 * The host port: a bridge's own interface in the host, what Linux calls the
 * bridge device ("self"). A kernel bridge `virbr0` is both the switch and
 * the host's interface on it; tapbridge's switch lives in a process, so the
 * host's side is a TAP named like the bridge, which the process owns. The
 * host stack uses it as it would the bridge device: `ip addr add … dev
 * virbr0`, routes, dnsmasq bound to it.
 *
 * Toward the switch it is a port like the others (flooding, learning,
 * VLANs: its own PVID and tagged VIDs, as `bridge vlan … self`), with two
 * differences the bridge honours through `Port.self`: its MAC is a local
 * entry (frames to it go to it only; local-addresses.ts), and it takes no
 * part in spanning tree (the bridge device is no STP port in Linux either).
 *
 * The TAP is the bridge's own: created here, removed when the port closes,
 * never opened if something else already has the name (a TAP left by
 * someone else, a kernel bridge, a NIC) — a host port claims a name, it
 * does not adopt one.
 */
import { TapbridgeError } from "../errors.js";
import type { NativeDataplane } from "./native-binding.js";
import { TapPort } from "./native-port.js";

export interface HostPortOptions {
  /** The bridge's name, which the interface takes (virbr0, xenbr0, br59). */
  name: string;
  /** Namespace of the host stack that uses it (ip netns name or path); default: the process's own. */
  netns?: string;
  /** The bridge's MAC. */
  mac: string;
  mtu?: number;
}

export class HostPort extends TapPort {
  constructor(options: HostPortOptions) {
    super({ name: options.name, ...(options.netns ? { netns: options.netns } : {}), mac: options.mac, ...(options.mtu ? { mtu: options.mtu } : {}), persist: false });
  }

  override get self(): boolean {
    return true;
  }

  override attach(dp: NativeDataplane, index: number, owner: string): void {
    super.attach(dp, index, `the host port of ${owner}`);
  }

  override open(dp: NativeDataplane, index: number): void {
    super.open(dp, index);
    if (!this.created) {
      // An existing TAP of that name: someone else's. Leave it as it was.
      dp.closePort(index, false, true);
      throw new TapbridgeError(
        "EEXIST",
        `interface ${this.label} already exists: the host port of bridge ${this.name} needs the name for itself (remove the interface, or name the bridge otherwise)`,
      );
    }
  }
}
