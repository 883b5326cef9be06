/** `bridge vlan show` rows and layout from a bridge's VLAN table (in-memory ports: no root, no addon). */
import { describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { formatVlan } from "../../src/cli/bridge-layout.js";
import { portEntryFromOptions } from "../../src/daemon/config.js";
import { DEFAULT_PARAMS, ManagedBridge } from "../../src/daemon/daemon.js";
import { vlanRows } from "../../src/daemon/views.js";
import { MemoryPort } from "../../src/ports/memory-port.js";

function managed(vlanFiltering: boolean): ManagedBridge {
  const bridge = new Bridge({ name: "brv", vlanFiltering, followLinks: false });
  const m = new ManagedBridge(bridge, { name: "brv", params: { ...DEFAULT_PARAMS }, pathCost: {}, portPriority: {}, attachPatterns: [], ports: [] });
  for (const [name, options] of [["up", { trunk: "59,89" }], ["vm1", { access: 59 }]] as const) {
    const entry = portEntryFromOptions("attach", name, options);
    const port = bridge.addPort(new MemoryPort(name), entry.config);
    m.ports.set(name, { entry, port, origin: "config" });
  }
  return m;
}

describe("vlan show", () => {
  it("lists each port's VIDs with PVID and Egress Untagged, in bridge's layout", () => {
    const m = managed(true);
    const rows = vlanRows(m);
    expect(rows).toEqual([
      { ifname: "up", vlans: [{ vlan: 59 }, { vlan: 89 }] },
      { ifname: "vm1", vlans: [{ vlan: 59, flags: ["PVID", "Egress Untagged"] }] },
    ]);
    expect(formatVlan(rows)).toBe("port              vlan-id  \nup                59\n                  89\n\nvm1               59 PVID Egress Untagged\n\n");
    expect(vlanRows(m, "vm1")).toHaveLength(1);
    m.bridge.close();
  });
});
