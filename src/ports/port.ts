/**
 * What every port is, whatever moves its frames: a name, an index in its
 * bridge, an MTU, and per-port bridge settings. TapPort and PacketPort are
 * opened by the addon when added to a bridge; MemoryPort moves frames in
 * TypeScript.
 */
import { TapbridgeError } from "../errors.js";
import type { PortStateName } from "../core/port-table.js";
import type { PortVlanSpec } from "../core/vlan-spec.js";
import type { BondOptions } from "../bond/settings.js";

export type PortKind = "tap" | "packet" | "memory" | "bond" | "vxlan";

/** Per-port bridge flags and state, as `bridge link set dev X …` names them. */
export interface PortFlagSettings {
  learning?: boolean;
  /** Unknown unicast flooded to this port. */
  flood?: boolean;
  mcastFlood?: boolean;
  bcastFlood?: boolean;
  /** Frames may leave through the port they came in on. */
  hairpin?: boolean;
  /** An isolated port talks only to non-isolated ports. */
  isolated?: boolean;
  /** Initial state; "forwarding" unless STP decides otherwise (refused while STP runs). */
  state?: PortStateName;
  /** Cap on MACs learned on this port (0: none, the default); further learns are refused and counted. */
  maxLearned?: number;
  /** Storm control: broadcast frames/s this port may flood (0: no limit, the default). */
  stormBroadcast?: number;
  /** Storm control: multicast frames/s this port may flood (0: no limit). */
  stormMulticast?: number;
  /** Storm control: unknown-unicast frames/s this port may flood (0: no limit). */
  stormUnknownUnicast?: number;
  /**
   * Attached interfaces: when the device is deleted, re-attach the port (with
   * these settings) once a device of the same name appears again (default on).
   */
  reattach?: boolean;
  /** Spanning tree path cost (STP 1-65535, RSTP 1-200000000; default by link speed). */
  cost?: number;
  /** Spanning tree port priority, 0-255 (default 128). */
  priority?: number;
  /** RSTP edge port: forwards at once until it hears a BPDU. */
  edge?: boolean;
  /** A BPDU received on this port disables it (Linux bpdu_guard). */
  bpduGuard?: boolean;
  /** This port never becomes root port (Linux root_block). */
  rootGuard?: boolean;
}

/**
 * Everything addPort/setPortSettings take: the flags, and the port's VLANs
 * (access/trunk/native/pvid/vlans/untagged, core/vlan-spec.ts). VLAN keys,
 * when any is present, replace the port's whole VLAN set.
 */
export interface PortSettings extends PortFlagSettings, PortVlanSpec {
  /** Bond ports only (ports/bond-port.ts): options over those the BondPort was made with. */
  bond?: BondOptions;
}

export abstract class Port {
  abstract readonly kind: PortKind;
  /** Index in the bridge, -1 while not attached. */
  index = -1;
  mtu = 1500;
  mac: string | undefined;
  ifindex: number | undefined;
  /** Exchanges virtio-net headers (GSO frames pass unchanged). */
  vnetHdr = false;

  constructor(readonly name: string) {}

  /**
   * The bridge's own interface in the host (Linux's bridge device, "self"):
   * its MAC is a local FDB entry, and it is no spanning tree port.
   * io/host-port.ts.
   */
  get self(): boolean {
    return false;
  }

  /** "tap0", or "tap0@blue" when in another namespace. */
  get label(): string {
    return this.name;
  }
}

const IFNAME = /^[^\s/:@%]{1,15}$/;

/**
 * Check a Linux interface name: 1..15 bytes, no white space, '/', ':', '@'
 * or '%' (the kernel takes "tap%d" as a pattern and picks a name of its own).
 */
export function checkIfname(name: string, what = "interface name"): string {
  if (!IFNAME.test(name) || name === "." || name === ".." || Buffer.byteLength(name) > 15) {
    throw new TapbridgeError(
      "EINVAL",
      `"${name}" is not a valid ${what}: use 1 to 15 characters without spaces, '/', ':', '@' or '%'`,
    );
  }
  return name;
}

/** "eth0" or "eth0@blue" → { name, netns }. */
export function parseIfnameAtNetns(spec: string): { name: string; netns?: string } {
  const at = spec.indexOf("@");
  if (at < 0) return { name: checkIfname(spec) };
  const name = checkIfname(spec.slice(0, at));
  const netns = spec.slice(at + 1);
  if (netns === "") throw new TapbridgeError("EINVAL", `"${spec}" names no network namespace after '@'`);
  return { name, netns };
}
