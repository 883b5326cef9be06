/**
 * 802.1w against Open vSwitch's RSTP, as root: the triangle (triangle.ts)
 * with two OVS userspace bridges (datapath_type=netdev, rstp_enable=true,
 * private daemons) and tapbridge --rstp. They agree on the root and the
 * roles (`ovs-appctl rstp/show`), hosts ping, tshark decodes tapbridge's RST
 * BPDUs, and after the active link is cut connectivity returns; the outage
 * is measured with a 10 ms ping and logged (the target is under 2 s).
 */
import { afterAll, describe, expect, it } from "vitest";
import { Lab, run } from "../../src/testing/lab.js";
import { allPing, buildTriangle, IP, longestGapMs, MAC, startOvs, TIMERS, waitFor, type OvsSwitch, type Triangle } from "./triangle.js";

const labs: Lab[] = [];
afterAll(async () => {
  for (const lab of labs) await lab.destroy();
});

interface RstpRow {
  role: string;
  state: string;
}

/** Port roles and states from `ovs-appctl rstp/show`, and whether the bridge says it is root. */
function parseRstpShow(text: string): { ports: Record<string, RstpRow>; root: string | undefined; isRoot: boolean } {
  const ports: Record<string, RstpRow> = {};
  for (const m of text.matchAll(/^\s*(\S+)\s+(Root|Designated|Alternate|Backup|Disabled)\s+(Forwarding|Discarding|Learning|Disabled)\b/gim)) {
    ports[m[1]!] = { role: m[2]!.toLowerCase(), state: m[3]!.toLowerCase() };
  }
  const rootBlock = text.split(/Bridge ID:/)[0] ?? "";
  const root = /stp-system-id\s+(\S+)/.exec(rootBlock)?.[1];
  return { ports, root, isRoot: /This bridge is the root/i.test(text) };
}

async function ovsBridge(ovs: OvsSwitch, mac: string, priority: number, ports: string[]): Promise<void> {
  await ovs.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev", "rstp_enable=true",
    `other_config:rstp-address=${mac}`, `other_config:rstp-priority=${priority}`, `other_config:rstp-hello-time=${TIMERS.helloTime}`,
    `other_config:rstp-max-age=${TIMERS.maxAge}`, `other_config:rstp-forward-delay=${TIMERS.forwardDelay}`);
  for (const p of ports) {
    await ovs.vsctl("add-port", "br0", p, "--", "set", "port", p, "other_config:rstp-enable=true", ...(p === "hp" ? ["other_config:rstp-port-admin-edge=true"] : []));
  }
}

describe("RSTP triangle with two Open vSwitch bridges", () => {
  it("agrees on root and roles with OVS, carries pings, and heals a cut link quickly", async () => {
    const lab = new Lab("tbo");
    labs.push(lab);
    const ovs: OvsSwitch[] = [];
    let t: Triangle | undefined;
    try {
      // OVS A is root (priority 4096); B and tapbridge 32768, B's address lower: tapbridge's tb is the alternate port.
      t = await buildTriangle(lab, { protocol: "rstp", priority: 32768 }, async ({ lab, ns }) => {
        ovs.push(await startOvs(lab, ns.A, "a"), await startOvs(lab, ns.B, "b"));
        await ovsBridge(ovs[0]!, MAC.A, 4096, ["ab", "at", "hp"]);
        await ovsBridge(ovs[1]!, MAC.B, 32768, ["ba", "bt", "hp"]);
        return async () => {
          for (const o of ovs) await o.stop();
        };
      });
      const tri = t;
      let last = "";
      const shows = await waitFor("OVS and tapbridge to agree on the tree", 60_000, async () => {
        const textA = await ovs[0]!.appctl("rstp/show", "br0");
        const textB = await ovs[1]!.appctl("rstp/show", "br0");
        const a = parseRstpShow(textA);
        const b = parseRstpShow(textB);
        const ta = tri.tap.stpPortStatus(tri.label("ta"));
        const tb = tri.tap.stpPortStatus(tri.label("tb"));
        last = `${textA}\n${textB}\ntapbridge ta ${ta.role}/${ta.state} tb ${tb.role}/${tb.state}`;
        const is = (row: RstpRow | undefined, role: string, state: string) => row?.role === role && row.state === state;
        const settled = a.isRoot && is(a.ports.ab, "designated", "forwarding") && is(a.ports.at, "designated", "forwarding") &&
          is(b.ports.ba, "root", "forwarding") && is(b.ports.bt, "designated", "forwarding") &&
          ta.role === "root" && ta.state === "forwarding" && tb.role === "alternate" && tb.state === "discarding";
        return settled ? { a, b } : undefined;
      }).catch((error: Error) => {
        throw new Error(`${error.message}\n${last}`);
      });
      expect(shows.b.root).toBe(MAC.A);
      expect(t.tap.stpStatus().bridge.designatedRoot).toBe(`1000.${MAC.A.replace(/:/g, "")}`);
      expect(t.tap.stpPortStatus(t.label("tb"))).toMatchObject({ role: "alternate", state: "discarding", sendingStp: false });
      expect(t.tap.stpPortStatus(t.label("hp"))).toMatchObject({ role: "designated", state: "forwarding", operEdge: true });
      expect(await allPing(t)).toBe(true);

      // tshark decodes tapbridge's RST BPDUs (on its designated host port): version 2, type 2, OVS A as root, tapbridge as bridge.
      const r = await lab.exec(t.ns.hT, ["tshark", "-i", "eth0", "-c", "2", "-a", "duration:10", "-f", "stp", "-T", "fields",
        "-e", "stp.protocol", "-e", "stp.version", "-e", "stp.type", "-e", "stp.root.prio", "-e", "stp.root.hw", "-e", "stp.bridge.hw", "-e", "stp.flags.port_role", "-e", "_ws.malformed"], { allowFail: true, timeoutMs: 20_000 });
      const rows = r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => l.split("\t"));
      expect(rows.length, r.stderr).toBe(2);
      for (const row of rows) {
        expect(row.slice(0, 7)).toEqual(["0x0000", "2", "0x02", "4096", MAC.A, MAC.T, "3"]);
        expect(row[7] ?? "").toBe("");
      }

      // Cut the link from tapbridge to the root: its alternate port becomes root port at once.
      const pinger = lab.spawn(t.ns.hT, ["ping", "-D", "-i", "0.01", "-W", "1", "-w", "8", IP.A]);
      let out = "";
      pinger.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      const done = new Promise((res) => pinger.once("exit", res));
      await new Promise((res) => setTimeout(res, 2000));
      await run(["ip", "-n", t.ns.A, "link", "set", "at", "down"]);
      await done;
      const outage = longestGapMs(out);
      console.log(`RSTP with Open vSwitch: ping (10 ms) outage after cutting tapbridge's root link: ${outage.gapMs} ms (target < 2000 ms), ${outage.replies} replies`);
      expect(outage.replies).toBeGreaterThan(100);
      expect(t.tap.stpPortStatus(t.label("tb"))).toMatchObject({ role: "root", state: "forwarding" });
      expect(await allPing(t)).toBe(true);
    } finally {
      await t?.stop();
      if (!t) for (const o of ovs) await o.stop();
    }
  }, 180_000);
});
