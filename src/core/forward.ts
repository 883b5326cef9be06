/**
 * The per-batch decision loop: for every frame of a batch, the set of ports
 * it leaves through, or one drop reason.
 *
 * Fixed order, as Linux's br_handle_frame / br_handle_frame_finish:
 *   validate (length, virtio-net header, MTU, 802.1Q header)
 *   → source MAC valid → VLAN ingress (the frame's VID, or a drop reason)
 *   → link-local group addresses (BPDUs to STP, whatever the VLAN)
 *   → VLAN ingress drop → ingress port state → learn → drop if LEARNING
 *   → look up → forward (should_deliver, VID member) or flood (precomputed
 *   masks ANDed with the VID's members), a flood first passing the ingress
 *   port's storm control (storm.ts) → the frame's tag word for egress.
 *
 * Cost: no allocation and no call that allocates; MACs are read as two
 * integers; a flood copies EGRESS_WORDS words from PortTable. Counters are
 * typed arrays indexed by port (and reason, or VID).
 *
 * VLANs (vlan.ts): with `vlanFiltering` off the bridge is VLAN-unaware, as
 * Linux with vlan_filtering 0 — every frame is learned and looked up in VLAN
 * 0 and leaves as it came (tag word 0). With it on, learning and lookup are
 * per VID and the tag word tells transmit how each port gets the frame.
 *
 * VXLAN ports (vxlan.ts): a datagram's header is checked first (a drop
 * reason of its own), the sender's remote VTEP is learned with the MAC, and
 * every frame's destination remote is written back for transmit (the
 * entry's remote for a known unicast, -1 = head-end replication otherwise).
 */
import type { Batch } from "./batch.js";
import { FLOOD_KINDS, type Counters } from "./counters.js";
import { type Fdb, NO_PORT } from "./fdb.js";
import { EGRESS_WORDS, Vnet, VxlanMeta } from "./abi.js";
import { gsoSegmentable } from "./gso.js";
import { ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, LINK_LOCAL_HI, LINK_LOCAL_LO_PREFIX, VLAN_HLEN } from "./frame.js";
import { PortFlag, PortState, type PortTable } from "./port-table.js";
import { DROP_REASON_COUNT, DropReason } from "./reasons.js";
import { FloodKind, StormControl } from "./storm.js";
import { VlanTable } from "./vlan.js";
import { VxlanTable } from "./vxlan.js";

/**
 * Called with each BPDU while STP is on: slot index in the batch and ingress
 * port. Returns the drop reason the frame is counted under (bpduConsumed, or
 * a spanning tree reason such as bpduMalformed); nothing means bpduConsumed.
 */
export type BpduHandler = (batch: Batch, index: number, port: number) => number | void;

export interface DecisionConfig {
  /** STP on: BPDUs are consumed and handed to `onBpdu`, not forwarded. */
  stpEnabled: boolean;
  /**
   * Bit n set: frames to 01:80:C2:00:00:0n are flooded (Linux group_fwd_mask;
   * bits 0, 1 and 2 — BPDU, pause, 802.1X/LACP-range — cannot be set, as in Linux).
   */
  groupFwdMask: number;
  onBpdu?: BpduHandler;
  /** 802.1Q filtering on (Linux vlan_filtering 1): per-VID learning, lookup, flooding and tagging. */
  vlanFiltering?: boolean;
  /**
   * Bonds (src/bond/bridge-bonds.ts): per frame of the batch, 0 or the drop
   * reason a filter before the decision gave it (counted on its port, then
   * skipped). Undefined when the bridge has no bond: nothing is read.
   */
  ingressVerdict?: Uint8Array;
}

const GSO_KNOWN = (1 << Vnet.GSO_TCPV4) | (1 << Vnet.GSO_UDP) | (1 << Vnet.GSO_TCPV6) | (1 << 5); /* UDP_L4 */

export class Decider {
  constructor(
    private readonly fdb: Fdb,
    private readonly ports: PortTable,
    private readonly counters: Counters,
    readonly config: DecisionConfig,
    /** Per-port storm control (storm.ts); without limits it costs one byte read per flooded frame. */
    readonly storm: StormControl = new StormControl(),
    /** VLAN membership, PVIDs and per-VID counters (vlan.ts); consulted only with vlanFiltering on. */
    readonly vlan: VlanTable = new VlanTable(),
    /** VXLAN ports (vxlan.ts); costs one test per frame while there are none. */
    readonly vxlan: VxlanTable = new VxlanTable(),
  ) {}

  /** Decide frames 0..count-1 of `batch`, writing their egress bitmasks. */
  decide(batch: Batch, count: number, now: number): void {
    const { bytes, view, rxPort, frameOffset, frameLength, egress, frameTag, slotSize } = batch;
    const fdb = this.fdb;
    const ports = this.ports;
    const portFlags = ports.flags;
    const portState = ports.state;
    const portMtu = ports.mtu;
    const counters = this.counters;
    const rxPackets = counters.rxPackets;
    const rxBytes = counters.rxBytes;
    const drops = counters.drops;
    const floods = counters.floods;
    const forwarded = counters.forwarded;
    const learningEnabled = fdb.ageingMs > 0;
    const { stpEnabled, groupFwdMask } = this.config;
    const storm = this.storm;
    const stormActive = storm.active;
    const vlan = this.vlan;
    const vlanOn = this.config.vlanFiltering === true;
    const vlanMember = vlan.member;
    const tpid = vlan.tpid;
    const tpidHigh = tpid << 16;
    const verdict = this.config.ingressVerdict;
    const vx = this.vxlan;
    const vxOn = vx.active;
    const vxPort = vx.isPort;

    for (let i = 0; i < count; i++) {
      const port = rxPort[i]!;
      const offset = frameOffset[i]!;
      const length = frameLength[i]!;
      const out = i * EGRESS_WORDS;
      for (let w = 0; w < EGRESS_WORDS; w++) egress[out + w] = 0;
      rxPackets[port]!++;
      rxBytes[port]! += length;
      if (verdict !== undefined && verdict[i] !== 0) {
        drops[port * DROP_REASON_COUNT + verdict[i]!]!++;
        continue;
      }

      let remoteIn = -1;
      let vxVid = -1;
      if (vxOn) {
        if (vxPort[port] !== 0) {
          const why = vx.ingress(bytes, view, offset, port);
          if (why >= 0) {
            drops[port * DROP_REASON_COUNT + why]!++;
            continue;
          }
          remoteIn = vx.remote;
          vxVid = vx.vid;
        }
        view.setInt32(offset - VxlanMeta.remote, -1, true); // to VXLAN ports: every flood remote, unless a unicast says which
      }

      const reason = classifyHeaders(bytes, view, i * slotSize, offset, length, portMtu[port]!);
      if (reason >= 0) {
        drops[port * DROP_REASON_COUNT + reason]!++;
        continue;
      }

      const dstHi = view.getUint16(offset);
      // Low MAC words as int32: a small integer even where a call is not
      // inlined (a uint32 of 2^31 or more would be boxed on the heap per frame).
      const dstLo = view.getInt32(offset + 2);
      const srcHi = view.getUint16(offset + 6);
      const srcLo = view.getInt32(offset + 8);

      // Source must be a unicast, non-zero address (br_handle_frame: is_valid_ether_addr).
      if (srcHi & 0x0100 || (srcHi === 0 && srcLo === 0)) {
        drops[port * DROP_REASON_COUNT + DropReason.invalidSource]!++;
        continue;
      }

      // VLAN ingress (br_allowed_ingress): the frame's VID and tag word, or
      // why the port may not take it. Applied after link-local frames, which
      // reach STP whatever their VLAN (a BPDU is untagged on a port without PVID).
      let vid = 0;
      let vlanDrop = -1;
      if (vlanOn && vxVid >= 0) {
        vid = vxVid; // a VNI mapped to a VLAN (vni-map=)
        frameTag[i] = tpidHigh | vid;
      } else if (vlanOn) {
        const tci = vlan.ingressTci(view, offset, port);
        if (tci < 0) {
          vlanDrop = -1 - tci;
          frameTag[i] = 0;
        } else {
          vid = tci & 0xfff;
          frameTag[i] = tpidHigh | tci;
        }
      } else frameTag[i] = 0;

      const state = portState[port]!;
      const learns = learningEnabled && (portFlags[port]! & PortFlag.learning) !== 0 &&
        (state === PortState.forwarding || state === PortState.learning);

      // 01:80:C2:00:00:0X, before the port state (br_handle_frame): pause is
      // dropped unlearned; a BPDU goes to STP when it runs and is otherwise
      // forwarded like data; the rest are learned and not forwarded unless
      // group_fwd_mask says so.
      if (dstHi === LINK_LOCAL_HI && (dstLo & 0xfffffff0) >>> 0 === LINK_LOCAL_LO_PREFIX) {
        const group = dstLo & 0xf;
        if (group === 1) {
          drops[port * DROP_REASON_COUNT + DropReason.linkLocal]!++;
          continue;
        }
        if (group === 0 ? stpEnabled : !((groupFwdMask >>> group) & 1)) {
          if (learns && vlanDrop < 0) {
            fdb.learn(vid, srcHi, srcLo, port, now);
            if (remoteIn >= 0) fdb.learnRemote(vid, srcHi, srcLo, port, remoteIn);
          }
          if (group === 0) {
            const why = this.config.onBpdu?.(batch, i, port);
            drops[port * DROP_REASON_COUNT + (typeof why === "number" ? why : DropReason.bpduConsumed)]!++;
          } else {
            drops[port * DROP_REASON_COUNT + DropReason.linkLocal]!++;
          }
          continue;
        }
      }

      if (vlanDrop >= 0) {
        drops[port * DROP_REASON_COUNT + vlanDrop]!++;
        continue;
      }
      if (vlanOn) vlan.countRx(port, vid, length);

      if (state !== PortState.forwarding && state !== PortState.learning) {
        drops[port * DROP_REASON_COUNT + DropReason.portState]!++;
        continue;
      }

      if (learns) {
        fdb.learn(vid, srcHi, srcLo, port, now);
        if (remoteIn >= 0) fdb.learnRemote(vid, srcHi, srcLo, port, remoteIn);
      }

      if (state === PortState.learning) {
        drops[port * DROP_REASON_COUNT + DropReason.portLearning]!++;
        continue;
      }

      let mask: Uint32Array;
      let kind: number;
      if (dstHi & 0x0100) {
        const broadcast = dstHi === 0xffff && dstLo === -1;
        mask = broadcast ? ports.floodBroadcast : ports.floodMulticast;
        kind = broadcast ? FloodKind.broadcast : FloodKind.multicast;
      } else {
        const to = fdb.lookup(vid, dstHi, dstLo, now);
        if (to !== NO_PORT) {
          if (!ports.deliverable(port, to)) {
            const reason2 = to === port ? DropReason.samePort : DropReason.egressBlocked;
            drops[port * DROP_REASON_COUNT + reason2]!++;
          } else if (vlanOn && !((vlanMember[vid * EGRESS_WORDS + (to >>> 5)]! >>> (to & 31)) & 1)) {
            drops[port * DROP_REASON_COUNT + DropReason.vlanEgressFiltered]!++;
          } else if (vxOn && vxPort[to] !== 0 && length >= vx.minTooBig && vx.tooBig(to, length, view.getUint16(offset + 12) === tpid, bytes[i * slotSize + 1] !== 0)) {
            drops[port * DROP_REASON_COUNT + DropReason.vxlanTooBig]!++;
          } else {
            if (vxOn && vxPort[to] !== 0) view.setInt32(offset - VxlanMeta.remote, fdb.remoteOf(vid, dstHi, dstLo), true);
            egress[out + (to >>> 5)] = 1 << (to & 31);
            forwarded[port]!++;
            if (vlanOn) vlan.countTx(to, vid, length, view.getUint16(offset + 12) === tpid);
          }
          continue;
        }
        mask = ports.floodUnicast;
        kind = FloodKind.unknownUnicast;
      }

      // Storm control: the one place a flood may be refused for its rate.
      if (stormActive[port] !== 0 && !storm.admit(port, kind, now)) {
        drops[port * DROP_REASON_COUNT + DropReason.stormBroadcast + kind]!++;
        continue;
      }

      let any = 0;
      const from = port * EGRESS_WORDS;
      if (vlanOn) {
        const members = vid * EGRESS_WORDS;
        for (let w = 0; w < EGRESS_WORDS; w++) any |= egress[out + w] = mask[from + w]! & vlanMember[members + w]!;
        if (any !== 0) vlan.countTxMask(egress, out, vid, length, view.getUint16(offset + 12) === tpid);
      } else {
        for (let w = 0; w < EGRESS_WORDS; w++) any |= egress[out + w] = mask[from + w]!;
      }
      if (any !== 0 && vxOn && length >= vx.minTooBig && !vx.clampFlood(egress, out, length, view.getUint16(offset + 12) === tpid, bytes[i * slotSize + 1] !== 0)) {
        drops[port * DROP_REASON_COUNT + DropReason.vxlanTooBig]!++;
        continue;
      }
      if (any === 0) drops[port * DROP_REASON_COUNT + DropReason.noEgress]!++;
      else floods[port * FLOOD_KINDS + kind]!++;
    }
  }
}

/**
 * Header checks that need no table: returns a DropReason, or -1 when the
 * frame is well formed. The virtio-net header is at `vnetAt`.
 */
export function classifyHeaders(bytes: Uint8Array, view: DataView, vnetAt: number, offset: number, length: number, mtu: number): number {
  if (length < ETH_HLEN) return DropReason.runt;
  const ethertype = view.getUint16(offset + 12);
  const tagged = ethertype === ETH_P_8021Q || ethertype === ETH_P_8021AD;
  if (tagged && length < ETH_HLEN + VLAN_HLEN) return DropReason.truncatedVlan;
  const vnetFlags = bytes[vnetAt]!;
  const gso = bytes[vnetAt + 1]! & ~Vnet.GSO_ECN;
  if (vnetFlags & Vnet.FLAG_NEEDS_CSUM) {
    const csumStart = view.getUint16(vnetAt + Vnet.csumStart, true);
    const csumOffset = view.getUint16(vnetAt + Vnet.csumOffset, true);
    if (csumStart < ETH_HLEN || csumStart + csumOffset + 2 > length) return DropReason.badVnetHeader;
  }
  if (gso !== Vnet.GSO_NONE) {
    if (!((GSO_KNOWN >>> gso) & 1) || gso > 5) return DropReason.badVnetHeader;
    if (view.getUint16(vnetAt + Vnet.gsoSize, true) === 0) return DropReason.badVnetHeader;
    if (view.getUint16(vnetAt + Vnet.hdrLen, true) > length) return DropReason.badVnetHeader;
    if (!gsoSegmentable(bytes, view, vnetAt, offset, length)) return DropReason.unsegmentableGso;
  } else if (bytes[vnetAt + 1]! & Vnet.GSO_ECN) {
    return DropReason.badVnetHeader; // the ECN flag on a frame that is not GSO
  } else if (length - ETH_HLEN - (tagged ? VLAN_HLEN : 0) > mtu) {
    return DropReason.oversize;
  }
  return -1;
}
