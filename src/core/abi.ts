/**
 * The batch ABI shared by the decision core and the addon: the slot layout
 * and the egress bitmask width. native/port.h holds the same numbers, and the
 * loader (io/native.ts) refuses an addon built with others. The layout of a
 * slot is described in io/native-binding.ts.
 */

/** Bytes reserved at the start of each slot for the virtio-net header. */
export const VNET_AREA = 16;
/** Free bytes between the virtio-net area and the frame on receive. */
export const HEADROOM = 48;
/**
 * VXLAN ports use the end of a slot's headroom (native/vxlan.h): the 8-byte
 * VXLAN header sits just before the frame, and before it two words, at
 * these distances back from the frame offset (little endian): the remote id
 * (receive: the sender; transmit: the destination, decided per frame, -1 =
 * every flood remote) and, on receive, the UDP payload length.
 */
export const VxlanMeta = {
  remote: 16,
  payloadLength: 12,
  header: 8,
} as const;

/** Size of struct virtio_net_hdr as exchanged with TAP and AF_PACKET. */
export const VNET_HDR_LEN = 10;
export const MAX_PORTS = 256;
export const EGRESS_WORDS = MAX_PORTS / 32;

/** virtio_net_hdr fields (little endian). */
export const Vnet = {
  flags: 0,
  gsoType: 1,
  hdrLen: 2,
  gsoSize: 4,
  csumStart: 6,
  csumOffset: 8,
  FLAG_NEEDS_CSUM: 1,
  FLAG_DATA_VALID: 2,
  GSO_NONE: 0,
  GSO_TCPV4: 1,
  GSO_UDP: 3,
  GSO_TCPV6: 4,
  GSO_ECN: 0x80,
} as const;
