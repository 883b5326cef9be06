/**
 * brctl and `bridge` compatibility, against the oracle: the same topology is
 * built twice — a kernel bridge in one namespace, the tapbridge daemon in
 * another — with the same interface names and MACs, the same traffic, and
 * the same CLI verbs run on each. `show`, `showmacs`, `showstp`, `fdb show`,
 * `link show` and their -j forms are compared field by field; only what
 * must differ is normalized (ifindex numbers, running timers, and the
 * kernel's local entries: tapbridge has no host interface of its own).
 *
 *   hk1 ── h1 ═ p1 ┐                 ht1 ── h1 ═ p1 ┐
 *                  ├ br0 (kernel)                   ├ br0 (tapbridge daemon in ns t)
 *   hk2 ── h2 ═ p2 ┘  in ns k        ht2 ── h2 ═ p2 ┘
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab, run } from "../../src/testing/lab.js";
import { cleanupDaemons, DaemonProcess, inNs, tempDir, until } from "./helpers.js";

const lab = new Lab("tbk");
let k = "";
let t = "";
let daemon: DaemonProcess;
const MAC = { p1: "02:5a:00:00:01:01", p2: "02:5a:00:00:01:02", p3: "02:5a:00:00:01:03", h1: "02:5a:00:00:02:01", h2: "02:5a:00:00:02:02" };

async function side(ns: string, tag: string, hosts: string[]) {
  for (const [i, host] of hosts.entries()) {
    const n = i + 1;
    await lab.veth({ ns: host, name: "h" + n }, { ns, name: "p" + n });
    await run(["ip", "-n", host, "link", "set", "dev", "h" + n, "address", MAC[`h${n}` as "h1"]]);
    await run(["ip", "-n", ns, "link", "set", "dev", "p" + n, "address", MAC[`p${n}` as "p1"]]);
    await lab.address(host, "h" + n, `10.61.0.${n}/24`);
  }
  void tag;
}

const brctl = (args: string[]) => inNs(k, ["brctl", ...args]);
const kbridge = (args: string[]) => inNs(k, ["bridge", ...args]);
const tb = (args: string[]) => daemon.cli(args);

/** Timers ("  14.94") become "T.TT": they run. */
const timers = (text: string) => text.replace(/ *\d+\.\d\d(?=\n|\t|$)/g, "T.TT");

beforeAll(async () => {
  k = await lab.netns("k");
  t = await lab.netns("t");
  const hk = [await lab.netns("hk1"), await lab.netns("hk2")];
  const ht = [await lab.netns("ht1"), await lab.netns("ht2")];
  await side(k, "k", hk);
  await side(t, "t", ht);
  // The kernel bridge, set up as the oracle (no snooping, no netfilter on bridged frames).
  await inNs(k, ["sh", "-c", "ip link add br0 type bridge && ip link set p1 master br0 && ip link set p2 master br0 && ip link set br0 type bridge mcast_snooping 0 && ip link set br0 up"]);
  await inNs(k, ["sh", "-c", "sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 2>/dev/null; true"]);
  daemon = await DaemonProcess.start({ dir: tempDir("k"), netns: t, config: "bridges:\n  br0:\n    interfaces: [p1, p2]\n" });
  // The same traffic on both sides: each host is learned on its port.
  for (const hosts of [hk, ht]) {
    const r = await lab.exec(hosts[0]!, ["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.61.0.2"], { allowFail: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  }
});

afterAll(async () => {
  await daemon?.stop();
  cleanupDaemons();
  await lab.destroy();
});

describe("brctl layouts against a kernel bridge", () => {
  it("show is byte for byte brctl's", async () => {
    const [kernel, ours] = [await brctl(["show"]), await tb(["show"])];
    expect(ours.code, ours.stderr).toBe(0);
    expect(ours.stdout).toBe(kernel.stdout);
    expect((await tb(["show", "br0"])).stdout).toBe((await brctl(["show", "br0"])).stdout);
  });

  it("showmacs: the learned rows are brctl's (the kernel's local rows are its own interfaces)", async () => {
    const [kernel, ours] = [(await brctl(["showmacs", "br0"])).stdout, (await tb(["showmacs", "br0"])).stdout];
    const rows = (text: string) => text.split("\n").filter((l) => /\tno\t/.test(l)).map(timers);
    expect(ours.split("\n")[0]).toBe(kernel.split("\n")[0]);
    expect(rows(ours)).toEqual(rows(kernel));
    expect(rows(ours).length).toBe(2);
  });

  it("showstp is brctl's block, field for field (timers aside)", async () => {
    const [kernel, ours] = [(await brctl(["showstp", "br0"])).stdout, (await tb(["showstp", "br0"])).stdout];
    expect(timers(ours)).toBe(timers(kernel));
  });

  it("the setters change the same fields as brctl's", async () => {
    const steps = [
      ["setageing", "br0", "120"],
      ["setbridgeprio", "br0", "4096"],
      ["setfd", "br0", "10"],
      ["sethello", "br0", "3"],
      ["setmaxage", "br0", "12"],
      ["setpathcost", "br0", "p1", "10"],
      ["setportprio", "br0", "p2", "5"],
      ["hairpin", "br0", "p2", "on"],
    ];
    for (const step of steps) {
      const [kr, ours] = [await brctl(step), await tb(step)];
      expect(kr.code, `brctl ${step.join(" ")}: ${kr.stderr}`).toBe(0);
      expect(ours.code, `tapbridge ${step.join(" ")}: ${ours.stderr}`).toBe(0);
      expect(ours.stdout).toBe("");
    }
    expect(timers((await tb(["showstp", "br0"])).stdout)).toBe(timers((await brctl(["showstp", "br0"])).stdout));
    expect((await tb(["show"])).stdout).toBe((await brctl(["show"])).stdout);
  });

  it("addbr, addif, delif, delbr", async () => {
    await run(["ip", "-n", k, "link", "add", "p3", "address", MAC.p3, "type", "veth", "peer", "name", "q3"]);
    await run(["ip", "-n", t, "link", "add", "p3", "address", MAC.p3, "type", "veth", "peer", "name", "q3"]);
    for (const ns of [k, t]) await run(["ip", "-n", ns, "link", "set", "p3", "up"]);
    for (const step of [["addbr", "br1"], ["addif", "br1", "p3"]]) {
      expect((await brctl(step)).code).toBe(0);
      const r = await tb(step);
      expect(r.code, r.stderr).toBe(0);
    }
    expect((await tb(["show"])).stdout).toBe((await brctl(["show"])).stdout);
    for (const step of [["delif", "br1", "p3"]]) {
      expect((await brctl(step)).code).toBe(0);
      expect((await tb(step)).code).toBe(0);
    }
    expect((await tb(["show"])).stdout).toBe((await brctl(["show"])).stdout);
    await inNs(k, ["ip", "link", "set", "br1", "down"]);
    expect((await brctl(["delbr", "br1"])).code).toBe(0);
    expect((await tb(["delbr", "br1"])).code).toBe(0);
    expect((await tb(["show"])).stdout).toBe((await brctl(["show"])).stdout);
  });
});

describe("bridge (iproute2) layouts against a kernel bridge", () => {
  it("fdb show: learned and static rows, text and -j", async () => {
    expect((await kbridge(["fdb", "add", "02:5a:00:00:09:09", "dev", "p1", "master", "static"])).code).toBe(0);
    const added = await tb(["fdb", "add", "02:5a:00:00:09:09", "dev", "p1", "master", "static"]);
    expect(added.code, added.stderr).toBe(0);
    const mine = (text: string) => text.split("\n").filter((l) => / master br0 ?(static)?$/.test(l) || / master br0 $/.test(l)).sort();
    const [kernel, ours] = [(await kbridge(["fdb", "show", "br", "br0"])).stdout, (await tb(["fdb", "show", "br", "br0"])).stdout];
    expect(mine(ours)).toEqual(mine(kernel));
    expect(mine(ours).length).toBe(3);
    type Row = { mac: string; state: string; master?: string };
    const pick = (rows: Row[]) => rows.filter((r) => r.master === "br0" && r.state !== "permanent").sort((a, b) => a.mac.localeCompare(b.mac));
    const kj = pick(JSON.parse((await kbridge(["-j", "fdb", "show", "br", "br0"])).stdout) as Row[]);
    const oj = pick(JSON.parse((await tb(["fdb", "show", "br", "br0", "-j"])).stdout) as Row[]);
    expect(oj).toEqual(kj);
    expect((await tb(["fdb", "show", "brport", "p2"])).stdout.split("\n").filter(Boolean)).toEqual([`${MAC.h2} dev p2 master br0 `]);
    expect((await kbridge(["fdb", "del", "02:5a:00:00:09:09", "dev", "p1", "master"])).code).toBe(0);
    expect((await tb(["fdb", "del", "02:5a:00:00:09:09", "dev", "p1", "master"])).code).toBe(0);
    expect((await tb(["fdb", "show"])).stdout).not.toContain("02:5a:00:00:09:09");
  });

  it("link show and link set: text, -d and -j with bridge's keys", async () => {
    for (const args of [["link", "set", "dev", "p1", "learning", "off", "isolated", "on"], ["link", "set", "dev", "p2", "flood", "off"]]) {
      expect((await kbridge(args)).code).toBe(0);
      const r = await tb(args);
      expect(r.code, r.stderr).toBe(0);
    }
    const ifindex = (text: string) => text.replace(/^\d+: /gm, "N: ").replace(/@if\d+/g, "@ifN");
    expect(ifindex((await tb(["link", "show"])).stdout)).toBe(ifindex((await kbridge(["link", "show"])).stdout));
    expect(ifindex((await tb(["link", "show", "-d"])).stdout)).toBe(ifindex((await kbridge(["-d", "link", "show"])).stdout));
    const norm = (rows: Record<string, unknown>[]) => rows.map((r) => ({ ...r, ifindex: 0, ...("link_index" in r ? { link_index: 0 } : {}) }));
    const kj = norm(JSON.parse((await kbridge(["-d", "-j", "link", "show"])).stdout));
    const oj = norm(JSON.parse((await tb(["link", "show", "-d", "-j"])).stdout));
    expect(oj).toEqual(kj);
    expect(norm(JSON.parse((await tb(["link", "show", "-j"])).stdout))).toEqual(norm(JSON.parse((await kbridge(["-j", "link", "show"])).stdout)));
  });

  it("vlan show of a VLAN-unaware bridge is the kernel's: a header and no rows", async () => {
    expect((await tb(["vlan", "show"])).stdout).toBe((await kbridge(["vlan", "show"])).stdout);
    expect(JSON.parse((await tb(["vlan", "show", "-j"])).stdout)).toEqual(JSON.parse((await kbridge(["-j", "vlan", "show"])).stdout));
    // With statistics: the kernel's header (no trailing pad) and no rows.
    expect((await tb(["vlan", "show", "-s"])).stdout).toBe((await kbridge(["-s", "vlan", "show"])).stdout);
    expect(JSON.parse((await tb(["vlan", "show", "-s", "-j"])).stdout)).toEqual(JSON.parse((await kbridge(["-s", "-j", "vlan", "show"])).stdout));
  });
});

describe("spanning tree against a kernel bridge", () => {
  it("stp on: the ports go listening → learning → forwarding and showstp is brctl's again; stp off", async () => {
    for (const step of [["setmaxage", "br0", "6"], ["sethello", "br0", "1"], ["setfd", "br0", "4"], ["stp", "br0", "on"]]) {
      expect((await brctl(step)).code, step.join(" ")).toBe(0);
      const r = await tb(step);
      expect(r.code, `${step.join(" ")}: ${r.stderr}`).toBe(0);
    }
    expect((await tb(["show", "br0"])).stdout).toBe((await brctl(["show", "br0"])).stdout);
    // Both run the same 802.1D timers from now: wait until each has settled (forwarding, no topology change), then compare.
    const settled = (text: string) => (text.match(/state\t\t     forwarding/g) ?? []).length === 2 && !/TOPOLOGY_CHANGE/.test(text);
    await until(async () => settled((await brctl(["showstp", "br0"])).stdout) && settled((await tb(["showstp", "br0"])).stdout), "both bridges to settle", 45_000);
    expect(timers((await tb(["showstp", "br0"])).stdout)).toBe(timers((await brctl(["showstp", "br0"])).stdout));
    for (const step of [["stp", "br0", "off"]]) {
      expect((await brctl(step)).code).toBe(0);
      expect((await tb(step)).code).toBe(0);
    }
    expect((await tb(["show", "br0"])).stdout).toBe((await brctl(["show", "br0"])).stdout);
    expect(timers((await tb(["showstp", "br0"])).stdout)).toBe(timers((await brctl(["showstp", "br0"])).stdout));
  });
});
