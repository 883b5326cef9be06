/**
 * The bridge-wide VLAN keys of the config file applied by the daemon, first
 * and on reload, in process (bridges without devices; an in-memory port to
 * watch): vlan-filtering, vlan-protocol, default-pvid.
 */
import { describe, expect, it } from "vitest";
import { parseConfig, portEntryFromOptions } from "../../src/daemon/config.js";
import { configToYaml } from "../../src/daemon/config-save.js";
import { Daemon } from "../../src/daemon/daemon.js";
import { MemoryPort } from "../../src/ports/memory-port.js";

const config = (keys: string) => parseConfig(`bridges:\n  br0:\n${keys.split("\n").filter(Boolean).map((l) => `    ${l}\n`).join("")}`, "t.yaml").config;

describe("VLAN keys of a bridge", () => {
  it("applies vlan-filtering, vlan-protocol and default-pvid at start and live on reload, and save writes them", () => {
    const daemon = new Daemon();
    try {
      daemon.apply(config("vlan-filtering: true\nvlan-protocol: 802.1AD\ndefault-pvid: 5"));
      const bridge = daemon.bridge("br0").bridge;
      expect([bridge.vlanFiltering, bridge.vlanProtocol, bridge.defaultPvid]).toEqual([true, "802.1ad", 5]);
      bridge.addPort(new MemoryPort("vm"));
      const vids = () => bridge.vlans()[0]!.vlans.map(({ vid, pvid, untagged }) => ({ vid, pvid, untagged }));
      expect(vids()).toEqual([{ vid: 5, pvid: true, untagged: true }]);
      const said = daemon.apply(config("vlan-filtering: true\nvlan-protocol: 802.1q\ndefault-pvid: 7"));
      expect(said).toContain("bridge br0: default-pvid 5 → 7");
      expect(said.some((l) => /vlan-protocol 802\.1ad → 802\.1q/.test(l))).toBe(true);
      expect([bridge.vlanProtocol, bridge.defaultPvid]).toEqual(["802.1Q", 7]);
      expect(vids()).toEqual([{ vid: 7, pvid: true, untagged: true }]);
      expect(configToYaml(daemon.runningConfig())).toMatch(/default-pvid: 7/);
      // Removing the key goes back to Linux's default, VLAN 1.
      daemon.apply(config("vlan-filtering: true"));
      expect(bridge.defaultPvid).toBe(1);
      expect(vids()).toEqual([{ vid: 1, pvid: true, untagged: true }]);
      expect(configToYaml(daemon.runningConfig())).not.toMatch(/default-pvid/);
    } finally {
      daemon.close();
    }
  });

  it("refuses a default-pvid out of range with the place and the range", () => {
    expect(() => config("default-pvid: 4095")).toThrow(/t\.yaml:3:19: bridges\.br0\.default-pvid: 4095 is out of range: must be at most 4094/);
  });

  it("bridge vlan add/del take a VID or a range, all or nothing, and the port's options follow in Linux terms", () => {
    const daemon = new Daemon();
    try {
      daemon.apply(config("vlan-filtering: true"));
      const managed = daemon.bridge("br0");
      const entry = portEntryFromOptions("attach", "vm", { access: 59 });
      managed.ports.set("vm", { entry, port: managed.bridge.addPort(new MemoryPort("vm"), entry.config), origin: "cli" });
      const vids = () => managed.bridge.vlans()[0]!.vlans.map((v) => v.vid);
      expect(daemon.changeVlan("br0", "vm", { add: { vid: 100, vidEnd: 102, pvid: false, untagged: false } })).toEqual(["port vm of br0: vlan 100-102 added"]);
      expect(vids()).toEqual([59, 100, 101, 102]);
      expect(managed.port("vm").entry.options).toEqual({ vlans: [100, 101, 102], untagged: 59, pvid: 59 });
      expect(() => daemon.changeVlan("br0", "vm", { add: { vid: 5, vidEnd: 6, pvid: true, untagged: false } })).toThrow(/a range of VLANs \(5-6\) cannot be the PVID/);
      expect(() => daemon.changeVlan("br0", "vm", { add: { vid: 9, vidEnd: 7, pvid: false, untagged: false } })).toThrow(/runs backwards \(write 7-9\)/);
      expect(() => daemon.changeVlan("br0", "vm", { del: 101, delEnd: 104 })).toThrow(/port vm is not a member of VLAN 103-104/);
      expect(vids()).toEqual([59, 100, 101, 102]); // a refused range changed nothing
      expect(daemon.changeVlan("br0", "vm", { del: 100, delEnd: 102 })).toEqual(["port vm of br0: vlan 100-102 deleted"]);
      expect(vids()).toEqual([59]);
    } finally {
      daemon.close();
    }
  });
});
