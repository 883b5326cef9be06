/**
 * examples/networks/xen-bridged.yaml as shipped (Xen network-bridge): the
 * host's eth0 becomes xenbr0's uplink, and its addresses and routes move
 * to the host port xenbr0 (which takes eth0's MAC) while the network runs:
 *
 *   host: 203.0.113.2/24 .3/24, 2001:db8:1::2/64, default via .1 and via 2001:db8:1::1
 *         ─ xenbr0 ═ tapbridge ═ eth0 ═ up: 203.0.113.1, 198.51.100.1, 2001:db8:1::1
 *   g1: eth0 203.0.113.10 ═ vif1.0 ─┘
 *
 * The host keeps its connectivity through the host port, a guest is on
 * the LAN beside it, and stopping gives eth0 its addresses and routes back
 * exactly.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../../src/testing/lab.js";
import { DaemonProcess, REPO, tempDir, until } from "../helpers.js";
import { FAR, pings, snapshot, tearDown, type HostSnapshot, untilAttached, uplinkWorld } from "./helpers.js";

const lab = new Lab("nmb");
let host = "";
let g1 = "";
let daemon: DaemonProcess;
let before: HostSnapshot;

beforeAll(async () => {
  host = await lab.netns("host", { ipv6: true });
  const up = await uplinkWorld(lab, host, "eth0", lab.ifname("f"));
  await lab.exec(host, ["ip", "addr", "add", "203.0.113.3/24", "dev", "eth0"]);
  await lab.exec(up, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0"]);
  await lab.exec(up, ["ip", "addr", "add", "2001:db8:1::1/64", "dev", lab.ifname("f"), "nodad"]);
  await lab.exec(host, ["ip", "addr", "add", "2001:db8:1::2/64", "dev", "eth0", "nodad"]);
  await lab.exec(host, ["ip", "-6", "route", "add", "2001:db8:99::/48", "via", "2001:db8:1::1"]);
  await lab.exec(up, ["ip", "addr", "add", "2001:db8:99::1/128", "dev", "lo"]);
  g1 = await lab.netns("g1");
  // eth0's link-local address finishes DAD (its local route appears) before the host is photographed.
  await until(async () => (await lab.exec(host, ["ip", "-6", "route", "show", "table", "local", "dev", "eth0"])).stdout.includes("local fe80::"), "eth0's link-local address");
  before = await snapshot(host);
  expect(await pings(lab, host, FAR)).toBe(true);
  daemon = await DaemonProcess.start({ dir: tempDir("b"), netns: host, configFile: join(REPO, "examples", "networks", "xen-bridged.yaml") });
  await lab.veth({ ns: host, name: "vif1.0" }, { ns: g1, name: "eth0", address: "203.0.113.10/24" });
  await untilAttached(daemon, "xenbr0", "vif1.0");
}, 60_000);

afterAll(() => tearDown(lab, daemon, host));

describe("bridged network (examples/networks/xen-bridged.yaml)", () => {
  it("the host's addresses and routes are on the host port, with eth0's MAC, and the host and a guest reach the LAN through it", async () => {
    const addrs = (await lab.exec(host, ["ip", "-br", "addr"])).stdout;
    expect(addrs).toMatch(/^xenbr0\s+\S+\s+203\.0\.113\.2\/24 203\.0\.113\.3\/24 2001:db8:1::2\/64 fe80::/m);
    // eth0 keeps only its link-local address (it stays with the device).
    expect(addrs).toMatch(/^eth0@\S+\s+UP\s+fe80::\S+\s*$/m);
    expect((await lab.exec(host, ["ip", "-6", "route", "show", "2001:db8:99::/48"])).stdout).toContain("via 2001:db8:1::1 dev xenbr0");
    expect(await pings(lab, host, "2001:db8:99::1")).toBe(true);
    expect((await lab.exec(host, ["ip", "route", "show", "default"])).stdout).toContain("default via 203.0.113.1 dev xenbr0");
    const mac = (path: string) => lab.exec(host, ["cat", path]).then((r) => r.stdout.trim());
    expect(await mac("/sys/class/net/xenbr0/address")).toBe(await mac("/sys/class/net/eth0/address"));
    expect(await pings(lab, host, FAR)).toBe(true);
    expect(await pings(lab, host, "203.0.113.10")).toBe(true);
    expect(await pings(lab, g1, "203.0.113.1")).toBe(true);
    expect((await daemon.cli(["net-info", "xenbr0"])).stdout).toMatch(/^Changed:\s+address 203\.0\.113\.2\/24 moved from eth0 to xenbr0$/m);
  }, 120_000);

  it("after kill -9 (the host port and its addresses die with the process), the next daemon puts the addresses back and moves them again", async () => {
    await daemon.stop("SIGKILL");
    expect((await lab.exec(host, ["ip", "-br", "addr", "show", "eth0"])).stdout).not.toContain("203.0.113.2");
    await daemon.launch();
    expect(daemon.stderr).toContain('"msg":"networks cleaned after a crash"');
    expect((await lab.exec(host, ["ip", "-br", "addr"])).stdout).toMatch(/^xenbr0\s+\S+\s+203\.0\.113\.2\/24 203\.0\.113\.3\/24/m);
    await untilAttached(daemon, "xenbr0", "vif1.0");
    expect(await pings(lab, host, FAR)).toBe(true);
    expect(await pings(lab, g1, "203.0.113.2")).toBe(true);
  }, 120_000);

  it("stopping gives eth0 back its addresses and routes: the host namespace is as it was", async () => {
    await daemon.stop("SIGTERM");
    await lab.exec(host, ["ip", "link", "del", "vif1.0"]);
    expect(await snapshot(host)).toEqual(before);
    expect(await pings(lab, host, FAR)).toBe(true);
    expect(await pings(lab, host, "2001:db8:99::1")).toBe(true);
  }, 60_000);
});
