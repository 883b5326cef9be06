/**
 * What VLAN filtering costs the decision loop: the VLAN-aware decide (four
 * ports alternately access and trunk of VLAN 59, hosts learned in 59,
 * frames untagged from access ports and tagged from trunks) against its
 * VLAN-unaware twin (the same ports, hosts and mix, VLAN 0, untagged), with
 * the tag/untag decision beside them. The tasks alternate over several
 * rounds so that drift on a shared machine hits both alike; printed are
 * the median ns/frame of each and the ratio of the medians
 * (aware ÷ unaware: 1.00 = free), plus each round's own ratio range.
 *
 *   node dist/bench/micro/vlan-ratio.js [--rounds 7] [--ms 300]
 */
import { pathToFileURL } from "node:url";
import { label } from "./fdb.bench.js";
import { decideTask } from "./forward.bench.js";
import { runTasks, type MicroTask } from "./harness.js";
import { vlanTasks } from "./vlan.bench.js";

const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;

export async function vlanRatio(argv: string[]): Promise<void> {
  let rounds = 7;
  let ms = 300;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--rounds") rounds = Number(argv[++i]);
    else if (argv[i] === "--ms") ms = Number(argv[++i]);
    else throw new Error(`unknown argument "${argv[i]}" (use --rounds N, --ms MS)`);
  }
  const fdbSize = 65_536;
  const vlan = vlanTasks(fdbSize);
  const byName = (part: string) => vlan.find((t) => t.name.includes(part))!;
  const pairs: [string, MicroTask, MicroTask][] = [
    [`decide, known unicast, FDB ${label(fdbSize)}, 4 ports`, decideTask("unaware unicast", 4, fdbSize, "unicast"), byName("known unicast")],
    [`decide, broadcast, FDB ${label(fdbSize)}, 4 ports`, decideTask("unaware broadcast", 4, fdbSize, "broadcast"), byName("broadcast")],
  ];
  const tagTasks = vlan.filter((t) => t.name.startsWith("tag/untag"));
  const ns = new Map<string, number[]>();
  const ratios = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
  for (let r = 0; r < rounds; r++) {
    for (const [name, unaware, aware] of pairs) {
      // Alternate which runs first, so that neither always gets the warmer machine.
      const order = r % 2 === 0 ? [unaware, aware] : [aware, unaware];
      const got = new Map<MicroTask, number>();
      for (const t of order) got.set(t, (await runTasks("vlan-ratio", [t], ms))[0]!.nsPerFrame);
      push(ns, `${name} unaware`, got.get(unaware)!);
      push(ns, `${name} VLAN-aware`, got.get(aware)!);
      push(ratios, name, got.get(aware)! / got.get(unaware)!);
    }
    for (const t of tagTasks) push(ns, t.name, (await runTasks("vlan-ratio", [t], ms))[0]!.nsPerFrame);
  }
  console.log(`VLAN-aware vs VLAN-unaware decision loop, ${rounds} alternated rounds of ${ms} ms (median ns/frame)`);
  for (const [name] of pairs) {
    const u = median(ns.get(`${name} unaware`)!);
    const a = median(ns.get(`${name} VLAN-aware`)!);
    const rs = ratios.get(name)!;
    console.log(
      `${name.padEnd(40)} unaware ${u.toFixed(1).padStart(7)} ns  VLAN-aware ${a.toFixed(1).padStart(7)} ns  aware/unaware ${(a / u).toFixed(2)}` +
        `  (per round ${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}, median ${median(rs).toFixed(2)})`,
    );
  }
  for (const t of tagTasks) console.log(`${t.name.padEnd(66)} ${median(ns.get(t.name)!).toFixed(1).padStart(7)} ns/frame`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  vlanRatio(process.argv.slice(2)).catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  });
}
