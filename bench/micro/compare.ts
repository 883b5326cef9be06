/**
 * Before/after on a shared machine: the same microbenchmark tasks from two
 * built trees (A = before, B = after), alternated over several rounds so
 * that drift hits both alike; prints the median ns/frame of each and B/A.
 *
 *   node dist/bench/micro/compare.js A_DIR B_DIR [--rounds 5] [--ms 400] [--only forward,fdb]
 *
 * A_DIR and B_DIR are repository roots with dist/ built (`npx tsc`), e.g. a
 * `git archive main | tar -x` copy with node_modules linked, and this tree.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { MicroTask } from "./harness.js";
import { runTasks } from "./harness.js";

interface Args {
  a: string;
  b: string;
  rounds: number;
  ms: number;
  only: string[];
}

function parse(argv: string[]): Args {
  const positional: string[] = [];
  const args: Args = { a: "", b: "", rounds: 5, ms: 400, only: ["forward", "fdb"] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--rounds") args.rounds = Number(argv[++i]);
    else if (arg === "--ms") args.ms = Number(argv[++i]);
    else if (arg === "--only") args.only = (argv[++i] ?? "").split(",");
    else positional.push(arg);
  }
  if (positional.length !== 2) throw new Error("usage: compare.js A_DIR B_DIR [--rounds N] [--ms MS] [--only forward,fdb]");
  [args.a, args.b] = positional.map((p) => path.resolve(p)) as [string, string];
  return args;
}

async function tasksOf(root: string, only: string[]): Promise<MicroTask[]> {
  const load = (file: string) => import(pathToFileURL(path.join(root, "dist", "bench", "micro", file)).href);
  const out: MicroTask[] = [];
  for (const module of only) {
    const m = (await load(`${module}.bench.js`)) as Record<string, unknown>;
    const make = m[`${module}Tasks`] as (() => MicroTask[]) | undefined;
    if (!make) throw new Error(`${root}: ${module}.bench.js exports no ${module}Tasks()`);
    out.push(...make());
  }
  return out;
}

const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;

export async function compare(argv: string[]): Promise<void> {
  const o = parse(argv);
  const sides = { A: await tasksOf(o.a, o.only), B: await tasksOf(o.b, o.only) };
  const ns = new Map<string, { A: number[]; B: number[] }>();
  for (let r = 0; r < o.rounds; r++) {
    for (const side of ["A", "B"] as const) {
      for (const task of sides[side]) {
        const [result] = await runTasks(side, [task], o.ms);
        const row = ns.get(task.name) ?? { A: [], B: [] };
        row[side].push(result!.nsPerFrame);
        ns.set(task.name, row);
      }
    }
  }
  for (const [name, v] of ns) {
    if (v.A.length === 0 || v.B.length === 0) continue;
    const a = median(v.A);
    const b = median(v.B);
    console.log(`${name.padEnd(52)} A ${a.toFixed(1).padStart(6)} ns  B ${b.toFixed(1).padStart(6)} ns  B/A ${(b / a).toFixed(2)}  (${(1e3 / b).toFixed(2)} M frames/s)`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  compare(process.argv.slice(2)).catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  });
}
