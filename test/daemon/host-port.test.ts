/**
 * The host port, for real: a VLAN-filtering bridge br59 whose own
 * interface in the host namespace is a TAP named br59, in VLAN 59 (its
 * PVID, as `bridge vlan add dev br59 vid 59 pvid untagged self`):
 *
 *   g1: t1 access 59 ═╗
 *   g3: t3 access 59 ═╬═ tapbridge br59 ═ host port br59 (host: 10.59.0.1/24 by ip addr add)
 *   g2: t2 access 89 ═╝
 *
 * The host uses it as a kernel bridge device: `ip addr add` works and the
 * guests of its VLAN reach it, those of another VLAN do not; frames to its
 * MAC reach it only (a guest of the same VLAN sees no unicast meant for
 * the host); its MAC is the bridge id, a permanent entry, stable across
 * restarts; `host-port del/add` take it away and give it back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../src/testing/lab.js";
import { cleanupDaemons, DaemonProcess, tempDir, until } from "./helpers.js";
import { capture, pings } from "./networks/helpers.js";

const lab = new Lab("nmh");
let host = "";
let g1 = "";
let g2 = "";
let g3 = "";
let daemon: DaemonProcess;

beforeAll(async () => {
  host = await lab.netns("host");
  [g1, g2, g3] = [await lab.netns("g1"), await lab.netns("g2"), await lab.netns("g3")];
  const config = `bridges:
  br59:
    vlan-filtering: true
    host-port: { access: 59 }
    ports:
      - { tap: ${lab.ifname("t1")}, persistent: true, netns: ${g1}, access: 59 }
      - { tap: ${lab.ifname("t2")}, persistent: true, netns: ${g2}, access: 89 }
      - { tap: ${lab.ifname("t3")}, persistent: true, netns: ${g3}, access: 59 }
`;
  daemon = await DaemonProcess.start({ dir: tempDir("h"), config, netns: host });
  await lab.address(host, "br59", "10.59.0.1/24");
  await lab.address(g1, lab.ifname("t1"), "10.59.0.2/24");
  await lab.address(g2, lab.ifname("t2"), "10.59.0.3/24");
  await lab.address(g3, lab.ifname("t3"), "10.59.0.4/24");
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  cleanupDaemons();
  for (const [ns, tap] of [[g1, "t1"], [g2, "t2"], [g3, "t3"]] as const) if (ns) await lab.exec(ns, ["ip", "link", "del", lab.ifname(tap)], { allowFail: true });
  await lab.destroy();
});

const hostMac = async () => (await lab.exec(host, ["cat", "/sys/class/net/br59/address"])).stdout.trim();

describe("host port", () => {
  it("is the host's interface on the bridge: ip addr add on it works, guests of its VLAN reach it, others do not", async () => {
    expect(await pings(lab, g1, "10.59.0.1")).toBe(true);
    expect(await pings(lab, host, "10.59.0.4")).toBe(true);
    expect(await pings(lab, g2, "10.59.0.1", 2)).toBe(false);
    const vlans = JSON.parse((await daemon.cli(["vlan", "show", "-j"])).stdout) as { ifname: string; vlans: { vlan: number; flags?: string[] }[] }[];
    expect(vlans.find((v) => v.ifname === "br59")?.vlans).toEqual([{ vlan: 59, flags: ["PVID", "Egress Untagged"] }]);
    // Its own tagged VIDs, as `bridge vlan add dev br59 vid 89 self`: VLAN 89's frames reach the host tagged.
    expect((await daemon.cli(["vlan", "add", "dev", "br59", "vid", "89"])).code).toBe(0);
    const tagged = await capture(lab, host, "br59", ["-e", "vlan", "89"]);
    await lab.exec(g2, ["ping", "-c", "2", "-i", "0.3", "-W", "1", "10.59.0.9"], { allowFail: true });
    expect(await tagged.done(/vlan 89/)).toMatch(/ethertype 802\.1Q \(0x8100\), length \d+: vlan 89, p 0, ethertype ARP/);
    expect((await daemon.cli(["vlan", "del", "dev", "br59", "vid", "89"])).code).toBe(0);
  }, 60_000);

  it("frames to its MAC go to it only, from the first one; its MAC is the bridge id and a permanent entry", async () => {
    const mac = await hostMac();
    const seen = await capture(lab, g3, lab.ifname("t3"), ["icmp"]);
    // A fresh neighbour entry in g1 for the host: the first unicast frame to the host's MAC cannot have been learned by a reply.
    await lab.exec(g1, ["ip", "neigh", "replace", "10.59.0.1", "lladdr", mac, "dev", lab.ifname("t1"), "nud", "permanent"]);
    expect(await pings(lab, g1, "10.59.0.1")).toBe(true);
    expect((await seen.done()).trim()).toBe("");
    expect((await daemon.cli(["show"])).stdout).toMatch(new RegExp(`^br59\\s+8000\\.${mac.replace(/:/g, "")}\\s+no\\s`, "m"));
    const fdb = JSON.parse((await daemon.cli(["fdb", "show", "-j"])).stdout) as { mac: string; ifname: string; vlan?: number; state: string }[];
    expect(fdb.filter((e) => e.mac === mac).map((e) => [e.ifname, e.vlan ?? 0, e.state])).toEqual(
      expect.arrayContaining([
        ["br59", 0, "permanent"],
        ["br59", 59, "permanent"],
      ]),
    );
    // showmacs marks it local, as brctl does the bridge's own address.
    const showmacs = (await daemon.cli(["showmacs", "br59"])).stdout;
    expect(showmacs).toMatch(new RegExp(`^\\s+\\d+\\s+${mac}\\s+yes\\s`, "m"));
  }, 60_000);

  it("keeps its MAC across a restart (stable), and host-port del/add take it away and give it back", async () => {
    const mac = await hostMac();
    await daemon.stop("SIGTERM");
    expect((await lab.exec(host, ["ip", "link", "show", "br59"], { allowFail: true })).code).not.toBe(0);
    await daemon.launch();
    expect(await hostMac()).toBe(mac);
    await lab.address(host, "br59", "10.59.0.1/24");
    expect(await pings(lab, g1, "10.59.0.1")).toBe(true);

    expect((await daemon.cli(["host-port", "br59", "del"])).code).toBe(0);
    expect((await lab.exec(host, ["ip", "link", "show", "br59"], { allowFail: true })).code).not.toBe(0);
    const again = await daemon.cli(["host-port", "br59", "add", "--host-mac", "52:54:00:59:00:01"]);
    expect(again.code, again.stderr).toBe(0);
    expect(await hostMac()).toBe("52:54:00:59:00:01");
    // A name that is already taken is refused and left alone.
    const taken = await daemon.cli(["addbr", lab.ifname("t1").slice(0, 0) + "lo", "--host-port"]);
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain("interface lo already exists");
    expect((await lab.exec(host, ["ip", "-br", "link", "show", "lo"])).stdout).toMatch(/^lo\s+UNKNOWN/);
  }, 90_000);

  it("mac: lowest-port follows Linux's rule: the lowest MAC of the attached interfaces, changing as they come and go", async () => {
    expect((await daemon.cli(["host-port", "br59", "del"])).code).toBe(0);
    await lab.veth({ ns: host, name: "up10" }, { ns: g3, name: "x10" });
    await lab.veth({ ns: host, name: "up05" }, { ns: g3, name: "x05" });
    await lab.exec(host, ["ip", "link", "set", "dev", "up10", "address", "02:00:00:00:00:10"]);
    await lab.exec(host, ["ip", "link", "set", "dev", "up05", "address", "02:00:00:00:00:05"]);
    expect((await daemon.cli(["addif", "br59", "up10"])).code).toBe(0);
    const add = await daemon.cli(["host-port", "br59", "add", "--host-mac", "lowest-port"]);
    expect(add.code, add.stderr).toBe(0);
    expect(await hostMac()).toBe("02:00:00:00:00:10");
    expect((await daemon.cli(["addif", "br59", "up05"])).code).toBe(0);
    await until(async () => (await hostMac()) === "02:00:00:00:00:05", "the host port to take the lower MAC");
    expect((await daemon.cli(["show"])).stdout).toMatch(/^br59\s+8000\.020000000005\s/m);
    expect((await daemon.cli(["delif", "br59", "up05"])).code).toBe(0);
    await until(async () => (await hostMac()) === "02:00:00:00:00:10", "the host port to go back to the lowest MAC left");
  }, 60_000);
});
