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
    for (const o of ["access=VID", "trunk=LIST", "native=VID", "pvid=VID", "vlans=LIST", "untagged=LIST"]) expect(portOptionsHelp()).toContain(`:${o}`);
  });

  it("reads the VLAN options: access, trunk with native, Linux-style pvid/vlans/untagged", () => {
    expect(parsePortSpec("eth0:trunk=59,89:native=1").config).toEqual({ trunk: [59, 89], native: 1 });
    expect(parsePortSpec("vm1@ns1:access=59").config).toEqual({ access: 59 });
    expect(parsePortSpec("p:trunk=100-103,7:trunk=200").config).toEqual({ trunk: [7, 100, 101, 102, 103, 200] });
    expect(parsePortSpec("p:vlans=10,20:untagged=30:pvid=30").config).toEqual({ vlans: [10, 20], untagged: [30], pvid: 30 });
    const config: PortConfig = {};
    applyPortOptionValue(config, "trunk", [59, 89]);
    applyPortOptionValue(config, "native", 1);
    expect(config).toEqual({ trunk: [59, 89], native: 1 });
  });

  it("refuses bad VLAN IDs and VLAN options that contradict each other, naming the port and the option", () => {
    const cases: [string, string | RegExp][] = [
      ["vm1:access=0", 'port vm1: option "access=0": VLAN ID 0 is not a VLAN (it marks priority-tagged frames): use 1 to 4094'],
      ["vm1:access=4095", 'port vm1: option "access=4095": VLAN ID 4095 is reserved: use 1 to 4094'],
      ["eth0:trunk=59,5000", 'port eth0: option "trunk=59,5000": VLAN ID 5000 is out of range: use 1 to 4094'],
      ["eth0:trunk=abc", 'port eth0: option "trunk=abc": "abc" is not a VLAN ID: use a whole number from 1 to 4094'],
      ["eth0:trunk=59,,89", /port eth0: option "trunk=59,,89": empty entry/],
      ["eth0:native=1", /^port eth0: option "native=1" needs a trunk=LIST/],
      ["eth0:trunk=59:native=1:pvid=59", /^port eth0: options "native=1" and "pvid=59" give the port two PVIDs/],
      ["vm1:access=59:access=60", /^port vm1: option "access" is given twice/],
      ["vm1:access=59:trunk=89", /^port vm1: options "access=59" and "trunk=89" exclude each other/],
      ["vm1:access", /^port vm1: option "access" needs a value \(access=VID\)/],
    ];
    for (const [spec, message] of cases) expect(() => parsePortSpec(spec), spec).toThrow(message);
  });
});

describe("VXLAN port options", () => {
  it("parses vni, local, remotes (IPv6 in brackets), port, netns and vni-map in one colon grammar", () => {
    const spec = parsePortSpec("vx0:vni=42:local=10.0.0.1:remote=10.0.0.2,10.0.0.3:remote=10.0.0.4:port=8472:netns=under:udp-csum=off", "vxlan");
    expect(spec.config).toEqual({ vni: 42, local: "10.0.0.1", remotes: ["10.0.0.2", "10.0.0.3", "10.0.0.4"], udpPort: 8472, underlayNetns: "under", udpCsum: false });
    expect(parsePortSpec("vx6:vni=7:local=[fd00::1]:remote=[fd00::2],[fd00::3]", "vxlan").config).toEqual({ vni: 7, local: "fd00::1", remotes: ["fd00::2", "fd00::3"] });
    expect(parsePortSpec("vx1:local=10.0.0.1:vni-map=59:10059,89:10089:learning=off", "vxlan").config).toEqual({
      local: "10.0.0.1",
      vniMap: new Map([[59, 10059], [89, 10089]]),
      learning: false,
    });
  });

  it("says what is wrong with a VXLAN option", () => {
    expect(() => parsePortSpec("tap0:vni=42:remote=10.0.0.2")).toThrow('port tap0: options "vni", "remote" apply to VXLAN ports (--vxlan) only');
    expect(parsePortSpec("vxg:vni=1:local=10.0.0.1:group=239.1.1.1", "vxlan").config.group).toBe("239.1.1.1");
    expect(() => parsePortSpec("vx0:vni=16777216", "vxlan")).toThrow('port vx0: option "vni=16777216" is out of range: use a whole number from 0 to 16777215');
    expect(() => parsePortSpec("vx0:local=10.0.0.300", "vxlan")).toThrow(/port vx0: option "local": "10.0.0.300" is not an IPv4 or IPv6 address/);
    expect(() => parsePortSpec("vx0:vni-map=59-10059", "vxlan")).toThrow(/"59-10059" is not VID:VNI/);
    expect(() => parsePortSpec("vx0:vni-map=4095:1", "vxlan")).toThrow(/vni-map/);
  });
});
