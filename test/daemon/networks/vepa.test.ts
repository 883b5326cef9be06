/**
 * VEPA (libvirt's <interface type='direct'><source mode='vepa'/>): a host
 * whose guests sit on macvlan devices in VEPA mode sends even
 * guest-to-guest traffic out of its NIC; the adjacent switch must reflect
 * it back down the port it came in on — hairpin ("reflective relay") on
 * that port. Here tapbridge is that switch:
 *
 *   g1: mv1 (macvlan vepa) ┐                                       ┌ down0 hairpin ┐
 *                          ├ host: eth0 ═══════════════════════════┤               ├ tapbridge sw0 (daemon in sw)
 *   g2: mv2 (macvlan vepa) ┘                                       └ lan0 ═ lan: 10.70.0.254
 *
 * With hairpin on down0 the guests reach each other through the switch;
 * with it off (`link set dev down0 hairpin off`) they reach only the LAN,
 * which is also what macvlan `private` mode gives them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab, run } from "../../../src/testing/lab.js";
import { DaemonProcess, tempDir } from "../helpers.js";
import { capture, pings, tearDown } from "./helpers.js";

const lab = new Lab("nmq");
let sw = "";
let g1 = "";
let g2 = "";
let daemon: DaemonProcess;

beforeAll(async () => {
  sw = await lab.netns("sw");
  const host = await lab.netns("host");
  const lan = await lab.netns("lan");
  [g1, g2] = [await lab.netns("g1"), await lab.netns("g2")];
  await lab.veth({ ns: host, name: "eth0" }, { ns: sw, name: "down0" });
  await lab.veth({ ns: lan, name: "eth0", address: "10.70.0.254/24" }, { ns: sw, name: "lan0" });
  for (const [i, g] of [[1, g1], [2, g2]] as const) {
    await run(["ip", "-n", host, "link", "add", "link", "eth0", "name", `mv${i}`, "type", "macvlan", "mode", "vepa"]);
    await run(["ip", "-n", host, "link", "set", `mv${i}`, "netns", g]);
    await lab.address(g, `mv${i}`, `10.70.0.${i}/24`);
  }
  const config = "bridges:\n  sw0:\n    ports:\n      - { attach: down0, hairpin: true }\n      - { attach: lan0 }\n";
  daemon = await DaemonProcess.start({ dir: tempDir("q"), netns: sw, config });
}, 60_000);

afterAll(() => tearDown(lab, daemon));

describe("VEPA: tapbridge as the adjacent switch reflects guest-to-guest traffic (hairpin)", () => {
  it("guests on VEPA macvlans reach each other through the switch with hairpin on, and only the LAN with it off", async () => {
    const reflected = await capture(lab, sw, "down0", ["icmp", "and", "host", "10.70.0.2"]);
    expect(await pings(lab, g1, "10.70.0.2")).toBe(true);
    // The echo request went up to the switch and came back down the same port: tcpdump sees it both ways.
    const seen = (await reflected.done(/echo request[\s\S]*echo request/)).split("\n").filter((l) => l.includes("10.70.0.1 > 10.70.0.2: ICMP echo request"));
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(await pings(lab, g2, "10.70.0.254")).toBe(true);

    expect((await daemon.cli(["link", "set", "dev", "down0", "hairpin", "off"])).code).toBe(0);
    expect(await pings(lab, g1, "10.70.0.2", 2)).toBe(false);
    expect(await pings(lab, g1, "10.70.0.254")).toBe(true);
  }, 60_000);
});
