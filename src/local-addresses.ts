/**
 * The bridge's own MAC as local FDB entries, as Linux keeps them for the
 * bridge device: a frame to that MAC goes to the host port and nowhere
 * else, from the first frame on (no flooding until it is learned), and the
 * entry never moves — a frame arriving elsewhere with the bridge's own MAC
 * as source is forwarded but teaches nothing (br_fdb_update's "own
 * address as source address").
 *
 * Entries are static and sticky, on the host port: one in VLAN 0 (the
 * VLAN-unaware table) and, while the bridge filters VLANs, one in each of
 * the host port's VLANs (Linux adds the bridge's address to every VLAN of
 * `bridge vlan … self`). They follow the port's VLANs and the bridge's
 * filtering, and move when the MAC changes (`setMac`).
 */
import type { Bridge } from "./bridge.js";
import type { Port } from "./ports/port.js";

export class LocalAddresses {
  /** Per host port: the MAC and the VIDs it has entries in. */
  private readonly held = new Map<Port, { mac: string; vids: number[] }>();

  constructor(private readonly bridge: Bridge) {
    bridge.on("port-added", (e) => {
      const port = bridge.findPort(e.port);
      if (port?.self) this.sync(port);
    });
    bridge.on("port-removed", () => {
      for (const port of [...this.held.keys()]) if (port.index < 0) this.held.delete(port);
    });
    bridge.on("port-vlans", (e) => {
      const port = bridge.findPort(e.port);
      if (port?.self) this.sync(port);
    });
    bridge.on("vlan-filtering", () => {
      for (const port of this.held.keys()) this.sync(port);
    });
  }

  /** The host port's MAC changed (Linux's lowest-port rule, or a new fixed MAC): its entries move with it. */
  setMac(port: Port, mac: string): void {
    const was = this.held.get(port);
    if (was) for (const vid of was.vids) this.bridge.deleteEntry(was.mac, vid);
    this.held.delete(port);
    port.mac = mac.toLowerCase();
    this.sync(port);
  }

  /** Make the port's local entries match its MAC and VLANs. */
  sync(port: Port): void {
    if (port.index < 0 || !port.mac) return;
    const bridge = this.bridge;
    const want = [0, ...(bridge.vlanFiltering ? bridge.vlanTable.vidsOf(port.index) : [])];
    const was = this.held.get(port);
    if (was && was.mac !== port.mac) {
      for (const vid of was.vids) bridge.deleteEntry(was.mac, vid);
    } else if (was) {
      for (const vid of was.vids) if (!want.includes(vid)) bridge.deleteEntry(was.mac, vid);
    }
    for (const vid of want) bridge.addStaticEntry(port.mac, port, { vlan: vid, sticky: true });
    this.held.set(port, { mac: port.mac, vids: want });
  }

  /** Whether an FDB entry is one of these (for `showmacs` "is local?" and `fdb show` "permanent"). */
  isLocal(mac: string, portLabel: string): boolean {
    for (const [port, h] of this.held) if (h.mac === mac && port.label === portLabel) return true;
    return false;
  }
}
