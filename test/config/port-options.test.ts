import { describe, expect, it } from "vitest";
import { applyPortOptionValue, parsePortSpec, portOptionsHelp, type PortConfig } from "../../src/config/port-options.js";

describe("port option grammar", () => {
  it("splits name, namespace and options", () => {
    expect(parsePortSpec("tap0")).toEqual({ name: "tap0", label: "tap0", config: {} });
    expect(parsePortSpec("vm1@ns1:hairpin:learning=off:flood=on")).toEqual({
      name: "vm1",
      netns: "ns1",
      label: "vm1@ns1",
      config: { hairpin: true, learning: false, flood: true },
    });
    expect(parsePortSpec("eth0:mcast-flood=no:bcast-flood=0:isolated=yes").config).toEqual({ mcastFlood: false, bcastFlood: false, isolated: true });
  });

  it("names the port and the option in every error", () => {
    expect(() => parsePortSpec("vm1@ns1:frobnicate")).toThrow(/^port vm1@ns1: unknown option "frobnicate" \(known: learning, flood/);
    expect(() => parsePortSpec("vm1:learning=maybe")).toThrow('port vm1: option "learning" takes on or off, not "maybe"');
    expect(() => parsePortSpec("vm1::hairpin")).toThrow(/port vm1: empty option/);
    expect(() => parsePortSpec("vm1:")).toThrow(/port vm1: empty option/);
    expect(() => parsePortSpec("bad name")).toThrow(/not a valid interface name/);
  });

  it("takes typed values from a config file under the same names", () => {
    const config: PortConfig = {};
    applyPortOptionValue(config, "hairpin", true);
    applyPortOptionValue(config, "learning", "off");
    expect(config).toEqual({ hairpin: true, learning: false });
    expect(() => applyPortOptionValue(config, "hairpin", { x: 1 })).toThrow(/option "hairpin" cannot be/);
    expect(() => applyPortOptionValue(config, "nope", true)).toThrow(/unknown option "nope"/);
  });

  it("documents every option", () => {
    expect(portOptionsHelp()).toMatch(/:hairpin\[=on\|off\]/);
  });
});
