/** The config file: netplan-like keys, every error located at file:line:col with its key path; save writes what parse reads. */
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

describe("parseConfig", () => {
  it("reads netplan keys, tapbridge port entries and bridge keys", () => {
    const { config } = parseConfig(
      `control: { socket: /run/x.sock, group: adm }
metrics: { listen: "127.0.0.1:9469" }
bridges:
  br0:
    interfaces: [eth1, vnet0@blue]
    attach-patterns: ["vif*.*"]
    parameters:
      priority: 4096
      ageing-time: 60
      path-cost: { eth1: 4 }
      port-priority: { eth1: 10 }
    ports:
      - tap: vm1
        netns: red
        persistent: true
        hairpin: true
        learning: off
  empty: {}
`,
      "t.yaml",
    );
    expect(config.socket).toBe("/run/x.sock");
    expect(config.group).toBe("adm");
    expect(config.metricsListen).toBe("127.0.0.1:9469");
    const [br0, empty] = config.bridges;
    expect(br0!.params).toEqual({ stp: false, stpProtocol: "stp", priority: 4096, forwardDelay: 15, helloTime: 2, maxAge: 20, ageingTime: 60 });
    expect(br0!.ports.map((p) => [p.kind, p.label, p.persistent])).toEqual([
      ["attach", "eth1", false],
      ["attach", "vnet0@blue", false],
      ["tap", "vm1@red", true],
    ]);
    expect(br0!.ports[2]!.config).toEqual({ hairpin: true, learning: false });
    expect(br0!.pathCost).toEqual({ eth1: 4 });
    expect(br0!.attachPatterns).toEqual(["vif*.*"]);
    expect(empty!.ports).toEqual([]);
  });

  it("names file, line, column and key for a wrong type, a range, an unknown key", () => {
    expect(problems("bridges:\n  br0:\n    parameters:\n      stp: maybe\n")).toEqual(['t.yaml:4:12: bridges.br0.parameters.stp: expected true or false, not "maybe"']);
    expect(problems("bridges:\n  br0:\n    parameters: { priority: 70000 }\n")[0]).toMatch(/^t\.yaml:3:29: bridges\.br0\.parameters\.priority: 70000 is out of range: must be at most 65535$/);
    expect(problems("bridges:\n  br0:\n    colour: red\n")[0]).toMatch(/^t\.yaml:3:5: bridges\.br0\.colour: unknown key "colour" \(known: interfaces, ports/);
    expect(problems("bridges:\n  br0:\n    ports:\n      - tap: a\n        bogus: 1\n")[0]).toMatch(/^t\.yaml:5:9: bridges\.br0\.ports\[0\]\.bogus: unknown key "bogus" \(known: tap, attach, netns/);
    expect(problems("brigdes: {}\n")[0]).toMatch(/^t\.yaml:1:1: brigdes: unknown key "brigdes"/);
  });

  it("refuses a port listed twice, a port in two bridges, and costs for ports that are not there", () => {
    expect(problems("bridges:\n  br0:\n    interfaces: [eth1, eth1]\n")).toEqual(["t.yaml:3:24: bridges.br0.interfaces[1]: port eth1 is listed twice in bridge br0 (first at line 3)"]);
    expect(problems("bridges:\n  a:\n    interfaces: [eth1]\n  b:\n    ports:\n      - attach: eth1\n")).toEqual([
      "t.yaml:6:9: bridges.b.ports[0]: port eth1 is already a port of bridge a: an interface belongs to one bridge",
    ]);
    expect(problems("bridges:\n  a:\n    parameters: { path-cost: { eth9: 3 } }\n")[0]).toMatch(/bridges\.a\.parameters\.path-cost\.eth9: bridge a has no port eth9/);
  });

  it("refuses a port entry without exactly one of tap/attach, and bad YAML", () => {
    expect(problems("bridges:\n  a:\n    ports:\n      - { netns: x }\n")[0]).toMatch(/bridges\.a\.ports\[0\]: a port needs exactly one of tap: NAME/);
    expect(problems("bridges:\n  a: [\n")[0]).toMatch(/^t\.yaml:\d+:\d+: /);
    expect(problems("bridges:\n  a: {}\n  a: {}\n")[0]).toMatch(/^t\.yaml:3:3: .*[Uu]nique|duplicate/);
  });

  it("reads the FDB keys of tapbridge run's flags (full policy, MAC flap) and refuses bad values", () => {
    const { config } = parseConfig(
      "bridges:\n  br0:\n    fdb-max-learned: 500\n    fdb-full-policy: refuse\n    mac-flap-moves: 3\n    mac-flap-action: shutdown\n    mac-flap-recover: 60\n  br1: {}\n",
      "t.yaml",
    );
    const [br0, br1] = config.bridges;
    expect(br0).toMatchObject({ fdbMaxLearned: 500, fdbFullPolicy: "refuse", macFlap: { moves: 3, action: "shutdown", recoverSeconds: 60 } });
    expect(br0!.macFlap).not.toHaveProperty("windowSeconds");
    expect(br1!.fdbFullPolicy).toBeUndefined();
    expect(br1!.macFlap).toBeUndefined();
    expect(problems("bridges:\n  br0:\n    fdb-full-policy: lru\n")[0]).toMatch(/^t\.yaml:3:22: bridges\.br0\.fdb-full-policy: .*evict-from-largest-port.*refuse/);
    expect(problems("bridges:\n  br0:\n    mac-flap-window: 0\n")[0]).toMatch(/^t\.yaml:3:22: bridges\.br0\.mac-flap-window: /);
    expect(problems("bridges:\n  br0:\n    mac-flap-action: drop\n")[0]).toMatch(/bridges\.br0\.mac-flap-action: .*log.*shutdown/);
    const again = parseConfig(configToYaml(config), "b").config;
    expect(again.bridges[0]).toMatchObject({ fdbFullPolicy: "refuse", macFlap: { moves: 3, action: "shutdown", recoverSeconds: 60 } });
  });

  it("save writes YAML that parses back to the same configuration", () => {
    const text = "bridges:\n  br0:\n    interfaces: [eth1]\n    ports:\n      - tap: vm1\n        netns: red\n        persistent: true\n        hairpin: true\n    parameters:\n      ageing-time: 60\n      path-cost: { eth1: 4 }\n";
    const first = parseConfig(text, "a").config;
    const again = parseConfig(configToYaml(first), "b").config;
    const strip = (c: typeof first) => c.bridges.map((b) => ({ ...b, where: undefined, ports: b.ports.map((p) => ({ ...p, where: undefined })) }));
    expect(strip(again)).toEqual(strip(first));
  });

  it("reads the VLAN keys: per-port access, trunk, native, pvid, vlans, untagged; vlan-filtering and vlan-protocol as iproute2 writes it", () => {
    const { config } = parseConfig(
      `bridges:
  br0:
    vlan-filtering: true
    vlan-protocol: 802.1Q
    ports:
      - { attach: eth0, trunk: "59,89,100-102", native: 1 }
      - { tap: vm1, access: 59 }
      - { tap: vm2, vlans: [10, 20], untagged: 30, pvid: 30 }
  qinq:
    vlan-protocol: 802.1AD
`,
      "t.yaml",
    );
    const [br0, qinq] = config.bridges;
    expect(br0!.vlanFiltering).toBe(true);
    expect(br0!.vlanProtocol).toBe("802.1q");
    expect(qinq!.vlanProtocol).toBe("802.1ad");
    expect(br0!.ports.map((p) => p.config)).toEqual([{ trunk: [59, 89, 100, 101, 102], native: 1 }, { access: 59 }, { vlans: [10, 20], untagged: [30], pvid: 30 }]);
  });

  it("refuses bad VLAN keys with a sentence naming the port, the option and the place", () => {
    expect(problems("bridges:\n  br0:\n    vlan-protocol: 802.1x\n")[0]).toMatch(/^t\.yaml:3:20: bridges\.br0\.vlan-protocol: .*802\.1q.*802\.1ad/);
    expect(problems("bridges:\n  br0:\n    ports:\n      - { tap: vm1, access: 4095 }\n")[0]).toMatch(/^t\.yaml:4:\d+: bridges\.br0\.ports\[0\].*4095 is reserved/);
    expect(problems("bridges:\n  br0:\n    ports:\n      - { tap: vm1, native: 1 }\n")[0]).toMatch(/bridges\.br0\.ports\[0\].*"native=1" needs a trunk=LIST/);
    expect(problems("bridges:\n  br0:\n    ports:\n      - { tap: vm1, access: 5, pvid: 6 }\n")[0]).toMatch(/two PVIDs/);
  });
});
