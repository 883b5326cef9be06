/**
 * Per-port configuration in typed arrays, and the flood masks derived from it.
 *
 * Everything the decision loop needs about ports is here, indexed by port
 * index: flags (Linux's per-port bridge flags), STP state, MTU. Whenever any
 * of it changes, `recompute()` rebuilds, per ingress port, the egress bitmask
 * for each kind of flood (unknown unicast, multicast, broadcast). A flood is
 * then a copy of EGRESS_WORDS words, not a loop over ports and flags.
 *
 * The rule for a flood is Linux's should_deliver(): the egress port is
 * forwarding, takes this kind of flood, is not the ingress port unless it is
 * in hairpin mode, and is not isolated when the ingress port is isolated.
 */
import { EGRESS_WORDS, MAX_PORTS } from "./abi.js";

/** Per-port flags, named after `bridge link set … learning/flood/mcast_flood/bcast_flood/hairpin/isolated`. */
export const PortFlag = {
  present: 1,
  learning: 2,
  flood: 4,
  mcastFlood: 8,
  bcastFlood: 16,
  hairpin: 32,
  isolated: 64,
  /** The index is taken by a bond member (src/bond/): not a port, never a flood or forwarding target. */
  reserved: 128,
} as const;

export const DEFAULT_PORT_FLAGS = PortFlag.learning | PortFlag.flood | PortFlag.mcastFlood | PortFlag.bcastFlood;

/** 802.1D port states, numbered as Linux numbers them (BR_STATE_*). */
export const PortState = {
  disabled: 0,
  listening: 1,
  learning: 2,
  forwarding: 3,
  blocking: 4,
} as const;
export type PortStateName = keyof typeof PortState;
export const PORT_STATE_NAMES: readonly PortStateName[] = ["disabled", "listening", "learning", "forwarding", "blocking"];

export class PortTable {
  readonly flags = new Uint8Array(MAX_PORTS);
  readonly state = new Uint8Array(MAX_PORTS);
  /** Largest Ethernet payload accepted on ingress (the port's MTU). */
  readonly mtu = new Uint32Array(MAX_PORTS);
  readonly floodUnicast = new Uint32Array(MAX_PORTS * EGRESS_WORDS);
  readonly floodMulticast = new Uint32Array(MAX_PORTS * EGRESS_WORDS);
  readonly floodBroadcast = new Uint32Array(MAX_PORTS * EGRESS_WORDS);

  /** The lowest free index, or -1. */
  freeIndex(): number {
    for (let i = 0; i < MAX_PORTS; i++) if (!(this.flags[i]! & (PortFlag.present | PortFlag.reserved))) return i;
    return -1;
  }

  has(index: number): boolean {
    return (this.flags[index]! & PortFlag.present) !== 0;
  }

  recompute(): void {
    this.floodUnicast.fill(0);
    this.floodMulticast.fill(0);
    this.floodBroadcast.fill(0);
    for (let ingress = 0; ingress < MAX_PORTS; ingress++) {
      const inFlags = this.flags[ingress]!;
      if (!(inFlags & PortFlag.present)) continue;
      const base = ingress * EGRESS_WORDS;
      for (let egress = 0; egress < MAX_PORTS; egress++) {
        if (!this.deliverable(ingress, egress)) continue;
        const word = base + (egress >>> 5);
        const bit = 1 << (egress & 31);
        const outFlags = this.flags[egress]!;
        if (outFlags & PortFlag.flood) this.floodUnicast[word]! |= bit;
        if (outFlags & PortFlag.mcastFlood) this.floodMulticast[word]! |= bit;
        if (outFlags & PortFlag.bcastFlood) this.floodBroadcast[word]! |= bit;
      }
    }
  }

  /** Linux should_deliver(), for a frame from `ingress` to `egress`. */
  deliverable(ingress: number, egress: number): boolean {
    const outFlags = this.flags[egress]!;
    return (
      (outFlags & PortFlag.present) !== 0 &&
      (egress !== ingress || (outFlags & PortFlag.hairpin) !== 0) &&
      this.state[egress] === PortState.forwarding &&
      !(this.flags[ingress]! & PortFlag.isolated && outFlags & PortFlag.isolated)
    );
  }
}
