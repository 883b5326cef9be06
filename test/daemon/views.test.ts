/** `bridge [-s] vlan show` rows and layouts, and the per-VLAN metrics, from a bridge's VLAN table (in-memory ports: no root, no addon). */
import { describe, expect, it } from "vitest";
import { Bridge } from "../../src/bridge.js";
import { formatVlan, formatVlanStats } from "../../src/cli/bridge-layout.js";
import { buildFrame } from "../../src/core/frame.js";
import { portEntryFromOptions } from "../../src/daemon/config.js";
import { DEFAULT_PARAMS, ManagedBridge, type Daemon } from "../../src/daemon/daemon.js";
import { createMetricsRegistry } from "../../src/daemon/metrics.js";
import { vlanRows, vlanStatsRows } from "../../src/daemon/views.js";
import { MemoryPort } from "../../src/ports/memory-port.js";

let ports: MemoryPort[] = [];

function managed(vlanFiltering: boolean): ManagedBridge {
  ports = [];
  const bridge = new Bridge({ name: "brv", vlanFiltering, followLinks: false });
  const m = new ManagedBridge(bridge, { name: "brv", params: { ...DEFAULT_PARAMS }, pathCost: {}, portPriority: {}, attachPatterns: [], ports: [] });
  for (const [name, options] of [["up", { trunk: "59,89" }], ["vm1", { access: 59 }]] as const) {
    const entry = portEntryFromOptions("attach", name, options);
    const port = bridge.addPort(new MemoryPort(name), entry.config);
    ports.push(port as unknown as MemoryPort);
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

  it("shows per-(port, VID) counters as bridge -s vlan show does, and the same as metrics", async () => {
    const m = managed(true);
    const [up, vm1] = ports as [MemoryPort, MemoryPort];
    // vm1 → up: untagged in (60 bytes), tagged out in VLAN 59 (64 bytes); up → vm1: tagged in, untagged out.
    vm1.send(buildFrame({ src: "02:00:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff", ethertype: 0x0800, payload: new Uint8Array(46) }));
    up.send(buildFrame({ src: "02:00:00:00:00:02", dst: "02:00:00:00:00:01", ethertype: 0x0800, vlan: { vid: 59 }, payload: new Uint8Array(46) }));
    up.send(buildFrame({ src: "02:00:00:00:00:02", dst: "02:00:00:00:00:01", ethertype: 0x0800, vlan: { vid: 89 }, payload: new Uint8Array(46) }));
    const rows = vlanStatsRows(m);
    expect(rows).toEqual([
      { ifname: "up", vlans: [{ vid: 59, rx_bytes: 64, rx_packets: 1, tx_bytes: 64, tx_packets: 1 }, { vid: 89, rx_bytes: 64, rx_packets: 1, tx_bytes: 0, tx_packets: 0 }] },
      { ifname: "vm1", vlans: [{ vid: 59, flags: ["PVID", "Egress Untagged"], rx_bytes: 60, rx_packets: 1, tx_bytes: 60, tx_packets: 1 }] },
    ]);
    expect(formatVlanStats(rows)).toBe(
      "port              vlan-id\n" +
        "up                59\n" +
        "                    RX: 64 bytes 1 packets\n" +
        "                    TX: 64 bytes 1 packets\n" +
        "                  89\n" +
        "                    RX: 64 bytes 1 packets\n" +
        "                    TX: 0 bytes 0 packets\n" +
        "vm1               59 PVID Egress Untagged\n" +
        "                    RX: 60 bytes 1 packets\n" +
        "                    TX: 60 bytes 1 packets\n",
    );
    const metrics = await createMetricsRegistry({ bridges: new Map([["brv", m]]) } as unknown as Daemon).metrics();
    expect(metrics).toContain('tapbridge_vlan_rx_packets_total{bridge="brv",port="up",vlan="89"} 1');
    expect(metrics).toContain('tapbridge_vlan_tx_bytes_total{bridge="brv",port="up",vlan="59"} 64');
    expect(metrics).toContain('tapbridge_vlan_tx_bytes_total{bridge="brv",port="vm1",vlan="59"} 60');
    m.bridge.close();
  });

  it("lists no VLANs and no VLAN metrics while the bridge is VLAN-unaware", async () => {
    const bridge = new Bridge({ name: "bru", followLinks: false });
    const m = new ManagedBridge(bridge, { name: "bru", params: { ...DEFAULT_PARAMS }, pathCost: {}, portPriority: {}, attachPatterns: [], ports: [] });
    const entry = portEntryFromOptions("attach", "p0", {});
    m.ports.set("p0", { entry, port: bridge.addPort(new MemoryPort("p0"), entry.config), origin: "config" });
    expect(vlanRows(m)).toEqual([]);
    expect(vlanStatsRows(m)).toEqual([]);
    expect(formatVlanStats([])).toBe("port              vlan-id\n");
    expect(await createMetricsRegistry({ bridges: new Map([["bru", m]]) } as unknown as Daemon).metrics()).not.toMatch(/^tapbridge_vlan_rx_packets_total\{/m);
    bridge.close();
  });
});
