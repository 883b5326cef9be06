/**
 * Xen's old network-bridge naming, asked for with `rename-uplink`: the NIC
 * eth0 is renamed peth0 and becomes the uplink, and the bridge takes the
 * name eth0 — its host port is the host's "eth0", with the NIC's MAC,
 * addresses and routes. Stopping renames peth0 back and returns what was
 * moved; the host is as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../../src/testing/lab.js";
import { DaemonProcess, tempDir, until } from "../helpers.js";
import { FAR, pings, snapshot, tearDown, uplinkWorld, type HostSnapshot } from "./helpers.js";

const lab = new Lab("nmm");
let host = "";
let daemon: DaemonProcess;
let before: HostSnapshot;
let nicMac = "";

beforeAll(async () => {
  host = await lab.netns("host");
  await uplinkWorld(lab, host, "eth0", lab.ifname("f"));
  nicMac = (await lab.exec(host, ["cat", "/sys/class/net/eth0/address"])).stdout.trim();
  before = await snapshot(host);
  const config = "networks:\n  xen:\n    mode: bridge\n    bridge: eth0\n    uplink: eth0\n    rename-uplink: peth0\n    move-addresses: true\n";
  daemon = await DaemonProcess.start({ dir: tempDir("m"), netns: host, config });
}, 60_000);

afterAll(() => tearDown(lab, daemon, host));

describe("bridged network with rename-uplink (Xen's peth0)", () => {
  it("the NIC is peth0 and the bridge's host port is eth0, with the NIC's MAC, addresses and routes", async () => {
    const links = (await lab.exec(host, ["ip", "-br", "link"])).stdout;
    expect(links).toMatch(/^peth0@\S+\s+UP\s/m);
    expect(links).toMatch(new RegExp(`^eth0\\s+UNKNOWN\\s+${nicMac}\\s`, "m"));
    expect((await lab.exec(host, ["ip", "-br", "addr", "show", "eth0"])).stdout).toContain("203.0.113.2/24");
    expect((await lab.exec(host, ["ip", "route", "show", "default"])).stdout).toContain("default via 203.0.113.1 dev eth0");
    expect(await pings(lab, host, FAR)).toBe(true);
    expect((await daemon.cli(["show", "eth0"])).stdout).toMatch(/\tpeth0\n/);
  }, 60_000);

  it("stopping renames peth0 back to eth0 with its addresses and routes: the host is as it was", async () => {
    await daemon.stop("SIGTERM");
    // The kernel reports the carrier of a link that came back up a moment later (linkwatch).
    await until(async () => (await lab.exec(host, ["cat", "/sys/class/net/eth0/operstate"])).stdout.trim() === "up", "eth0 to be up");
    expect(await snapshot(host)).toEqual(before);
    expect(await pings(lab, host, FAR)).toBe(true);
  }, 60_000);
});
