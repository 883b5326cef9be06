import { describe, expect, it } from "vitest";
import { Fdb, FdbFlag, MAX_PROBE, NO_PORT } from "../../src/core/fdb.js";
import { halfSipHash13 } from "../../src/core/fdb-hash.js";
import { parseMac } from "../../src/core/frame.js";

const mac = (i: number): [number, number] => [0x0200 | ((i >>> 24) & 0xff), ((i & 0xffffff) * 7 + 1) >>> 0];

describe("Fdb", () => {
  it("learns, looks up, and keeps VLANs apart", () => {
    const fdb = new Fdb();
    const [hi, lo] = parseMac("02:00:00:00:00:01");
    expect(fdb.lookup(0, hi, lo, 0)).toBe(NO_PORT);
    fdb.learn(0, hi, lo, 3, 0);
    expect(fdb.lookup(0, hi, lo, 10)).toBe(3);
    expect(fdb.lookup(5, hi, lo, 10)).toBe(NO_PORT);
    fdb.learn(5, hi, lo, 7, 0);
    expect(fdb.lookup(5, hi, lo, 10)).toBe(7);
    expect(fdb.lookup(0, hi, lo, 10)).toBe(3);
    expect(fdb.size).toBe(2);
  });

  it("ages entries out with an injected clock, and expire() removes them", () => {
    const fdb = new Fdb({ ageingMs: 300_000 });
    const [hi, lo] = mac(1);
    fdb.learn(0, hi, lo, 1, 1000);
    expect(fdb.lookup(0, hi, lo, 300_999)).toBe(1);
    expect(fdb.lookup(0, hi, lo, 301_000)).toBe(NO_PORT);
    expect(fdb.expire(200_000)).toBe(0);
    expect(fdb.expire(301_000)).toBe(1);
    expect(fdb.size).toBe(0);
  });

  it("refreshes an entry's time on every learn", () => {
    const fdb = new Fdb({ ageingMs: 1000 });
    const [hi, lo] = mac(2);
    fdb.learn(0, hi, lo, 1, 0);
    fdb.learn(0, hi, lo, 1, 900);
    expect(fdb.lookup(0, hi, lo, 1800)).toBe(1);
  });

  it("moves a station to its new port and counts the move", () => {
    const fdb = new Fdb();
    const [hi, lo] = mac(3);
    fdb.learn(0, hi, lo, 1, 0);
    fdb.learn(0, hi, lo, 2, 1);
    expect(fdb.lookup(0, hi, lo, 2)).toBe(2);
    expect(fdb.moves).toBe(1);
    expect(fdb.perPort[1]).toBe(0);
    expect(fdb.perPort[2]).toBe(1);
  });

  it("static entries never age; they move unless sticky (as Linux)", () => {
    const fdb = new Fdb({ ageingMs: 1000 });
    const [hi, lo] = mac(4);
    const [hi2, lo2] = mac(5);
    fdb.addStatic(0, hi, lo, 1);
    fdb.addStatic(0, hi2, lo2, 1, true);
    expect(fdb.lookup(0, hi, lo, 1e9)).toBe(1);
    expect(fdb.expire(1e9)).toBe(0);
    fdb.learn(0, hi, lo, 2, 5);
    fdb.learn(0, hi2, lo2, 2, 5);
    expect(fdb.lookup(0, hi, lo, 6)).toBe(2);
    expect(fdb.lookup(0, hi2, lo2, 6)).toBe(1);
  });

  it("refuses learns beyond its cap and counts them (policy refuse)", () => {
    const fdb = new Fdb({ maxEntries: 100, fullPolicy: "refuse" });
    for (let i = 0; i < 150; i++) fdb.learn(0, ...mac(i), 1, 0);
    expect(fdb.size).toBe(100);
    expect(fdb.learnRefused).toBe(50);
    expect(fdb.lookup(0, ...mac(99), 0)).toBe(1);
    expect(fdb.lookup(0, ...mac(120), 0)).toBe(NO_PORT);
    expect(fdb.refusedFull).toBe(50);
  });

  it("grows past its initial capacity and keeps every entry", () => {
    const fdb = new Fdb({ maxEntries: 100_000 });
    for (let i = 0; i < 50_000; i++) fdb.learn(i & 7, ...mac(i), i % 200, 0);
    expect(fdb.size).toBe(50_000);
    for (let i = 0; i < 50_000; i += 97) expect(fdb.lookup(i & 7, ...mac(i), 0)).toBe(i % 200);
  });

  it("flushes one port, keeping static entries unless asked, and keeps others findable", () => {
    const fdb = new Fdb();
    for (let i = 0; i < 5000; i++) fdb.learn(0, ...mac(i), i % 4, 0);
    fdb.addStatic(0, ...mac(100_000), 2);
    expect(fdb.flushPort(2)).toBe(1250);
    expect(fdb.lookup(0, ...mac(100_000), 0)).toBe(2);
    for (let i = 0; i < 5000; i++) expect(fdb.lookup(0, ...mac(i), 0)).toBe(i % 4 === 2 ? NO_PORT : i % 4);
    expect(fdb.flushPort(2, true)).toBe(1);
    expect(fdb.size).toBe(3750);
  });

  it("deletes with backward shift so later entries in a probe chain stay reachable", () => {
    const fdb = new Fdb({ maxEntries: 400 });
    for (let i = 0; i < 400; i++) fdb.learn(0, ...mac(i), 1, 0);
    for (let i = 0; i < 400; i += 2) expect(fdb.delete(0, ...mac(i))).toBe(true);
    for (let i = 1; i < 400; i += 2) expect(fdb.lookup(0, ...mac(i), 0)).toBe(1);
    for (let i = 0; i < 400; i += 2) expect(fdb.lookup(0, ...mac(i), 0)).toBe(NO_PORT);
    expect(fdb.size).toBe(200);
  });

  it("lists entries with their age", () => {
    const fdb = new Fdb();
    const [hi, lo] = parseMac("02:aa:bb:cc:dd:ee");
    fdb.learn(9, hi, lo, 4, 1000);
    expect(fdb.entries(3500)).toEqual([{ vid: 9, hi, lo, port: 4, ageMs: 2500, static: false, sticky: false, remote: -1 }]);
  });

  it("hashes with HalfSipHash-1-3: Linux's hsiphash test vector (key 00..07, message 00..07)", () => {
    const key = new Int32Array([0x03020100, 0x07060504]);
    expect(halfSipHash13(key, 0x07060504, 0x03020100) >>> 0).toBe(0x577999b1);
  });

  it("draws a key per table: two tables place the same MACs in different orders", () => {
    const a = new Fdb();
    const b = new Fdb();
    for (let i = 0; i < 200; i++) {
      a.learn(0, ...mac(i), 1, 0);
      b.learn(0, ...mac(i), 1, 0);
    }
    const order = (f: Fdb) => f.entries(0).map((e) => e.lo).join(",");
    expect(order(a)).not.toBe(order(b));
  });

  it("a station move reports to onMove; re-learning an aged entry on another port is not a move", () => {
    const fdb = new Fdb({ ageingMs: 1000 });
    const seen: string[] = [];
    fdb.onMove = (vid, hi, lo, from, to) => seen.push(`${vid}:${hi}:${lo}:${from}->${to}`);
    const [hi, lo] = mac(7);
    fdb.learn(3, hi, lo, 1, 0);
    fdb.learn(3, hi, lo, 2, 10);
    fdb.learn(3, hi, lo, 1, 5000); // aged out meanwhile: a new learn
    expect(seen).toEqual([`3:${hi}:${lo}:1->2`]);
    expect(fdb.moves).toBe(1);
    expect(fdb.lookup(3, hi, lo, 5001)).toBe(1);
    expect([fdb.learnedPerPort[1], fdb.learnedPerPort[2], fdb.learned]).toEqual([1, 0, 1]);
  });

  it("repeats within one instant answer from a memo that every change forgets", () => {
    const fdb = new Fdb({ ageingMs: 1000 });
    const [hi, lo] = mac(42);
    expect(fdb.lookup(0, hi, lo, 5)).toBe(NO_PORT);
    fdb.learn(0, hi, lo, 1, 5);
    expect(fdb.lookup(0, hi, lo, 5)).toBe(1);
    fdb.learn(0, hi, lo, 2, 5); // moved, same instant
    expect(fdb.lookup(0, hi, lo, 5)).toBe(2);
    fdb.learn(0, hi, lo, 1, 5); // and back: not skipped as a repeat
    expect(fdb.lookup(0, hi, lo, 5)).toBe(1);
    expect(fdb.moves).toBe(2);
    fdb.delete(0, hi, lo);
    expect(fdb.lookup(0, hi, lo, 5)).toBe(NO_PORT);
    fdb.learn(0, hi, lo, 1, 5); // re-learned after a delete, same instant
    expect(fdb.size).toBe(1);
    expect(fdb.lookup(0, hi, lo, 2000)).toBe(NO_PORT); // aged
    fdb.learn(0, hi, lo, 1, 2000); // refreshed at that instant: alive again
    expect(fdb.lookup(0, hi, lo, 2000)).toBe(1);
    fdb.ageingMs = 0;
    expect(fdb.lookup(0, hi, lo, 2000)).toBe(NO_PORT);
  });

  describe("learning limits", () => {
    it("a port's max-learned refuses its new MACs, counts them, and leaves other ports alone", () => {
      const fdb = new Fdb();
      fdb.setPortLimit(1, 10);
      for (let i = 0; i < 25; i++) fdb.learn(0, ...mac(i), 1, 0);
      for (let i = 100; i < 125; i++) fdb.learn(0, ...mac(i), 2, 0);
      expect(fdb.learnedPerPort[1]).toBe(10);
      expect(fdb.refusedPerPort[1]).toBe(15);
      expect(fdb.learnedPerPort[2]).toBe(25);
      expect(fdb.learnRefused).toBe(15);
      // Known MACs are still refreshed; static entries do not count.
      expect(fdb.learn(0, ...mac(3), 1, 5)).toBe(true);
      expect(fdb.addStatic(0, ...mac(500), 1)).toBe(true);
      expect(fdb.learn(0, ...mac(501), 1, 5)).toBe(false);
      // A station move into the full port is never refused.
      expect(fdb.learn(0, ...mac(100), 1, 6)).toBe(true);
      expect(fdb.lookup(0, ...mac(100), 7)).toBe(1);
      // Raising the limit lets new MACs in again; removing the port's entries frees room.
      fdb.setPortLimit(1, 0);
      expect(fdb.learn(0, ...mac(502), 1, 8)).toBe(true);
    });

    it("the bridge-wide max learned (fdb_max_learned) counts learned entries only; refuse keeps the table as it is", () => {
      const fdb = new Fdb({ maxLearned: 50, fullPolicy: "refuse" });
      fdb.addStatic(0, ...mac(9999), 4);
      for (let i = 0; i < 60; i++) fdb.learn(0, ...mac(i), i % 3, 0);
      expect(fdb.learned).toBe(50);
      expect(fdb.size).toBe(51);
      expect(fdb.refusedFull).toBe(10);
      expect(fdb.evictions).toBe(0);
    });

    it("evict-from-largest-port makes room from the port holding the most, oldest first, sparing the others", () => {
      const fdb = new Fdb({ maxLearned: 100, fullPolicy: "evict-from-largest-port" });
      for (let i = 0; i < 90; i++) fdb.learn(0, ...mac(i), 1, i); // the big port: mac(0) is the oldest
      for (let i = 200; i < 210; i++) fdb.learn(0, ...mac(i), 2, 1000);
      expect(fdb.learned).toBe(100);
      for (let i = 300; i < 320; i++) expect(fdb.learn(0, ...mac(i), 3, 2000)).toBe(true);
      expect(fdb.learned).toBe(100);
      expect(fdb.evictions).toBe(20);
      expect(fdb.evictedPerPort[1]).toBe(20);
      expect(fdb.learnedPerPort[2]).toBe(10);
      for (let i = 200; i < 210; i++) expect(fdb.lookup(0, ...mac(i), 2001)).toBe(2);
      for (let i = 300; i < 320; i++) expect(fdb.lookup(0, ...mac(i), 2001)).toBe(3);
      // Sampled LRU: what went is older, on average, than what stayed.
      const gone = Array.from({ length: 90 }, (_, i) => i).filter((i) => fdb.lookup(0, ...mac(i), 2001) === NO_PORT);
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      const kept = Array.from({ length: 90 }, (_, i) => i).filter((i) => !gone.includes(i));
      expect(gone).toHaveLength(20);
      expect(mean(gone)).toBeLessThan(mean(kept));
    });

    it("an aged-out entry met while sampling goes before any live one, whatever its port", () => {
      // Few entries per port: the sample reads the whole table, so the stale entry is always met.
      const fdb = new Fdb({ maxEntries: 12, ageingMs: 1000 });
      for (let i = 0; i < 5; i++) fdb.learn(0, ...mac(i), 1, 10_000);
      for (let i = 10; i < 13; i++) fdb.learn(0, ...mac(i), 2, 10_000);
      fdb.learn(0, ...mac(13), 2, 0); // stale by now
      for (let i = 20; i < 23; i++) fdb.learn(0, ...mac(i), 3, 10_000);
      expect(fdb.size).toBe(12);
      expect(fdb.learn(0, ...mac(30), 4, 10_500)).toBe(true);
      expect(fdb.evictedPerPort[2]).toBe(1);
      expect(fdb.lookup(0, ...mac(30), 10_500)).toBe(4);
      expect([fdb.learnedPerPort[1], fdb.learnedPerPort[2], fdb.learnedPerPort[3]]).toEqual([5, 3, 3]);
    });

    it("a table full of static entries refuses rather than evicting them", () => {
      const fdb = new Fdb({ maxEntries: 10 });
      for (let i = 0; i < 10; i++) fdb.addStatic(0, ...mac(i), 1);
      expect(fdb.learn(0, ...mac(50), 2, 0)).toBe(false);
      expect(fdb.refusedFull).toBe(1);
      expect(fdb.size).toBe(10);
    });
  });

  describe("bounded work", () => {
    it("no entry lives further than MAX_PROBE slots from home, even under a public key with crafted collisions", () => {
      const key = new Int32Array([0x1234567, 0x7654321]);
      const fdb = new Fdb({ maxEntries: 4096, hashKey: key });
      const mask = 8192 - 1; // the table's largest size: nextPow2(2 * 4096)
      const crafted: [number, number][] = [];
      for (let i = 0; crafted.length < 500; i++) {
        const [hi, lo] = mac(i);
        if ((halfSipHash13(key, hi, lo | 0) & mask) < 4) crafted.push([hi, lo]);
      }
      for (const [hi, lo] of crafted) fdb.learn(0, hi, lo, 1, 0);
      expect(fdb.tableCapacity).toBe(8192);
      expect(fdb.size).toBeLessThanOrEqual(4 + MAX_PROBE);
      expect(fdb.refusedProbe).toBe(500 - fdb.size);
      for (const [hi, lo] of crafted) expect(fdb.probes(0, hi, lo)).toBeLessThanOrEqual(MAX_PROBE);
    });

    it("expireStep visits at most its budget (plus one shifted run) and a pass removes every aged entry", () => {
      const fdb = new Fdb({ maxEntries: 100_000, ageingMs: 1000 });
      for (let i = 0; i < 50_000; i++) fdb.learn(0, ...mac(i), i % 7, 0);
      fdb.addStatic(0, ...mac(1_000_000), 2);
      const run = fdb.longestRun();
      const passes = fdb.sweepPasses;
      let steps = 0;
      let removed = 0;
      while (fdb.sweepPasses === passes) {
        removed += fdb.expireStep(5000, 1024);
        expect(fdb.lastStepWork).toBeLessThanOrEqual(1024 + run + 1);
        steps++;
      }
      expect(removed).toBe(50_000);
      expect(fdb.size).toBe(1);
      expect(fdb.agedOut).toBe(50_000);
      expect(steps).toBeGreaterThanOrEqual(fdb.tableCapacity / (1024 + run + 1));
      expect(fdb.lookup(0, ...mac(1_000_000), 5000)).toBe(2);
    });

    it("entries that age out are invisible at once, before the sweep reaches them", () => {
      const fdb = new Fdb({ ageingMs: 1000 });
      fdb.learn(0, ...mac(1), 1, 0);
      expect(fdb.lookup(0, ...mac(1), 999)).toBe(1);
      expect(fdb.lookup(0, ...mac(1), 1000)).toBe(NO_PORT);
      expect(fdb.entries(1000)).toEqual([]);
      expect(fdb.size).toBe(1);
    });
  });

  describe("scan (chunked listing)", () => {
    it("visits every live entry once, at most maxSlots slots per call", () => {
      const fdb = new Fdb();
      for (let i = 0; i < 3000; i++) fdb.learn(i % 3, ...mac(i), i % 5, 0);
      fdb.addStatic(0, ...mac(9000), 4, true);
      const cursor = fdb.cursor();
      const seen = new Set<string>();
      let calls = 0;
      while (!cursor.done) {
        const before = cursor.slot;
        fdb.scan(cursor, 10, 500, (vid, hi, lo, port, ageMs, flags) => {
          seen.add(`${vid}/${hi}/${lo}`);
          if (lo === mac(9000)[1]) expect([port, ageMs, flags]).toEqual([4, 0, FdbFlag.static | FdbFlag.sticky]);
          else expect(ageMs).toBe(10);
        });
        expect(cursor.slot - before).toBeLessThanOrEqual(500);
        calls++;
      }
      expect(seen.size).toBe(3001);
      expect(calls).toBe(Math.ceil(fdb.tableCapacity / 500));
      expect(cursor.interrupted).toBe(false);
    });

    it("stops when the visitor says so, and says when a rehash interrupted the walk", () => {
      const fdb = new Fdb({ maxEntries: 100_000 });
      for (let i = 0; i < 400; i++) fdb.learn(0, ...mac(i), 1, 0);
      const cursor = fdb.cursor();
      let n = 0;
      fdb.scan(cursor, 0, 1 << 20, () => ++n < 10);
      expect(n).toBe(10);
      expect(cursor.done).toBe(false);
      for (let i = 400; i < 5000; i++) fdb.learn(0, ...mac(i), 1, 0); // grows
      fdb.scan(cursor, 0, 1 << 20, () => true);
      expect(cursor.interrupted).toBe(true);
      expect(cursor.done).toBe(true);
    });
  });
});
