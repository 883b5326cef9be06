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
  /** Why: "carrier", "admin", "deleted", "manual", … */
  reason: string;
  /** Learned FDB entries removed with the link (down only). */
  flushed?: number;
}

export interface BridgeEventMap {
  "port-added": [PortAddedEvent];
  "port-removed": [PortEvent & { reason: string }];
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
}
