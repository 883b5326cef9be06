/**
 * Forwarding database: (VLAN, MAC) → port, with ageing, learning limits, and
 * defences against a neighbour who wants to steer it.
 *
 * Data structure: an open-addressing hash table with linear probing in ONE
 * Int32Array, four words per slot — key high (VID << 16 | first two MAC
 * bytes), key low (last four MAC bytes), meta (in-use bit, flags, port) and
 * the time last seen (milliseconds, wrapping 32-bit) — so a probe touches one
 * cache line, not five arrays. 16 bytes a slot, the load factor at most 1/2:
 * 32 MiB for a million entries. Deletion shifts the rest of the probe chain
 * back (no tombstones). A lookup or a learn is one keyed hash and a few reads;
 * no object, string or Map on the per-frame path.
 *
 * Defences (issue 6):
 * - A keyed hash (fdb-hash.ts: HalfSipHash-1-3, a random key per table,
 *   renewed whenever the table grows), so crafted MACs land like random ones.
 * - Bounded probes: an entry lives within MAX_PROBE slots of its home, so a
 *   lookup reads at most MAX_PROBE slots whatever the contents. An insert that
 *   finds no free slot that close grows the table, or is refused (counted).
 * - Learning limits: per port (`setPortLimit`) and bridge-wide (`maxLearned`,
 *   Linux's fdb_max_learned), both counting learned entries only, and the
 *   hard cap `maxEntries` (learned + static). A full table either refuses the
 *   newcomer (`refuse`, Linux) or evicts from the port holding the most
 *   learned entries (`evict-from-largest-port`, Open vSwitch) — the oldest of
 *   a handful of that port's entries sampled from a rotating cursor, or any
 *   entry found already aged out. A station move is never refused.
 * - Incremental ageing: `expireStep()` walks at most `budget` slots from a
 *   cursor (a removal's shifts count against the budget), so the caller
 *   decides how long one step may hold the event loop. Lookups ignore aged
 *   entries whether or not the sweep has reached them yet.
 * - Chunked listing: `scan()` walks from a cursor too; see FdbCursor.
 *
 * Semantics follow the Linux bridge (br_fdb.c): a learned entry moves when its
 * MAC shows up on another port (a station move, reported to `onMove`); a
 * static entry never ages but still moves unless sticky; an entry's time is
 * written only when it changes. Time is the caller's: `now` in milliseconds
 * from any monotonic clock; ages are exact up to 24 days, beyond the longest
 * ageing time (the sweep removes entries long before their age could wrap).
 *
 * Per-entry data beside the slots, moved in `moveSlot()`: `remotes`, the
 * remote VTEP of an entry learned on (or added to) a VXLAN port — an id in
 * that port's remote table, -1 for none — as the kernel's vxlan FDB keeps a
 * `dst` per MAC. `learn` and `lookup` do not touch it — frames of other
 * ports pay nothing — VXLAN frames make a second, memoised call:
 * `learnRemote` after the learn (an entry heard from another VTEP of the same
 * port moves there, `remoteMoves`, unless static) and `remoteOf` after the
 * lookup. A new or moved entry starts without one.
 */
import { MAX_PORTS } from "./abi.js";
import { halfSipHash13, type HashKey, randomHashKey } from "./fdb-hash.js";

export const FdbFlag = {
  static: 1,
  sticky: 2,
} as const;

export const NO_PORT = -1;
/**
 * No entry lives further than this from its home slot; no lookup reads more
 * slots. Random keys at load 1/2 put the farthest of a million entries 41 to
 * 47 slots from home (65 536 entries: 26 to 29); 128 leaves room for the
 * largest tables (16 M entries) without ever refusing a learn by chance.
 */
export const MAX_PROBE = 128;
/** Slots an eviction may inspect to find its victim, and how many of the largest port's entries it compares. */
export const EVICT_SCAN = 4096;
export const EVICT_SAMPLES = 8;

export type FullPolicy = "refuse" | "evict-from-largest-port";
export const FULL_POLICIES: readonly FullPolicy[] = ["refuse", "evict-from-largest-port"];
/** Open vSwitch's: one port cannot lock every other out of a full table, and the attacker's own entries go first. */
export const DEFAULT_FULL_POLICY: FullPolicy = "evict-from-largest-port";

export interface FdbEntry {
  vid: number;
  hi: number;
  lo: number;
  port: number;
  /** Milliseconds since the entry was last refreshed (0 for static entries). */
  ageMs: number;
  static: boolean;
  sticky: boolean;
  /** The remote VTEP id (VXLAN ports), -1 for none. */
  remote: number;
}

export interface FdbOptions {
  /** Entries older than this are ignored and swept; 0 disables learning (every unknown destination floods). */
  ageingMs?: number;
  /** Hard cap on entries, learned + static (sizes the table). */
  maxEntries?: number;
  /** Bridge-wide cap on learned entries (Linux fdb_max_learned); 0: only maxEntries. */
  maxLearned?: number;
  /** What a learn does when the table is full (default evict-from-largest-port). */
  fullPolicy?: FullPolicy;
  /** Initial capacity hint (entries). */
  initialCapacity?: number;
  /** A fixed hash key, for tests that play the attacker; default: random, renewed on growth. */
  hashKey?: HashKey;
}

/** A position in a walk over the table (`scan`). Weakly consistent, as a netlink dump of Linux's FDB. */
export interface FdbCursor {
  slot: number;
  /** The table's `generation` when the walk began. */
  generation: number;
  done: boolean;
  /** The table was rehashed during the walk: entries may have been missed or repeated (Linux: NLM_F_DUMP_INTR). */
  interrupted: boolean;
}

/** Called for each live entry by `scan`; return false to stop after it. */
export type FdbVisitor = (vid: number, macHi: number, lo: number, port: number, ageMs: number, flags: number, remote: number) => boolean | void;

const MIN_CAPACITY = 1024;
const W = 4; // words per slot
const KEY_HI = 0;
const KEY_LO = 1;
const META = 2;
const SEEN = 3;
// META: port (bits 0-15) | flags (16-19) | in use (20) | distance from home (24-31).
const PORT_BITS = 0xffff;
const FLAG_SHIFT = 16;
const FLAG_BITS = 0xf << FLAG_SHIFT;
const USED = 1 << 20;
const DIST_SHIFT = 24;
const STATIC = FdbFlag.static << FLAG_SHIFT;
const STICKY = FdbFlag.sticky << FLAG_SHIFT;

export class Fdb {
  private capacity = 0;
  private mask = 0;
  private slots = new Int32Array(0);
  /** Per slot: the entry's remote VTEP id (VXLAN ports), -1 for none. */
  private remotes = new Int32Array(0);
  private key: HashKey;
  private readonly fixedKey: boolean;
  private readonly maxCapacity: number;

  size = 0;
  /** Learned (not static) entries, including aged ones the sweep has not reached. */
  learned = 0;
  private ageing: number;
  readonly maxEntries: number;
  maxLearned: number;
  fullPolicy: FullPolicy;
  /** Bumped whenever slots are rehashed (growth): cursors from before are interrupted. */
  generation = 0;

  /** Entries per port (learned + static), for flushes and `show`. */
  readonly perPort = new Uint32Array(MAX_PORTS);
  readonly learnedPerPort = new Uint32Array(MAX_PORTS);
  /** Per-port cap on learned entries (0: none). */
  readonly portLimit = new Uint32Array(MAX_PORTS);
  /** Learns refused by the port's own limit. */
  readonly refusedPerPort = new Float64Array(MAX_PORTS);
  /** Entries evicted from each port to make room for others. */
  readonly evictedPerPort = new Float64Array(MAX_PORTS);

  /** Every refused learn (port limit, full table, probe bound). */
  learnRefused = 0;
  /** Refused because the table was full and the policy refuses (or nothing could be evicted). */
  refusedFull = 0;
  /** Refused because no free slot was within MAX_PROBE of home at the largest size (never seen with a secret key). */
  refusedProbe = 0;
  evictions = 0;
  /** Station moves (an entry's port changed by learning). */
  moves = 0;
  /** Learned entries that moved from one remote VTEP to another of the same VXLAN port. */
  remoteMoves = 0;

  /** Entries removed by ageing. */
  agedOut = 0;
  /** Completed ageing sweeps, and the slots the last `expireStep` visited. */
  sweepPasses = 0;
  lastStepWork = 0;

  /** Station move hook (rare: only when a MAC changes port). Must not throw. */
  onMove: ((vid: number, macHi: number, lo: number, from: number, to: number, now: number) => void) | undefined;
  /** A new learned entry (or a MAC back after its entry aged); set only while someone listens. */
  onLearn: ((vid: number, macHi: number, lo: number, port: number) => void) | undefined;
  /** A learned entry aged out; set only while someone listens. */
  onExpire: ((vid: number, macHi: number, lo: number, port: number) => void) | undefined;

  private sweepAt = 0;
  private evictAt = 0;
  private freeDist = 0;
  // One-entry memos: the frames of a batch (one `now`) mostly repeat a
  // flow's source and destination; a repeat skips the hash and the probe.
  // Any change to the table forgets them (`changed`).
  private learntHi = -1;
  private learntLo = 0;
  private learntPort = -1;
  private learntNow = 0;
  private seekHi = -1;
  private seekLo = 0;
  private seekNow = 0;
  private seekPort = NO_PORT;
  private remoteHi = -1;
  private remoteLo = 0;
  private remoteSlot = -1;
  private remoteLearnt = -1;
  private highestPort = 0;

  constructor(options: FdbOptions = {}) {
    this.ageing = options.ageingMs ?? 300_000;
    this.maxEntries = options.maxEntries ?? 131_072;
    this.maxLearned = options.maxLearned ?? 0;
    this.fullPolicy = options.fullPolicy ?? DEFAULT_FULL_POLICY;
    this.fixedKey = options.hashKey !== undefined;
    this.key = options.hashKey ?? randomHashKey();
    this.maxCapacity = Math.max(MIN_CAPACITY, 2 ** Math.ceil(Math.log2(this.maxEntries * 2)));
    let capacity = MIN_CAPACITY;
    while (capacity < (options.initialCapacity ?? 0) * 2 && capacity < this.maxCapacity) capacity *= 2;
    this.allocate(capacity);
  }

  private allocate(capacity: number): void {
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity * W);
    this.remotes = new Int32Array(capacity);
  }

  /** Entries older than this are ignored and swept; 0 disables learning. */
  get ageingMs(): number {
    return this.ageing;
  }

  set ageingMs(ms: number) {
    this.ageing = ms;
    this.changed();
  }

  /**
   * The key's home slot. The low word comes in two 16-bit halves: where V8
   * does not inline this call (the decision loop is large), a full 32-bit
   * argument would be boxed on every frame; small integers never are.
   */
  private home(hi: number, loHigh: number, loLow: number): number {
    return halfSipHash13(this.key, hi, (loHigh << 16) | loLow) & this.mask;
  }

  /** Slot of (hi, lo), or -1. */
  private find(hi: number, lo: number): number {
    const s = this.slots;
    const mask = this.mask;
    let i = this.home(hi, lo >>> 16, lo & 0xffff);
    for (let n = 0; n < MAX_PROBE; n++) {
      const b = i * W;
      if (s[b + META] === 0) return -1;
      if (s[b + KEY_LO] === lo && s[b + KEY_HI] === hi) return i;
      i = (i + 1) & mask;
    }
    return -1;
  }

  /**
   * Port for a destination, or NO_PORT when unknown or aged out. Hot path.
   * `macHi` is the first two MAC bytes, `lo` the last four.
   */
  lookup(vid: number, macHi: number, lo: number, now: number): number {
    const hi = (vid << 16) | macHi;
    const l = lo | 0;
    const now32 = now | 0;
    if (l === this.seekLo && hi === this.seekHi && now32 === this.seekNow) return this.seekPort;
    const slot = this.find(hi, l);
    let port = NO_PORT;
    if (slot >= 0) {
      const b = slot * W;
      const meta = this.slots[b + META]!;
      if (meta & STATIC || ((now32 - this.slots[b + SEEN]!) | 0) < this.ageingMs) port = meta & PORT_BITS;
    }
    this.seekHi = hi;
    this.seekLo = l;
    this.seekNow = now32;
    this.seekPort = port;
    return port;
  }

  /** Learn or refresh a source. Hot path. Returns false when refused (a limit, or no room). */
  learn(vid: number, macHi: number, macLo: number, port: number, now: number): boolean {
    const hi = (vid << 16) | macHi;
    const lo = macLo | 0;
    const now32 = now | 0;
    if (lo === this.learntLo && hi === this.learntHi && port === this.learntPort && now32 === this.learntNow) return true;
    const s = this.slots;
    const mask = this.mask;
    let i = this.home(hi, lo >>> 16, lo & 0xffff);
    let ok = false;
    let n = 0;
    for (; n < MAX_PROBE; n++) {
      const b = i * W;
      const meta = s[b + META]!;
      if (meta === 0) break;
      if (s[b + KEY_LO] === lo && s[b + KEY_HI] === hi) {
        if ((meta & PORT_BITS) !== port && !(meta & STICKY)) ok = this.relearn(b, meta, port, now32);
        else {
          if (s[b + SEEN] !== now32) {
            s[b + SEEN] = now32;
            this.seekHi = -1; // an aged entry may be alive again
          }
          ok = true;
        }
        n = -1;
        break;
      }
      i = (i + 1) & mask;
    }
    if (n >= 0) ok = this.insertLearned(n < MAX_PROBE ? i : -1, n, hi, lo, port, now32); // new: at the free slot, if one was in reach
    if (ok) {
      // Remember a learn that succeeded: its repeat at the same instant changes nothing.
      this.learntHi = hi;
      this.learntLo = lo;
      this.learntPort = port;
      this.learntNow = now32;
    }
    return ok;
  }

  /** The slot of (vid, MAC) if it is on `port`, through a one-entry memo (VXLAN frames repeat a flow), else -1. */
  private remoteSlotOf(hi: number, lo: number): number {
    if (lo !== this.remoteLo || hi !== this.remoteHi) {
      this.remoteHi = hi;
      this.remoteLo = lo;
      this.remoteSlot = this.find(hi, lo);
    }
    return this.remoteSlot;
  }

  /**
   * After `learn` of a frame from a VXLAN port: the VTEP it came from. A
   * learned entry of that port heard from another VTEP moves there (the
   * kernel's vxlan: "migrated"); a static entry keeps its own.
   */
  learnRemote(vid: number, macHi: number, macLo: number, port: number, remote: number): void {
    const hi = (vid << 16) | macHi;
    const lo = macLo | 0;
    if (lo === this.remoteLo && hi === this.remoteHi && remote === this.remoteLearnt && this.remoteSlot >= 0) return;
    const slot = this.remoteSlotOf(hi, lo);
    this.remoteLearnt = remote;
    if (slot < 0) return;
    const meta = this.slots[slot * W + META]!;
    if ((meta & PORT_BITS) !== port || meta & STATIC || this.remotes[slot] === remote) return;
    if (this.remotes[slot]! >= 0) this.remoteMoves++;
    this.remotes[slot] = remote;
  }

  /** The remote VTEP of (vid, MAC)'s entry, -1 for none: after `lookup` found it on a VXLAN port. */
  remoteOf(vid: number, macHi: number, macLo: number): number {
    const slot = this.remoteSlotOf((vid << 16) | macHi, macLo | 0);
    return slot < 0 ? -1 : this.remotes[slot]!;
  }

  /** Forget the memos: an entry was added, removed or moved. */
  private changed(): void {
    this.learntHi = -1;
    this.seekHi = -1;
    this.remoteHi = -1;
  }

  /** A known MAC seen on another port: a station move, or a fresh learn when its entry had aged out. */
  private relearn(b: number, meta: number, port: number, now32: number): boolean {
    const s = this.slots;
    const from = meta & PORT_BITS;
    const isStatic = (meta & STATIC) !== 0;
    const aged = !isStatic && ((now32 - s[b + SEEN]!) | 0) >= this.ageingMs;
    if (aged && !this.portAdmits(port)) return false;
    this.changed();
    s[b + META] = (meta & ~PORT_BITS) | port;
    s[b + SEEN] = now32;
    this.remotes[b / W] = -1; // another port: its VTEP (if any) is learned next
    this.perPort[from]!--;
    this.perPort[port]!++;
    if (!isStatic) {
      this.learnedPerPort[from]!--;
      this.learnedPerPort[port]!++;
    }
    if (port > this.highestPort) this.highestPort = port;
    if (!aged) {
      this.moves++;
      this.onMove?.(s[b + KEY_HI]! >>> 16, s[b + KEY_HI]! & 0xffff, s[b + KEY_LO]! >>> 0, from, port, now32);
    } else this.onLearn?.(s[b + KEY_HI]! >>> 16, s[b + KEY_HI]! & 0xffff, s[b + KEY_LO]! >>> 0, port);
    return true;
  }

  private portAdmits(port: number): boolean {
    const limit = this.portLimit[port]!;
    if (limit === 0 || this.learnedPerPort[port]! < limit) return true;
    this.refusedPerPort[port]!++;
    this.learnRefused++;
    return false;
  }

  /** A new learned entry; `slot` is the free slot the probe found `dist` slots from home, or -1 when none was within MAX_PROBE. */
  private insertLearned(slot: number, dist: number, hi: number, lo: number, port: number, now32: number): boolean {
    if (!this.portAdmits(port)) return false;
    if (this.size >= this.maxEntries || (this.maxLearned > 0 && this.learned >= this.maxLearned)) {
      if (this.fullPolicy === "refuse" || !this.evictOne(now32)) {
        this.refusedFull++;
        this.learnRefused++;
        return false;
      }
      slot = -1; // an eviction shifts probe chains: look again
    }
    const placed = this.place(slot, dist, hi, lo, port, now32, 0, -1);
    if (placed) this.onLearn?.(hi >>> 16, hi & 0xffff, lo >>> 0, port);
    return placed;
  }

  /** Put a new entry at `slot` (`dist` from its home), or find one (growing the table if needed). */
  private place(slot: number, dist: number, hi: number, lo: number, port: number, now32: number, flags: number, remote: number): boolean {
    if ((this.size + 1) * 2 > this.capacity && this.capacity < this.maxCapacity) {
      this.grow();
      slot = -1;
    }
    if (slot < 0) {
      slot = this.freeSlot(hi, lo);
      dist = this.freeDist;
    }
    while (slot < 0) {
      if (this.capacity >= this.maxCapacity) {
        this.refusedProbe++;
        this.learnRefused++;
        return false;
      }
      this.grow();
      slot = this.freeSlot(hi, lo);
      dist = this.freeDist;
    }
    this.changed();
    const b = slot * W;
    const s = this.slots;
    s[b + KEY_HI] = hi;
    s[b + KEY_LO] = lo;
    s[b + META] = (dist << DIST_SHIFT) | USED | (flags << FLAG_SHIFT) | port;
    s[b + SEEN] = now32;
    this.remotes[slot] = remote;
    this.perPort[port]!++;
    this.size++;
    if (!(flags & FdbFlag.static)) {
      this.learnedPerPort[port]!++;
      this.learned++;
    }
    if (port > this.highestPort) this.highestPort = port;
    return true;
  }

  /** The first free slot within MAX_PROBE of the key's home (its distance in `freeDist`), or -1. */
  private freeSlot(hi: number, lo: number): number {
    let i = this.home(hi, lo >>> 16, lo & 0xffff);
    for (let n = 0; n < MAX_PROBE; n++) {
      if (this.slots[i * W + META] === 0) {
        this.freeDist = n;
        return i;
      }
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  /** Double the table and rehash every entry under a fresh key. Amortised; bounded by maxCapacity. */
  private grow(): void {
    const old = this.slots;
    const oldRemotes = this.remotes;
    const oldCapacity = this.capacity;
    let capacity = oldCapacity * 2;
    for (;;) {
      this.allocate(capacity);
      if (!this.fixedKey) this.key = randomHashKey();
      if (this.rehash(old, oldRemotes, oldCapacity) || capacity >= this.maxCapacity) break;
      capacity *= 2;
    }
    this.generation++;
    this.sweepAt = 0;
    this.evictAt = 0;
  }

  /** Copy entries into the fresh slots; false if one found no slot within MAX_PROBE (then grow again). */
  private rehash(old: Int32Array, oldRemotes: Int32Array, oldCapacity: number): boolean {
    const s = this.slots;
    for (let j = 0; j < oldCapacity; j++) {
      const ob = j * W;
      if (old[ob + META] === 0) continue;
      const hi = old[ob + KEY_HI]!;
      const lo = old[ob + KEY_LO]!;
      const slot = this.freeSlot(hi, lo);
      if (slot < 0) {
        if (this.capacity < this.maxCapacity) return false;
        this.dropEntryCounts(old[ob + META]!); // at the largest size: lose it, counted
        this.refusedProbe++;
        continue;
      }
      const b = slot * W;
      s[b + KEY_HI] = hi;
      s[b + KEY_LO] = lo;
      s[b + META] = (this.freeDist << DIST_SHIFT) | (old[ob + META]! & ~(0xff << DIST_SHIFT));
      s[b + SEEN] = old[ob + SEEN]!;
      this.remotes[slot] = oldRemotes[j]!;
    }
    return true;
  }

  private dropEntryCounts(meta: number): void {
    this.changed();
    const port = meta & PORT_BITS;
    this.perPort[port]!--;
    this.size--;
    if (!(meta & STATIC)) {
      this.learnedPerPort[port]!--;
      this.learned--;
    }
  }

  /**
   * Make room for one learned entry: an entry already aged out if one turns
   * up, else the oldest of EVICT_SAMPLES learned entries of the port holding
   * the most, sampled from a rotating cursor. False when nothing was found
   * within EVICT_SCAN slots (the newcomer is then refused).
   */
  private evictOne(now32: number): boolean {
    let victimPort = -1;
    let most = 0;
    for (let p = 0; p <= this.highestPort; p++) {
      if (this.learnedPerPort[p]! > most) {
        most = this.learnedPerPort[p]!;
        victimPort = p;
      }
    }
    if (victimPort < 0) return false;
    const s = this.slots;
    const mask = this.mask;
    const ageing = this.ageingMs;
    let i = this.evictAt & mask;
    let victim = -1;
    let victimAge = -1;
    let samples = 0;
    for (let n = 0; n < EVICT_SCAN && samples < EVICT_SAMPLES; n++, i = (i + 1) & mask) {
      const meta = s[i * W + META]!;
      if (meta === 0 || meta & STATIC) continue;
      const age = (now32 - s[i * W + SEEN]!) | 0;
      if (age >= ageing) {
        victim = i;
        break;
      }
      if ((meta & PORT_BITS) !== victimPort) continue;
      samples++;
      if (age > victimAge) {
        victim = i;
        victimAge = age;
      }
    }
    this.evictAt = (i + 1) & mask;
    if (victim < 0) return false;
    const port = s[victim * W + META]! & PORT_BITS;
    this.removeSlot(victim);
    this.evictions++;
    this.evictedPerPort[port]!++;
    return true;
  }

  /**
   * Add or replace a static entry (never ages; moves by learning unless
   * sticky). Refused only at maxEntries. `remote`: its VTEP on a VXLAN port
   * (`bridge fdb add MAC dev vxlan0 dst ADDR`).
   */
  addStatic(vid: number, macHi: number, lo: number, port: number, sticky = false, remote = -1): boolean {
    const hi = (vid << 16) | macHi;
    lo |= 0;
    const slot = this.find(hi, lo);
    const flags = FdbFlag.static | (sticky ? FdbFlag.sticky : 0);
    if (slot >= 0) {
      const b = slot * W;
      const meta = this.slots[b + META]!;
      const from = meta & PORT_BITS;
      this.perPort[from]!--;
      this.perPort[port]!++;
      if (!(meta & STATIC)) {
        this.learnedPerPort[from]!--;
        this.learned--;
      }
      this.changed();
      this.slots[b + META] = (meta & ~(FLAG_BITS | PORT_BITS)) | (flags << FLAG_SHIFT) | port;
      this.remotes[slot] = remote;
      if (port > this.highestPort) this.highestPort = port;
      return true;
    }
    if (this.size >= this.maxEntries) {
      this.refusedFull++;
      return false;
    }
    return this.place(-1, -1, hi, lo, port, 0, flags, remote);
  }

  /** Remove one entry; returns whether it existed. */
  delete(vid: number, macHi: number, lo: number): boolean {
    const slot = this.find((vid << 16) | macHi, lo | 0);
    if (slot < 0) return false;
    this.removeSlot(slot);
    return true;
  }

  /**
   * Backward-shift deletion: pull later members of the run into the hole
   * when that keeps them at or after their home (each slot records its
   * distance from home, so no key is hashed again). Returns the slots it
   * touched (the sweep's budget counts them).
   */
  private removeSlot(slot: number): number {
    const s = this.slots;
    const mask = this.mask;
    this.dropEntryCounts(s[slot * W + META]!);
    let hole = slot;
    let j = slot;
    let work = 1;
    for (;;) {
      j = (j + 1) & mask;
      work++;
      const meta = s[j * W + META]!;
      if (meta === 0) break;
      const back = (j - hole) & mask;
      if (back > meta >>> DIST_SHIFT) continue; // its home lies after the hole
      this.moveSlot(j, hole);
      s[hole * W + META] = meta - (back << DIST_SHIFT);
      hole = j;
    }
    s.fill(0, hole * W, hole * W + W);
    return work;
  }

  /** Copy a slot's words and its remote to another slot. */
  private moveSlot(from: number, to: number): void {
    this.slots.copyWithin(to * W, from * W, from * W + W);
    this.remotes[to] = this.remotes[from]!;
  }

  /**
   * One bounded step of the ageing sweep: removes aged learned entries from
   * the cursor on, visiting at most `budget` slots (shifts included). A pass
   * over the whole table bumps `sweepPasses`. Returns the entries removed.
   */
  expireStep(now: number, budget: number): number {
    const s = this.slots;
    const now32 = now | 0;
    const ageing = this.ageingMs;
    let i = this.sweepAt & this.mask;
    let work = 0;
    let removed = 0;
    while (work < budget) {
      const meta = s[i * W + META]!;
      if (meta !== 0 && !(meta & STATIC) && ((now32 - s[i * W + SEEN]!) | 0) >= ageing) {
        this.onExpire?.(s[i * W + KEY_HI]! >>> 16, s[i * W + KEY_HI]! & 0xffff, s[i * W + KEY_LO]! >>> 0, meta & PORT_BITS);
        work += this.removeSlot(i); // re-examine slot i: the chain shifted into it
        removed++;
        continue;
      }
      work++;
      i = (i + 1) & this.mask;
      if (i === 0) {
        this.sweepPasses++;
        break;
      }
    }
    this.sweepAt = i;
    this.lastStepWork = work;
    this.agedOut += removed;
    return removed;
  }

  /** A whole ageing pass in one go (blocking: tests and small tables; the bridge uses expireStep). */
  expire(now: number): number {
    if (this.size === 0) return 0;
    const passes = this.sweepPasses;
    this.sweepAt = 0;
    let removed = 0;
    while (this.sweepPasses === passes) removed += this.expireStep(now, this.capacity * 2);
    return removed;
  }

  /** Remove entries that match; slots are re-checked after a backward shift. */
  private removeWhere(match: (meta: number, keyHi: number) => boolean): number {
    let removed = 0;
    const s = this.slots;
    for (let i = 0; i < this.capacity; ) {
      const meta = s[i * W + META]!;
      if (meta !== 0 && match(meta, s[i * W + KEY_HI]!)) {
        this.removeSlot(i);
        removed++;
      } else i++;
    }
    return removed;
  }

  /** Remove the entries of one port (learned only, or static too). */
  flushPort(port: number, includeStatic = false): number {
    if (this.perPort[port] === 0) return 0;
    return this.removeWhere((meta) => (meta & PORT_BITS) === port && (includeStatic || !(meta & STATIC)));
  }

  /** Remove the entries of one VLAN (learned only, or static too), on every port or on `port`. */
  flushVlan(vid: number, port = NO_PORT, includeStatic = false): number {
    return this.removeWhere(
      (meta, keyHi) => keyHi >>> 16 === vid && (port === NO_PORT || (meta & PORT_BITS) === port) && (includeStatic || !(meta & STATIC)),
    );
  }

  /** Remove every learned entry (and static ones if asked). */
  flush(includeStatic = false): number {
    return this.removeWhere((meta) => includeStatic || !(meta & STATIC));
  }

  /** Set (or clear, with 0) a port's cap on learned entries. Entries above a new cap stay until they age. */
  setPortLimit(port: number, maxLearned: number): void {
    this.portLimit[port] = maxLearned;
  }

  /** Forget a port's limit and counters (it left the bridge, or a new port takes its index). */
  resetPort(port: number): void {
    this.portLimit[port] = 0;
    this.refusedPerPort[port] = 0;
    this.evictedPerPort[port] = 0;
  }

  /** A cursor for `scan`, at the start of the table. */
  cursor(): FdbCursor {
    return { slot: 0, generation: this.generation, done: false, interrupted: false };
  }

  /**
   * Visit live entries (aged ones skipped) from the cursor on, reading at most
   * `maxSlots` slots or until `visit` returns false; advances the cursor and
   * sets `done` at the end of the table. Between calls the table may change:
   * entries present and unmoved throughout are visited exactly once; others
   * may be missed or seen twice; a growth sets `interrupted`.
   */
  scan(cursor: FdbCursor, now: number, maxSlots: number, visit: FdbVisitor): void {
    if (cursor.done) return;
    if (cursor.generation !== this.generation) {
      cursor.interrupted = true;
      cursor.generation = this.generation;
    }
    const s = this.slots;
    const now32 = now | 0;
    const end = Math.min(this.capacity, cursor.slot + maxSlots);
    let i = cursor.slot;
    while (i < end) {
      const b = i * W;
      const meta = s[b + META]!;
      i++;
      if (meta === 0) continue;
      const isStatic = (meta & STATIC) !== 0;
      const age = isStatic ? 0 : (now32 - s[b + SEEN]!) | 0;
      if (!isStatic && age >= this.ageingMs) continue;
      if (visit(s[b + KEY_HI]! >>> 16, s[b + KEY_HI]! & 0xffff, s[b + KEY_LO]! >>> 0, meta & PORT_BITS, Math.max(0, age), (meta & FLAG_BITS) >>> FLAG_SHIFT, this.remotes[i - 1]!) === false) break;
    }
    cursor.slot = i;
    if (i >= this.capacity) cursor.done = true;
  }

  /** Every live entry at once (allocates and blocks for the whole table: small tables; else `scan`). */
  entries(now: number): FdbEntry[] {
    const out: FdbEntry[] = [];
    const c = this.cursor();
    this.scan(c, now, this.capacity, (vid, hi, lo, port, ageMs, flags, remote) => {
      out.push({ vid, hi, lo, port, ageMs, static: (flags & FdbFlag.static) !== 0, sticky: (flags & FdbFlag.sticky) !== 0, remote });
    });
    return out;
  }

  /** Slots a lookup of this key reads (1 = its home): the work bound the tests check. */
  probes(vid: number, macHi: number, lo: number): number {
    const hi = (vid << 16) | macHi;
    lo |= 0;
    let i = this.home(hi, lo >>> 16, lo & 0xffff);
    for (let n = 1; n <= MAX_PROBE; n++) {
      const b = i * W;
      if (this.slots[b + META] === 0 || (this.slots[b + KEY_LO] === lo && this.slots[b + KEY_HI] === hi)) return n;
      i = (i + 1) & this.mask;
    }
    return MAX_PROBE;
  }

  /** The longest run of occupied slots (a removal shifts at most one run): a diagnostic scan, not for the data path. */
  longestRun(): number {
    let longest = 0;
    let run = 0;
    let first = -1;
    for (let i = 0; i < this.capacity; i++) {
      if (this.slots[i * W + META] !== 0) run++;
      else {
        if (first < 0) first = run; // the run that wraps around the end continues here
        longest = Math.max(longest, run);
        run = 0;
      }
    }
    return Math.max(longest, run + Math.max(0, first));
  }

  get tableCapacity(): number {
    return this.capacity;
  }

  /** Bytes held by the table. */
  get memoryBytes(): number {
    return this.slots.byteLength + this.remotes.byteLength;
  }
}
