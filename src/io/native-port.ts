/**
 * Ports whose frames the addon moves: a TAP device, or an existing interface
 * through an AF_PACKET socket. Options are checked here, in TypeScript,
 * before any native call; addon errors become sentences (errors.ts).
 */
import { describeNativeError } from "../errors.js";
import { netnsPath } from "./netns.js";
import { checkIfname, parseIfnameAtNetns, Port } from "../ports/port.js";
import type { NativeDataplane, OpenedInterface } from "./native-binding.js";
import { parseMac } from "../core/frame.js";
import { TapbridgeError } from "../errors.js";
import { checkUnclaimed, claimDevice, releaseDevice } from "./device-claims.js";

export abstract class NativePort extends Port {
  readonly netns: string | undefined;

  constructor(name: string, netns: string | undefined) {
    super(name);
    this.netns = netns;
  }

  override get label(): string {
    return this.netns ? `${this.name}@${this.netns}` : this.name;
  }

  /** Open the fd in the addon under `index`. */
  abstract open(dp: NativeDataplane, index: number): void;

  /**
   * Open the port for `owner` ("bridge br0"): refused (EBUSY) when the device
   * is already a port of a bridge in this process (device-claims.ts).
   */
  attach(dp: NativeDataplane, index: number, owner: string): void {
    checkUnclaimed(this.netns, this.name, this.label);
    this.open(dp, index);
    try {
      checkUnclaimed(this.netns, this.ifindex!, this.label);
    } catch (error) {
      dp.closePort(index, this.removeOnClose, true);
      throw error;
    }
    claimDevice(this.netns, this.ifindex!, this.name, owner);
  }

  /** Close the fd; `undo`: the attach is being undone (an interface it set up goes down again). */
  close(dp: NativeDataplane, undo = false): void {
    if (this.index >= 0) dp.closePort(this.index, this.removeOnClose, undo);
    releaseDevice(this.netns, this.ifindex);
  }

  protected get removeOnClose(): boolean {
    return false;
  }

  protected adopt(opened: OpenedInterface): void {
    this.mtu = opened.mtu;
    this.mac = opened.mac;
    this.ifindex = opened.ifindex;
    this.vnetHdr = opened.vnetHdr;
  }
}

export interface TapPortOptions {
  /** "tap0" or "tap0@netns". */
  name: string;
  netns?: string;
  /** Keep the device after the bridge closes (TUNSETPERSIST). */
  persist?: boolean;
  mtu?: number;
  mac?: string;
}

/** A TAP device, created (or opened, if it exists) with virtio-net headers and TSO/checksum offload. */
export class TapPort extends NativePort {
  readonly kind = "tap" as const;
  readonly persist: boolean;
  created = false;
  private readonly wantMtu: number | undefined;
  private readonly wantMac: string | undefined;

  constructor(options: TapPortOptions | string) {
    const o = typeof options === "string" ? { name: options } : options;
    const spec = parseIfnameAtNetns(o.name);
    super(spec.name, o.netns ?? spec.netns);
    this.persist = o.persist ?? false;
    if (o.mtu !== undefined && (!Number.isInteger(o.mtu) || o.mtu < 68 || o.mtu > 65535)) {
      throw new TapbridgeError("EINVAL", `MTU ${o.mtu} for ${o.name} is out of range: use a whole number from 68 to 65535`);
    }
    if (o.mac !== undefined) parseMac(o.mac);
    this.wantMtu = o.mtu;
    this.wantMac = o.mac;
  }

  open(dp: NativeDataplane, index: number): void {
    const path = this.netns ? netnsPath(this.netns) : undefined;
    try {
      const opened = dp.openTap(index, {
        name: this.name,
        ...(path ? { netnsPath: path } : {}),
        persist: this.persist,
        ...(this.wantMtu ? { mtu: this.wantMtu } : {}),
        ...(this.wantMac ? { mac: this.wantMac } : {}),
        up: true,
      });
      this.created = opened.created ?? true;
      this.adopt(opened);
    } catch (error) {
      throw describeNativeError(error, `creating TAP device ${this.label}`, this.label);
    }
  }

  /** A TAP this port created goes away with it, unless persistent. */
  protected override get removeOnClose(): boolean {
    return !this.persist && this.created;
  }
}

export interface PacketPortOptions {
  /** "eth0" or "eth0@netns": an existing interface. */
  name: string;
  netns?: string;
  /** Receive frames for every MAC (default true: a bridge port must). */
  promisc?: boolean;
  /**
   * Pass virtio-net headers on transmit (default true) so GSO frames leave
   * whole; false: segment and checksum in software before sending. Receive
   * always takes the kernel's headers.
   */
  vnetHdr?: boolean;
  /**
   * Receive mode (PacketOpenOptions.rxMode): "v2" (default), "v3" or
   * "mmsg". The environment variable TAPBRIDGE_PACKET_RX sets the default
   * for every port (to measure one against another: bench --only).
   */
  rxMode?: PacketRxMode;
}

export type PacketRxMode = "v2" | "v3" | "mmsg";
const RX_MODES: readonly PacketRxMode[] = ["v2", "v3", "mmsg"];

/** The receive mode a port gets when its options name none: TAPBRIDGE_PACKET_RX, else the addon's default. */
function defaultRxMode(): PacketRxMode | undefined {
  const env = process.env.TAPBRIDGE_PACKET_RX;
  if (env === undefined || env === "") return undefined;
  if (!(RX_MODES as readonly string[]).includes(env)) {
    throw new TapbridgeError("EINVAL", `TAPBRIDGE_PACKET_RX is "${env}": use ${RX_MODES.join(" or ")}`);
  }
  return env as PacketRxMode;
}

const rxModeOption = (mode: PacketRxMode | undefined) => (mode ? { rxMode: mode } : {});

/** An existing interface (uplink, veth, a VM's vnetN) attached through AF_PACKET. */
export class PacketPort extends NativePort {
  readonly kind = "packet" as const;
  private readonly options: PacketPortOptions;

  constructor(options: PacketPortOptions | string) {
    const o = typeof options === "string" ? { name: options } : options;
    const spec = parseIfnameAtNetns(o.name);
    super(checkIfname(spec.name), o.netns ?? spec.netns);
    if (o.rxMode !== undefined && !RX_MODES.includes(o.rxMode)) {
      throw new TapbridgeError("EINVAL", `receive mode "${String(o.rxMode)}" for ${o.name} is not one of ${RX_MODES.join(", ")}`);
    }
    this.options = o;
  }

  /** A new, unopened port for the same interface with the same options (to re-attach it). */
  recreate(): PacketPort {
    return new PacketPort({ ...this.options, name: this.name, ...(this.netns ? { netns: this.netns } : {}) });
  }

  open(dp: NativeDataplane, index: number): void {
    const path = this.netns ? netnsPath(this.netns) : undefined;
    const rxMode = this.options.rxMode ?? defaultRxMode(); // a bad TAPBRIDGE_PACKET_RX is its own sentence
    try {
      this.adopt(
        dp.openPacket(index, {
          ifname: this.name,
          ...(path ? { netnsPath: path } : {}),
          promisc: this.options.promisc ?? true,
          vnetHdr: this.options.vnetHdr ?? true,
          ...rxModeOption(rxMode),
        }),
      );
    } catch (error) {
      throw describeNativeError(error, `attaching interface ${this.label}`, this.label);
    }
  }
}
