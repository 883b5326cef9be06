import { it, afterAll } from "vitest";
import { generateScenario } from "./frames.js";
import { runKernel, cleanupAll, TOPOLOGY_MACS } from "./lab.js";
afterAll(cleanupAll);
it("exp", async () => {
  const sc = generateScenario(12345, TOPOLOGY_MACS);
  console.log("frames", sc.frames.length);
  const id = process.pid.toString(36);
  const cfgs = [
    { multicastSnooping: false, bridgeNetfilter: false },
    { multicastSnooping: false, bridgeNetfilter: false },
    { multicastSnooping: true, bridgeNetfilter: false },

    { multicastSnooping: true, bridgeNetfilter: true },
  ];
  const rs = [];
  for (const [n, c] of cfgs.entries()) {
    const t0 = Date.now();
    const r = await runKernel(`${id}x${n}`, sc.frames, c);
    console.log(JSON.stringify(c), "ms", Date.now() - t0, "unmarked", r.result.unmarked, JSON.stringify((r.result as any).unmarked_samples), JSON.stringify(r.settings).slice(0, 80));
    rs.push(r.result);
  }
  for (const f of sc.frames) {
    const line = rs.map((r) => JSON.stringify(r.results[f.seq].ports)).join(" ");
    const same = new Set(rs.map((r) => JSON.stringify(r.results[f.seq].ports))).size === 1;
    const bytesOk = Object.values(rs[0].results[f.seq].captures).every((cs) => cs.length === 1 && cs[0] === f.bytes.toString("hex"));
    console.log(`${same ? " " : "!"}${bytesOk ? " " : "B"} #${f.seq} in p${f.ingress} ${f.kind} ${line} ${f.desc}`);
  }
}, 120_000);
