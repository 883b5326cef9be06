/**
 * examples/networks/routed.yaml as shipped (Xen network-route): the
 * guests' subnet 10.0.0.0/24 behind the host port xenbr1, routed — not
 * translated — to the uplink eth0, with proxy ARP on eth0:
 *
 *   g1: eth0 ═ vif1.0 ─ tapbridge xenbr1 ═ host port 10.0.0.1/24 ─ host ─ eth0 203.0.113.2 ═ up 203.0.113.1
 *
 * The far side treats 10.0.0.0/24 as on-link (no route through the host):
 * it finds the guest only because the host answers ARP for it (proxy
 * ARP), and sees the guest's own address; stopping restores the host.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../../src/testing/lab.js";
import { DaemonProcess, REPO, tempDir } from "../helpers.js";
import { FAR, capture, dhcp, pings, snapshot, tearDown, type HostSnapshot, udhcpcScript, untilAttached, uplinkWorld } from "./helpers.js";

const lab = new Lab("nmt");
let host = "";
let up = "";
let g1 = "";
let daemon: DaemonProcess;
let before: HostSnapshot;
let script = "";

beforeAll(async () => {
  host = await lab.netns("host");
  up = await uplinkWorld(lab, host, "eth0", lab.ifname("f"));
  await lab.exec(up, ["ip", "route", "add", "10.0.0.0/24", "dev", lab.ifname("f")]);
  g1 = await lab.netns("g1");
  const dir = tempDir("t");
  script = udhcpcScript(dir);
  before = await snapshot(host);
  daemon = await DaemonProcess.start({ dir, netns: host, configFile: join(REPO, "examples", "networks", "routed.yaml") });
  await lab.veth({ ns: host, name: "vif1.0" }, { ns: g1, name: "eth0" });
  await untilAttached(daemon, "xenbr1", "vif1.0");
}, 60_000);

afterAll(() => tearDown(lab, daemon, host));

describe("routed network (examples/networks/routed.yaml)", () => {
  it("the far side reaches the guest by its own address through the host (proxy ARP), and sees the guest's address", async () => {
    const lease = await dhcp(lab, g1, "eth0", script);
    expect(lease.router).toBe("10.0.0.1");
    expect((await lab.exec(host, ["sysctl", "-n", "net.ipv4.conf.eth0.proxy_arp", "net.ipv4.ip_forward"])).stdout.split("\n").slice(0, 2)).toEqual(["1", "1"]);
    const seen = await capture(lab, g1, "eth0", ["icmp"]);
    expect(await pings(lab, up, lease.ip)).toBe(true);
    expect(await seen.done(/ICMP echo request/)).toContain(`IP 203.0.113.1 > ${lease.ip}: ICMP echo request`);
    const far = await capture(lab, up, lab.ifname("f"), ["icmp"]);
    expect(await pings(lab, g1, FAR)).toBe(true);
    expect(await far.done(/ICMP echo request/)).toContain(`IP ${lease.ip} > ${FAR}: ICMP echo request`);
    // The far side learned the guest's address at the host's uplink MAC: proxy ARP answered.
    const hostMac = (await lab.exec(host, ["cat", "/sys/class/net/eth0/address"])).stdout.trim();
    expect((await lab.exec(up, ["ip", "neigh", "show", lease.ip])).stdout).toContain(hostMac);
  }, 120_000);

  it("after kill -9 (ip_forward and proxy_arp left on), the next daemon restores them and starts afresh", async () => {
    await daemon.stop("SIGKILL");
    const left = await snapshot(host);
    expect(left.sysctls).toContain("net.ipv4.conf.eth0.proxy_arp = 1");
    await daemon.launch();
    expect(daemon.stderr).toContain('"msg":"networks cleaned after a crash"');
    expect((await lab.exec(host, ["sysctl", "-n", "net.ipv4.conf.eth0.proxy_arp"])).stdout.trim()).toBe("1");
    await untilAttached(daemon, "xenbr1", "vif1.0");
    const lease = await dhcp(lab, g1, "eth0", script);
    expect(await pings(lab, up, lease.ip)).toBe(true);
  }, 120_000);

  it("stopping the daemon leaves the host namespace as it was", async () => {
    await daemon.stop("SIGTERM");
    await lab.exec(host, ["ip", "link", "del", "vif1.0"]);
    expect(await snapshot(host)).toEqual(before);
  }, 60_000);
});
