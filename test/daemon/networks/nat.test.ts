/**
 * A NAT network, libvirt `default`'s shape, for real: the daemon runs in a
 * namespace of its own ("host"), whose uplink is a veth to the outside
 * world ("up": a router at 203.0.113.1 and a far address 198.51.100.1).
 *
 *   g1: udhcpc ─ t1 ═╗                                        ╔═ up: 203.0.113.1, 198.51.100.1
 *                    ╠═ tapbridge virbr0 ═ host port virbr0 ─ host ─ uplink 203.0.113.2
 *   g2: udhcpc ─ t2 ═╝                 192.168.122.1/24, dnsmasq, nft masquerade
 *
 * Guests get leases from dnsmasq through the bridge, reach the far address
 * seen there as the host's uplink address (tcpdump on the far side), and
 * each other; net-destroy leaves the host namespace exactly as it was; a
 * kill -9 leaves dnsmasq, the nft table and ip_forward behind, and the
 * next daemon undoes them before starting afresh; bad definitions are
 * refused with a sentence and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Lab } from "../../../src/testing/lab.js";
import { DaemonProcess, tempDir } from "../helpers.js";
import { FAR, capture, dhcp, pings, snapshot, tearDown, type HostSnapshot, udhcpcScript, uplinkWorld } from "./helpers.js";

const lab = new Lab("nmn");
let host = "";
let up = "";
let g1 = "";
let g2 = "";
let dir = "";
let script = "";
let daemon: DaemonProcess;
let before: HostSnapshot;
const uplink = lab.ifname("u");

const config = () => `metrics:
  listen: "127.0.0.1:9469"
networks:
  default:
    mode: nat
    bridge: virbr0
    addresses: [192.168.122.1/24]
    uplink: ${uplink}
    domain: tbnet
    dhcp:
      start: 192.168.122.2
      end: 192.168.122.254
      hosts:
        - { mac: "52:54:00:00:7b:02", ip: 192.168.122.50, name: guest2 }
bridges:
  virbr0:
    ports:
      - { tap: ${lab.ifname("t1")}, netns: ${g1} }
      - { tap: ${lab.ifname("t2")}, netns: ${g2}, mac: "52:54:00:00:7b:02" }
`;

beforeAll(async () => {
  host = await lab.netns("host");
  up = await uplinkWorld(lab, host, uplink, lab.ifname("f"));
  g1 = await lab.netns("g1");
  g2 = await lab.netns("g2");
  dir = tempDir("n");
  script = udhcpcScript(dir);
  before = await snapshot(host);
  daemon = await DaemonProcess.start({ dir, config: config(), netns: host });
}, 60_000);

afterAll(() => tearDown(lab, daemon, host));

describe("nat network (libvirt default)", () => {
  it("a guest leases an address from dnsmasq through the bridge and reaches the far side masqueraded as the host's uplink address", async () => {
    const list = await daemon.cli(["net-list"]);
    expect(list.stdout).toMatch(/^ default\s+active\s+yes\s+yes$/m);
    const lease1 = await dhcp(lab, g1, lab.ifname("t1"), script);
    expect(lease1.ip).toMatch(/^192\.168\.122\.\d+$/);
    expect(lease1.router).toBe("192.168.122.1");
    const lease2 = await dhcp(lab, g2, lab.ifname("t2"), script);
    // g2's MAC has a static lease (dhcp.hosts), and its name is in DNS (dnsmasq on the host port, domain tbnet).
    expect(lease2.ip).toBe("192.168.122.50");
    const lookup = await lab.exec(g1, ["busybox", "nslookup", "guest2.tbnet", "192.168.122.1"], { allowFail: true, timeoutMs: 20_000 });
    expect(lookup.stdout, lookup.stderr).toMatch(/Address:\s+192\.168\.122\.50/);

    const far = await capture(lab, up, lab.ifname("f"), ["icmp"]);
    expect(await pings(lab, g1, FAR)).toBe(true);
    const seen = await far.done(/ICMP echo request/);
    expect(seen).toContain(`IP 203.0.113.2 > ${FAR}: ICMP echo request`);
    expect(seen).not.toContain("192.168.122.");

    // Guests reach each other and the host port; the host reaches them.
    expect(await pings(lab, g1, lease2.ip)).toBe(true);
    expect(await pings(lab, g2, "192.168.122.1")).toBe(true);
    expect(await pings(lab, host, lease1.ip)).toBe(true);
    // The outside cannot reach in (no route, and the forward chain admits only replies).
    expect(await pings(lab, up, lease1.ip, 1)).toBe(false);

    const leases = await daemon.cli(["net-dhcp-leases", "default", "-j"]);
    expect((JSON.parse(leases.stdout) as { ip: string }[]).map((l) => l.ip).sort()).toEqual([lease1.ip, lease2.ip].sort());
    // dnsmasq listens on the host port only: DNS on its address, DHCP bound to the device.
    const sockets = (await lab.exec(host, ["ss", "-Hlntup"])).stdout.split("\n").filter((l) => l.includes("dnsmasq"));
    expect(sockets.length).toBeGreaterThanOrEqual(3);
    for (const l of sockets) expect(l, l).toMatch(/192\.168\.122\.1:53 |%virbr0:67 /);
    const scrape = await lab.exec(host, [process.execPath, "-e", "fetch('http://127.0.0.1:9469/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))"]);
    for (const line of [
      'tapbridge_network_active{network="default",mode="nat",bridge="virbr0"} 1',
      'tapbridge_network_dnsmasq_up{network="default"} 1',
      'tapbridge_network_dhcp_leases{network="default"} 2',
      'tapbridge_network_dhcp_pool_size{network="default"} 253',
    ]) expect(scrape.stdout).toContain(line);
    const info = await daemon.cli(["net-info", "default"]);
    expect(info.stdout).toMatch(/^Mode:\s+nat$/m);
    expect(info.stdout).toMatch(/^Changed:\s+nftables table inet tapbridge-default$/m);
    // The host port is the bridge's own interface: it has the bridge's MAC, and its MAC is a local entry.
    const mac = (await lab.exec(host, ["cat", "/sys/class/net/virbr0/address"])).stdout.trim();
    expect((await daemon.cli(["show"])).stdout).toContain(`8000.${mac.replace(/:/g, "")}`);
    expect((await daemon.cli(["fdb", "show", "-j"])).stdout).toContain(`"mac":"${mac}","ifname":"virbr0","flags":[],"master":"virbr0","state":"permanent"`);
  }, 180_000);

  it("net-destroy leaves the host namespace as it was; net-start brings the network back", async () => {
    const r = await daemon.cli(["net-destroy", "default"]);
    expect(r.stdout + r.stderr).toBe("network default stopped\n");
    expect(await snapshot(host, [daemon.child.pid!])).toEqual(before);
    expect(await pings(lab, g1, FAR, 1)).toBe(false);
    expect((await daemon.cli(["net-list"])).stdout).not.toContain("default");
    expect((await daemon.cli(["net-list", "--all"])).stdout).toMatch(/^ default\s+inactive\s+yes\s+yes$/m);

    expect((await daemon.cli(["net-start", "default"])).stdout).toBe("network default started (nat, bridge virbr0)\n");
    // The lease file was kept: the guest renews the same address.
    expect((await dhcp(lab, g1, lab.ifname("t1"), script)).ip).toMatch(/^192\.168\.122\./);
    expect(await pings(lab, g1, FAR)).toBe(true);
  }, 180_000);

  it("after kill -9, the next daemon undoes what the dead one left, starts afresh, and a clean stop restores the host", async () => {
    const oldPid = (JSON.parse((await daemon.cli(["net-info", "default", "-j"])).stdout) as { dnsmasqPid: number }).dnsmasqPid;
    await daemon.stop("SIGKILL");
    const left = await snapshot(host);
    expect(left.processes).toMatch(/dnsmasq --conf-file=\S+\/networks\/default\/dnsmasq\.conf/);
    expect(left.ruleset).toContain("table inet tapbridge-default");
    expect(left.sysctls).toContain("net.ipv4.ip_forward = 1");

    await daemon.launch();
    expect(daemon.stderr).toContain('"msg":"networks cleaned after a crash"');
    const now = await snapshot(host, [daemon.child.pid!]);
    // One dnsmasq: the old one was stopped before the new one started.
    expect(now.processes.split("\n").filter((p) => p.includes("dnsmasq"))).toHaveLength(1);
    const newPid = (JSON.parse((await daemon.cli(["net-info", "default", "-j"])).stdout) as { dnsmasqPid: number }).dnsmasqPid;
    expect(newPid).not.toBe(oldPid);
    // Gone, or a zombie its new parent has yet to reap: either way no dnsmasq runs under that pid.
    const oldCmdline = (() => {
      try {
        return readFileSync(`/proc/${oldPid}/cmdline`, "utf8");
      } catch {
        return "";
      }
    })();
    expect(oldCmdline).not.toContain("dnsmasq");
    await dhcp(lab, g1, lab.ifname("t1"), script);
    expect(await pings(lab, g1, FAR)).toBe(true);

    await daemon.stop("SIGTERM");
    expect(await snapshot(host)).toEqual(before);
    await daemon.launch();
  }, 180_000);

  it("refuses bad definitions with a sentence and creates nothing", async () => {
    const file = join(dir, "bad.yaml");
    const define = async (body: string) => {
      writeFileSync(file, `networks:\n${body}`);
      const r = await daemon.cli(["net-define", file]);
      return { code: r.code, said: (r.stdout + r.stderr).trim() };
    };
    const outside = await define("  n1:\n    mode: nat\n    bridge: nbr1\n    uplink: " + uplink + "\n    addresses: [10.99.0.1/24]\n    dhcp: { start: 10.98.0.2, end: 10.98.0.9 }\n");
    expect(outside.code).not.toBe(0);
    expect(outside.said).toContain("the DHCP range 10.98.0.2-10.98.0.9 is outside the network 10.99.0.0/24");

    const same = await define("  n2:\n    mode: host-only\n    bridge: virbr0\n    addresses: [10.97.0.1/24]\n");
    expect(same.code).not.toBe(0);
    expect(same.said).toContain("both claim bridge virbr0 and its host port virbr0");

    const settled = await snapshot(host, [daemon.child.pid!]);
    const clash = await define("  n3:\n    mode: nat\n    bridge: nbr3\n    uplink: " + uplink + "\n    addresses: [203.0.113.129/25]\n");
    expect(clash.code).toBe(0);
    const start = await daemon.cli(["net-start", "n3"]);
    expect(start.code).not.toBe(0);
    expect(start.stderr).toContain("address 203.0.113.129/25 of network n3 clashes with the route 203.0.113.0/24 dev " + uplink);

    const nouplink = await define("  n4:\n    mode: nat\n    bridge: nbr4\n    uplink: nosuch0\n    addresses: [10.96.0.1/24]\n");
    expect(nouplink.code).toBe(0);
    const start4 = await daemon.cli(["net-start", "n4"]);
    expect(start4.stderr).toContain("uplink nosuch0 of network n4 does not exist");
    // The host port is named like the bridge: a name the host already uses is refused, the interface left alone.
    expect((await define("  n5:\n    mode: host-only\n    bridge: lo\n    addresses: [10.94.0.1/24]\n")).code).toBe(0);
    const start5 = await daemon.cli(["net-start", "n5"]);
    expect(start5.stderr).toContain("interface lo already exists in");
    expect(start5.stderr).toContain("network n5's host port needs that name (it is named like the bridge)");
    expect(await snapshot(host, [daemon.child.pid!])).toEqual(settled);
    expect((await daemon.cli(["show"])).stdout).not.toMatch(/nbr[34]|^lo\s/m);
    for (const n of ["n3", "n4", "n5"]) expect((await daemon.cli(["net-undefine", n])).code).toBe(0);
  }, 120_000);

  it("says which package to install when dnsmasq is missing, and creates nothing", async () => {
    // A daemon whose PATH has iproute2 and nft but no dnsmasq.
    const bin = join(tempDir("p"), "bin");
    mkdirSync(bin);
    for (const [name, path] of [["ip", "/usr/sbin/ip"], ["nft", "/usr/sbin/nft"], ["node", process.execPath]]) symlinkSync(path!, join(bin, name!));
    const d2dir = tempDir("d");
    const ns = await lab.netns("h2");
    const config2 = `networks:\n  lonely:\n    mode: host-only\n    bridge: hbr0\n    addresses: [10.95.0.1/24]\n    dhcp: { start: 10.95.0.10, end: 10.95.0.20 }\n`;
    writeFileSync(join(d2dir, "tapbridge.yaml"), config2);
    const d2 = new DaemonProcess(join(d2dir, "control.sock"), join(d2dir, "tapbridge.yaml"), ns);
    const launched = await lab.exec(ns, ["env", `PATH=${bin}`, "node", join(dirname(new URL(import.meta.url).pathname), "../../../bin/tapbridge.js"), "daemon", "-c", d2.configFile!, "--socket", d2.socket], { allowFail: true, timeoutMs: 30_000 });
    expect(launched.code).not.toBe(0);
    expect(launched.stderr).toContain("dnsmasq is not installed (not found in PATH): network lonely serves DHCP and DNS to its guests with it; install the Debian package dnsmasq-base");
    expect((await lab.exec(ns, ["ip", "-br", "link"])).stdout).not.toContain("hbr0");
  }, 60_000);
});
