/**
 * The running configuration written back as YAML that `tapbridge daemon -c`
 * accepts (`tapbridge save`). Only what differs from the defaults is
 * written, in the key order of the config file's documentation, so a saved
 * file reads like one written by hand.
 */
import { stringify } from "yaml";
import { DEFAULT_PARAMS, type BridgeConfig, type DaemonConfig, type PortEntry } from "./config.js";
import type { HostPortConfig } from "./host-port.js";
import type { NetworkConfig } from "./networks/config.js";

export function configToYaml(config: DaemonConfig, onlyBridge?: string): string {
  const doc: Record<string, unknown> = {};
  if (config.socket || config.group !== undefined) {
    doc.control = { ...(config.socket ? { socket: config.socket } : {}), ...(config.group !== undefined ? { group: config.group } : {}) };
  }
  if (config.logLevel) doc.log = { level: config.logLevel };
  if (config.metricsListen) doc.metrics = { listen: config.metricsListen };
  const bridges: Record<string, unknown> = {};
  for (const b of config.bridges) if (onlyBridge === undefined || b.name === onlyBridge) bridges[b.name] = bridgeToObject(b);
  doc.bridges = bridges;
  const networks = (config.networks ?? []).filter((n) => onlyBridge === undefined || n.bridge === onlyBridge);
  if (networks.length) doc.networks = Object.fromEntries(networks.map((n) => [n.name, networkToObject(n)]));
  return stringify(doc, { lineWidth: 0 });
}

/** One network as the `networks:` section holds it (net-dumpxml's YAML). */
export function networkToYaml(n: NetworkConfig): string {
  return stringify({ networks: { [n.name]: networkToObject(n) } }, { lineWidth: 0 });
}

function networkToObject(n: NetworkConfig): Record<string, unknown> {
  return {
    mode: n.mode,
    bridge: n.bridge,
    ...(n.autostart ? {} : { autostart: false }),
    ...(n.addresses.length ? { addresses: [...n.addresses] } : {}),
    ...(n.uplink !== undefined ? { uplink: n.uplink } : {}),
    ...(n.moveAddresses ? { "move-addresses": true } : {}),
    ...(n.renameUplink !== undefined ? { "rename-uplink": n.renameUplink } : {}),
    ...(n.mode === "route" && n.proxyArp !== (n.uplink !== undefined) ? { "proxy-arp": n.proxyArp } : {}),
    ...(n.dhcp
      ? {
          dhcp: {
            start: n.dhcp.start,
            end: n.dhcp.end,
            ...(n.dhcp.leaseTime !== 3600 ? { "lease-time": n.dhcp.leaseTime } : {}),
            ...(n.dhcp.hosts.length ? { hosts: n.dhcp.hosts.map((h) => ({ ...h })) } : {}),
          },
        }
      : {}),
    ...(!n.dns && n.mode !== "bridge" && n.mode !== "isolated" ? { dns: false } : {}),
    ...(n.domain !== undefined ? { domain: n.domain } : {}),
    ...(n.private ? { private: true } : {}),
  };
}

function hostPortToObject(h: HostPortConfig): Record<string, unknown> | true {
  const out = { ...(h.netns ? { netns: h.netns } : {}), ...(h.mac !== "stable" ? { mac: h.mac } : {}), ...(h.mtu !== undefined ? { mtu: h.mtu } : {}), ...h.options };
  return Object.keys(out).length ? out : true;
}

function bridgeToObject(b: BridgeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Plain attached interfaces without options read best in netplan's list.
  const plain = b.ports.filter((p) => p.kind === "attach" && Object.keys(p.options).length === 0);
  const rich = b.ports.filter((p) => !plain.includes(p));
  if (plain.length) out.interfaces = plain.map((p) => p.label);
  if (rich.length) out.ports = rich.map(portToObject);
  if (b.attachPatterns.length) out["attach-patterns"] = [...b.attachPatterns];
  const params: Record<string, unknown> = {};
  const p = b.params;
  if (p.stp !== DEFAULT_PARAMS.stp) params.stp = p.stp;
  if (p.stpProtocol !== DEFAULT_PARAMS.stpProtocol) params["stp-protocol"] = p.stpProtocol;
  if (p.priority !== DEFAULT_PARAMS.priority) params.priority = p.priority;
  if (p.forwardDelay !== DEFAULT_PARAMS.forwardDelay) params["forward-delay"] = p.forwardDelay;
  if (p.helloTime !== DEFAULT_PARAMS.helloTime) params["hello-time"] = p.helloTime;
  if (p.maxAge !== DEFAULT_PARAMS.maxAge) params["max-age"] = p.maxAge;
  if (p.ageingTime !== DEFAULT_PARAMS.ageingTime) params["ageing-time"] = p.ageingTime;
  if (Object.keys(b.pathCost).length) params["path-cost"] = { ...b.pathCost };
  if (Object.keys(b.portPriority).length) params["port-priority"] = { ...b.portPriority };
  if (Object.keys(params).length) out.parameters = params;
  if (b.fdbMaxEntries !== undefined) out["fdb-max-entries"] = b.fdbMaxEntries;
  if (b.fdbMaxLearned !== undefined) out["fdb-max-learned"] = b.fdbMaxLearned;
  if (b.fdbFullPolicy !== undefined) out["fdb-full-policy"] = b.fdbFullPolicy;
  if (b.macFlap?.moves !== undefined) out["mac-flap-moves"] = b.macFlap.moves;
  if (b.macFlap?.windowSeconds !== undefined) out["mac-flap-window"] = b.macFlap.windowSeconds;
  if (b.macFlap?.action !== undefined) out["mac-flap-action"] = b.macFlap.action;
  if (b.macFlap?.recoverSeconds !== undefined) out["mac-flap-recover"] = b.macFlap.recoverSeconds;
  if (b.groupFwdMask !== undefined) out["group-fwd-mask"] = b.groupFwdMask;
  if (b.vlanFiltering !== undefined) out["vlan-filtering"] = b.vlanFiltering;
  if (b.vlanProtocol !== undefined) out["vlan-protocol"] = b.vlanProtocol;
  if (b.hostPort) out["host-port"] = hostPortToObject(b.hostPort);
  if (b.defaultPvid !== undefined) out["default-pvid"] = b.defaultPvid;
  return out;
}

function portToObject(p: PortEntry): Record<string, unknown> {
  return {
    [p.kind]: p.name,
    ...(p.members ? { members: [...p.members] } : {}),
    ...(p.netns ? { netns: p.netns } : {}),
    ...(p.persistent ? { persistent: true } : {}),
    ...(p.mtu !== undefined ? { mtu: p.mtu } : {}),
    ...(p.mac !== undefined ? { mac: p.mac } : {}),
    ...p.options,
  };
}
