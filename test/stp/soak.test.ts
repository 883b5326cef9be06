/**
 * Soak: the kernel triangle (kernel-interop.test.ts's, a kernel bridge as
 * root) with hello 1 s, watched after convergence for role and state
 * changes on every loop port of all three bridges — there must be none.
 *
 * CI runs 75 s; the full soak is 5 minutes:
 *   TAPBRIDGE_STP_SOAK_SECONDS=300 npx vitest run test/stp/soak.test.ts
 */
import { afterAll, describe, expect, it } from "vitest";
import { Lab } from "../../src/testing/lab.js";
import { allPing, buildTriangle, kernelBridge, kernelStates, LOOP, MAC, sleep, waitFor } from "./triangle.js";

const SECONDS = Number(process.env.TAPBRIDGE_STP_SOAK_SECONDS ?? 75);
const lab = new Lab("tbs");
afterAll(() => lab.destroy());

describe(`STP soak (${SECONDS} s, hello 1 s)`, () => {
  it("no role or state changes after convergence", async () => {
    const t = await buildTriangle(lab, { protocol: "stp" }, async ({ lab, ns }) => {
      await kernelBridge(lab, ns.A, MAC.A, 4096, ["ab", "at", "hp"]);
      await kernelBridge(lab, ns.B, MAC.B, 32768, ["ba", "bt", "hp"]);
      return async () => undefined;
    });
    try {
      const snapshot = async () => {
        const a = await kernelStates(t.ns.A);
        const b = await kernelStates(t.ns.B);
        return [...LOOP.A.map((p) => `A.${p}=${a[p]}`), ...LOOP.B.map((p) => `B.${p}=${b[p]}`), ...LOOP.T.map((p) => `T.${p}=${t.tap.stpPortStatus(t.label(p)).role}/${t.tap.stpPortStatus(t.label(p)).state}`)].join(" ");
      };
      const converged = await waitFor("convergence", 60_000, async () => {
        const s = await snapshot();
        return /listening|learning/.test(s) || !s.includes("blocking") ? undefined : s;
      });
      expect(await allPing(t)).toBe(true);
      const changes: string[] = [];
      t.tap.on("stp-port", (e) => changes.push(`tapbridge ${e.port}: ${e.previousRole}/${e.previousState} -> ${e.role}/${e.state} (${e.reason})`));
      t.tap.on("stp-topology-change", (e) => e.active && changes.push(`tapbridge topology change (${e.reason})`));
      const until = Date.now() + SECONDS * 1000;
      let polls = 0;
      while (Date.now() < until) {
        await sleep(1000);
        const s = await snapshot();
        polls++;
        if (s !== converged) changes.push(`states changed: ${s}`);
      }
      console.log(`STP soak: ${SECONDS} s, ${polls} polls of 6 loop ports, ${changes.length} role/state changes after convergence; BPDUs received by tapbridge: ${JSON.stringify(t.tap.stpPortStatus(t.label("ta")).bpdusReceived)}`);
      expect(changes).toEqual([]);
      expect(await allPing(t, 10_000)).toBe(true);
    } finally {
      await t.stop();
    }
  }, (SECONDS + 150) * 1000);
});
