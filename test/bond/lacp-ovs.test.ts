/**
 * LACP against Open vSwitch's userspace bond, as root: the switch of
 * switch-lab.ts is an OVS bridge (datapath_type=netdev, private daemons in
 * a private directory, as bench/contenders.ts starts them) with a bond of
 * s1 and s2 (bond_mode=balance-tcp, lacp=active, lacp-time=fast), and
 * tapbridge bonds u1 and u2 with mode=lacp. Both sides report the
 * aggregation up with both members (`ovs-appctl lacp/show` and bond show:
 * current, attached/collecting-distributing), the host and the guests
 * reach each other, and with a member cut traffic goes on over the other.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Lab, run } from "../../src/testing/lab.js";
import { ping, startOvs, waitFor, type OvsSwitch } from "../stp/triangle.js";
import { buildSwitchLab, GUEST_IP, HOST_IP, pingAcross, type SwitchLab } from "./switch-lab.js";

const labs: Lab[] = [];
afterAll(async () => {
  for (const lab of labs) await lab.destroy();
});

/** `ovs-appctl lacp/show`: the bond's status line and each member's "current attached" line. */
function parseLacpShow(text: string): { negotiated: boolean; members: Record<string, string> } {
  const members: Record<string, string> = {};
  for (const m of text.matchAll(/^(?:slave|member):? (\S+): (\S+ \S+)/gm)) members[m[1]!] = m[2]!;
  return { negotiated: /status: active negotiated/.test(text), members };
}

describe("LACP bond against Open vSwitch (balance-tcp, lacp=active)", () => {
  it("aggregates both members on both sides and carries traffic over the other member when one is cut", async () => {
    const lab = new Lab("tblc");
    labs.push(lab);
    let t: SwitchLab | undefined;
    let ovs: OvsSwitch | undefined;
    try {
      t = await buildSwitchLab(lab, {
        guests: 2,
        hosts: 1,
        bond: { mode: "lacp", lacpRate: "fast" },
        makeSwitch: async (l, sw, uplinks, hostPorts) => {
          ovs = await startOvs(l, sw, "lacp");
          await ovs.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev");
          await ovs.vsctl("add-bond", "br0", "bond0", ...uplinks, "bond_mode=balance-tcp", "lacp=active", "other_config:lacp-time=fast");
          for (const p of hostPorts) await ovs.vsctl("add-port", "br0", p);
        },
      });
      const { bridge, guests, hosts, sw } = t;
      let last = "";
      await waitFor("both sides to aggregate both members", 90_000, async () => {
        const text = await ovs!.appctl("lacp/show", "bond0");
        const theirs = parseLacpShow(text);
        const ours = bridge.bondStatus("bond0");
        last = `${text}\n${JSON.stringify(ours.members.map((m) => ({ name: m.name, enabled: m.enabled, lacp: m.lacp && { rx: m.lacp.rx, mux: m.lacp.mux, partner: m.lacp.partner.stateWords } })))}`;
        const done = theirs.negotiated && theirs.members.s1 === "current attached" && theirs.members.s2 === "current attached" &&
          ours.lacp?.negotiated === true && ours.members.every((m) => m.enabled && m.lacp?.mux === "collecting-distributing");
        return done ? true : undefined;
      }).catch((error: Error) => {
        throw new Error(`${error.message}\n${last}`);
      });
      const show = await ovs!.appctl("lacp/show", "bond0");
      expect(show).toMatch(/may_enable: true[\s\S]*may_enable: true/);
      const ours = bridge.bondStatus("bond0");
      for (const m of ours.members) {
        expect(m.lacp!.partner.stateWords).toEqual(expect.arrayContaining(["activity", "aggregation", "synchronized", "collecting", "distributing"]));
        expect(m.lacp!.actor.stateWords).toEqual(expect.arrayContaining(["activity", "timeout", "aggregation", "synchronized", "collecting", "distributing"]));
      }
      for (const g of guests) expect(await waitFor(`guest ${g} to reach the host`, 30_000, async () => ((await ping(lab, g, HOST_IP(0), 2)) ? true : undefined))).toBe(true);

      // Cut a member; traffic goes on over the other.
      const cut = await pingAcross(lab, hosts[0]!, GUEST_IP(0), 500, 1500, () => run(["ip", "-n", sw, "link", "set", "s1", "down"]).then(() => undefined));
      console.log(`lacp with Open vSwitch: 10 ms ping outage across a cut member ${cut.gapMs} ms, ${cut.lost} of ${cut.sent} lost`);
      expect(cut.replies).toBeGreaterThan(300);
      const after = bridge.bondStatus("bond0");
      expect(after.members.find((m) => m.name === "u1")).toMatchObject({ enabled: false });
      expect(after.members.find((m) => m.name === "u2")).toMatchObject({ enabled: true });
      for (const g of guests) expect(await ping(lab, g, HOST_IP(0), 2)).toBe(true);
    } finally {
      t?.stop();
      await ovs?.stop();
    }
  }, 240_000);
});
