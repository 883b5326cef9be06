/**
 * Forwarding database: (VLAN, MAC) → port, with ageing.
 *
 * Data structure: an open-addressing hash table with linear probing, kept in
 * parallel typed arrays (key words, port, last-seen time, flags). A lookup or
 * a learn is a hash, one or two probes and a few array reads: no object, no
 * string, no Map on the per-frame path. Deletion uses backward shifting, so
 * the table never fills with tombstones and probe chains stay short.
 *
 * Key: `hi` = (vid << 16) | first two MAC bytes, `lo` = last four MAC bytes.
 *
 * Capacity grows by doubling while the table is under its entry cap (a
 * rehash is an allocation, but amortised and bounded by the cap); the load
 * factor stays at or below 1/2. When `maxEntries` are present, a new source is
 * not learned and `learnRefused` counts it (like Linux's fdb_max_learned).
 *
 * Semantics follow the Linux bridge (br_fdb.c): a learned entry moves when its
 * MAC shows up on another port (a station move); a static entry never ages but
 * still moves unless it is sticky; an entry's time is written only when it
 * changes. Time is the caller's: `now` in milliseconds from any monotonic clock.
 */
import { MAX_PORTS } from "./abi.js";

export const FdbFlag = {
  static: 1,
  sticky: 2,
} as const;

export const NO_PORT = -1;

export interface FdbEntry {
  vid: number;
  hi: number;
  lo: number;
  port: number;
  /** Milliseconds since the entry was last refreshed (0 for static entries). */
  ageMs: number;
  static: boolean;
  sticky: boolean;
}

export interface FdbOptions {
  /** Entries older than this are removed; 0 disables learning (every unknown destination floods). */
  ageingMs?: number;
  /** Cap on entries (learned + static). */
  maxEntries?: number;
  /** Initial capacity hint. */
  initialCapacity?: number;
}

const MIN_CAPACITY = 1024;

export class Fdb {
  private capacity = 0;
  private mask = 0;
  private keyHi = new Uint32Array(0);
  private keyLo = new Uint32Array(0);
  /** Port index, or NO_PORT for an empty slot. */
  private ports = new Int16Array(0);
  private updated = new Float64Array(0);
  private flags = new Uint8Array(0);

  size = 0;
  ageingMs: number;
  readonly maxEntries: number;
  /** Learns refused because the table was at maxEntries. */
  learnRefused = 0;
  /** Station moves (an entry's port changed by learning). */
  moves = 0;
  /** Entries per port, for flushes and `show`. */
  readonly perPort = new Uint32Array(MAX_PORTS);

  constructor(options: FdbOptions = {}) {
    this.ageingMs = options.ageingMs ?? 300_000;
    this.maxEntries = options.maxEntries ?? 131_072;
    let capacity = MIN_CAPACITY;
    while (capacity < (options.initialCapacity ?? 0) * 2) capacity *= 2;
    this.allocate(capacity);
  }

  private allocate(capacity: number): void {
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.keyHi = new Uint32Array(capacity);
    this.keyLo = new Uint32Array(capacity);
    this.ports = new Int16Array(capacity).fill(NO_PORT);
    this.updated = new Float64Array(capacity);
    this.flags = new Uint8Array(capacity);
  }

  private static hash(hi: number, lo: number): number {
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 13);
  }

  /** Slot of (hi, lo), or -1. */
  private find(hi: number, lo: number): number {
    const mask = this.mask;
    const ports = this.ports;
    const keyHi = this.keyHi;
    const keyLo = this.keyLo;
    let i = Fdb.hash(hi, lo) & mask;
    while (ports[i] !== NO_PORT) {
      if (keyLo[i] === lo && keyHi[i] === hi) return i;
      i = (i + 1) & mask;
    }
    return -1;
  }

  /**
   * Port for a destination, or NO_PORT when unknown or aged out. Hot path.
   * `macHi` is the first two MAC bytes, `lo` the last four.
   */
  lookup(vid: number, macHi: number, lo: number, now: number): number {
    const slot = this.find(((vid << 16) | macHi) >>> 0, lo);
    if (slot < 0) return NO_PORT;
    if (this.flags[slot]! & FdbFlag.static) return this.ports[slot]!;
    if (now - this.updated[slot]! >= this.ageingMs) return NO_PORT;
    return this.ports[slot]!;
  }

  /** Learn or refresh a source. Hot path. Returns false when refused (table full). */
  learn(vid: number, macHi: number, lo: number, port: number, now: number): boolean {
    const hi = ((vid << 16) | macHi) >>> 0;
    const mask = this.mask;
    const ports = this.ports;
    let i = Fdb.hash(hi, lo) & mask;
    while (ports[i] !== NO_PORT) {
      if (this.keyLo[i] === lo && this.keyHi[i] === hi) {
        if (this.updated[i] !== now) this.updated[i] = now;
        if (ports[i] !== port && !(this.flags[i]! & FdbFlag.sticky)) {
          this.perPort[ports[i]!]!--;
          this.perPort[port]!++;
          ports[i] = port;
          this.moves++;
        }
        return true;
      }
      i = (i + 1) & mask;
    }
    return this.insertAt(i, hi, lo, port, now, 0);
  }

  private insertAt(slot: number, hi: number, lo: number, port: number, now: number, flags: number): boolean {
    if (this.size >= this.maxEntries) {
      this.learnRefused++;
      return false;
    }
    if ((this.size + 1) * 2 > this.capacity) {
      this.grow();
      return this.insert(hi, lo, port, now, flags);
    }
    this.keyHi[slot] = hi;
    this.keyLo[slot] = lo;
    this.ports[slot] = port;
    this.updated[slot] = now;
    this.flags[slot] = flags;
    this.perPort[port]!++;
    this.size++;
    return true;
  }

  private insert(hi: number, lo: number, port: number, now: number, flags: number): boolean {
    let i = Fdb.hash(hi, lo) & this.mask;
    while (this.ports[i] !== NO_PORT) i = (i + 1) & this.mask;
    return this.insertAt(i, hi, lo, port, now, flags);
  }

  private grow(): void {
    const { keyHi, keyLo, ports, updated, flags, capacity } = this;
    this.allocate(capacity * 2);
    this.size = 0;
    this.perPort.fill(0);
    for (let i = 0; i < capacity; i++) {
      if (ports[i] !== NO_PORT) this.insert(keyHi[i]!, keyLo[i]!, ports[i]!, updated[i]!, flags[i]!);
    }
  }

  /** Add or replace a static entry (never ages; moves by learning unless sticky). */
  addStatic(vid: number, macHi: number, lo: number, port: number, sticky = false): boolean {
    const hi = ((vid << 16) | macHi) >>> 0;
    const slot = this.find(hi, lo);
    const flags = FdbFlag.static | (sticky ? FdbFlag.sticky : 0);
    if (slot >= 0) {
      this.perPort[this.ports[slot]!]!--;
      this.perPort[port]!++;
      this.ports[slot] = port;
      this.flags[slot] = flags;
      return true;
    }
    return this.insert(hi, lo, port, 0, flags);
  }

  /** Remove one entry; returns whether it existed. */
  delete(vid: number, macHi: number, lo: number): boolean {
    const slot = this.find(((vid << 16) | macHi) >>> 0, lo);
    if (slot < 0) return false;
    this.removeSlot(slot);
    return true;
  }

  /** Backward-shift deletion: pull later members of the probe chain into the hole. */
  private removeSlot(slot: number): void {
    const mask = this.mask;
    this.perPort[this.ports[slot]!]!--;
    this.size--;
    let hole = slot;
    let j = slot;
    for (;;) {
      j = (j + 1) & mask;
      if (this.ports[j] === NO_PORT) break;
      const home = Fdb.hash(this.keyHi[j]!, this.keyLo[j]!) & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      this.keyHi[hole] = this.keyHi[j]!;
      this.keyLo[hole] = this.keyLo[j]!;
      this.ports[hole] = this.ports[j]!;
      this.updated[hole] = this.updated[j]!;
      this.flags[hole] = this.flags[j]!;
      hole = j;
    }
    this.ports[hole] = NO_PORT;
  }

  /** Remove entries that match; slots are re-checked after a backward shift. */
  private removeWhere(match: (slot: number) => boolean): number {
    let removed = 0;
    for (let i = 0; i < this.capacity; ) {
      if (this.ports[i] !== NO_PORT && match(i)) {
        this.removeSlot(i);
        removed++;
      } else i++;
    }
    return removed;
  }

  /** Remove learned entries older than the ageing time. Run from a timer, not per frame. */
  expire(now: number): number {
    if (this.size === 0) return 0;
    const ageing = this.ageingMs;
    return this.removeWhere((i) => !(this.flags[i]! & FdbFlag.static) && now - this.updated[i]! >= ageing);
  }

  /** Remove the entries of one port (learned only, or static too). */
  flushPort(port: number, includeStatic = false): number {
    if (this.perPort[port] === 0) return 0;
    return this.removeWhere((i) => this.ports[i] === port && (includeStatic || !(this.flags[i]! & FdbFlag.static)));
  }

  /** Remove the entries of one VLAN (learned only, or static too), on every port or on `port`. */
  flushVlan(vid: number, port = NO_PORT, includeStatic = false): number {
    return this.removeWhere(
      (i) => this.keyHi[i]! >>> 16 === vid && (port === NO_PORT || this.ports[i] === port) && (includeStatic || !(this.flags[i]! & FdbFlag.static)),
    );
  }

  /** Remove every learned entry (and static ones if asked). */
  flush(includeStatic = false): number {
    return this.removeWhere((i) => includeStatic || !(this.flags[i]! & FdbFlag.static));
  }

  /** A snapshot for display; allocates, so never call it per frame. */
  entries(now: number): FdbEntry[] {
    const out: FdbEntry[] = [];
    for (let i = 0; i < this.capacity; i++) {
      if (this.ports[i] === NO_PORT) continue;
      const isStatic = (this.flags[i]! & FdbFlag.static) !== 0;
      if (!isStatic && now - this.updated[i]! >= this.ageingMs) continue;
      out.push({
        vid: this.keyHi[i]! >>> 16,
        hi: this.keyHi[i]! & 0xffff,
        lo: this.keyLo[i]!,
        port: this.ports[i]!,
        ageMs: isStatic ? 0 : now - this.updated[i]!,
        static: isStatic,
        sticky: (this.flags[i]! & FdbFlag.sticky) !== 0,
      });
    }
    return out;
  }

  /** Bytes held by the table's arrays. */
  get memoryBytes(): number {
    return this.capacity * (4 + 4 + 2 + 8 + 1);
  }
}
