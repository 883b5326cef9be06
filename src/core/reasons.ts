/**
 * Drop reasons. Every frame the bridge does not deliver anywhere is counted
 * under exactly one of these, per ingress port. The names are a contract:
 * they appear in `tapbridge` output, JSON and metrics; the numbers are
 * internal (counter columns) and may have gaps.
 *
 * Codes are handed out in ranges, one per area, so that work on different
 * areas never renumbers another's: 0-11 core forwarding, 12-15 VLAN, 16-23
 * hardening (link state, storm control, FDB limits), 24-27 spanning tree,
 * 28-31 link impairments and in-memory wires, 32-35 bonds, 36-39 VXLAN,
 * 40-47 host ports and later areas.
 */
export const DropReason = {
  /** Shorter than an Ethernet header (14 bytes). */
  runt: 0,
  /** 802.1Q/802.1ad ethertype but shorter than 18 bytes. */
  truncatedVlan: 1,
  /** Not a GSO frame and longer than the ingress port's MTU allows. */
  oversize: 2,
  /** The virtio-net header does not fit the frame (checksum or GSO fields out of range). */
  badVnetHeader: 3,
  /** Source MAC is multicast, broadcast or all-zero. */
  invalidSource: 4,
  /** Ingress port is blocking, listening or disabled. */
  portState: 5,
  /** Ingress port is learning: the source was learned, nothing is forwarded. */
  portLearning: 6,
  /** 01:80:C2:00:00:01..0F (pause, LACP, 802.1X, LLDP …): never forwarded (group_fwd_mask). */
  linkLocal: 7,
  /** Destination learned on the ingress port (and no hairpin). */
  samePort: 8,
  /** Destination port is not forwarding, or isolated from the ingress port. */
  egressBlocked: 9,
  /** A flood found no port to go to. */
  noEgress: 10,
  /** A BPDU consumed by STP (not an error; listed so that every frame is accounted for). */
  bpduConsumed: 11,
  /** VLAN filtering: tagged with a VID the ingress port is not a member of (or 4095). */
  vlanNotMember: 12,
  /** VLAN filtering: untagged or priority-tagged, and the ingress port has no PVID. */
  noPvid: 13,
  /** VLAN filtering: the destination port is not a member of the frame's VLAN. */
  vlanEgressFiltered: 14,
  /** Storm control: broadcast over the ingress port's `storm-broadcast` limit. */
  stormBroadcast: 16,
  /** Storm control: multicast over the ingress port's `storm-multicast` limit. */
  stormMulticast: 17,
  /** Storm control: unknown unicast over the ingress port's `storm-unknown-unicast` limit. */
  stormUnknownUnicast: 18,
  /**
   * A GSO frame the bridge can neither pass on whole nor segment: legacy UDP
   * fragmentation offload (UFO), a tunnel it cannot follow (nested, GRE with
   * checksum), or headers that do not match the virtio-net header.
   */
  unsegmentableGso: 22,
  /** In-memory port: the bridge's queue of injected frames was full (a loop storm, or a sender far faster than the bridge). */
  memoryQueueFull: 28,
  /** Lost by a link impairment (random or Gilbert-Elliott loss), counted on the impaired port. */
  impairLoss: 29,
  /** An impairment's queue (rate limit, delay) held its limit, counted on the impaired port. */
  impairQueueFull: 30,
  /** A hard partition impairment dropped it, counted on the impaired port. */
  partitioned: 31,
  /** Received on a bond member that carries no traffic now: an active-backup backup, a member LACP has not aggregated, one whose link is down or in updelay. */
  bondMemberInactive: 32,
  /** balance-slb: broadcast or multicast on a member other than the one that accepts them (the switch floods to every member). */
  bondMulticastIgnored: 33,
  /** balance-slb: the source MAC is learned on another port of the bridge (our own frame flooded back by the switch). */
  bondReflection: 34,
  /** Taken by the bond itself: a LACPDU or Marker PDU, or the reply to its own ARP probe (not an error). */
  bondControl: 35,
  /** VXLAN: the UDP payload is shorter than a VXLAN header and an Ethernet header. */
  vxlanShort: 36,
  /** VXLAN: the header's flags are not exactly "VNI valid" (I), or reserved bits are set (RFC 7348; as the kernel's vxlan). */
  vxlanBadHeader: 37,
  /** VXLAN: a VNI the port does not carry (neither its vni= nor in its vni-map=). */
  vxlanUnknownVni: 38,
  /** VXLAN: bound for a VXLAN port and longer than its overlay MTU (the underlay's MTU less the outer headers). */
  vxlanTooBig: 39,
  /** A truncated or malformed BPDU while spanning tree runs: counted and ignored. */
  bpduMalformed: 24,
  /** A BPDU on a bpdu-guard port: the port is disabled. */
  bpduGuard: 25,
  /** A superior BPDU on a root-guard port: not allowed to make the port root port. */
  rootGuard: 26,
  /** A well-formed BPDU spanning tree does not act on (disabled port, another protocol version, message age past max age). */
  bpduIgnored: 27,
} as const;

export type DropReasonName = keyof typeof DropReason;
/** Counter columns per port: room for every range above. */
export const DROP_REASON_COUNT = 48;

/** Reason names indexed by code, in snake_case as shown to users ("" for an unused code). */
export const DROP_REASON_NAMES: readonly string[] = (() => {
  const names = new Array<string>(DROP_REASON_COUNT).fill("");
  for (const [name, code] of Object.entries(DropReason)) names[code] = name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
  return names;
})();
