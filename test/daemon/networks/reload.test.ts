/**
 * Networks and the config file's reload (SIGHUP / `tapbridge reload`): a
 * network that appears in the file starts, one that changes is stopped and
 * started with its new definition, one that goes is stopped and its
 * bridge (created by it) removed; a reload whose new network cannot start
 * (its uplink does not exist) is refused whole and the running network
 * keeps running. `save` writes the networks back.
 */
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../../src/testing/lab.js";
import { parseConfig } from "../../../src/daemon/config.js";
import { DaemonProcess, tempDir } from "../helpers.js";
import { snapshot, tearDown, type HostSnapshot, uplinkWorld } from "./helpers.js";

const lab = new Lab("nml");
let host = "";
let daemon: DaemonProcess;
let before: HostSnapshot;
const uplink = lab.ifname("u");

const nat = (subnet: number) => `  natnet:
    mode: nat
    bridge: natbr0
    addresses: [10.${subnet}.0.1/24]
    uplink: ${uplink}
    dhcp: { start: 10.${subnet}.0.10, end: 10.${subnet}.0.20 }
`;
const write = (networks: string) => writeFileSync(daemon.configFile!, `bridges:\n  plain0: {}\n${networks ? `networks:\n${networks}` : ""}`);
const reload = async () => {
  const r = await daemon.cli(["reload"]);
  return { code: r.code, said: r.stdout + r.stderr };
};

beforeAll(async () => {
  host = await lab.netns("host");
  await uplinkWorld(lab, host, uplink, lab.ifname("f"));
  before = await snapshot(host);
  daemon = await DaemonProcess.start({ dir: tempDir("l"), netns: host, config: "bridges:\n  plain0: {}\n" });
}, 60_000);

afterAll(() => tearDown(lab, daemon, host));

describe("networks follow the config file on reload", () => {
  it("a network added to the file starts; a changed one restarts with its new definition; save writes it back", async () => {
    write(nat(81));
    let r = await reload();
    expect(r.code, r.said).toBe(0);
    expect(r.said).toContain("network natnet started (nat, bridge natbr0)");
    expect((await lab.exec(host, ["ip", "-br", "addr", "show", "natbr0"])).stdout).toContain("10.81.0.1/24");

    write(nat(82));
    r = await reload();
    expect(r.code, r.said).toBe(0);
    expect(r.said).toContain("network natnet stopped");
    expect((await lab.exec(host, ["ip", "-br", "addr", "show", "natbr0"])).stdout).toContain("10.82.0.1/24");
    expect((await lab.exec(host, ["nft", "list", "table", "inet", "tapbridge-natnet"])).stdout).toContain("10.82.0.0/24");

    const saved = parseConfig((await daemon.cli(["save"])).stdout, "saved").config;
    expect(saved.networks?.map((n) => [n.name, n.mode, n.addresses])).toEqual([["natnet", "nat", ["10.82.0.1/24"]]]);
    // The network's bridge is the network's: save does not write it under bridges.
    expect(saved.bridges.map((b) => b.name)).toEqual(["plain0"]);
  }, 120_000);

  it("a reload whose new network cannot start is refused whole; the running one keeps running", async () => {
    write(nat(82) + "  other:\n    mode: nat\n    bridge: otherbr0\n    addresses: [10.83.0.1/24]\n    uplink: nosuch9\n");
    const r = await reload();
    expect(r.code).not.toBe(0);
    expect(r.said).toContain("uplink nosuch9 of network other does not exist");
    expect((await daemon.cli(["net-list"])).stdout).toMatch(/^ natnet\s+active/m);
    expect((await lab.exec(host, ["ip", "link", "show", "otherbr0"], { allowFail: true })).code).not.toBe(0);
  }, 60_000);

  it("a network removed from the file stops, its bridge goes, and the host is as it was", async () => {
    write("");
    const r = await reload();
    expect(r.code, r.said).toBe(0);
    expect(r.said).toContain("network natnet stopped");
    expect((await daemon.cli(["show"])).stdout).not.toContain("natbr0");
    expect(await snapshot(host, [daemon.child.pid!])).toEqual(before);
  }, 60_000);

  it("two networks share ip_forward: it stays on until the last of them stops, then is what it was", async () => {
    const file = `${daemon.configFile!}.nets.yaml`;
    writeFileSync(file, `networks:\n${nat(86).replace(/natnet/g, "n86").replace(/natbr0/g, "br86")}${nat(87).replace(/natnet/g, "n87").replace(/natbr0/g, "br87")}`);
    expect((await daemon.cli(["net-define", file])).code).toBe(0);
    const forward = async () => (await lab.exec(host, ["sysctl", "-n", "net.ipv4.ip_forward"])).stdout.trim();
    for (const n of ["n86", "n87"]) expect((await daemon.cli(["net-start", n])).code).toBe(0);
    expect(await forward()).toBe("1");
    expect((await daemon.cli(["net-destroy", "n86"])).code).toBe(0);
    expect(await forward()).toBe("1");
    expect((await lab.exec(host, ["nft", "list", "tables"])).stdout).not.toContain("tapbridge-n86");
    expect((await daemon.cli(["net-destroy", "n87"])).code).toBe(0);
    expect(await forward()).toBe("0");
    for (const n of ["n86", "n87"]) expect((await daemon.cli(["net-undefine", n])).code).toBe(0);
    expect(await snapshot(host, [daemon.child.pid!])).toEqual(before);
  }, 60_000);
});
