/**
 * balance-slb against a kernel bridge as the physical switch, as root
 * (switch-lab.ts): four guests whose MACs hash to buckets of both members
 * spread their traffic over both (per-member tx counters), the switch
 * learns each guest on the member it uses, no guest sees a frame twice or
 * its own frame come back (tcpdump at every guest, while a host and a
 * guest send broadcasts: the second member's copy is dropped as
 * bond_multicast_ignored, the switch's reflection as bond_reflection), and
 * when a member's far end goes down its stations fail over to the other
 * member, with the switch's FDB moved at once.
 */
import { afterAll, describe, expect, it } from "vitest";
import { slbBucket } from "../../src/bond/hash.js";
import { parseMac } from "../../src/core/frame.js";
import { Lab, run } from "../../src/testing/lab.js";
import { ping, waitFor } from "../stp/triangle.js";
import { buildSwitchLab, echoRequestsSeen, GUEST_IP, HOST_IP, pingAcross, switchPortOf, type SwitchLab } from "./switch-lab.js";

const labs: Lab[] = [];
afterAll(async () => {
  for (const lab of labs) await lab.destroy();
});

/** Guest MACs: even buckets (the first member's at start) and odd ones, alternating. */
function guestMacs(n: number): string[] {
  const even: string[] = [];
  const odd: string[] = [];
  for (let i = 1; even.length + odd.length < 2 * n && i < 250; i++) {
    const mac = `02:55:00:00:00:${i.toString(16).padStart(2, "0")}`;
    const [hi, lo] = parseMac(mac);
    (slbBucket(hi, lo, 0) % 2 === 0 ? even : odd).push(mac);
  }
  return Array.from({ length: n }, (_, k) => (k % 2 === 0 ? even : odd)[k >> 1]!);
}

describe("balance-slb bond of two veth uplinks to a kernel bridge", () => {
  it("spreads guests over both members, never duplicates or loops a frame, and fails over", async () => {
    const lab = new Lab("tbsl");
    labs.push(lab);
    let t: SwitchLab | undefined;
    try {
      t = await buildSwitchLab(lab, { guests: 4, hosts: 1, guestMacs: guestMacs(4), bond: { mode: "balance-slb" } });
      const { bridge, sw, guests, hosts, guestMacs: macs } = t;
      await waitFor("both members to carry traffic", 30_000, async () => (bridge.bondStatus("bond0").members.every((m) => m.enabled) ? true : undefined));
      for (const g of guests) expect(await waitFor(`guest ${g} to reach the host`, 30_000, async () => ((await ping(lab, g, HOST_IP(0), 2)) ? true : undefined))).toBe(true);

      // Spread: guests 0 and 2 hash to u1's buckets, 1 and 3 to u2's; each member carries its two.
      const before = bridge.bondStatus("bond0").members.map((m) => m.txPackets);
      await Promise.all(guests.map((g) => lab.exec(g, ["ping", "-c", "30", "-i", "0.05", "-W", "2", HOST_IP(0)], { timeoutMs: 30_000 })));
      const after = bridge.bondStatus("bond0").members.map((m) => m.txPackets);
      const sent = after.map((n, k) => n - before[k]!);
      console.log(`balance-slb: tx per member during 4 × 30 pings: u1 ${sent[0]}, u2 ${sent[1]}`);
      expect(sent[0]).toBeGreaterThanOrEqual(60);
      expect(sent[1]).toBeGreaterThanOrEqual(60);
      expect(await switchPortOf(sw, macs[0]!)).toBe("s1");
      expect(await switchPortOf(sw, macs[1]!)).toBe("s2");
      expect(await switchPortOf(sw, macs[2]!)).toBe("s1");
      expect(await switchPortOf(sw, macs[3]!)).toBe("s2");
      const status = bridge.bondStatus("bond0");
      expect(status.activeMember).toBe("u1"); // takes broadcast and multicast
      expect(status.members.flatMap((m) => m.buckets).length).toBeGreaterThanOrEqual(4);

      // Broadcasts from the host (flooded by the switch to both members) and from guest 1 (sent on u2,
      // flooded back by the switch to u1): every guest sees each exactly once, and none its own.
      const N = 20;
      const drops = () => Object.fromEntries(bridge.bondStatus("bond0").members.map((m) => [m.name, { ...m.drops }]));
      const dropsBefore = drops();
      const seen = await echoRequestsSeen(lab, guests, async () => {
        await lab.exec(hosts[0]!, ["ping", "-b", "-c", String(N), "-i", "0.05", "-W", "1", "10.55.0.255"], { allowFail: true, timeoutMs: 30_000 });
        await lab.exec(guests[1]!, ["ping", "-b", "-c", String(N), "-i", "0.05", "-W", "1", "10.55.0.255"], { allowFail: true, timeoutMs: 30_000 });
      });
      const hostMac = JSON.parse((await run(["ip", "-n", hosts[0]!, "-j", "link", "show", "eth0"])).stdout)[0].address as string;
      seen.forEach((counts, k) => {
        console.log(`balance-slb: guest ${k} saw echo requests ${JSON.stringify(Object.fromEntries(counts))}`);
        expect(counts.get(hostMac), `guest ${k}: the host's broadcasts`).toBe(N);
        expect(counts.get(macs[1]!) ?? 0, `guest ${k}: guest 1's broadcasts`).toBe(k === 1 ? 0 : N);
      });
      const dropsAfter = drops();
      const grew = (member: string, reason: string) => (dropsAfter[member]![reason] ?? 0) - (dropsBefore[member]![reason] ?? 0);
      expect(grew("u2", "bond_multicast_ignored")).toBeGreaterThanOrEqual(N);
      expect(grew("u1", "bond_reflection")).toBeGreaterThanOrEqual(N);

      // Failover: u1's far end goes down while the host pings guest 0 (on u1) every 10 ms.
      const cut = await pingAcross(lab, hosts[0]!, GUEST_IP(0), 500, 1500, () => run(["ip", "-n", sw, "link", "set", "s1", "down"]).then(() => undefined));
      console.log(`balance-slb failover (carrier): 10 ms ping outage ${cut.gapMs} ms (target < 500 ms), ${cut.lost} of ${cut.sent} lost`);
      expect(cut.replies).toBeGreaterThan(300);
      const down = bridge.bondStatus("bond0");
      expect(down.activeMember).toBe("u2");
      expect(down.lastFailover).toMatchObject({ from: "u1", to: "u2", reason: "carrier" });
      expect(down.members[0]).toMatchObject({ name: "u1", enabled: false, buckets: [], idleBuckets: 0 });
      expect(await switchPortOf(sw, macs[0]!)).toBe("s2");
      expect(await switchPortOf(sw, macs[2]!)).toBe("s2");
      for (const g of guests) expect(await ping(lab, g, HOST_IP(0), 2)).toBe(true);
    } finally {
      t?.stop();
    }
  }, 180_000);
});
