/**
 * VXLAN ports in the decision core (RFC 7348), pure: which ports are VXLAN
 * ports, the VNI each carries, the VNI ↔ VID map of a port on a VLAN-aware
 * bridge, and the checks a received datagram passes before it is a frame.
 *
 * The addon receives each datagram with its 8-byte VXLAN header just before
 * the inner frame and two words before that (abi.ts, VxlanMeta): the id of
 * the remote VTEP it came from and the UDP payload length. `ingress()` reads
 * them, validates the header as the kernel's vxlan does (flags exactly I,
 * reserved bits zero, a VNI the port carries) and leaves the sender's remote
 * and the VID the VNI maps to in fields, so the decision loop learns
 * (VID, MAC) → (port, remote) with no object per frame. At egress the
 * decision writes the destination remote into the same word: the learned
 * entry's remote for a known unicast, -1 (every flood remote: head-end
 * replication) otherwise; the addon sends from there.
 *
 * The header on the wire:
 *   byte 0: flags, 0x08 (I: the VNI is valid); bytes 1-3: reserved, 0;
 *   bytes 4-6: the VNI, big endian; byte 7: reserved, 0.
 */
import { EGRESS_WORDS, MAX_PORTS, VxlanMeta } from "./abi.js";
import { ETH_HLEN } from "./frame.js";
import { DropReason } from "./reasons.js";

export const VXLAN_HLEN = 8;
export const VXLAN_FLAG_VNI = 0x08;
export const VXLAN_PORT = 4789;
export const VNI_MAX = 0xffffff;
/** The outer headers over IPv4: IP 20 + UDP 8 + VXLAN 8 + the inner Ethernet header 14 (Linux's VXLAN_HEADROOM). */
export const VXLAN_OVERHEAD_V4 = 50;
/** Over IPv6: 40 + 8 + 8 + 14. */
export const VXLAN_OVERHEAD_V6 = 70;

export class VxlanTable {
  /** 1 for a VXLAN port. */
  readonly isPort = new Uint8Array(MAX_PORTS);
  /** The port's own VNI (the VNI of frames without a mapped VID), -1 for none. */
  readonly vni = new Int32Array(MAX_PORTS).fill(-1);
  /** Frames longer than this (Ethernet payload, after any tag) are not sent to the port; 0: no limit. */
  readonly overlayMtu = new Uint32Array(MAX_PORTS);
  /** Per port, VNI → VID (vni-map=), or undefined. */
  private readonly vniToVid: (Map<number, number> | undefined)[] = new Array(MAX_PORTS).fill(undefined);
  /** Frames of a too-big size kept off each VXLAN port while others still got them (a flood). */
  readonly tooBigPerPort = new Float64Array(MAX_PORTS);
  /** Some port is a VXLAN port. */
  active = false;
  /** The VXLAN ports' indices, and the shortest frame any of them may refuse as too big. */
  private ports: number[] = [];
  minTooBig = 0x7fffffff;
  /** After ingress(): the sender's remote id, and the VID its VNI maps to (-1: none, the usual VLAN rules apply). */
  remote = -1;
  vid = -1;

  setPort(port: number, vni: number, overlayMtu: number, vniMap?: ReadonlyMap<number, number>): void {
    this.isPort[port] = 1;
    this.vni[port] = vni;
    this.overlayMtu[port] = overlayMtu;
    this.vniToVid[port] = vniMap && vniMap.size > 0 ? new Map([...vniMap].map(([vid, v]) => [v, vid])) : undefined;
    this.tooBigPerPort[port] = 0;
    this.refresh();
  }

  clearPort(port: number): void {
    this.isPort[port] = 0;
    this.vni[port] = -1;
    this.overlayMtu[port] = 0;
    this.vniToVid[port] = undefined;
    this.refresh();
  }

  private refresh(): void {
    this.ports = [];
    this.minTooBig = 0x7fffffff;
    for (let p = 0; p < MAX_PORTS; p++) {
      if (!this.isPort[p]) continue;
      this.ports.push(p);
      if (this.overlayMtu[p]! > 0) this.minTooBig = Math.min(this.minTooBig, this.overlayMtu[p]! + ETH_HLEN + 1);
    }
    this.active = this.ports.length > 0;
  }

  /**
   * Whether a frame of `length` bytes (Ethernet header included, `tagged`:
   * an 802.1Q tag in it) exceeds VXLAN port `port`'s overlay MTU. GSO frames
   * are cut to size at transmit and never are.
   */
  tooBig(port: number, length: number, tagged: boolean, gso: boolean): boolean {
    const mtu = this.overlayMtu[port]!;
    return !gso && mtu > 0 && length - ETH_HLEN - (tagged ? 4 : 0) > mtu;
  }

  /**
   * A flood: clear the bits of VXLAN ports the frame is too big for (each
   * counted in tooBigPerPort). Returns whether any egress bit is left.
   */
  clampFlood(egress: Uint32Array, out: number, length: number, tagged: boolean, gso: boolean): boolean {
    for (const p of this.ports) {
      const w = out + (p >>> 5);
      const bit = 1 << (p & 31);
      if (egress[w]! & bit && this.tooBig(p, length, tagged, gso)) {
        egress[w] = egress[w]! & ~bit;
        this.tooBigPerPort[p]!++;
      }
    }
    for (let w = 0; w < EGRESS_WORDS; w++) if (egress[out + w] !== 0) return true;
    return false;
  }

  /**
   * A datagram received on VXLAN port `port`: -1 when it is a frame to
   * decide (with `remote` and `vid` set), else the DropReason it is counted
   * under.
   */
  ingress(bytes: Uint8Array, view: DataView, offset: number, port: number): number {
    this.remote = view.getInt32(offset - VxlanMeta.remote, true);
    this.vid = -1;
    const payload = view.getUint32(offset - VxlanMeta.payloadLength, true);
    if (payload < VXLAN_HLEN + ETH_HLEN) return DropReason.vxlanShort;
    const h = offset - VxlanMeta.header;
    if (bytes[h] !== VXLAN_FLAG_VNI || bytes[h + 1] !== 0 || bytes[h + 2] !== 0 || bytes[h + 3] !== 0 || bytes[h + 7] !== 0) {
      return DropReason.vxlanBadHeader;
    }
    const vni = (bytes[h + 4]! << 16) | (bytes[h + 5]! << 8) | bytes[h + 6]!;
    if (vni === this.vni[port]) return -1;
    const map = this.vniToVid[port];
    const vid = map === undefined ? undefined : map.get(vni);
    if (vid === undefined) return DropReason.vxlanUnknownVni;
    this.vid = vid;
    return -1;
  }
}

/** The 8-byte VXLAN header for a VNI. */
export function vxlanHeader(vni: number): Uint8Array {
  return Uint8Array.of(VXLAN_FLAG_VNI, 0, 0, 0, (vni >>> 16) & 0xff, (vni >>> 8) & 0xff, vni & 0xff, 0);
}

/** A VXLAN UDP payload: the header and the inner frame. */
export function encapsulate(vni: number, frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(VXLAN_HLEN + frame.length);
  out.set(vxlanHeader(vni));
  out.set(frame, VXLAN_HLEN);
  return out;
}

/** A UDP payload's VNI and inner frame, or undefined when it is not valid VXLAN (as `ingress` judges). */
export function decapsulate(payload: Uint8Array): { vni: number; frame: Uint8Array } | undefined {
  if (payload.length < VXLAN_HLEN + ETH_HLEN) return undefined;
  if (payload[0] !== VXLAN_FLAG_VNI || payload[1] !== 0 || payload[2] !== 0 || payload[3] !== 0 || payload[7] !== 0) return undefined;
  return { vni: (payload[4]! << 16) | (payload[5]! << 8) | payload[6]!, frame: payload.subarray(VXLAN_HLEN) };
}
