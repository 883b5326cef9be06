/**
 * active-backup against a kernel bridge as the physical switch, as root
 * (switch-lab.ts): a host behind the switch pings a guest behind tapbridge
 * every 10 ms while the active member's far end is set down — the bond
 * fails over on the carrier change, the switch's FDB (`bridge fdb show`)
 * moves the guest to the other member at once (gratuitous RARP), and the
 * outage is logged (target < 500 ms). Then the primary's far end comes
 * back: after the updelay (which covers the switch port's own way up: Linux
 * enables a bridge port only once its link-watch work has run, up to a
 * second later) the primary takes over again, the FDB moves back, and no
 * ping is lost.
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

describe("active-backup bond of two veth uplinks to a kernel bridge", () => {
  it("fails over on carrier loss, moves the switch's FDB, and gives the traffic back to the primary without loss", async () => {
    const lab = new Lab("tbab");
    labs.push(lab);
    let t: SwitchLab | undefined;
    try {
      t = await buildSwitchLab(lab, { guests: 1, hosts: 1, bond: { mode: "active-backup", primary: "u1", updelay: 3000 } });
      const { bridge, sw, guests, hosts, guestMacs } = t;
      const failovers: BondFailoverEvent[] = [];
      bridge.on("bond-failover", (e) => failovers.push(e));
      expect(await waitFor("the guest to answer through the bond", 30_000, async () => ((await ping(lab, hosts[0]!, GUEST_IP(0), 2)) ? true : undefined))).toBe(true);
      // Both members through their updelay (which may end apart: the one that ends first carries the traffic meanwhile).
      await waitFor("both members up and the primary active", 30_000, async () => {
        const s = bridge.bondStatus("bond0");
        return s.activeMember === "u1" && s.members.every((m) => m.state === "up") ? true : undefined;
      });
      failovers.length = 0;
      expect(bridge.bondStatus("bond0")).toMatchObject({ mode: "active-backup", up: true, activeMember: "u1" });
      expect(await switchPortOf(sw, guestMacs[0]!)).toBe("s1");

      // The active member's far end goes down: carrier loss on u1.
      const cut = await pingAcross(lab, hosts[0]!, GUEST_IP(0), 500, 1500, () => run(["ip", "-n", sw, "link", "set", "s1", "down"]).then(() => undefined));
      console.log(`active-backup failover (carrier): 10 ms ping outage ${cut.gapMs} ms (target < 500 ms), ${cut.lost} of ${cut.sent} lost`);
      expect(cut.replies).toBeGreaterThan(300);
      expect(failovers[0]).toMatchObject({ port: "bond0", mode: "active-backup", from: "u1", to: "u2", reason: "carrier" });
      const status = bridge.bondStatus("bond0");
      expect(status.activeMember).toBe("u2");
      expect(status.members.find((m) => m.name === "u1")).toMatchObject({ state: "down", enabled: false, carrier: false });
      expect(await switchPortOf(sw, guestMacs[0]!)).toBe("s2");

      // The primary returns and takes over again; the switch learns it back; nothing is lost.
      const back = await pingAcross(lab, hosts[0]!, GUEST_IP(0), 700, 1500, () => run(["ip", "-n", sw, "link", "set", "s1", "up"]).then(() => undefined));
      console.log(`active-backup primary return: 10 ms ping, longest gap ${back.gapMs} ms, ${back.lost} of ${back.sent} lost`);
      expect(failovers[1]).toMatchObject({ from: "u2", to: "u1", reason: "primary returned" });
      expect(bridge.bondStatus("bond0").activeMember).toBe("u1");
      expect(back.lost, `pings lost while the primary took over again:\n${back.output.slice(-800)}`).toBe(0);
      expect(await switchPortOf(sw, guestMacs[0]!)).toBe("s1");

      // Counters per member: both carried traffic; the backup's copies of broadcasts were dropped as inactive.
      const members = bridge.bondStatus("bond0").members;
      for (const m of members) expect(m.txPackets).toBeGreaterThan(100);
      expect(bridge.portStats("bond0").txPackets).toBe(members[0]!.txPackets + members[1]!.txPackets);
      expect(await ping(lab, guests[0]!, HOST_IP(0), 2)).toBe(true);
    } finally {
      t?.stop();
    }
  }, 120_000);
});
