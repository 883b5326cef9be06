/**
 * The ARP monitor against a kernel bridge as the physical switch, as root
 * (switch-lab.ts): a failure carrier cannot see. The active member's link
 * is blackholed both ways — a `pfifo limit 0` qdisc on u1 and on the
 * switch's s1 drops every frame sent into it — while both ends keep their
 * carrier. The bond probes the host behind the switch through every member
 * (arp-interval=100): u1 hears no reply, leaves the bond ("arp timeout")
 * and u2 takes over; the switch's FDB moves the guest to s2; a 10 ms ping
 * goes on (the outage is logged). Repaired, u1 hears the host again and,
 * as the primary, takes the traffic back.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { BondFailoverEvent } from "../../src/bridge-events.js";
import { Lab, run } from "../../src/testing/lab.js";
import { ping, waitFor } from "../stp/triangle.js";
import { buildSwitchLab, GUEST_IP, HOST_IP, pingAcross, switchPortOf, type SwitchLab } from "./switch-lab.js";

const labs: Lab[] = [];
afterAll(async () => {
  for (const lab of labs) await lab.destroy();
});

/** Drop every frame sent into the link u1–s1 at both ends; carrier stays up. */
async function blackhole(t: SwitchLab, on: boolean): Promise<void> {
  for (const [ns, dev] of [[t.tb, "u1"], [t.sw, "s1"]] as const) {
    await run(on ? ["tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "pfifo", "limit", "0"] : ["tc", "-n", ns, "qdisc", "del", "dev", dev, "root"]);
  }
}

describe("ARP monitor of an active-backup bond to a kernel bridge", () => {
  it("sees a member that carries nothing though its carrier is up, fails over, and takes it back once it answers", async () => {
    const lab = new Lab("tbar");
    labs.push(lab);
    let t: SwitchLab | undefined;
    try {
      t = await buildSwitchLab(lab, { guests: 1, hosts: 1, bond: { mode: "active-backup", primary: "u1", arpTargets: [HOST_IP(0)], arpInterval: 100 } });
      const { bridge, sw, hosts, guests, guestMacs } = t;
      const failovers: BondFailoverEvent[] = [];
      bridge.on("bond-failover", (e) => failovers.push(e));
      expect(await waitFor("the guest to answer through the bond", 30_000, async () => ((await ping(lab, hosts[0]!, GUEST_IP(0), 2)) ? true : undefined))).toBe(true);
      await waitFor("both members to hear the host", 30_000, async () => (bridge.bondStatus("bond0").members.every((m) => m.arpOk === true && m.state === "up") ? true : undefined));
      await waitFor("the primary to be active", 30_000, async () => (bridge.bondStatus("bond0").activeMember === "u1" ? true : undefined));
      failovers.length = 0;

      const cut = await pingAcross(lab, hosts[0]!, GUEST_IP(0), 500, 1500, () => blackhole(t!, true));
      console.log(`active-backup failover (ARP monitor, arp-interval 100 ms, silent failure): 10 ms ping outage ${cut.gapMs} ms, ${cut.lost} of ${cut.sent} lost`);
      expect(cut.replies).toBeGreaterThan(250);
      expect(failovers[0]).toMatchObject({ port: "bond0", mode: "active-backup", from: "u1", to: "u2", reason: "arp timeout" });
      const status = bridge.bondStatus("bond0");
      expect(status.activeMember).toBe("u2");
      expect(status.members.find((m) => m.name === "u1")).toMatchObject({ state: "down", carrier: true, arpOk: false, enabled: false, reason: "arp timeout" });
      expect(await switchPortOf(sw, guestMacs[0]!)).toBe("s2");

      // Repaired: u1 hears the host again and, being the primary, carries the traffic again.
      await blackhole(t, false);
      await waitFor("the primary to take over again", 30_000, async () => (bridge.bondStatus("bond0").activeMember === "u1" ? true : undefined));
      expect(failovers.at(-1)).toMatchObject({ from: "u2", to: "u1", reason: "primary returned" });
      expect(bridge.bondStatus("bond0").members.find((m) => m.name === "u1")).toMatchObject({ state: "up", arpOk: true, enabled: true });
      expect(await waitFor("the guest to reach the host", 30_000, async () => ((await ping(lab, guests[0]!, HOST_IP(0), 2)) ? true : undefined))).toBe(true);
      expect(await switchPortOf(sw, guestMacs[0]!)).toBe("s1");
    } finally {
      t?.stop();
    }
  }, 120_000);
});
