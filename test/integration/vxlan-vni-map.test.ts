/**
 * VLANs carried as VNIs (vni-map=59:10059,89:10089), as root, against the
 * kernel: host A runs a VLAN-aware Bridge whose VXLAN port maps VLAN 59 to
 * VNI 10059 and VLAN 89 to VNI 10089, with a TAP guest on an access port of
 * each VLAN; host B has one kernel vxlan device per VNI, each in a kernel
 * bridge of its own with a guest (this kernel refuses vlan_filtering, so
 * Linux's vlan_tunnel cannot be the peer; one device per VNI is its
 * equivalent on the wire). Each VLAN's guests reach each other; the VLANs
 * stay apart; tcpdump on the underlay sees each VLAN's traffic in its VNI.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { TapPort } from "../../src/io/native-port.js";
import { VxlanPort } from "../../src/ports/vxlan-port.js";
import { Lab } from "../../src/testing/lab.js";

const lab = new Lab("tbn");
const bridges: Bridge[] = [];
const UNDER_A = "10.88.0.1";
const UNDER_B = "10.88.0.2";
const VLANS = [
  { vid: 59, vni: 10059, a: "10.87.59.1", b: "10.87.59.2" },
  { vid: 89, vni: 10089, a: "10.87.89.1", b: "10.87.89.2" },
];
let hostA = "";
const guests: Record<string, string> = {};

beforeAll(async () => {
  hostA = await lab.netns("ha");
  const hostB = await lab.netns("hb");
  await lab.veth({ ns: hostA, name: lab.ifname("ua"), address: `${UNDER_A}/24` }, { ns: hostB, name: lab.ifname("ub"), address: `${UNDER_B}/24` });
  for (const v of VLANS) {
    guests[`a${v.vid}`] = await lab.netns(`a${v.vid}`);
    const gb = (guests[`b${v.vid}`] = await lab.netns(`b${v.vid}`));
    const br = `br${v.vid}`;
    await lab.exec(hostB, ["ip", "link", "add", br, "type", "bridge", "mcast_snooping", "0"]);
    await lab.exec(hostB, ["ip", "link", "set", br, "up"]);
    await lab.exec(hostB, ["ip", "link", "add", `vx${v.vni}`, "type", "vxlan", "id", String(v.vni), "local", UNDER_B, "remote", UNDER_A, "dstport", "4789", "learning"]);
    await lab.exec(hostB, ["ip", "link", "set", `vx${v.vni}`, "master", br, "up"]);
    await lab.veth({ ns: hostB, name: lab.ifname(`p${v.vid}`) }, { ns: gb, name: lab.ifname(`g${v.vid}`), address: `${v.b}/24`, mtu: 1450 });
    await lab.exec(hostB, ["ip", "link", "set", lab.ifname(`p${v.vid}`), "master", br]);
  }
});

afterAll(async () => {
  for (const b of bridges) b.close();
  await lab.destroy();
});

describe("vni-map: VLANs as VNIs", () => {
  it("carries VLAN 59 in VNI 10059 and VLAN 89 in VNI 10089 to the kernel's vxlan devices, and keeps them apart", async () => {
    const bridge = new Bridge({ name: "vxn" });
    bridges.push(bridge);
    bridge.addPort(new VxlanPort({ name: "vxm", local: UNDER_A, remotes: [UNDER_B], netns: hostA, vniMap: new Map(VLANS.map((v) => [v.vid, v.vni])) }));
    expect(bridge.vlans().find((p) => p.port === `vxm@${hostA}`)!.vlans.map((v) => [v.vid, v.untagged])).toEqual([[59, true], [89, true]]);
    for (const v of VLANS) {
      const tap = lab.ifname(`t${v.vid}`);
      bridge.addPort(new TapPort({ name: tap, netns: guests[`a${v.vid}`]!, mtu: 1450 }), { access: v.vid });
      await lab.address(guests[`a${v.vid}`]!, tap, `${v.a}/24`);
    }
    const capture = lab.spawn(hostA, ["tcpdump", "-i", lab.ifname("ua"), "-n", "-l", "udp", "port", "4789"]);
    let dump = "";
    capture.stdout!.on("data", (d: Buffer) => (dump += d.toString()));
    await new Promise((r) => setTimeout(r, 1000));
    for (const v of VLANS) {
      const ping = await lab.exec(guests[`a${v.vid}`]!, ["ping", "-c", "3", "-i", "0.2", "-W", "2", v.b], { allowFail: true });
      expect(ping.stdout, `VLAN ${v.vid}`).toMatch(/ 0% packet loss/);
    }
    await new Promise((r) => setTimeout(r, 500));
    capture.kill();
    expect(dump).toMatch(/vni 10059/);
    expect(dump).toMatch(/vni 10089/);
    // Each of B's guests is learned in its own VLAN only (a VNI enters its VLAN and no other), behind B's VTEP.
    const entries = bridge.fdbEntries().filter((e) => e.port === `vxm@${hostA}`);
    for (const v of VLANS) {
      const mac = (await lab.exec(guests[`b${v.vid}`]!, ["cat", `/sys/class/net/${lab.ifname(`g${v.vid}`)}/address`])).stdout.trim();
      expect(entries.filter((e) => e.mac === mac).map((e) => [e.vlan, e.dst])).toEqual([[v.vid, UNDER_B]]);
    }
  });
});
