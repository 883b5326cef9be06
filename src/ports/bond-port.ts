/**
 * A bond: one bridge port made of several member interfaces, as the Linux
 * bonding driver or an Open vSwitch bond makes one of several NICs. To the
 * forwarding core it is one port — one FDB target, one flood target, one
 * STP port, one VLAN member set — whose index has no device of its own.
 * Its members are opened by the bridge under hidden indices (AF_PACKET
 * ports for interface names; in-memory ports may be given as objects, for
 * tests and harnesses); src/bond/ decides which member carries what.
 *
 *   const bond = bridge.addPort(new BondPort({ name: "bond0", members: ["eth1", "eth2"], mode: "balance-slb" }));
 *   bridge.bondStatus("bond0");
 */
import { TapbridgeError } from "../errors.js";
import { PacketPort } from "../io/native-port.js";
import { MAX_MEMBERS, resolveBondSettings, type BondOptions } from "../bond/settings.js";
import { MemoryPort } from "./memory-port.js";
import { checkIfname, parseIfnameAtNetns, Port } from "./port.js";

export interface BondPortOptions extends BondOptions {
  /** The bond's name: how the bridge, logs and `bond show` know the port (no device has it). */
  name: string;
  /** Interfaces ("eth1", "eth1@ns"), or ports (PacketPort, MemoryPort). At least one. */
  members: readonly (string | PacketPort | MemoryPort)[];
  /** Namespace of members named without one. */
  netns?: string;
}

export class BondPort extends Port {
  readonly kind = "bond" as const;
  readonly members: readonly (PacketPort | MemoryPort)[];
  /** Member names as `primary=` and `bond show` name them: as given ("eth1", "eth1@ns"), or the port's label. */
  readonly memberNames: readonly string[];
  /** Options as given (checked); the bridge's settings for the port may override them. */
  readonly options: BondOptions;

  constructor(options: BondPortOptions) {
    super(checkIfname(options.name, "bond name"));
    const list = options.members ?? [];
    if (list.length === 0) throw new TapbridgeError("EINVAL", `bond ${options.name} needs at least one member`);
    if (list.length > MAX_MEMBERS) throw new TapbridgeError("EINVAL", `bond ${options.name} has ${list.length} members: at most ${MAX_MEMBERS}`);
    this.members = list.map((m) => {
      if (typeof m !== "string") {
        if (!(m instanceof PacketPort || m instanceof MemoryPort)) throw new TapbridgeError("EINVAL", `bond ${options.name}: a member must be an interface name, a PacketPort or a MemoryPort`);
        return m;
      }
      const spec = parseIfnameAtNetns(m);
      const netns = spec.netns ?? options.netns;
      return new PacketPort({ name: spec.name, ...(netns ? { netns } : {}) });
    });
    this.memberNames = list.map((m, k) => (typeof m === "string" ? m : this.members[k]!.label));
    const labels = this.members.map((m) => m.label);
    const twice = labels.find((l, i) => labels.indexOf(l) !== i);
    if (twice) throw new TapbridgeError("EINVAL", `bond ${options.name} lists member ${twice} twice`);
    if (this.members.some((m) => m.index >= 0)) throw new TapbridgeError("EBUSY", `bond ${options.name}: a member is already attached to a bridge`);
    const { name: _name, members: _members, netns: _netns, ...bondOptions } = options;
    resolveBondSettings(bondOptions, this.memberNames);
    this.options = bondOptions;
    this.mtu = 1500;
  }
}
