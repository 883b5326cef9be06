/** Bonds in the config file: `bond:` entries with `members:` and bond options, located errors, save and parse again. */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/daemon/config.js";
import { configToYaml } from "../../src/daemon/config-save.js";

const problems = (text: string): string[] => {
  try {
    parseConfig(text, "t.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
};

const CONFIG = `bridges:
  xenbr0:
    ports:
      - bond: bond0
        members: [eth1, eth2]
        mode: balance-slb
        rebalance-interval: 5000
        trunk: [10, 20]
      - bond: lag
        members: [eth3@uplink, eth4]
        netns: other
        mode: lacp
        lacp-rate: fast
        lacp-fallback: off
      - tap: vif1.0
        access: 10
`;

describe("bonds in the config file", () => {
  it("reads bond entries: name, members, namespace, bond and port options", () => {
    const { config } = parseConfig(CONFIG, "t.yaml");
    const [bond0, lag, vif] = config.bridges[0]!.ports;
    expect(bond0).toMatchObject({ kind: "bond", name: "bond0", label: "bond0", members: ["eth1", "eth2"], config: { bond: { mode: "balance-slb", rebalanceInterval: 5000 }, trunk: [10, 20] } });
    expect(lag).toMatchObject({ kind: "bond", label: "lag", netns: "other", members: ["eth3@uplink", "eth4"], config: { bond: { mode: "lacp", lacpRate: "fast", lacpFallback: false } } });
    expect(vif).toMatchObject({ kind: "tap", label: "vif1.0" });
  });

  it("saves bonds so that they read back the same", () => {
    const { config } = parseConfig(CONFIG, "t.yaml");
    const yaml = configToYaml(config);
    expect(yaml).toContain("- bond: bond0\n        members:\n          - eth1\n          - eth2\n");
    expect(parseConfig(yaml, "saved.yaml").config.bridges[0]!.ports).toEqual(config.bridges[0]!.ports.map((p) => ({ ...p, where: expect.anything() })));
  });

  it("locates every mistake: no members, members without a bond, bond options elsewhere, a member used twice", () => {
    expect(problems("bridges:\n  br0:\n    ports:\n      - bond: b0\n")[0]).toMatch(/^t\.yaml:4:9: bridges\.br0\.ports\[0\]: a bond needs members: \[IFNAME, …\]/);
    expect(problems("bridges:\n  br0:\n    ports:\n      - attach: eth0\n        members: [eth1]\n")[0]).toMatch(/members: belongs to bond: entries only/);
    expect(problems("bridges:\n  br0:\n    ports:\n      - attach: eth0\n        mode: lacp\n")[0]).toMatch(/^t\.yaml:4:9: bridges\.br0\.ports\[0\]: port eth0: option "mode" applies to bonds \(--bond\) only/);
    expect(problems("bridges:\n  br0:\n    interfaces: [eth1]\n    ports:\n      - bond: b0\n        members: [eth1, eth2]\n")[0]).toMatch(/bridges\.br0\.ports\[0\]\.members: interface eth1 is already a port of this bridge/);
    expect(problems("bridges:\n  br0:\n    ports:\n      - bond: b0\n        members: [eth1]\n        mode: round-robin\n")[0]).toMatch(/^t\.yaml:6:15: bridges\.br0\.ports\[0\]\.mode: option "mode=round-robin": "round-robin" is not a bond mode/);
  });
});
