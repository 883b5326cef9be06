import { describe, expect, it } from "vitest";
import { Fdb, NO_PORT } from "../../src/core/fdb.js";
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

  it("refuses learns beyond its cap and counts them", () => {
    const fdb = new Fdb({ maxEntries: 100 });
    for (let i = 0; i < 150; i++) fdb.learn(0, ...mac(i), 1, 0);
    expect(fdb.size).toBe(100);
    expect(fdb.learnRefused).toBe(50);
    expect(fdb.lookup(0, ...mac(99), 0)).toBe(1);
    expect(fdb.lookup(0, ...mac(120), 0)).toBe(NO_PORT);
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
    expect(fdb.entries(3500)).toEqual([{ vid: 9, hi, lo, port: 4, ageMs: 2500, static: false, sticky: false }]);
  });
});
