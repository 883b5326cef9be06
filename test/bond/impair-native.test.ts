/**
 * Impairing a bond of AF_PACKET members, as root (switch-lab.ts): the
 * bond's link is its members' links, so `Bridge.impair("bond0", …)` delays
 * what leaves through the members and what arrives on them (frames held by
 * an ingress impairment come back as the member's, and pass the bond's
 * receive filters then). A 10 ms ping's round trip grows by both delays;
 * the stats add the members up; cleared, the delay is gone.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Lab } from "../../src/testing/lab.js";
import { ping, waitFor } from "../stp/triangle.js";
import { buildSwitchLab, GUEST_IP, HOST_IP, type SwitchLab } from "./switch-lab.js";

const labs: Lab[] = [];
afterAll(async () => {
  for (const lab of labs) await lab.destroy();
});

async function rttMs(lab: Lab, ns: string, ip: string): Promise<number> {
  const out = (await lab.exec(ns, ["ping", "-c", "5", "-i", "0.2", "-W", "3", ip], { allowFail: true, timeoutMs: 20_000 })).stdout;
  const m = /= [\d.]+\/([\d.]+)\//.exec(out);
  if (!m) throw new Error(`no ping summary: ${out}`);
  return Number(m[1]);
}

describe("impairments on a bond of AF_PACKET members", () => {
  it("delays both ways through the members, counts it, and clears", async () => {
    const lab = new Lab("tbim");
    labs.push(lab);
    let t: SwitchLab | undefined;
    try {
      t = await buildSwitchLab(lab, { guests: 1, hosts: 1, bond: { mode: "active-backup" } });
      const { bridge, hosts, guests } = t;
      expect(await waitFor("the guest to answer through the bond", 30_000, async () => ((await ping(lab, hosts[0]!, GUEST_IP(0), 2)) ? true : undefined))).toBe(true);
      bridge.impair("bond0", { delay: 60 });
      const slow = await rttMs(lab, guests[0]!, HOST_IP(0));
      console.log(`bond impaired with 60 ms each way: ping RTT ${slow} ms`);
      expect(slow).toBeGreaterThanOrEqual(115);
      const s = bridge.impairmentStats("bond0");
      expect(s.egress!.delayed).toBeGreaterThanOrEqual(5);
      expect(s.ingress!.delayed).toBeGreaterThanOrEqual(5);
      bridge.impair("bond0", undefined);
      expect(await rttMs(lab, guests[0]!, HOST_IP(0))).toBeLessThan(slow);
    } finally {
      t?.stop();
    }
  }, 90_000);
});
