/**
 * VLAN egress: the bytes a frame leaves a port with, tagged or untagged.
 *
 * Mechanism: the tag is spliced in or skipped at transmit time, with iovecs,
 * and the slab is never rewritten for egress. A frame is kept as it arrived;
 * its tag word (vlan.ts, `frameTag[i]` in the batch) and the port's bit in
 * VlanTable.untagged for that VID decide, per (frame, port), one of:
 *
 *   as is    [vnet][frame]                                  (1 + 1 iovecs)
 *   insert   [vnet'][frame 0..12][tag word][frame 12..]     (1 + 3)
 *   strip    [vnet'][frame 0..12][frame 16..]               (1 + 2)
 *   retag    [vnet][frame 0..12][tag word][frame 16..]      (1 + 3)
 *
 * (retag: a priority-tagged frame, VID 0, leaving a tagged port gets its
 * PVID in the tag it leaves with — the frame itself is not written.)
 *
 * one writev / one sendmmsg entry per frame either way. Why not the slot
 * headroom (move the 12 MAC bytes by 4 and write the tag in place)? A
 * flooded frame goes out tagged on trunks and untagged on access ports in
 * the same transmit() call; one in-place layout serves only one of them, and
 * per-port rewrites of the slab would serialize the ports and make the slab
 * differ between native and in-memory ports. Splicing costs no copy of the
 * payload, no allocation, and leaves the slab as received.
 *
 * vnet' is the frame's virtio-net header with csum_start (when NEEDS_CSUM)
 * and hdr_len (when set) moved by +4 (insert) or -4 (strip), built in a small
 * per-frame scratch: GSO frames stay GSO across a tag change.
 *
 * The native addon (native/dataplane.cc, TransmitTo) and in-memory ports
 * (`egressFrame` below, used by bridge.ts) apply the same rule, so both get
 * exactly the same bytes.
 */
import { EGRESS_WORDS, Vnet } from "./abi.js";
import { ETH_HLEN, VLAN_HLEN } from "./frame.js";

export const EgressForm = {
  asIs: 0,
  insert: 1,
  strip: 2,
  retag: 3,
} as const;

/**
 * What happens to frame bytes `frame` (at `offset`) carrying tag word `tag`
 * (0: VLAN-unaware, sent as is) on `port`, given the untagged bitmap.
 */
export function egressForm(view: DataView, offset: number, tag: number, untagged: Uint32Array, port: number): number {
  return tag === 0 ? EgressForm.asIs : egressFormOf(view, offset, tag >>> 16, tag & 0xffff, untagged, port);
}

/** egressForm for a frame of TCI `tci` on a bridge of protocol `tpid` (small integers only: for hot loops). */
export function egressFormOf(view: DataView, offset: number, tpid: number, tci: number, untagged: Uint32Array, port: number): number {
  const vid = tci & 0xfff;
  const untag = ((untagged[vid * EGRESS_WORDS + (port >>> 5)]! >>> (port & 31)) & 1) !== 0;
  const hasTag = view.getUint16(offset + 12) === tpid;
  if (untag) return hasTag ? EgressForm.strip : EgressForm.asIs;
  if (!hasTag) return EgressForm.insert;
  return view.getUint16(offset + 14) === tci ? EgressForm.asIs : EgressForm.retag;
}

/** A copy of the frame as it leaves in `form` (for in-memory ports, which get copies anyway). */
export function egressFrame(bytes: Uint8Array, offset: number, length: number, form: number, tag: number): Uint8Array {
  if (form === EgressForm.asIs) return bytes.slice(offset, offset + length);
  if (form === EgressForm.insert || form === EgressForm.retag) {
    const skip = form === EgressForm.retag ? VLAN_HLEN : 0;
    const out = new Uint8Array(length + VLAN_HLEN - skip);
    out.set(bytes.subarray(offset, offset + 12), 0);
    out[12] = tag >>> 24;
    out[13] = (tag >>> 16) & 0xff;
    out[14] = (tag >>> 8) & 0xff;
    out[15] = tag & 0xff;
    out.set(bytes.subarray(offset + 12 + skip, offset + length), 16);
    return out;
  }
  const out = new Uint8Array(length - VLAN_HLEN);
  out.set(bytes.subarray(offset, offset + 12), 0);
  out.set(bytes.subarray(offset + ETH_HLEN + 2, offset + length), 12);
  return out;
}

/** Move a 10-byte virtio-net header's offsets for `form` (in place): csum_start and hdr_len ±4. */
export function adjustVnetHeader(header: Uint8Array, form: number): void {
  if (form === EgressForm.asIs || form === EgressForm.retag) return;
  const delta = form === EgressForm.insert ? VLAN_HLEN : -VLAN_HLEN;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (header[0]! & Vnet.FLAG_NEEDS_CSUM) view.setUint16(Vnet.csumStart, view.getUint16(Vnet.csumStart, true) + delta, true);
  // hdr_len is a hint (0: unknown); it stays 0, and never goes below zero.
  const hdrLen = view.getUint16(Vnet.hdrLen, true);
  if (hdrLen !== 0 && hdrLen + delta > 0) view.setUint16(Vnet.hdrLen, hdrLen + delta, true);
}
