/**
 * A bond in memory, on virtual time: tapbridge ("tb") with a bond of two
 * in-memory members and guests, wired to a plain learning switch ("sw", a
 * second tapbridge bridge) with hosts — or to another bridge's bond. No
 * root, no addon: the whole bond glue, frames and timers, in a unit test.
 */
import { Bridge } from "../../src/bridge.js";
import { formatMac } from "../../src/core/frame.js";
import type { BondOptions } from "../../src/bond/settings.js";
import { createLogger } from "../../src/log.js";
import { BondPort } from "../../src/ports/bond-port.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { Wire } from "../../src/testing/wire.js";

export const GUEST = (k: number) => `02:00:00:00:0a:0${k}`;
export const HOST = (k: number) => `02:00:00:00:0b:0${k}`;
export const MEMBER = (k: number) => `02:00:00:00:0c:0${k}`;

export interface Rig {
  clock: VirtualClock;
  tb: Bridge;
  sw: Bridge;
  bond: BondPort;
  members: MemoryPort[];
  guests: MemoryPort[];
  hosts: MemoryPort[];
  switchPorts: MemoryPort[];
  wires: Wire[];
  /** JSON log lines of the tapbridge. */
  logs: Record<string, unknown>[];
}

export function rig(options: BondOptions & { guests?: number; hosts?: number; switchBond?: BondOptions; settings?: Parameters<Bridge["addPort"]>[1] } = {}): Rig {
  const { guests: ng = 2, hosts: nh = 1, switchBond, settings, ...bondOptions } = options;
  const clock = new VirtualClock();
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const tb = new Bridge({ name: "tb", scheduler: clock, logger });
  const sw = new Bridge({ name: "sw", scheduler: clock });
  const members = [1, 2].map((k) => new MemoryPort(`m${k}`, { mac: MEMBER(k) }));
  const bond = tb.addPort(new BondPort({ name: "bond0", members, ...bondOptions }), settings ?? {});
  const guests = Array.from({ length: ng }, (_, k) => tb.addPort(new MemoryPort(`g${k}`, { mac: GUEST(k) })));
  let switchPorts: MemoryPort[];
  if (switchBond) {
    switchPorts = [1, 2].map((k) => new MemoryPort(`s${k}`, { mac: `02:00:00:00:0d:0${k}` }));
    sw.addPort(new BondPort({ name: "sbond", members: switchPorts, ...switchBond }));
  } else switchPorts = [1, 2].map((k) => sw.addPort(new MemoryPort(`s${k}`)));
  const hosts = Array.from({ length: nh }, (_, k) => sw.addPort(new MemoryPort(`h${k}`, { mac: HOST(k) })));
  const wires = members.map((m, k) => new Wire(m, switchPorts[k]!));
  return { clock, tb, sw, bond, members, guests, hosts, switchPorts, wires, logs };
}

/** Frames a port received since last asked, as source MACs (in order). */
export function sources(port: MemoryPort): string[] {
  return port.take().map((f) => formatMac((f[6]! << 8) | f[7]!, ((f[8]! << 24) | (f[9]! << 16) | (f[10]! << 8) | f[11]!) >>> 0));
}
