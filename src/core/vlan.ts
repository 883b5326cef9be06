/**
 * 802.1Q VLANs as the Linux bridge has them (br_vlan.c): per port a set of
 * member VIDs, each tagged or untagged on egress, and at most one PVID.
 *
 * Data structure: two bitmaps indexed by VID, one EGRESS_WORDS-word port
 * mask per VID — `member` (the port belongs to the VLAN) and `untagged`
 * (frames of this VLAN leave the port without a tag) — and the PVID per port
 * in a Uint16Array. Memory: 2 × 4096 × 32 bytes = 256 KiB, fixed. Every
 * per-frame question is one array read and a shift: may port p receive VID v
 * (ingress filter), which ports of a flood are in VID v (the flood mask ANDed
 * with `member[v]`, EGRESS_WORDS words), does v leave port p tagged. The
 * `untagged` bitmap is the per-(port, VID) tag decision the addon reads at
 * transmit time; it is rebuilt only when configuration changes.
 *
 * The tag a frame carries through the bridge is one 32-bit word,
 * (TPID << 16) | TCI, decided at ingress (`ingressTci`): the frame's own tag
 * when it arrives tagged with the bridge's protocol (a priority tag gets the
 * PVID put in, keeping PCP and DEI), otherwise TPID | PVID with PCP 0 — an
 * untagged frame, or one whose outer tag is of the other protocol (an 802.1ad
 * S-tag on an 802.1Q bridge: QinQ passthrough, carried in the PVID with its
 * tag intact). The word is written to the batch (`frameTag`), and egress
 * (vlan-egress.ts, native TransmitTo) splices it in or skips the frame's own.
 *
 * Counters per (port, VID): rx/tx packets and bytes in Float64Arrays, one row
 * per VID that has members and one column per port index in use, grown (a
 * copy) when configuration adds a VID or a port — never per frame. A trunk of
 * all 4094 VLANs on 8 ports costs 4094 × 8 × 32 bytes = 1 MiB.
 */
import { EGRESS_WORDS, MAX_PORTS } from "./abi.js";
import { ETH_P_8021AD, ETH_P_8021Q } from "./frame.js";
import { DropReason } from "./reasons.js";
import type { VlanMembership } from "./vlan-spec.js";

export const VID_COUNT = 4096;

export type VlanProtocol = "802.1Q" | "802.1ad";
export const VLAN_PROTOCOL_TPID: Readonly<Record<VlanProtocol, number>> = { "802.1Q": ETH_P_8021Q, "802.1ad": ETH_P_8021AD };

export interface VlanCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

export class VlanTable {
  /** member[vid * EGRESS_WORDS + (port >>> 5)] bit (port & 31): the port is a member of vid. */
  readonly member = new Uint32Array(VID_COUNT * EGRESS_WORDS);
  /** Same layout: frames of vid leave the port untagged (meaningful for members only). */
  readonly untagged = new Uint32Array(VID_COUNT * EGRESS_WORDS);
  /** PVID per port; 0: none (untagged and priority-tagged frames are dropped). */
  readonly pvid = new Uint16Array(MAX_PORTS);
  /** The bridge's VLAN protocol (Linux vlan_protocol): 0x8100 or 0x88a8. */
  tpid: number = ETH_P_8021Q;

  /** Counter row of each VID plus one (0: none yet). Rows are never given back. */
  private readonly row = new Uint16Array(VID_COUNT);
  private rows = 0;
  private rowCapacity = 0;
  /** Columns per row: a power of two above the highest port index configured. */
  stride = 0;
  rxPackets = new Float64Array(0);
  rxBytes = new Float64Array(0);
  txPackets = new Float64Array(0);
  txBytes = new Float64Array(0);

  isMember(port: number, vid: number): boolean {
    return ((this.member[vid * EGRESS_WORDS + (port >>> 5)]! >>> (port & 31)) & 1) !== 0;
  }

  isUntagged(port: number, vid: number): boolean {
    return ((this.untagged[vid * EGRESS_WORDS + (port >>> 5)]! >>> (port & 31)) & 1) !== 0;
  }

  /** Add `vid` to `port`, or change its flags (`bridge vlan add`). A new PVID replaces the old one. */
  set(port: number, vid: number, pvid: boolean, untagged: boolean): void {
    const word = vid * EGRESS_WORDS + (port >>> 5);
    const bit = 1 << (port & 31);
    this.member[word]! |= bit;
    if (untagged) this.untagged[word]! |= bit;
    else this.untagged[word]! &= ~bit;
    if (pvid) this.pvid[port] = vid;
    else if (this.pvid[port] === vid) this.pvid[port] = 0;
    this.ensureCounters(port, vid);
  }

  /** Remove `vid` from `port`; its counters are cleared. Returns whether it was a member. */
  remove(port: number, vid: number): boolean {
    if (!this.isMember(port, vid)) return false;
    const word = vid * EGRESS_WORDS + (port >>> 5);
    const bit = 1 << (port & 31);
    this.member[word]! &= ~bit;
    this.untagged[word]! &= ~bit;
    if (this.pvid[port] === vid) this.pvid[port] = 0;
    this.clearCounters(port, vid);
    return true;
  }

  /** Replace every membership of `port`. */
  replacePort(port: number, entries: readonly VlanMembership[]): void {
    this.clearPort(port);
    for (const e of entries) this.set(port, e.vid, e.pvid, e.untagged);
  }

  /** Remove every membership of `port` (and its counters). */
  clearPort(port: number): void {
    for (const vid of this.vidsOf(port)) this.remove(port, vid);
    this.pvid[port] = 0;
  }

  /** The VIDs `port` is a member of, ascending. Allocates: configuration and display only. */
  vidsOf(port: number): number[] {
    const out: number[] = [];
    const w = port >>> 5;
    const bit = 1 << (port & 31);
    for (let vid = 1; vid < VID_COUNT; vid++) if (this.member[vid * EGRESS_WORDS + w]! & bit) out.push(vid);
    return out;
  }

  entriesOf(port: number): VlanMembership[] {
    return this.vidsOf(port).map((vid) => ({ vid, pvid: this.pvid[port] === vid, untagged: this.isUntagged(port, vid) }));
  }

  /**
   * Hot path. The TCI a frame carries through the bridge (VID filled in; the
   * tag word is (tpid << 16) | TCI), or -1 - DropReason when the port may not
   * take it. A priority-tagged frame gets the PVID in its TCI (the frame is
   * not written: egress puts that TCI in the tag it leaves with). The frame
   * is at least 18 bytes when its ethertype is a VLAN TPID.
   * (Only small integers cross this call: a value of 2^31 or more would be
   * boxed on the heap wherever the call is not inlined.)
   */
  ingressTci(view: DataView, offset: number, port: number): number {
    const tpid = this.tpid;
    let tci: number;
    if (view.getUint16(offset + 12) === tpid) {
      tci = view.getUint16(offset + 14);
      const vid = tci & 0xfff;
      if (vid === 0) {
        const pvid = this.pvid[port]!;
        if (pvid === 0) return -1 - DropReason.noPvid;
        tci |= pvid;
      } else if (!((this.member[vid * EGRESS_WORDS + (port >>> 5)]! >>> (port & 31)) & 1)) {
        return -1 - DropReason.vlanNotMember;
      }
    } else {
      tci = this.pvid[port]!;
      if (tci === 0) return -1 - DropReason.noPvid;
    }
    return tci;
  }

  /** The tag word of a TCI with this bridge's protocol (not for the per-frame path: it may box). */
  tagWord(tci: number): number {
    return ((this.tpid << 16) | tci) >>> 0;
  }

  /** Hot path: count a frame received on `port` in `vid`. */
  countRx(port: number, vid: number, bytes: number): void {
    const at = (this.row[vid]! - 1) * this.stride + port;
    this.rxPackets[at]!++;
    this.rxBytes[at]! += bytes;
  }

  /**
   * Hot path: count a frame of `vid` sent to `port`; `length` is its length
   * as received, `tagged` whether it carries the bridge's tag in the slab.
   */
  countTx(port: number, vid: number, length: number, tagged: boolean): void {
    const at = (this.row[vid]! - 1) * this.stride + port;
    const untag = ((this.untagged[vid * EGRESS_WORDS + (port >>> 5)]! >>> (port & 31)) & 1) !== 0;
    this.txPackets[at]!++;
    this.txBytes[at]! += tagged ? (untag ? length - 4 : length) : untag ? length : length + 4;
  }

  /** Hot path: countTx for every port set in egress[out .. out + EGRESS_WORDS). */
  countTxMask(egress: Uint32Array, out: number, vid: number, length: number, tagged: boolean): void {
    for (let w = 0; w < EGRESS_WORDS; w++) {
      let bits = egress[out + w]!;
      while (bits !== 0) {
        const low = bits & -bits;
        this.countTx((w << 5) | (31 - Math.clz32(low)), vid, length, tagged);
        bits ^= low;
      }
    }
  }

  countersOf(port: number, vid: number): VlanCounters {
    const r = this.row[vid]!;
    if (r === 0 || port >= this.stride) return { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };
    const at = (r - 1) * this.stride + port;
    return { rxPackets: this.rxPackets[at]!, rxBytes: this.rxBytes[at]!, txPackets: this.txPackets[at]!, txBytes: this.txBytes[at]! };
  }

  private clearCounters(port: number, vid: number): void {
    const r = this.row[vid]!;
    if (r === 0 || port >= this.stride) return;
    const at = (r - 1) * this.stride + port;
    this.rxPackets[at] = this.rxBytes[at] = this.txPackets[at] = this.txBytes[at] = 0;
  }

  /** Make room for (port, vid): a row for the VID, a column for the port. Configuration time only. */
  private ensureCounters(port: number, vid: number): void {
    let stride = this.stride || 8;
    while (stride <= port) stride *= 2;
    let capacity = this.rowCapacity || 16;
    const needRow = this.row[vid] === 0;
    while (this.rows + (needRow ? 1 : 0) > capacity) capacity *= 2;
    if (stride !== this.stride || capacity !== this.rowCapacity) this.regrow(stride, capacity);
    if (needRow) this.row[vid] = ++this.rows;
  }

  private regrow(stride: number, capacity: number): void {
    const copy = (old: Float64Array) => {
      const next = new Float64Array(stride * capacity);
      for (let r = 0; r < this.rows; r++) next.set(old.subarray(r * this.stride, (r + 1) * this.stride), r * stride);
      return next;
    };
    this.rxPackets = copy(this.rxPackets);
    this.rxBytes = copy(this.rxBytes);
    this.txPackets = copy(this.txPackets);
    this.txBytes = copy(this.txBytes);
    this.stride = stride;
    this.rowCapacity = capacity;
  }

  /** Bytes held by the counter arrays. */
  get counterBytes(): number {
    return this.rowCapacity * this.stride * 8 * 4;
  }
}
