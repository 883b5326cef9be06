/**
 * What a bridge announces, as a typed EventEmitter map. Listeners are for
 * control-plane moments (ports, links, configuration); nothing here is
 * emitted per frame unless a feature says so and checks for listeners first,
 * so a bridge nobody listens to pays nothing.
 *
 * Areas add their events here (STP role changes, MAC moves, storms, …) so
 * that the daemon, the logs, the metrics and test harnesses all read one map.
 */
export interface PortEvent {
  /** The port's label: "tap0" or "tap0@ns". */
  port: string;
  index: number;
}

export interface PortAddedEvent extends PortEvent {
  kind: string;
}

export interface PortLinkEvent extends PortEvent {
  /** Why: "carrier", "admin", "deleted", "manual", "mac-flap" (err-disabled), "recovered", … */
  reason: string;
  /** Learned FDB entries removed with the link (down only). */
  flushed?: number;
}

export interface PortErrorEvent extends PortEvent {
  /** errno name, e.g. "ENETDOWN". */
  code: string;
  /** "restarted": receive goes on; "closed": the port was closed. */
  action: "restarted" | "closed";
}

export interface PortVlansEvent extends PortEvent {
  /** The port's VLANs after the change. */
  vlans: { vid: number; pvid: boolean; untagged: boolean }[];
}

/** A station move: a learned MAC showed up on another port. Emitted only while someone listens. */
export interface FdbMoveEvent {
  mac: string;
  vlan: number;
  /** Port labels. */
  from: string;
  to: string;
}

/** A MAC moved between ports more than the flap threshold allows; reported once per episode. */
export interface MacFlapEvent {
  mac: string;
  vlan: number;
  /** The port the MAC lived on when the episode began, and the port it keeps moving to. */
  ports: [string, string];
  /** The port held responsible (the one that took the MAC from its home). */
  blamed: string;
  /** Moves counted within the window. */
  moves: number;
  windowSeconds: number;
  /** "shutdown": the blamed port was err-disabled (see Bridge.errDisablePort). */
  action: "log" | "shutdown";
}

/** Storm control started (active) or stopped dropping one kind of flood on a port. */
export interface StormEvent extends PortEvent {
  kind: "broadcast" | "multicast" | "unknown-unicast";
  active: boolean;
  /** The port's limit for this kind, frames/s. */
  limit: number;
  /** Frames dropped: in the first second (start), or in the whole episode (end). */
  dropped: number;
}

/** A spanning tree port changed role or state (one event per change). */
export interface StpPortEvent extends PortEvent {
  role: "root" | "designated" | "alternate" | "backup" | "disabled";
  /** 802.1D states, or RSTP's "discarding". */
  state: string;
  previousRole: StpPortEvent["role"];
  previousState: string;
  reason: string;
}

/** A topology change started (`active`) or ended; `port` where it was detected or heard, when known. */
export interface StpTopologyChangeEvent {
  active: boolean;
  port?: string;
  index?: number;
  reason: string;
}

/** BPDU guard disabled a port, or root guard held superior information back. */
export interface StpGuardEvent extends PortEvent {
  guard: "bpdu" | "root";
  reason: string;
}

/** A MAC entry learned or aged out (moves are "fdb-move"). */
export interface MacEvent {
  mac: string;
  vlan: number;
  /** Port label. */
  port: string;
}

/** A dropped frame, sampled (Bridge.sampleDrops(n): one of every n). */
export interface DropEvent extends PortEvent {
  /** Drop reason name as in stats ("invalid_source", "port_state", …). */
  reason: string;
  length: number;
  src: string;
  dst: string;
  /** The first 64 bytes of the frame. */
  head: Uint8Array;
  every: number;
}

/** A bond moved traffic to other members: its active member changed, or a member left (its hash buckets moved). */
export interface BondFailoverEvent extends PortEvent {
  mode: "active-backup" | "balance-slb" | "lacp";
  /** The member that carried it (the active member, or the one that left). */
  from?: string;
  /** The member that carries it now (the active member; balance-slb/lacp: one of those that took the buckets). */
  to?: string;
  /** "carrier", "admin", "deleted", "arp timeout", "primary returned", "lacp: …", … */
  reason: string;
  /** Hash buckets (with traffic) that moved to other members. */
  bucketsMoved: number;
}

/** A bond member started or stopped carrying traffic. */
export interface BondMemberEvent extends PortEvent {
  member: string;
  /** Its link: "up", "down", "going-up" (updelay), "going-down" (downdelay). */
  state: string;
  enabled: boolean;
  reason: string;
}

export interface BridgeEventMap {
  "port-added": [PortAddedEvent];
  /**
   * Why: "removed" (removePort), "closed" (Bridge.close), "deleted" (its
   * device was deleted), "netns-deleted" (its namespace was), "rx-stopped".
   */
  "port-removed": [PortEvent & { reason: string }];
  /** An attached interface whose device was deleted is back (a "port-added" precedes this). */
  "port-reattached": [PortAddedEvent];
  /** The addon reported an error on the port's fd. */
  "port-error": [PortErrorEvent];
  /** The port's link went down: it left forwarding and its learned entries were flushed. */
  "port-down": [PortLinkEvent];
  /** The port's link came back: it returns to its configured state (through STP when STP runs). */
  "port-up": [PortLinkEvent];
  /**
   * A frame listener on an in-memory port threw while no caller was there to
   * take the error (the delivery ran from a timer, a continuation or the
   * native path). As for Node streams, an `error` with no listener is an
   * uncaught exception: it is never swallowed.
   */
  error: [Error];
  /** A MAC was learned on a port (a new entry, or one back after ageing out). Emitted on the next turn, only while someone listens. */
  "mac-learned": [MacEvent];
  /** A learned entry aged out. Emitted on the next turn, only while someone listens. */
  "mac-expired": [MacEvent];
  /** One of every n dropped frames, while Bridge.sampleDrops(n) is on. */
  drop: [DropEvent];
  /** A port's VLAN membership changed (setPortVlans, addVlan, deleteVlan, VLAN settings). */
  "port-vlans": [PortVlansEvent];
  /** 802.1Q filtering went on or off; learned entries were flushed. */
  "vlan-filtering": [{ on: boolean; flushed: number }];
  /** A learned MAC moved to another port (only emitted while someone listens). */
  "fdb-move": [FdbMoveEvent];
  "mac-flap": [MacFlapEvent];
  "storm": [StormEvent];
  "stp-port": [StpPortEvent];
  "stp-topology-change": [StpTopologyChangeEvent];
  "stp-guard": [StpGuardEvent];
  /** A bond failed over (logged as "bond failover" with the same fields). */
  "bond-failover": [BondFailoverEvent];
  "bond-member": [BondMemberEvent];
}
