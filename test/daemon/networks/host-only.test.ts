/**
 * examples/networks/host-only.yaml as shipped, in a host namespace of the
 * test's own (its eth0 a veth to an "up" namespace, the outside world):
 *
 *   g1: eth0 ═ hovnet1 ┐
 *                      ├ tapbridge vnet0 ═ host port vnet0 10.10.10.1/24 (dnsmasq)     host eth0 ═ up
 *   g2: eth0 ═ hovnet2 ┘   (attached by pattern)
 *
 * Guests lease addresses without a router, the host and guests reach each
 * other, and nothing from the guests reaches the uplink even with
 * ip_forward on and a route pointing at the host; stopping restores the
 * host namespace exactly.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../../src/testing/lab.js";
import { DaemonProcess, REPO, tempDir } from "../helpers.js";
import { capture, dhcp, pings, snapshot, tearDown, type HostSnapshot, udhcpcScript, untilAttached, uplinkWorld } from "./helpers.js";

const lab = new Lab("nmo");
let host = "";
let up = "";
const g: string[] = [];
let daemon: DaemonProcess;
let before: HostSnapshot;
let script = "";

beforeAll(async () => {
  host = await lab.netns("host");
  up = await uplinkWorld(lab, host, "eth0", lab.ifname("f"));
  await lab.exec(host, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  for (const i of [1, 2]) g.push(await lab.netns(`g${i}`));
  const dir = tempDir("o");
  script = udhcpcScript(dir);
  before = await snapshot(host);
  daemon = await DaemonProcess.start({ dir, netns: host, configFile: join(REPO, "examples", "networks", "host-only.yaml") });
  for (const i of [1, 2]) await lab.veth({ ns: host, name: `hovnet${i}` }, { ns: g[i - 1]!, name: "eth0" });
  await untilAttached(daemon, "vnet0", "hovnet2");
}, 60_000);

afterAll(() => tearDown(lab, daemon, host));

describe("host-only network (examples/networks/host-only.yaml)", () => {
  it("guests lease addresses with no router; host and guests reach each other; nothing reaches the uplink", async () => {
    const l1 = await dhcp(lab, g[0]!, "eth0", script);
    const l2 = await dhcp(lab, g[1]!, "eth0", script);
    expect(l1.ip).toMatch(/^10\.10\.10\.(1\d\d|200)$/);
    expect(l1.router).toBe("");
    expect(await pings(lab, g[0]!, "10.10.10.1")).toBe(true);
    expect(await pings(lab, g[0]!, l2.ip)).toBe(true);
    expect(await pings(lab, host, l2.ip)).toBe(true);
    // The network's forward drop is in place (if not, say what the namespace holds and what the daemon did).
    const table = await lab.exec(host, ["nft", "list", "table", "inet", "tapbridge-hostonly"], { allowFail: true });
    const why = async () => `${(await lab.exec(host, ["sh", "-c", "nft list ruleset; sysctl net.ipv4.ip_forward; ip -br link"])).stdout}\n${daemon.stderr.slice(-3000)}`;
    if (!table.stdout.includes('iifname "vnet0" drop')) expect(table.stdout, await why()).toContain('iifname "vnet0" drop');
    // A guest that routes through the host anyway gets nowhere, though the host forwards otherwise.
    await lab.exec(g[0]!, ["ip", "route", "add", "203.0.113.0/24", "via", "10.10.10.1"]);
    const far = await capture(lab, up, lab.ifname("f"), ["net", "10.10.10.0/24"]);
    expect(await pings(lab, g[0]!, "203.0.113.1", 2)).toBe(false);
    const leaked = (await far.done()).trim();
    if (leaked) expect(leaked, await why()).toBe("");
    expect((await lab.exec(host, ["sysctl", "-n", "net.ipv4.conf.vnet0.forwarding"])).stdout.trim()).toBe("0");
  }, 120_000);

  it("stopping the daemon leaves the host namespace as it was", async () => {
    await daemon.stop("SIGTERM");
    // The guests' veths are the test's, not the network's: take them away to compare.
    for (const i of [1, 2]) await lab.exec(host, ["ip", "link", "del", `hovnet${i}`]);
    expect(await snapshot(host)).toEqual(before);
  }, 60_000);
});
