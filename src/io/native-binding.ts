/**
 * The contract between the C++ addon (native/) and TypeScript.
 *
 * The addon is thin: it opens file descriptors, waits for readiness on the
 * event loop (uv_poll), moves frames between fds and one preallocated slab,
 * and transmits what TypeScript decided. It makes no forwarding decision.
 *
 * Batch memory. The slab holds `batchSize` slots of `slotSize` bytes. Frame i
 * of a batch lives in slot i:
 *
 *   slot start ─► [virtio_net_hdr, 10 bytes][pad to VNET_AREA][headroom][Ethernet frame …]
 *                 ^ i*slotSize                                          ^ frameOffset[i]
 *
 * The virtio-net header of frame i is always at i*slotSize (all zero for a
 * frame that came without one). The Ethernet frame starts at frameOffset[i],
 * which the addon sets to i*slotSize + VNET_AREA + HEADROOM on receive (the
 * headroom is spare: VLAN tags are spliced in or skipped with iovecs at
 * transmit, see core/vlan-egress.ts, so no stage moves bytes in a slot).
 * frameLength[i] counts Ethernet bytes only. frameTag[i] is the VLAN tag
 * word TypeScript decided for frame i (0: sent as is).
 *
 * One batch, received: the addon fills slots 0..n-1 from ONE readable port,
 * sets rxPort/frameOffset/frameLength, and calls onBatch(n). TypeScript writes
 * each frame's egress port set into `egress` (a bitmask of EGRESS_WORDS
 * 32-bit words per frame, bit p = port index p) and calls transmit(n) before
 * returning. The addon sends every frame to every native port whose bit is
 * set; bits of indices with no native port (in-memory ports) are ignored.
 *
 * One batch, injected: TypeScript may itself fill slots (frames injected on
 * in-memory ports), decide, and call transmit(n) — outside onBatch only.
 *
 * GSO/checksum offload: every received frame carries the kernel's
 * virtio-net header (TAP: IFF_VNET_HDR, AF_PACKET: PACKET_VNET_HDR), never a
 * guessed one. transmit() passes it unchanged to a port that takes headers
 * (`vnetHdr: true`), except for a tunnelled GSO frame, which the kernel
 * would refuse; otherwise it segments GSO frames (TCPv4/TCPv6/UDP, plain or
 * in one tunnel) and completes partial checksums (NEEDS_CSUM) in a private
 * scratch copy, so the slab is never modified by transmit.
 */
import type { BatchMemory } from "../core/batch.js";

export { EGRESS_WORDS, HEADROOM, MAX_PORTS, VNET_AREA, VNET_HDR_LEN, Vnet } from "../core/abi.js";

export interface NativeDataplaneOptions {
  /** Frames per batch, 1..1024. */
  batchSize: number;
  /** Bytes per slot; at least VNET_AREA + HEADROOM + 65550. */
  slotSize: number;
}

export interface TapOpenOptions {
  /** Interface name, 1..15 bytes. Created if missing, opened if it exists as a TAP. */
  name: string;
  /** Path of a network namespace file (e.g. /run/netns/blue); the TAP is opened inside it. */
  netnsPath?: string;
  /** TUNSETPERSIST: the device outlives the fd. */
  persist?: boolean;
  /** Set the MTU (68..65535). */
  mtu?: number;
  /** Set the MAC, "aa:bb:cc:dd:ee:ff". */
  mac?: string;
  /** Bring the device up (default true). */
  up?: boolean;
}

export interface PacketOpenOptions {
  /** Existing interface name. */
  ifname: string;
  /** Path of a network namespace file; the socket is created inside it. */
  netnsPath?: string;
  /** PACKET_MR_PROMISC (default true). */
  promisc?: boolean;
  /**
   * Pass virtio-net headers on transmit (default true), so GSO frames leave
   * whole. False: every frame is segmented and checksummed in software
   * first. Receive always takes the kernel's header (PACKET_VNET_HDR).
   */
  vnetHdr?: boolean;
  /**
   * How frames are received (default "v2"): "v2" — a TPACKET_V2 ring, the
   * kernel copies each frame in and wakes the port at once, frames larger
   * than a 2 KiB ring slot (GSO, jumbo) come whole from the socket queue;
   * "mmsg" — recvmmsg straight into the slots, no ring; "v3" — a
   * TPACKET_V3 ring, woken per retired block (when full, or after
   * retireTimeoutMs: ~1 ms added to an idle port's latency). All three
   * batch under load. Measurements: native/packet-v2.cc, bench/README.md.
   */
  rxMode?: "v2" | "v3" | "mmsg";
  /** Ring block size in bytes (power of two, >= 128 KiB; default 1 MiB); v2 and v3. */
  ringBlockSize?: number;
  /** Number of ring blocks (default 8). */
  ringBlockCount?: number;
  /** Block retire timeout in ms (default 1). */
  retireTimeoutMs?: number;
  /** SO_RCVBUFFORCE bytes (default 8 MiB). */
  rcvbuf?: number;
  /** SO_SNDBUFFORCE bytes (default 4 MiB). */
  sndbuf?: number;
}

export interface VxlanOpenOptions {
  /** The local VTEP address (IPv4 or IPv6): the UDP socket binds it. */
  local: string;
  /** UDP port, bound locally and sent to (default 4789). */
  port?: number;
  /** The VNI of frames whose VID the VNI map does not name (0-16777215). */
  vni: number;
  netnsPath?: string;
  /** IPv4: send with UDP checksums (default true; false: SO_NO_CHECK, zero checksums, and no UDP GSO). IPv6 always has them. */
  udpCsum?: boolean;
  rcvbuf?: number;
  sndbuf?: number;
}

/** One remote VTEP of a VXLAN port, with its counters (UDP payload bytes). */
export interface VxlanRemoteInfo {
  id: number;
  address: string;
  /** On the flood list: gets unknown unicast, broadcast and multicast (head-end replication). */
  flood: boolean;
  /** Only heard from (learned), not configured. */
  learned: boolean;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

export interface VxlanPortCounters {
  /** Senders not recorded because the remote table was full (their MACs are learned without a remote: floods reach them). */
  rxRemoteFull: number;
  /** Datagrams larger than a slot. */
  rxTruncated: number;
  /** Frames to flood with no flood remote configured. */
  txNoRemote: number;
  /** Frames of a VID the VNI map does not carry. */
  txNoVni: number;
  remotes: number;
}

export interface OpenedInterface {
  ifname: string;
  ifindex: number;
  mtu: number;
  /** "aa:bb:cc:dd:ee:ff" */
  mac: string;
  /** Whether the port exchanges virtio-net headers. */
  vnetHdr: boolean;
  /** TAP only: whether this call created the device (false: it existed). */
  created?: boolean;
}

export interface NativeDataplane extends BatchMemory {
  /** MAX_PORTS * PORT_STAT_COUNT counters, kept by the addon (see PortStat). */
  readonly portStats: Float64Array;
  /** DP_STAT_COUNT dataplane-wide counters (see DataplaneStat). */
  readonly dpStats: Float64Array;

  openTap(index: number, options: TapOpenOptions): OpenedInterface;
  openPacket(index: number, options: PacketOpenOptions): OpenedInterface;
  /** A VXLAN port: a UDP socket (native/vxlan.h); `mtu` of the result is the overlay MTU. Absent from older addons. */
  openVxlan?(index: number, options: VxlanOpenOptions): OpenedInterface;
  /** The id of a remote VTEP address (added if new); `flood` puts it on or takes it off the flood list. */
  vxlanRemote?(index: number, address: string, flood?: boolean): number;
  vxlanRemotes?(index: number): VxlanRemoteInfo[];
  /** VID → VNI for frames leaving the port (4096 entries, 0: not carried), or null: every frame gets the port's VNI. */
  vxlanSetVniMap?(index: number, map: Uint32Array | null): void;
  vxlanStats?(index: number): VxlanPortCounters;
  /** Join a multicast group on the underlay interface and flood to it (Linux's vxlan `group`); returns its remote id. */
  vxlanJoinGroup?(index: number, group: string): number;
  /**
   * Stop polling and close the fd; `removePersistent` also clears
   * TUNSETPERSIST first; `restore` undoes the open (an interface it set up
   * goes down again).
   */
  closePort(index: number, removePersistent?: boolean, restore?: boolean): void;
  /** Fold what only the kernel counts (AF_PACKET ring drops) into portStats now. Optional for stand-in addons. */
  refreshStats?(): void;
  /** Send frames 0..count-1 to the native ports in their egress bitmasks. */
  transmit(count: number): void;
  /**
   * VLAN egress: hand over the per-(port, VID) untagged bitmap
   * (core/vlan.ts, 4096 * EGRESS_WORDS words), kept and read at every
   * transmit. With it, transmit() splices the tag word of frameTag[i] in, or
   * skips the frame's own tag, per port (core/vlan-egress.ts, native/vlan.h).
   */
  setVlanEgress(untagged: Uint32Array): void;
  /** Per frame: the VLAN tag word TypeScript decided (0: send as is). */
  readonly frameTag: Uint32Array;
  /** Close every port. Idempotent. */
  close(): void;
  /** Let / stop letting the open ports keep the event loop alive. */
  ref(): void;
  unref(): void;
}

/**
 * What the addon tells TypeScript about a port outside of batches:
 * "rx-error" — the fd reported an error (e.g. ENETDOWN when the device went
 * down); it was read and cleared, and polling restarted. "rx-stopped" — the
 * port's receive side ended for good (EBADFD: its TAP device was deleted);
 * the port should be closed.
 */
export type NativePortEventType = "rx-error" | "rx-stopped";
export type NativePortEventHandler = (index: number, type: NativePortEventType, code: string | undefined) => void;

/** One message from the rtnetlink link watcher (see io/link-monitor.ts). */
export interface NativeLinkEvent {
  /** The socket (one per watched namespace) it came from. */
  socket: number;
  type: "new" | "del" | "dump-done" | "overrun" | "error";
  /** new/del: part of a dump's answer rather than a notification. */
  dump: boolean;
  ifindex: number;
  name: string;
  /** ifi_flags (IFF_UP, IFF_LOWER_UP, IFF_LOOPBACK, …). */
  flags: number;
  /** IF_OPER_* (0 unknown … 6 up). */
  operstate: number;
  /** ARPHRD_* (1: Ethernet). */
  linkType: number;
  mtu: number;
  /** ifindex of the master device, 0 when none. */
  master: number;
  /** IFLA_INFO_KIND ("veth", "tun", "bridge", …), "" when none. */
  kind: string;
  mac?: string;
  /** error: errno name and sentence. */
  code?: string;
  message?: string;
}

export interface NativeLinkWatcher {
  /** Open a NETLINK_ROUTE socket (subscribed to link changes) in a namespace and ask for a dump; returns its id. */
  open(netnsPath?: string): number;
  closeSocket(id: number): void;
  /** Ask for a fresh dump. */
  resync(id: number): void;
  /** The device's state now (a synchronous RTM_GETLINK in that namespace), undefined when it does not exist. */
  query(netnsPath: string | undefined, ifindex: number): NativeLinkEvent | undefined;
  /** Close every socket. */
  close(): void;
  ref(): void;
  unref(): void;
}

export interface NativeBinding {
  Dataplane: new (
    options: NativeDataplaneOptions,
    onBatch: (count: number) => void,
    onPortEvent?: NativePortEventHandler,
  ) => NativeDataplane;
  /**
   * The software offload functions on plain buffers, for tests: `plan` says
   * whether (and how) a GSO frame can be segmented, `segment` cuts it,
   * `complete` completes a partial checksum. Null: refused.
   */
  offload?: {
    plan(vnet: Uint8Array, frame: Uint8Array): { tunnelled: boolean; hdrs: number; l4: number; segments: number } | null;
    segment(vnet: Uint8Array, frame: Uint8Array): Uint8Array[] | null;
    complete(vnet: Uint8Array, frame: Uint8Array): Uint8Array | null;
  };
  /** The rtnetlink link watcher (absent from addons built before it existed). */
  LinkWatcher?: new (onEvents: (events: NativeLinkEvent[]) => void) => NativeLinkWatcher;
  /** Compiled-in constants, checked against the ones below at load. */
  constants: Record<string, number>;
  /** SO_PEERCRED + SO_PEERGROUPS of a connected Unix socket's fd (the daemon's control socket). */
  peerCredentials?(fd: number): PeerCredentials;
}

/** Who is at the other end of a Unix socket, as the kernel recorded it at connect time. */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
  /** Supplementary groups (empty when the kernel cannot say). */
  groups: number[];
}


/** Columns of portStats, per port: portStats[index * PORT_STAT_COUNT + column]. */
export const PortStat = {
  rxPackets: 0,
  rxBytes: 1,
  /** Frames lost on receive: larger than a slot, truncated by the ring, or ring drops (tp_drops). */
  rxDropped: 2,
  /** read/recv errors other than EAGAIN. */
  rxErrors: 3,
  txPackets: 4,
  txBytes: 5,
  /** Egress queue full (EAGAIN/ENOBUFS): dropped for this port only. */
  txDropped: 6,
  /** Other write/send errors (e.g. EMSGSIZE, ENETDOWN). */
  txErrors: 7,
  /** GSO frames segmented in software toward this port. */
  txSegmented: 8,
  /** GSO frames that could be neither passed on nor segmented (never happens to frames the decision core let through). */
  txGsoDropped: 9,
  /** Receive system calls (read, or ring blocks consumed). */
  rxSyscalls: 10,
  /** Transmit system calls (write/writev/sendmmsg). */
  txSyscalls: 11,
  /**
   * Not sent because the device was down or gone (ENETDOWN, ENXIO, ENODEV,
   * EIO, EBADFD): after the first such error the rest of the batch for this
   * port is dropped without another system call.
   */
  txLinkDown: 12,
  /** Longer than any device takes (an Ethernet header, two tags and 64 KiB): refused before any copy. */
  txOversize: 13,
} as const;
export const PORT_STAT_COUNT = 16;

/** Columns of dpStats. */
export const DataplaneStat = {
  batches: 0,
  frames: 1,
  /** Nanoseconds spent inside onBatch (TypeScript decisions, including transmit). */
  jsNanos: 2,
  /** Nanoseconds spent receiving (native, outside onBatch). */
  rxNanos: 3,
  /** Nanoseconds spent in transmit(). */
  txNanos: 4,
  /** Poll wake-ups. */
  wakeups: 5,
  /** Exceptions thrown by onBatch (or onPortEvent), caught and counted by the addon. */
  callbackErrors: 6,
  /** Error statuses on a port's fd (EPOLLERR), each answered by reading SO_ERROR and restarting the poll. */
  pollErrors: 7,
} as const;
export const DP_STAT_COUNT = 8;
