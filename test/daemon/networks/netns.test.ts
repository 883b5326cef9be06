/**
 * A host port in another namespace than the daemon's (`host-port: { netns:
 * H }`): the network serves H's stack — its address, dnsmasq, nftables
 * table and ip_forward are all in H — and the daemon's own namespace D is
 * left untouched. This is how a test harness runs a network without giving
 * the daemon a namespace of its own.
 *
 *   D: the daemon          H: host port natbr (10.84.0.1/24), dnsmasq, nft, uplink ═ up
 *   g1: t1 ═ tapbridge natbr
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../../src/testing/lab.js";
import { DaemonProcess, tempDir } from "../helpers.js";
import { FAR, capture, dhcp, pings, snapshot, tearDown, type HostSnapshot, udhcpcScript, uplinkWorld } from "./helpers.js";

const lab = new Lab("nms");
let d = "";
let h = "";
let up = "";
let g1 = "";
let daemon: DaemonProcess;
let script = "";
let beforeD: HostSnapshot;
let beforeH: HostSnapshot;
const uplink = lab.ifname("u");

beforeAll(async () => {
  d = await lab.netns("d");
  h = await lab.netns("h");
  up = await uplinkWorld(lab, h, uplink, lab.ifname("f"));
  g1 = await lab.netns("g1");
  const dir = tempDir("s");
  script = udhcpcScript(dir);
  beforeD = await snapshot(d);
  beforeH = await snapshot(h);
  const config = `bridges:
  natbr:
    host-port: { netns: ${h} }
    ports:
      - { tap: ${lab.ifname("t1")}, netns: ${g1} }
networks:
  inh:
    mode: nat
    bridge: natbr
    addresses: [10.84.0.1/24]
    uplink: ${uplink}
    dhcp: { start: 10.84.0.10, end: 10.84.0.20 }
`;
  daemon = await DaemonProcess.start({ dir, netns: d, config });
}, 60_000);

afterAll(() => tearDown(lab, daemon, h));

describe("a network whose host port lives in another namespace", () => {
  it("serves that namespace's stack: lease, masquerade, nft and ip_forward there; the daemon's namespace untouched", async () => {
    const lease = await dhcp(lab, g1, lab.ifname("t1"), script);
    expect(lease.router).toBe("10.84.0.1");
    const far = await capture(lab, up, lab.ifname("f"), ["icmp"]);
    expect(await pings(lab, g1, FAR)).toBe(true);
    expect(await far.done(/ICMP echo request/)).toContain(`IP 203.0.113.2 > ${FAR}: ICMP echo request`);
    expect((await lab.exec(h, ["sysctl", "-n", "net.ipv4.ip_forward"])).stdout.trim()).toBe("1");
    expect((await lab.exec(h, ["nft", "list", "tables"])).stdout).toContain("table inet tapbridge-inh");
    expect(await snapshot(d, [daemon.child.pid!])).toEqual(beforeD);
  }, 120_000);

  it("net-destroy restores that namespace; the daemon's is as it was", async () => {
    expect((await daemon.cli(["net-destroy", "inh"])).code).toBe(0);
    const nowH = await snapshot(h);
    // The bridge's own host port (from bridges:, not the network's) stays, without the network's address.
    expect(nowH.links).toMatch(/^natbr\s/m);
    expect(nowH.addresses).toMatch(/^natbr\s+UNKNOWN\s*$/m);
    const strip = (s: HostSnapshot) =>
      Object.fromEntries(Object.entries(s).map(([k, v]: [string, string]) => [k, v.split("\n").filter((l: string) => !/\bnatbr\b/.test(l)).join("\n").trim()]));
    expect(strip(nowH)).toEqual(strip(beforeH));
    expect(await snapshot(d, [daemon.child.pid!])).toEqual(beforeD);
  }, 60_000);
});
