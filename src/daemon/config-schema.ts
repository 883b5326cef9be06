/**
 * The daemon's config file, as a zod schema. Keys mirror netplan's
 * `bridges:` section (`interfaces`, `parameters: {stp, priority,
 * forward-delay, hello-time, max-age, ageing-time, path-cost,
 * port-priority}`) plus tapbridge's own: `ports:` entries that take the
 * port option names of src/config/port-options.ts (the schema of each port
 * entry is built from that table, so a new row is a new key here too),
 * `attach-patterns`, and bridge keys. Every object is strict: an unknown key
 * is an error, never silently ignored.
 *
 * Top-level sections are independent objects: `networks:` (host-only, NAT,
 * routed, bridged, isolated presets; networks/config.ts) sits beside
 * `bridges:`, and a bridge's own interface in the host is its `host-port:`.
 */
import { z } from "zod";
import { PORT_OPTIONS } from "../config/port-options.js";
import { LEVELS } from "../log.js";
import { networkNameSchema, networkSchema } from "./networks/config.js";

const ifname = z.string().regex(/^[^\s/:@]{1,15}$/, "must be an interface name of 1 to 15 characters without spaces, '/', ':' or '@'");
const ifnameAtNetns = z.string().regex(/^[^\s/:@]{1,15}(@[A-Za-z0-9_.\/-]+)?$/, "must be NAME or NAME@NETNS (an interface name of 1 to 15 characters)");
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const seconds = (min: number, max: number) => z.number().min(min).max(max);

/** One zod type per kind of port option: a switch takes true/false (or on/off), a number its range, text a string or a list. */
function portOptionType(spec: (typeof PORT_OPTIONS)[number]): z.ZodType {
  switch (spec.value.kind) {
    case "switch":
      return z.union([z.boolean(), z.enum(["on", "off"])]);
    case "integer":
      return int(spec.value.min, spec.value.max);
    case "text":
      return z.union([z.string(), z.number(), z.array(z.union([z.number(), z.string()]))]);
  }
}

/**
 * A port entry: `tap: NAME`, `attach: NAME`, `bond: NAME` with `members:`
 * or `vxlan: NAME` (with vni/vni-map, local, remote, port), where it lives
 * (`netns:`; for a VXLAN port the underlay's namespace), and every port
 * option of the table.
 */
export function portEntrySchema() {
  const options: Record<string, z.ZodType> = {};
  for (const spec of PORT_OPTIONS) if (spec.name !== "netns") options[spec.name] = portOptionType(spec).optional();
  return z
    .strictObject({
      tap: ifname.optional(),
      attach: ifname.optional(),
      bond: ifname.optional(),
      vxlan: ifname.optional(),
      members: z.array(ifnameAtNetns).min(1).max(32).optional(),
      netns: z.string().regex(/^[A-Za-z0-9_.\/-]+$/, "must be a network namespace name (ip netns) or a path").optional(),
      persistent: z.boolean().optional(),
      mtu: int(68, 65535).optional(),
      mac: z.string().regex(/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/, "must be a MAC address like 02:00:00:00:00:01").optional(),
      ...options,
    })
    .superRefine((entry, ctx) => {
      const kinds = (entry.tap !== undefined ? 1 : 0) + (entry.attach !== undefined ? 1 : 0) + (entry.bond !== undefined ? 1 : 0) + (entry.vxlan !== undefined ? 1 : 0);
      if (kinds !== 1) ctx.addIssue({ code: "custom", message: "a port needs exactly one of tap: NAME (a TAP device the daemon creates), attach: NAME (an existing interface), bond: NAME (with members:) or vxlan: NAME (with vni: and local:)" });
      if (entry.vxlan !== undefined && (entry as Record<string, unknown>).local === undefined) ctx.addIssue({ code: "custom", message: "a vxlan: port needs local: ADDR (the local VTEP address)" });
      if (entry.tap === undefined && (entry.persistent !== undefined || entry.mtu !== undefined || entry.mac !== undefined)) {
        ctx.addIssue({ code: "custom", message: "persistent, mtu and mac apply to tap: ports only" });
      }
      if ((entry.bond !== undefined) !== (entry.members !== undefined)) {
        ctx.addIssue({ code: "custom", message: entry.bond !== undefined ? "a bond needs members: [IFNAME, …] (the interfaces it bonds)" : "members: belongs to bond: entries only" });
      }
    });
}

export const parametersSchema = z.strictObject({
  stp: z.boolean().optional(),
  /** tapbridge's own: which spanning tree runs when stp is true. */
  "stp-protocol": z.enum(["stp", "rstp"]).optional(),
  priority: int(0, 65535).optional(),
  "forward-delay": seconds(2, 30).optional(),
  "hello-time": seconds(1, 10).optional(),
  "max-age": seconds(6, 40).optional(),
  "ageing-time": seconds(0, 1_000_000).optional(),
  "path-cost": z.record(ifnameAtNetns, int(1, 65535)).optional(),
  "port-priority": z.record(ifnameAtNetns, int(0, 63)).optional(),
});

/** The VLAN options a host port takes (its own PVID and VIDs, as `bridge vlan … self`). */
export const HOST_PORT_VLAN_KEYS = ["access", "trunk", "native", "pvid", "vlans", "untagged"] as const;

/** `host-port: true`, or its namespace, MAC (or how it is chosen), MTU and VLANs. */
export function hostPortSchema() {
  const vlans: Record<string, z.ZodType> = {};
  for (const spec of PORT_OPTIONS) if ((HOST_PORT_VLAN_KEYS as readonly string[]).includes(spec.name)) vlans[spec.name] = portOptionType(spec).optional();
  return z.union([
    z.boolean(),
    z.strictObject({
      netns: z.string().regex(/^[A-Za-z0-9_.\/-]+$/, "must be a network namespace name (ip netns) or a path").optional(),
      mac: z
        .string()
        .regex(/^([0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}|stable|uplink|lowest-port)$/, "must be a MAC address, or stable, uplink or lowest-port")
        .optional(),
      mtu: int(68, 65535).optional(),
      ...vlans,
    }),
  ]);
}

export const bridgeSchema = z.strictObject({
  interfaces: z.array(ifnameAtNetns).optional(),
  ports: z.array(z.lazy(portEntrySchema)).optional(),
  "attach-patterns": z.array(z.string().regex(/^[^\s/:@]{1,15}$/, "must be an interface name pattern (* ? [...]) of at most 15 characters")).optional(),
  parameters: parametersSchema.optional(),
  "fdb-max-entries": int(1, 16_777_216).optional(),
  "fdb-max-learned": int(0, 16_777_216).optional(),
  /** As tapbridge run's flags of the same names (issue 6): what a full FDB does, and MAC flap detection. */
  "fdb-full-policy": z.enum(["evict-from-largest-port", "refuse"]).optional(),
  "mac-flap-moves": int(0, 1_000_000).optional(),
  "mac-flap-window": z.number().gt(0).max(3600).optional(),
  "mac-flap-action": z.enum(["log", "shutdown"]).optional(),
  "mac-flap-recover": seconds(0, 86_400).optional(),
  "group-fwd-mask": int(0, 0xffff).optional(),
  "vlan-filtering": z.boolean().optional(),
  /** Linux default_pvid: the VLAN of ports without VLAN keys; 0: none. */
  "default-pvid": int(0, 4094).optional(),
  // As iproute2 writes it (vlan_protocol 802.1Q) or lower case.
  "vlan-protocol": z.preprocess((v) => (typeof v === "string" ? v.toLowerCase() : v), z.enum(["802.1q", "802.1ad"])).optional(),
  "host-port": z.lazy(hostPortSchema).optional(),
});

const listen = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^\s:]+):\d{1,5}$/, "must be HOST:PORT, e.g. 127.0.0.1:9469 or [::1]:9469");

export const configSchema = z.strictObject({
  control: z
    .strictObject({
      socket: z.string().startsWith("/", "must be an absolute path").optional(),
      group: z.union([z.string().min(1), int(0, 4_294_967_294)]).optional(),
    })
    .optional(),
  log: z.strictObject({ level: z.enum(Object.keys(LEVELS) as [string, ...string[]]).optional() }).optional(),
  metrics: z.strictObject({ listen: listen.optional() }).optional(),
  bridges: z.record(ifname, bridgeSchema.nullable()).optional(),
  networks: z.record(networkNameSchema, networkSchema).optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawBridge = z.infer<typeof bridgeSchema>;
export type RawPortEntry = z.infer<ReturnType<typeof portEntrySchema>>;
