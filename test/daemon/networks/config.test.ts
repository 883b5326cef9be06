/**
 * The `networks:` section without root: the shipped examples parse, every
 * rule that needs only the file is refused with a located sentence, save
 * writes back what parse reads, and the dnsmasq and nftables texts a
 * network produces are libvirt's shape.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../src/daemon/config.js";
import { configToYaml } from "../../../src/daemon/config-save.js";
import { dnsmasqConf } from "../../../src/daemon/networks/dnsmasq.js";
import { networkRuleset } from "../../../src/daemon/networks/nft.js";
import { chooseMac, stableMac } from "../../../src/daemon/host-port.js";
import { REPO } from "../helpers.js";

const problems = (text: string): string[] => {
  try {
    parseConfig(text, "n.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
};

const net = (body: string) => `networks:\n  n:\n${body.replace(/^/gm, "    ")}\n`;

describe("networks: in the config", () => {
  it("every shipped network example parses, and save writes back what parse read", () => {
    const dir = join(REPO, "examples", "networks");
    const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
    expect(files.sort()).toEqual(["host-only.yaml", "nat-default.yaml", "private.yaml", "routed.yaml", "xen-bridged.yaml"]);
    for (const f of files) {
      const { config } = parseConfig(readFileSync(join(dir, f), "utf8"), f);
      expect(config.networks).toHaveLength(1);
      const again = parseConfig(configToYaml(config), "saved").config;
      expect(again.networks!.map(({ where: _, ...n }) => n)).toEqual(config.networks!.map(({ where: _, ...n }) => n));
    }
  });

  it("refuses what the file alone shows is wrong, each located, with a sentence", () => {
    expect(problems(net("mode: nat\nbridge: virbr0\naddresses: [192.168.122.1/24]\nuplink: eth0\ndhcp: { start: 192.168.123.2, end: 192.168.123.9 }"))).toEqual([
      "n.yaml:7:20: networks.n.dhcp.start: the DHCP range 192.168.123.2-192.168.123.9 is outside the network 192.168.122.0/24: it must lie in the host port's IPv4 subnet",
    ]);
    expect(problems(net("mode: nat\nbridge: virbr0\naddresses: [192.168.122.1/24]"))[0]).toContain("a nat network needs an uplink: the interface its guests leave through, masqueraded (uplink: eth0)");
    expect(problems(net("mode: host-only\nbridge: vnet0"))[0]).toContain("a host-only network needs addresses: for its host port, e.g. addresses: [192.168.122.1/24]");
    expect(problems(net("mode: host-only\nbridge: vnet0\naddresses: [10.0.0.0/24]"))[0]).toContain("10.0.0.0/24 is the network address of 10.0.0.0/24: give the host port an address inside it, e.g. 10.0.0.1/24");
    expect(problems(net("mode: isolated\nbridge: iso0\naddresses: [10.0.0.1/24]"))[0]).toContain('an isolated network takes no "addresses" (it takes uplink, private)');
    expect(problems(net("mode: nat\nbridge: virbr0\naddresses: [10.0.0.1/24]\nuplink: eth0\ndhcp: { start: 10.0.0.1, end: 10.0.0.9 }"))[0]).toContain("includes the host port's own address 10.0.0.1");
    const two = `networks:\n  a: { mode: host-only, bridge: br7, addresses: [10.7.0.1/24] }\n  b: { mode: host-only, bridge: br7, addresses: [10.8.0.1/24] }\n`;
    expect(problems(two)[0]).toContain("networks a and b both claim bridge br7 and its host port br7: a bridge belongs to one network");
    const overlap = `networks:\n  a: { mode: host-only, bridge: br7, addresses: [10.7.0.1/24] }\n  b: { mode: host-only, bridge: br8, addresses: [10.7.0.129/25] }\n`;
    expect(problems(overlap)[0]).toContain("10.7.0.129/25 overlaps 10.7.0.1/24 of network a");
    expect(problems(`networks:\n  a: { mode: nat, bridge: br7, addresses: [10.7.0.1/24], uplink: eth0 }\nbridges:\n  br0:\n    interfaces: [eth0]\n`)[0]).toContain(
      "uplink eth0 is a port of bridge br0: a nat network routes through its uplink, which must not be a bridge port",
    );
    expect(problems(net("mode: nat\nbridge: virbr0\nuplink: eth0\naddresses: [10.0.0.1/24]\nmasquerade: true"))[0]).toContain('unknown key "masquerade"');
  });
});

describe("what a network hands to dnsmasq and nftables", () => {
  it("dnsmasq: bound to the host port only, libvirt's options, files in the network's directory", () => {
    const conf = dnsmasqConf({
      network: "default",
      hostPort: "virbr0",
      dir: "/run/tapbridge/networks/default",
      addresses: ["192.168.122.1/24"],
      dhcp: { start: "192.168.122.2", end: "192.168.122.254", leaseTime: 3600, hosts: [] },
      dns: true,
      noRouter: false,
    });
    expect(conf.split("\n")).toEqual(
      expect.arrayContaining([
        "strict-order",
        "except-interface=lo",
        "bind-dynamic",
        "interface=virbr0",
        "pid-file=/run/tapbridge/networks/default/dnsmasq.pid",
        "dhcp-range=192.168.122.2,192.168.122.254,255.255.255.0,3600",
        "dhcp-no-override",
        "dhcp-authoritative",
        "dhcp-lease-max=253",
        "dhcp-leasefile=/run/tapbridge/networks/default/dnsmasq.leases",
      ]),
    );
  });

  it("nftables: one table of the network's own, masquerading the subnet toward the uplink only", () => {
    const rules = networkRuleset({ network: "default", mode: "nat", hostPort: "virbr0", uplink: "eth0", addresses: ["192.168.122.1/24"] })!;
    expect(rules).toContain("table inet tapbridge-default {");
    expect(rules).toContain('ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 oifname "eth0" masquerade');
    expect(rules).toContain('iifname "eth0" oifname "virbr0" ip daddr 192.168.122.0/24 ct state established,related accept');
    expect(networkRuleset({ network: "x", mode: "route", hostPort: "xenbr1", uplink: "eth0", addresses: ["10.0.0.1/24"] })).not.toContain("masquerade");
    expect(networkRuleset({ network: "i", mode: "isolated", hostPort: "iso0", addresses: [] })).toBeUndefined();
  });

  it("the host port's MAC: stable by default (same machine and name, same MAC; locally administered), or fixed", () => {
    const a = stableMac("virbr0", "0123456789abcdef");
    expect(a).toBe(stableMac("virbr0", "0123456789abcdef"));
    expect(a).not.toBe(stableMac("virbr1", "0123456789abcdef"));
    expect(parseInt(a.slice(0, 2), 16) & 0x03).toBe(0x02);
    expect(chooseMac("52:54:00:AA:BB:CC", "virbr0", undefined as never)).toBe("52:54:00:aa:bb:cc");
  });
});
