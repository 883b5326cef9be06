/**
 * The gratuitous-ARP lock of balance-slb (as Open vSwitch's grat_arp_lock):
 * a station that just announced itself with a gratuitous ARP on one of the
 * bridge's other ports lives behind the bridge, so for a few seconds a
 * gratuitous ARP of that MAC arriving on a bond member is our own flood
 * reflected by the switch, not the station moving — the receive filter
 * drops it as a reflection.
 *
 * Recent gratuitous ARPs are kept in a ring of (MAC hi, MAC lo, time)
 * triples in one typed array: noting one allocates nothing, and the ring's
 * size bounds the lookups.
 */
import { arpBody, isGratuitousArp } from "./frames.js";

/** How long a station's gratuitous ARP on another port locks its MAC (ms). */
export const GARP_LOCK_MS = 5000;
const RING = 64;

export class GarpLock {
  private readonly ring = new Float64Array(RING * 3).fill(-Infinity);
  private next = 0;

  /** A frame received on a port that is no bond member: note it if it is a gratuitous ARP. */
  note(view: DataView, offset: number, length: number, now: number): void {
    const body = arpBody(view, offset, length);
    if (body < 0 || !isGratuitousArp(view, body)) return;
    const at = this.next * 3;
    this.ring[at] = view.getUint16(offset + 6);
    this.ring[at + 1] = view.getUint32(offset + 8);
    this.ring[at + 2] = now;
    this.next = (this.next + 1) % RING;
  }

  /** Whether the station (MAC as hi 16 / lo 32 bits) sent a gratuitous ARP on another port within GARP_LOCK_MS of `now`. */
  locked(hi: number, lo: number, now: number): boolean {
    for (let k = 0; k < RING; k++) {
      const at = k * 3;
      if (this.ring[at] === hi && this.ring[at + 1] === lo && now - this.ring[at + 2]! < GARP_LOCK_MS) return true;
    }
    return false;
  }
}
