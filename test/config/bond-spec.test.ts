/** `--bond NAME=IF,IF[:OPT]...` and the bond rows of the port option table: one grammar, bond options for bonds only. */
import { describe, expect, it } from "vitest";
import { applyPortOptionValue, checkPortKind, parseBondSpec, parsePortSpec, portOptionsHelp, type PortConfig } from "../../src/config/port-options.js";

describe("bond spec", () => {
  it("reads the name, the members (with namespaces) and every option, bond and port alike", () => {
    expect(parseBondSpec("bond0=eth1,eth2")).toEqual({ name: "bond0", members: ["eth1", "eth2"], config: {} });
    const spec = parseBondSpec("up=u1@sw,u2@sw:mode=lacp:lacp-rate=fast:lacp-active=off:lacp-fallback=no:lacp-system-priority=100:lacp-key=7:rebalance-interval=2000:trunk=10,20:cost=4");
    expect(spec).toEqual({
      name: "up",
      members: ["u1@sw", "u2@sw"],
      config: { bond: { mode: "lacp", lacpRate: "fast", lacpActive: false, lacpFallback: false, lacpSystemPriority: 100, lacpKey: 7, rebalanceInterval: 2000 }, trunk: [10, 20], cost: 4 },
    });
    expect(parseBondSpec("b=a,b:mode=802.3ad").config.bond).toEqual({ mode: "lacp" });
    expect(parseBondSpec("b=a,b:mode=active-backup:primary=a:updelay=200:downdelay=100:arp-targets=192.0.2.1,192.0.2.2:arp-interval=500:arp-source=192.0.2.9").config.bond).toEqual({
      mode: "active-backup", primary: "a", updelay: 200, downdelay: 100, arpTargets: ["192.0.2.1", "192.0.2.2"], arpInterval: 500, arpSource: "192.0.2.9",
    });
  });

  it("names the bond and the option in every error", () => {
    const cases: [string, string | RegExp][] = [
      ["bond0", /"bond0" names no members: write NAME=IFNAME,IFNAME/],
      ["bond0=eth1,,eth2", /bond bond0: an empty member name/],
      ["bo@nd=eth1", /"bo@nd" is not a valid bond name/],
      ["bond0=eth1:mode=round-robin", /^bond bond0: option "mode=round-robin": "round-robin" is not a bond mode: use active-backup, balance-slb or lacp/],
      ["bond0=eth1:updelay=-5", /^bond bond0: option "updelay=-5" is out of range: use a whole number from 0 to 600000/],
      ["bond0=eth1:lacp-rate=medium", /^bond bond0: option "lacp-rate=medium": use fast or slow/],
      ["bond0=eth1:arp-targets=10.0.0.1,banana", /^bond bond0: option "arp-targets=10.0.0.1,banana": address "banana" is not an IPv4 address/],
      ["bond0=eth1:frobnicate", /^bond bond0: unknown option "frobnicate"/],
      ["bond0=bad name", /bond bond0: member "bad name" is not a valid interface name/],
    ];
    for (const [spec, message] of cases) expect(() => parseBondSpec(spec), spec).toThrow(message);
  });

  it("refuses bond options on ports that are no bond", () => {
    expect(() => parsePortSpec("eth0:mode=lacp")).toThrow('port eth0: option "mode" applies to bonds (--bond) only');
    expect(() => parsePortSpec("eth0:updelay=5:primary=x")).toThrow('port eth0: options "primary", "updelay" apply to bonds (--bond) only');
    const config: PortConfig = {};
    applyPortOptionValue(config, "lacp-rate", "fast");
    applyPortOptionValue(config, "arp-targets", ["192.0.2.1"]);
    expect(config).toEqual({ bond: { lacpRate: "fast", arpTargets: ["192.0.2.1"] } });
    expect(() => checkPortKind(config, "tap")).toThrow(/apply to bonds/);
    expect(() => checkPortKind(config, "bond")).not.toThrow();
  });

  it("lists bond options apart in the help", () => {
    const help = portOptionsHelp();
    expect(help).toMatch(/Bond options \(--bond only\):\n\s+:mode=MODE/);
    for (const o of ["primary=IFNAME", "updelay=N", "downdelay=N", "arp-targets=IP,IP", "arp-interval=N", "lacp-rate=fast|slow", "lacp-active[=on|off]", "lacp-fallback[=on|off]", "rebalance-interval=N"]) {
      expect(help).toContain(`:${o}`);
    }
    expect(help.indexOf(":hairpin")).toBeLessThan(help.indexOf("Bond options"));
  });
});
