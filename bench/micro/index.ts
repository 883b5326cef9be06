/**
 * All microbenchmarks, one module each (mirroring src/), in a fixed order.
 */
import type { MicroResult } from "./harness.js";
import * as fdb from "./fdb.bench.js";
import * as forward from "./forward.bench.js";
import * as frame from "./frame.bench.js";
import * as vlan from "./vlan.bench.js";

export type { MicroResult } from "./harness.js";

export const MODULES: Record<string, (timeMs: number) => Promise<MicroResult[]>> = {
  frame: (t) => frame.run(t),
  fdb: (t) => fdb.run(t),
  forward: (t) => forward.run(t),
  vlan: (t) => vlan.run(t),
};

export async function runMicro(timeMs: number, only?: string[]): Promise<MicroResult[]> {
  const out: MicroResult[] = [];
  for (const [name, run] of Object.entries(MODULES)) {
    if (only && !only.includes(name)) continue;
    out.push(...(await run(timeMs)));
  }
  return out;
}
