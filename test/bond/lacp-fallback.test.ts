/**
 * LACP's fallback as root: a lacp bond whose "physical switch" is a kernel
 * bridge, which speaks no LACP (and, as group_fwd_mask 0 says, forwards no
 * LACPDU, so the bond never hears its own). Both members' receive machines
 * end "defaulted" and the bond runs active-backup over them (lacp-fallback,
 * on by default, as OVS's lacp-fallback-ab): one member carries traffic,
 * `bond show` says "fallback", and cutting that member's far end moves the
 * traffic to the other (outage logged).
 */
import { afterAll, describe, expect, it } from "vitest";
import { Lab, run } from "../../src/testing/lab.js";
import { ping, waitFor } from "../stp/triangle.js";
import { buildSwitchLab, GUEST_IP, HOST_IP, pingAcross, switchPortOf, type SwitchLab } from "./switch-lab.js";

const labs: Lab[] = [];
afterAll(async () => {
  for (const lab of labs) await lab.destroy();
});

describe("lacp bond to a switch that speaks no LACP (kernel bridge)", () => {
  it("falls back to active-backup over both members, and fails over on carrier loss", async () => {
    const lab = new Lab("tblf");
    labs.push(lab);
    let t: SwitchLab | undefined;
    try {
      t = await buildSwitchLab(lab, { guests: 1, hosts: 1, bond: { mode: "lacp", lacpRate: "fast" } });
      const { bridge, sw, hosts, guests, guestMacs } = t;
      await waitFor("the bond to fall back to active-backup", 30_000, async () => {
        const s = bridge.bondStatus("bond0");
        return s.up && s.lacp?.fallback === true && s.members.every((m) => m.lacp?.rx === "defaulted" && m.state === "up") ? true : undefined;
      });
      const status = bridge.bondStatus("bond0");
      expect(status.lacp).toMatchObject({ negotiated: false, fallback: true });
      expect(status.members.filter((m) => m.enabled)).toHaveLength(1);
      const active = status.activeMember!;
      expect(await waitFor("the guest to answer through the bond", 30_000, async () => ((await ping(lab, hosts[0]!, GUEST_IP(0), 2)) ? true : undefined))).toBe(true);
      const activePort = active === "u1" ? "s1" : "s2";
      expect(await switchPortOf(sw, guestMacs[0]!)).toBe(activePort);

      const cut = await pingAcross(lab, hosts[0]!, GUEST_IP(0), 500, 1500, () => run(["ip", "-n", sw, "link", "set", activePort, "down"]).then(() => undefined));
      console.log(`lacp fallback (active-backup) failover (carrier): 10 ms ping outage ${cut.gapMs} ms, ${cut.lost} of ${cut.sent} lost`);
      expect(cut.replies).toBeGreaterThan(300);
      const after = bridge.bondStatus("bond0");
      expect(after.activeMember).not.toBe(active);
      expect(after.lastFailover).toMatchObject({ from: active, reason: "carrier" });
      expect(after.lacp).toMatchObject({ negotiated: false, fallback: true });
      expect(await switchPortOf(sw, guestMacs[0]!)).toBe(activePort === "s1" ? "s2" : "s1");
      expect(await ping(lab, guests[0]!, HOST_IP(0), 2)).toBe(true);
    } finally {
      t?.stop();
    }
  }, 120_000);
});
