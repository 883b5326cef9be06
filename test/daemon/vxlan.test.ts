/**
 * VXLAN ports in the daemon, as root: a `vxlan:` port entry in the config
 * file (the port option names as keys), `tapbridge fdb show` listing its
 * flood remotes as `bridge fdb show` lists a vxlan device's, `fdb append` /
 * `fdb del` of 00:00:00:00:00:00 dst VTEP at run time, `show` listing the
 * port, and a config file whose VXLAN keys are wrong refused with a sentence.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../src/testing/lab.js";
import { cleanupDaemons, DaemonProcess, tempDir } from "./helpers.js";

const lab = new Lab("tbd");
let ns = "";
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  ns = await lab.netns("d");
  const peer = await lab.netns("p");
  await lab.veth({ ns, name: lab.ifname("u0"), address: "10.89.0.1/24" }, { ns: peer, name: lab.ifname("u1"), address: "10.89.0.2/24" });
});

afterAll(async () => {
  await daemon?.stop();
  cleanupDaemons();
  await lab.destroy();
});

describe("VXLAN ports in the daemon", () => {
  it("takes a vxlan: entry from the config file and shows its remotes as bridge fdb show does", async () => {
    const config = ["metrics:", "  listen: 127.0.0.1:19714", "bridges:", "  br0:", "    ports:", "      - vxlan: vx0", "        vni: 42", "        local: 10.89.0.1", "        remote: [10.89.0.2]", "        learning: on", ""].join("\n");
    daemon = await DaemonProcess.start({ dir: tempDir("v"), netns: ns, config });
    const show = await daemon.cli(["fdb", "show"]);
    expect(show.stdout).toContain("00:00:00:00:00:00 dev vx0 dst 10.89.0.2 master br0 permanent\n");
    expect((await daemon.cli(["fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", "10.89.0.3"])).code).toBe(0);
    expect((await daemon.cli(["fdb", "show", "brport", "vx0"])).stdout).toContain("00:00:00:00:00:00 dev vx0 dst 10.89.0.3 master br0 permanent\n");
    const json = JSON.parse((await daemon.cli(["fdb", "show", "-j"])).stdout) as { dst?: string }[];
    expect(json.map((r) => r.dst).sort()).toEqual(["10.89.0.2", "10.89.0.3"]);
    expect((await daemon.cli(["fdb", "del", "00:00:00:00:00:00", "dev", "vx0", "dst", "10.89.0.3"])).code).toBe(0);
    expect((await daemon.cli(["fdb", "show"])).stdout).not.toContain("10.89.0.3");
    const appendToTap = await daemon.cli(["fdb", "append", "00:00:00:00:00:00", "dev", "nope", "dst", "10.89.0.3"]);
    expect(appendToTap.code).not.toBe(0);
    expect((await daemon.cli(["show"])).stdout).toMatch(/br0.*vx0/s);
    const metrics = await lab.exec(ns, ["/usr/bin/python3", "-c", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:19714/metrics').read().decode())"]);
    expect(metrics.stdout).toMatch(/tapbridge_vxlan_remote_tx_packets_total\{bridge="br0",port="vx0",remote="10.89.0.2"\} \d+/);
  });

  it("shows a VXLAN port's VLAN → VNI map as bridge vlan tunnelshow does", async () => {
    const config = ["bridges:", "  br2:", "    ports:", "      - vxlan: vxm", "        local: 10.89.0.1", "        port: 4790", "        vni-map: \"59:10059,89:10089\"", ""].join("\n");
    const d = await DaemonProcess.start({ dir: tempDir("t"), netns: ns, config });
    try {
      expect((await d.cli(["vlan", "tunnelshow"])).stdout).toBe("port              vlan-id    tunnel-id\nvxm               59         10059\n                  89         10089\n\n");
      expect(JSON.parse((await d.cli(["vlan", "tunnelshow", "-j"])).stdout)).toEqual([{ ifname: "vxm", tunnels: [{ vlan: 59, tunid: 10059 }, { vlan: 89, tunid: 10089 }] }]);
      expect((await d.cli(["vlan", "show"])).stdout).toContain("vxm               59 Egress Untagged\n                  89 Egress Untagged\n");
    } finally {
      await d.stop();
    }
  });

  it("refuses a config file whose VXLAN keys are wrong, with a sentence", async () => {
    const bad = ["bridges:", "  br1:", "    ports:", "      - vxlan: vx1", "        vni: 42", "        local: 10.89.0.300", ""].join("\n");
    await expect(DaemonProcess.start({ dir: tempDir("w"), netns: ns, config: bad })).rejects.toThrow(/local.*10\.89\.0\.300.*is not an IPv4 or IPv6 address/s);
    const tapWithVni = ["bridges:", "  br1:", "    ports:", "      - tap: t1", "        vni: 42", ""].join("\n");
    await expect(DaemonProcess.start({ dir: tempDir("w"), netns: ns, config: tapWithVni })).rejects.toThrow(/"vni" applies to VXLAN ports \(--vxlan\) only/);
  });
});
