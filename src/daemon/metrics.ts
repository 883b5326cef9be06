/**
 * Prometheus metrics over HTTP (`metrics: { listen: HOST:PORT }`; off by
 * default). prom-client formats the text; the values come from the
 * dataplane's typed-array counters, read once per scrape in each metric's
 * collect() — nothing is counted per frame here, so metrics cost nothing
 * between scrapes.
 *
 * Names follow node_exporter's style, `_total` for counters, with `bridge`
 * and `port` labels (`reason` for drops):
 *   tapbridge_port_{rx,tx}_{packets,bytes}_total, tapbridge_port_{rx,tx}_dropped_total,
 *   tapbridge_port_tx_errors_total, tapbridge_port_drops_total{reason}, tapbridge_port_floods_total{kind},
 *   tapbridge_port_state (Linux BR_STATE_* number), tapbridge_port_fdb_entries,
 *   tapbridge_fdb_entries, tapbridge_fdb_learned_entries, tapbridge_fdb_max_learned,
 *   tapbridge_fdb_{moves,aged_out,evictions,mac_flaps}_total, tapbridge_fdb_refused_total{reason},
 *   tapbridge_port_fdb_learned_entries, tapbridge_port_fdb_{refused,evictions}_total,
 *   tapbridge_port_err_disabled, tapbridge_stp_topology_changes_total, tapbridge_stp_topology_change,
 *   tapbridge_stp_root, tapbridge_stp_port_role{role}, tapbridge_stp_bpdus_{received,sent}_total{type},
 *   tapbridge_bridge_ports, tapbridge_internal_errors_total,
 *   tapbridge_vlan_{rx,tx}_{packets,bytes}_total{vlan} (per port and VID, while the bridge filters VLANs);
 * bonds (bond-metrics.ts), with `bond` and `member` labels:
 *   tapbridge_bond_member_{rx,tx}_{packets,bytes}_total, tapbridge_bond_member_tx_{dropped,errors}_total,
 *   tapbridge_bond_member_drops_total{reason}, tapbridge_bond_member_enabled, tapbridge_bond_member_link_up,
 *   tapbridge_bond_member_load_bytes, tapbridge_bond_active_member, tapbridge_bond_up,
 *   tapbridge_bond_failovers_total, tapbridge_bond_lacp_negotiated;
 * networks (networks/metrics.ts), with a `network` label:
 *   tapbridge_network_active, tapbridge_network_dnsmasq_up, tapbridge_network_dhcp_leases,
 *   tapbridge_network_dhcp_pool_size.
 */
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Registry } from "prom-client";
import { TapbridgeError } from "../errors.js";
import { FLOOD_KINDS } from "../core/counters.js";
import { PortState } from "../core/port-table.js";
import type { Logger } from "../log.js";
import type { FdbStats, PortStats } from "../bridge.js";
import type { Daemon, ManagedBridge } from "./daemon.js";
import { registerBondMetrics } from "./bond-metrics.js";
import type { NetworkManager } from "./networks/manager.js";
import { registerNetworkMetrics } from "./networks/metrics.js";

export type Sample = [labels: Record<string, string>, value: number];
export type MetricMaker = (name: string, help: string, labelNames: string[], read: () => Sample[]) => unknown;

export function createMetricsRegistry(daemon: Daemon, networks?: NetworkManager): Registry {
  const registry = new Registry();
  const counter = (name: string, help: string, labelNames: string[], read: () => Sample[]) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  const gauge = (name: string, help: string, labelNames: string[], read: () => Sample[]) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.set(labels, value);
      },
    });
  const perPort = (pick: (s: PortStats) => number) => () => {
    const out: Sample[] = [];
    for (const b of daemon.bridges.values()) for (const s of b.bridge.stats()) out.push([{ bridge: b.name, port: s.name }, pick(s)]);
    return out;
  };
  const ports = ["bridge", "port"];
  counter("tapbridge_port_rx_packets_total", "Frames received on the port.", ports, perPort((s) => s.rxPackets));
  counter("tapbridge_port_rx_bytes_total", "Bytes received on the port.", ports, perPort((s) => s.rxBytes));
  counter("tapbridge_port_tx_packets_total", "Frames sent on the port.", ports, perPort((s) => s.txPackets));
  counter("tapbridge_port_tx_bytes_total", "Bytes sent on the port.", ports, perPort((s) => s.txBytes));
  counter("tapbridge_port_rx_dropped_total", "Frames lost on receive before any decision (ring overrun, larger than a slot).", ports, perPort((s) => s.rxDropped));
  counter("tapbridge_port_tx_dropped_total", "Frames dropped because the port's egress queue was full.", ports, perPort((s) => s.txDropped));
  counter("tapbridge_port_tx_errors_total", "Transmit errors other than a full queue.", ports, perPort((s) => s.txErrors));
  counter("tapbridge_port_drops_total", "Frames received on the port and not delivered, by reason.", [...ports, "reason"], () => {
    const out: Sample[] = [];
    for (const b of daemon.bridges.values()) for (const s of b.bridge.stats()) for (const [reason, n] of Object.entries(s.drops)) out.push([{ bridge: b.name, port: s.name, reason }, n]);
    return out;
  });
  counter("tapbridge_port_floods_total", "Frames received on the port and flooded, by kind (broadcast, multicast, unknown unicast).", [...ports, "kind"], () => {
    const out: Sample[] = [];
    const kinds = ["broadcast", "multicast", "unknown_unicast"];
    for (const b of daemon.bridges.values()) {
      const floods = b.bridge.counters.floods;
      for (const p of b.bridge.ports) kinds.forEach((kind, k) => out.push([{ bridge: b.name, port: p.label, kind }, floods[p.index * FLOOD_KINDS + k]!]));
    }
    return out;
  });
  gauge("tapbridge_port_state", "Port state, numbered as Linux BR_STATE_*: 0 disabled, 1 listening, 2 learning, 3 forwarding, 4 blocking.", ports, perPort((s) => PortState[s.state]));
  gauge("tapbridge_port_fdb_entries", "FDB entries pointing at the port.", ports, () => {
    const out: Sample[] = [];
    for (const b of daemon.bridges.values()) for (const p of b.bridge.ports) out.push([{ bridge: b.name, port: p.label }, b.bridge.fdb.perPort[p.index] ?? 0]);
    return out;
  });
  const perBridge = (read: (b: ManagedBridge) => number) => () => [...daemon.bridges.values()].map((b): Sample => [{ bridge: b.name }, read(b)]);
  const fdbStat = (pick: (s: FdbStats) => number) => perBridge((b) => pick(b.bridge.fdbStats()));
  gauge("tapbridge_fdb_entries", "Entries in the forwarding database (learned and static).", ["bridge"], fdbStat((s) => s.entries));
  gauge("tapbridge_fdb_learned_entries", "Learned entries in the forwarding database.", ["bridge"], fdbStat((s) => s.learned));
  gauge("tapbridge_fdb_max_learned", "Cap on learned entries (0: none but the table's size).", ["bridge"], fdbStat((s) => s.maxLearned));
  counter("tapbridge_fdb_moves_total", "Stations that moved to another port (learned again elsewhere).", ["bridge"], fdbStat((s) => s.moves));
  counter("tapbridge_fdb_aged_out_total", "Learned entries removed by ageing.", ["bridge"], fdbStat((s) => s.agedOut));
  counter("tapbridge_fdb_evictions_total", "Learned entries evicted to make room (full policy).", ["bridge"], fdbStat((s) => s.evictions));
  counter("tapbridge_fdb_mac_flaps_total", "MAC flaps detected (a station moving back and forth between ports).", ["bridge"], fdbStat((s) => s.flaps));
  counter("tapbridge_fdb_refused_total", "Learns refused, by why: a port's limit, a full table, the probe bound.", ["bridge", "reason"], () => {
    const out: Sample[] = [];
    for (const b of daemon.bridges.values()) {
      const s = b.bridge.fdbStats();
      out.push([{ bridge: b.name, reason: "port_limit" }, s.refusedPortLimit], [{ bridge: b.name, reason: "full" }, s.refusedFull], [{ bridge: b.name, reason: "probe" }, s.refusedProbe]);
    }
    return out;
  });
  gauge("tapbridge_port_fdb_learned_entries", "Learned entries pointing at the port.", ports, perPort((s) => s.fdb.learned));
  counter("tapbridge_port_fdb_refused_total", "Learns refused on the port (its limit, or a full table).", ports, perPort((s) => s.fdb.refused));
  counter("tapbridge_port_fdb_evictions_total", "Entries of the port evicted to make room.", ports, perPort((s) => s.fdb.evicted));
  gauge("tapbridge_port_err_disabled", "1 while the port is shut down by a guard (MAC flap, BPDU guard).", ports, perPort((s) => (s.errDisabled ? 1 : 0)));
  // Spanning tree: zeros (and every port designated) while it does not run.
  counter("tapbridge_stp_topology_changes_total", "Topology changes seen by spanning tree.", ["bridge"], perBridge((b) => b.bridge.stpStatus().bridge.topologyChangeCount));
  gauge("tapbridge_stp_topology_change", "1 while a topology change is in progress.", ["bridge"], perBridge((b) => (b.bridge.stpStatus().bridge.topologyChange ? 1 : 0)));
  gauge("tapbridge_stp_root", "1 when this bridge is the root bridge.", ["bridge"], perBridge((b) => (b.bridge.stpStatus().bridge.isRoot ? 1 : 0)));
  gauge("tapbridge_stp_port_role", "The port's spanning tree role (1 for its current role).", [...ports, "role"], () => {
    const out: Sample[] = [];
    for (const b of daemon.bridges.values()) for (const s of b.bridge.stpStatus().ports) out.push([{ bridge: b.name, port: s.name, role: s.role }, 1]);
    return out;
  });
  for (const way of ["received", "sent"] as const) {
    counter(`tapbridge_stp_bpdus_${way}_total`, `BPDUs ${way} on the port, by type.`, [...ports, "type"], () => {
      const out: Sample[] = [];
      for (const b of daemon.bridges.values()) {
        for (const s of b.bridge.stpStatus().ports) {
          const n = way === "received" ? s.bpdusReceived : s.bpdusSent;
          for (const type of ["config", "tcn", "rst"] as const) out.push([{ bridge: b.name, port: s.name, type }, n[type]]);
        }
      }
      return out;
    });
  }
  // Per (port, VID), as `bridge -s vlan show`: only while the bridge filters VLANs (a VLAN-unaware bridge has none).
  for (const [dir, field] of [["rx", "Packets"], ["rx", "Bytes"], ["tx", "Packets"], ["tx", "Bytes"]] as const) {
    const key = `${dir}${field}` as "rxPackets" | "rxBytes" | "txPackets" | "txBytes";
    const what = `${field === "Packets" ? "Frames" : "Bytes"} ${dir === "rx" ? "received on the port in" : "sent on the port in"} the VLAN.`;
    counter(`tapbridge_vlan_${dir}_${field.toLowerCase()}_total`, what, [...ports, "vlan"], () => {
      const out: Sample[] = [];
      for (const b of daemon.bridges.values()) {
        if (!b.bridge.vlanFiltering) continue;
        for (const p of b.bridge.vlans()) for (const v of p.vlans) out.push([{ bridge: b.name, port: p.port, vlan: String(v.vid) }, v[key]]);
      }
      return out;
    });
  }
  // VXLAN ports: per remote VTEP (configured or learned), UDP payload bytes.
  for (const [dir, field] of [["rx", "Packets"], ["rx", "Bytes"], ["tx", "Packets"], ["tx", "Bytes"]] as const) {
    const key = `${dir}${field}` as "rxPackets" | "rxBytes" | "txPackets" | "txBytes";
    counter(`tapbridge_vxlan_remote_${dir}_${field.toLowerCase()}_total`, `VXLAN ${field === "Packets" ? "datagrams" : "UDP payload bytes"} ${dir === "rx" ? "received from" : "sent to"} the remote VTEP.`, [...ports, "remote"], () => {
      const out: Sample[] = [];
      for (const b of daemon.bridges.values()) for (const p of b.bridge.ports) if (p.kind === "vxlan") for (const r of b.bridge.vxlanRemotes(p)) out.push([{ bridge: b.name, port: p.label, remote: r.address }, r[key]]);
      return out;
    });
  }
  gauge("tapbridge_bridge_ports", "Ports of the bridge.", ["bridge"], perBridge((b) => b.ports.size));
  counter("tapbridge_internal_errors_total", "Exceptions caught in the data path (a bug if ever non-zero).", ["bridge"], perBridge((b) => b.bridge.internalErrors));
  registerBondMetrics(daemon, counter, gauge);
  if (networks) registerNetworkMetrics(networks, gauge);
  return registry;
}

/** Serve GET /metrics on HOST:PORT. */
export async function serveMetrics(listen: string, registry: Registry, logger: Logger): Promise<Server> {
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(listen.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TapbridgeError("EINVAL", `metrics listen ${listen}: the port must be 1 to 65535`);
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url !== "/metrics" && !req.url?.startsWith("/metrics?"))) {
      res.writeHead(404, { "content-type": "text/plain" }).end("tapbridge serves metrics at /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: Error) => {
        logger.error("metrics scrape failed", { err: error });
        res.writeHead(500).end(error.message);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new TapbridgeError(error.code ?? "EIO", `metrics cannot listen on ${listen}: ${error.code === "EADDRINUSE" ? "the address is in use" : error.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  logger.info("metrics listening", { listen });
  return server;
}
