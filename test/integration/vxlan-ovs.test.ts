/**
 * VXLAN interop with Open vSwitch's userspace datapath, as root, for real:
 * host A runs a Bridge with a VXLAN port (VNI 42) and a TAP guest; host C
 * runs private ovsdb-server/ovs-vswitchd daemons with userspace tunnelling
 * (br-phy holds the underlay address and the underlay veth; br-int holds a
 * `type=vxlan options:remote_ip=… options:key=42` port and a veth guest).
 * Guests ping and run iperf3 TCP both ways; tapbridge learns C's guest with
 * C's underlay address; OVS's tunnel port counts what crossed it. (Outer
 * UDP checksums are zero, udp-csum=off, as RFC 7348 allows: on a veth the
 * kernel leaves the checksum to offload, and OVS reads it unfinished.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { TapPort } from "../../src/io/native-port.js";
import { VxlanPort } from "../../src/ports/vxlan-port.js";
import { Lab } from "../../src/testing/lab.js";
import { startOvs, type OvsSwitch } from "../stp/triangle.js";

const lab = new Lab("tbo");
const bridges: Bridge[] = [];
let ovs: OvsSwitch | undefined;
let hostA = "";
let hostC = "";
let guestA = "";
let guestC = "";
const UNDER_A = "10.93.0.1";
const UNDER_C = "10.93.0.3";
const GUEST_A = "10.92.0.1";
const GUEST_C = "10.92.0.3";
const GUEST_C_MAC = "02:00:00:92:00:03";

beforeAll(async () => {
  hostA = await lab.netns("ha");
  hostC = await lab.netns("hc");
  guestA = await lab.netns("ga");
  guestC = await lab.netns("gc");
  const underC = lab.ifname("uc");
  await lab.veth({ ns: hostA, name: lab.ifname("ua"), address: `${UNDER_A}/24` }, { ns: hostC, name: underC });
  await lab.veth({ ns: hostC, name: lab.ifname("pc") }, { ns: guestC, name: lab.ifname("gc"), address: `${GUEST_C}/24`, mtu: 1450 });
  await lab.exec(guestC, ["ip", "link", "set", lab.ifname("gc"), "address", GUEST_C_MAC]);
  // OVS's userspace datapath reads its veth ports with AF_PACKET and no virtio-net header: a TCP
  // super-frame from the guest would reach it whole and be lost. One segment per skb, as with TSO off.
  await lab.exec(guestC, ["ip", "link", "set", lab.ifname("gc"), "gso_max_segs", "1"]);
  ovs = await startOvs(lab, hostC, "vx");
  await ovs.vsctl("add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev");
  await ovs.vsctl("add-port", "br-phy", underC);
  await lab.exec(hostC, ["ip", "addr", "add", `${UNDER_C}/24`, "dev", "br-phy"]);
  await lab.exec(hostC, ["ip", "link", "set", "br-phy", "up"]);
  await ovs.vsctl("add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev");
  await ovs.vsctl("add-port", "br-int", "vx42", "--", "set", "interface", "vx42", "type=vxlan", `options:remote_ip=${UNDER_A}`, "options:key=42");
  await ovs.vsctl("add-port", "br-int", lab.ifname("pc"));
  // The tunnel's route and next hop, as OVS's userspace tunnelling keeps them (it may also learn them by itself).
  await ovs.appctl("ovs/route/add", `${UNDER_A}/32`, "br-phy").catch(() => undefined);
  const macA = (await lab.exec(hostA, ["cat", `/sys/class/net/${lab.ifname("ua")}/address`])).stdout.trim();
  await ovs.appctl("tnl/arp/set", "br-phy", UNDER_A, macA);
});

afterAll(async () => {
  for (const b of bridges) b.close();
  await ovs?.stop();
  await lab.destroy();
});

async function iperf(reverse: boolean): Promise<number> {
  const server = await lab.iperfServer(guestC, GUEST_C);
  try {
    const r = await lab.exec(guestA, ["iperf3", "-c", GUEST_C, "-t", "2", "-J", ...(reverse ? ["-R"] : [])], { allowFail: true, timeoutMs: 30_000 });
    const report = JSON.parse(r.stdout || "{}") as { end?: { sum_received?: { bytes: number } }; error?: string };
    if (!report.end?.sum_received) throw new Error(`iperf3 failed: ${report.error ?? r.stderr}`);
    return report.end.sum_received.bytes;
  } finally {
    await stopServer(server);
  }
}

describe("a VXLAN port and Open vSwitch's userspace VXLAN port", () => {
  it("carries ping and iperf3 TCP both ways; tapbridge learns C's guest with C's VTEP", async () => {
    const bridge = new Bridge({ name: "vxo" });
    bridges.push(bridge);
    const vx = bridge.addPort(new VxlanPort({ name: "vx42", vni: 42, local: UNDER_A, remotes: [UNDER_C], netns: hostA, udpCsum: false }));
    const tap = lab.ifname("ta");
    bridge.addPort(new TapPort({ name: tap, netns: guestA, mtu: 1450 }));
    await lab.address(guestA, tap, `${GUEST_A}/24`);

    const ping = await lab.exec(guestA, ["ping", "-c", "5", "-i", "0.3", "-W", "2", GUEST_C], { allowFail: true });
    expect(ping.stdout, `${ping.stdout}\n${await ovs!.appctl("dpctl/dump-flows").catch((e: Error) => e.message)}`).toMatch(/ [1-9]\d* received/);
    expect(bridge.fdbEntries().find((e) => e.mac === GUEST_C_MAC)).toMatchObject({ port: `vx42@${hostA}`, dst: UNDER_C });
    expect(await iperf(false)).toBeGreaterThan(1_000_000);
    expect(await iperf(true)).toBeGreaterThan(1_000_000);
    const stats = await ovs!.vsctl("get", "interface", "vx42", "statistics");
    expect(stats).toMatch(/rx_packets=[1-9]/);
    expect(Object.keys(bridge.portStats(vx).drops).filter((r) => r.startsWith("vxlan"))).toEqual([]);
  });
});

/** Stop an iperf3 server and wait until it is gone, so the next one's listening socket is its own (a one-shot server still closing made a client see "connection refused"). */
async function stopServer(server: import("node:child_process").ChildProcess): Promise<void> {
  if (server.exitCode === null && server.signalCode === null) {
    const gone = new Promise((r) => server.once("exit", r));
    server.kill();
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  }
}
