/**
 * The shipped examples, run as users would run them: the daemon starts from
 * each example config (inside a namespace of the test's own, so names such
 * as eth0 are the test's), and the hook scripts attach and detach guests.
 *
 *   Xen:  u: uplink 10.65.0.254 ═ eth0 ┐
 *                                      ├ xenbr0 (daemon in ns x)
 *         g: eth0 10.65.0.1 ═ vif1.0 ──┘   ← added by vif-tapbridge online
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/daemon/config.js";
import { Lab, run } from "../../src/testing/lab.js";
import { CLI, cleanupDaemons, DaemonProcess, inNs, REPO, tempDir, until } from "./helpers.js";

const lab = new Lab("tbe");
const daemons: DaemonProcess[] = [];
const EXAMPLES = join(REPO, "examples");

afterAll(async () => {
  for (const d of daemons) await d.stop();
  cleanupDaemons();
  await lab.destroy();
});

describe("example configs", () => {
  it("every example parses and validates", () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml"));
    expect(files.sort()).toEqual(["isolated.yaml", "kvm-vlans.yaml", "xen-xenbr0.yaml"]);
    for (const f of files) expect(() => parseConfig(readFileSync(join(EXAMPLES, f), "utf8"), f), f).not.toThrow();
  });

  it("Xen: xenbr0 with the uplink; vif* interfaces are attached as they appear and dropped when deleted; the vif-tapbridge hook adds others", async () => {
    const x = await lab.netns("x");
    const u = await lab.netns("u");
    const g = await lab.netns("g");
    await lab.veth({ ns: x, name: "eth0" }, { ns: u, name: "up0", address: "10.65.0.254/24" });
    const d = await DaemonProcess.start({ dir: tempDir("x"), netns: x, configFile: join(EXAMPLES, "xen-xenbr0.yaml") });
    daemons.push(d);
    expect((await d.cli(["show"])).stdout).toMatch(/^xenbr0\t\t8000\.[0-9a-f]{12}\tno\t\teth0\n$/m);
    // A guest starts: Xen creates vif1.0 in dom0 (here: after the daemon started).
    await lab.veth({ ns: x, name: "vif1.0" }, { ns: g, name: "eth0", address: "10.65.0.1/24" });
    await until(async () => (await d.cli(["show", "xenbr0"])).stdout.includes("\t\t\t\t\t\t\tvif1.0\n"), "vif1.0 to be auto-attached");
    const ping = await lab.exec(g, ["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.65.0.254"], { allowFail: true });
    expect(ping.code, ping.stdout).toBe(0);
    expect(d.logs().some((l) => l.msg === "port auto-attached" && l.port === "vif1.0")).toBe(true);
    // The guest goes: the vif is deleted, and leaves the bridge.
    await run(["ip", "-n", x, "link", "del", "vif1.0"]);
    await until(async () => !(await d.cli(["show", "xenbr0"])).stdout.includes("vif1.0"), "vif1.0 to be dropped");
    expect((await d.cli(["save"])).stdout).not.toContain("vif1.0");
    // The hook script serves interfaces the patterns do not name.
    await lab.veth({ ns: x, name: "guest7" }, { ns: g, name: "eth7" });
    const hook = (command: string) =>
      inNs(x, ["env", "vif=guest7", "bridge=xenbr0", `TAPBRIDGE_SOCKET=${d.socket}`, `TAPBRIDGE=${process.execPath} ${CLI}`, "sh", join(EXAMPLES, "hooks", "vif-tapbridge"), command]);
    const online = await hook("online");
    expect(online.code, online.stderr).toBe(0);
    expect((await d.cli(["show", "xenbr0"])).stdout).toContain("\t\t\t\t\t\t\tguest7\n");
    expect((await hook("offline")).code).toBe(0);
    expect((await d.cli(["show", "xenbr0"])).stdout).not.toContain("guest7");
  });

  it("KVM with VLANs: a trunk uplink carries 59 and 89 to another switch; VMs on access ports reach only their VLAN", async () => {
    // kv: the KVM host's daemon (examples/kvm-vlans.yaml). sw: an upstream switch, another daemon with the other end of the trunk.
    const kv = await lab.netns("kv");
    const sw = await lab.netns("sw");
    const [vm1, vm2, h59, h89] = [await lab.netns("vm1"), await lab.netns("vm2"), await lab.netns("h59"), await lab.netns("h89")];
    await lab.veth({ ns: kv, name: "eth0" }, { ns: sw, name: "trunk0" });
    await lab.veth({ ns: sw, name: "p59" }, { ns: h59, name: "eth0", address: "10.66.0.2/24" });
    await lab.veth({ ns: sw, name: "p89" }, { ns: h89, name: "eth0", address: "10.66.0.3/24" });
    const upstream = await DaemonProcess.start({
      dir: tempDir("sw"),
      netns: sw,
      config: "bridges:\n  core:\n    ports:\n      - { attach: trunk0, trunk: [59, 89] }\n      - { attach: p59, access: 59 }\n      - { attach: p89, access: 89 }\n",
    });
    const d = await DaemonProcess.start({ dir: tempDir("kv"), netns: kv, configFile: join(EXAMPLES, "kvm-vlans.yaml") });
    daemons.push(upstream, d);
    // Two VMs start; their vnetN appear (and match the pattern); qemu-ifup gives each its VLAN.
    await lab.veth({ ns: kv, name: "vnet1" }, { ns: vm1, name: "eth0", address: "10.66.0.11/24" });
    await lab.veth({ ns: kv, name: "vnet2" }, { ns: vm2, name: "eth0", address: "10.66.0.12/24" });
    const env = ["env", "TAPBRIDGE_BRIDGE=br0", `TAPBRIDGE_SOCKET=${d.socket}`, `TAPBRIDGE=${process.execPath} ${CLI}`];
    for (const [vnet, vid] of [["vnet1", 59], ["vnet2", 89]] as const) {
      const r = await inNs(kv, [...env, `TAPBRIDGE_PORT_OPTIONS=:access=${vid}`, "sh", join(EXAMPLES, "hooks", "qemu-ifup"), vnet]);
      expect(r.code, r.stderr).toBe(0);
    }
    const vlans = JSON.parse((await d.cli(["vlan", "show", "-j"])).stdout) as { ifname: string; vlans: { vlan: number; flags?: string[] }[] }[];
    expect(vlans).toEqual([
      { ifname: "eth0", vlans: [{ vlan: 59 }, { vlan: 89 }] },
      { ifname: "vnet1", vlans: [{ vlan: 59, flags: ["PVID", "Egress Untagged"] }] },
      { ifname: "vnet2", vlans: [{ vlan: 89, flags: ["PVID", "Egress Untagged"] }] },
    ]);
    const ping = async (ns: string, ip: string) => (await lab.exec(ns, ["ping", "-c", "2", "-i", "0.2", "-W", "1", ip], { allowFail: true })).code;
    expect(await ping(vm1, "10.66.0.2")).toBe(0);
    expect(await ping(vm2, "10.66.0.3")).toBe(0);
    expect(await ping(vm1, "10.66.0.3")).not.toBe(0);
    expect(await ping(vm2, "10.66.0.2")).not.toBe(0);
    expect(await ping(vm1, "10.66.0.12")).not.toBe(0);
    // bridge -s vlan show: each port's traffic counted in its VLAN, the trunk's in both.
    type StatsRow = { ifname: string; vlans: { vid: number; rx_packets: number; tx_packets: number }[] };
    const stats = JSON.parse((await d.cli(["vlan", "show", "-s", "-j"])).stdout) as StatsRow[];
    for (const [ifname, vid] of [["eth0", 59], ["eth0", 89], ["vnet1", 59], ["vnet2", 89]] as const) {
      const v = stats.find((r) => r.ifname === ifname)!.vlans.find((x) => x.vid === vid)!;
      expect(v.rx_packets, `${ifname} vlan ${vid} rx`).toBeGreaterThan(0);
      expect(v.tx_packets, `${ifname} vlan ${vid} tx`).toBeGreaterThan(0);
    }
    expect((await d.cli(["vlan", "show", "-s", "dev", "vnet1"])).stdout).toMatch(/^port {14}vlan-id\nvnet1 {13}59 PVID Egress Untagged\n {20}RX: \d+ bytes \d+ packets\n {20}TX: \d+ bytes \d+ packets\n$/);
    expect(JSON.parse((await d.cli(["vlan", "show", "vid", "89", "-j"])).stdout)).toEqual([
      { ifname: "eth0", vlans: [{ vlan: 89 }] },
      { ifname: "vnet2", vlans: [{ vlan: 89, flags: ["PVID", "Egress Untagged"] }] },
    ]);
    // The FDB per VLAN: flushing VLAN 59 leaves VLAN 89's entries.
    type FdbJson = { mac: string; vlan?: number; state: string };
    const fdb = async (args: string[]) => JSON.parse((await d.cli(["fdb", "show", ...args, "-j"])).stdout) as FdbJson[];
    expect((await fdb(["vlan", "59"])).length).toBeGreaterThan(0);
    // The unanswered pings above leave ARP probes in flight for a few seconds; a probe after the flush would
    // rightly be learned again. Flush once VLAN 59 has been quiet (no frame received in it) for 2 s.
    const rx59 = async () => {
      const rows = JSON.parse((await d.cli(["vlan", "show", "-s", "-j"])).stdout) as StatsRow[];
      return rows.reduce((n, r) => n + (r.vlans.find((x) => x.vid === 59)?.rx_packets ?? 0), 0);
    };
    for (let last = await rx59(), quietSince = Date.now(), t0 = Date.now(); Date.now() - quietSince < 2000 && Date.now() - t0 < 30_000; ) {
      await new Promise((r) => setTimeout(r, 250));
      const now = await rx59();
      if (now !== last) [last, quietSince] = [now, Date.now()];
    }
    const flushed = await d.cli(["fdb", "flush", "dev", "br0", "vlan", "59"]);
    expect(flushed.code, flushed.stderr).toBe(0);
    expect(flushed.stdout).toMatch(/^[1-9]\d* learned entr(y|ies) flushed from br0 vlan 59\n$/);
    expect(await fdb(["vlan", "59"])).toEqual([]);
    expect((await fdb(["vlan", "89"])).length).toBeGreaterThan(0);
    // A static entry without a VLAN goes in VLAN 0 and every VLAN of the port, as Linux's `bridge fdb add … master`.
    expect((await d.cli(["fdb", "add", "02:00:00:00:59:59", "dev", "eth0", "master", "static"])).code).toBe(0);
    const vids = async () => (await fdb([])).filter((e) => e.mac === "02:00:00:00:59:59").map((e) => e.vlan ?? 0).sort((a, b) => a - b);
    expect(await vids()).toEqual([0, 59, 89]);
    expect((await d.cli(["fdb", "add", "02:00:00:00:59:60", "dev", "eth0", "vlan", "89", "static"])).code).toBe(0);
    expect((await fdb(["vlan", "89"])).find((e) => e.mac === "02:00:00:00:59:60")?.state).toBe("static");
    expect((await d.cli(["fdb", "flush", "dev", "eth0"])).code).toBe(0); // learned entries only: the static ones stay
    expect(await vids()).toEqual([0, 59, 89]);
    expect((await d.cli(["fdb", "del", "02:00:00:00:59:59", "dev", "eth0", "master"])).code).toBe(0);
    expect(await vids()).toEqual([]);
    // bridge vlan add / del on a running port.
    expect((await d.cli(["vlan", "add", "dev", "vnet2", "vid", "100"])).code).toBe(0);
    expect((await d.cli(["vlan", "show", "dev", "vnet2"])).stdout).toBe("port              vlan-id  \nvnet2             89 PVID Egress Untagged\n                  100\n\n");
    expect((await d.cli(["vlan", "del", "dev", "vnet2", "vid", "100"])).code).toBe(0);
    expect((await d.cli(["vlan", "add", "dev", "vnet2", "vid", "200-202", "untagged"])).code).toBe(0); // a range, as iproute2 takes it
    expect((await d.cli(["vlan", "show", "dev", "vnet2", "-j"])).stdout).toBe(
      JSON.stringify([{ ifname: "vnet2", vlans: [{ vlan: 89, flags: ["PVID", "Egress Untagged"] }, ...[200, 201, 202].map((vlan) => ({ vlan, flags: ["Egress Untagged"] }))] }]) + "\n",
    );
    expect((await d.cli(["vlan", "del", "dev", "vnet2", "vid", "200-202"])).code).toBe(0);
    const gone = await d.cli(["vlan", "del", "dev", "vnet2", "vid", "100"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("port vnet2 is not a member of VLAN 100");
    expect(await ping(vm2, "10.66.0.3")).toBe(0);
    // save writes what runs: the VMs' ports, added by the hook, with their VLANs.
    const saved = parseConfig((await d.cli(["save"])).stdout, "saved").config.bridges[0]!;
    expect(saved.ports.map((p) => [p.label, p.options])).toEqual([
      ["eth0", { trunk: [59, 89] }],
      ["vnet1", { access: 59 }],
      ["vnet2", { untagged: 89, pvid: 89 }],
    ]);
  });

  it("KVM: qemu-ifup and qemu-ifdown put a VM's TAP on the bridge and take it off", async () => {
    const q = await lab.netns("q");
    const d = await DaemonProcess.start({ dir: tempDir("q"), netns: q, config: "bridges:\n  br0: {}\n" });
    daemons.push(d);
    await inNs(q, ["ip", "tuntap", "add", "mode", "tap", "vnet7"]);
    const env = ["env", "TAPBRIDGE_BRIDGE=br0", `TAPBRIDGE_SOCKET=${d.socket}`, `TAPBRIDGE=${process.execPath} ${CLI}`];
    const up = await inNs(q, [...env, "TAPBRIDGE_PORT_OPTIONS=:isolated", "sh", join(EXAMPLES, "hooks", "qemu-ifup"), "vnet7"]);
    expect(up.code, up.stderr).toBe(0);
    expect((await d.cli(["link", "show", "-d"])).stdout).toMatch(/vnet7: <[^>]*UP[^>]*>.*\n.* isolated on /);
    expect((await inNs(q, [...env, "sh", join(EXAMPLES, "hooks", "qemu-ifdown"), "vnet7"])).code).toBe(0);
    expect((await d.cli(["show", "br0"])).stdout).not.toContain("vnet7");
  });

  it("isolated: the daemon creates the persistent TAPs, one of them isolated, and save writes the example back", async () => {
    const i = await lab.netns("i");
    const d = await DaemonProcess.start({ dir: tempDir("i"), netns: i, configFile: join(EXAMPLES, "isolated.yaml") });
    daemons.push(d);
    const links = await run(["ip", "-n", i, "-br", "link", "show"]);
    for (const tap of ["iso-vm1", "iso-vm2", "iso-vm3"]) expect(links.stdout).toContain(tap);
    expect((await d.cli(["link", "show", "dev", "iso-vm3", "-d", "-j"])).stdout).toContain('"isolated":true');
    const saved = parseConfig((await d.cli(["save"])).stdout, "saved").config;
    const example = parseConfig(readFileSync(join(EXAMPLES, "isolated.yaml"), "utf8"), "example").config;
    const strip = (c: typeof saved) => c.bridges.map((b) => ({ ...b, where: undefined, ports: b.ports.map((p) => ({ ...p, where: undefined })) }));
    expect(strip(saved)).toEqual(strip(example));
    await d.stop();
    // Persistent: still there after the daemon stopped.
    expect((await run(["ip", "-n", i, "-br", "link", "show", "dev", "iso-vm1"], { allowFail: true })).code).toBe(0);
  });
});
