/**
 * examples/networks/private.yaml as shipped: an isolated network (no host
 * port) whose guest ports are private — libvirt's <port isolated='yes'/>:
 *
 *   g1: eth0 203.0.113.11 ═ pvnet1 ┐
 *                                  ├ tapbridge privbr0 ═ eth1 ═ up 203.0.113.1
 *   g2: eth0 203.0.113.12 ═ pvnet2 ┘
 *
 * Guests reach the uplink's side, not each other; the bridge has no
 * interface in the host; stopping leaves the host as it was.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../../src/testing/lab.js";
import { DaemonProcess, REPO, tempDir } from "../helpers.js";
import { pings, snapshot, tearDown, type HostSnapshot, untilAttached } from "./helpers.js";

const lab = new Lab("nmp");
let host = "";
const g: string[] = [];
let daemon: DaemonProcess;
let before: HostSnapshot;

beforeAll(async () => {
  host = await lab.netns("host");
  const up = await lab.netns("up");
  await lab.veth({ ns: host, name: "eth1" }, { ns: up, name: lab.ifname("f"), address: "203.0.113.1/24" });
  for (const i of [1, 2]) g.push(await lab.netns(`g${i}`));
  before = await snapshot(host);
  daemon = await DaemonProcess.start({ dir: tempDir("p"), netns: host, configFile: join(REPO, "examples", "networks", "private.yaml") });
  for (const i of [1, 2]) await lab.veth({ ns: host, name: `pvnet${i}` }, { ns: g[i - 1]!, name: "eth0", address: `203.0.113.1${i}/24` });
  await untilAttached(daemon, "privbr0", "pvnet2");
}, 60_000);

afterAll(() => tearDown(lab, daemon));

describe("isolated network with private ports (examples/networks/private.yaml)", () => {
  it("guests reach the uplink's side but not each other; the bridge has no host port", async () => {
    expect(await pings(lab, g[0]!, "203.0.113.1")).toBe(true);
    expect(await pings(lab, g[1]!, "203.0.113.1")).toBe(true);
    expect(await pings(lab, g[0]!, "203.0.113.12", 2)).toBe(false);
    expect((await lab.exec(host, ["ip", "link", "show", "privbr0"], { allowFail: true })).code).not.toBe(0);
    const links = JSON.parse((await daemon.cli(["link", "show", "-j", "-d"])).stdout) as { ifname: string; isolated?: boolean }[];
    expect(links.map((l) => [l.ifname, l.isolated])).toEqual(expect.arrayContaining([["eth1", false], ["pvnet1", true], ["pvnet2", true]]));
  }, 60_000);

  it("stopping the daemon leaves the host namespace as it was", async () => {
    await daemon.stop("SIGTERM");
    for (const i of [1, 2]) await lab.exec(host, ["ip", "link", "del", `pvnet${i}`]);
    expect(await snapshot(host)).toEqual(before);
  }, 60_000);
});
