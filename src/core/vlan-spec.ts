/**
 * A port's VLAN configuration as people write it, and what it means.
 *
 * Writing: the shortcuts of switch configuration — `access=59`,
 * `trunk=59,89,100-110`, `native=1` — and the Linux bridge's own terms,
 * `pvid=VID`, `vlans=LIST` (tagged members) and `untagged=LIST`. The same
 * shape is the port options' (config/port-options.ts), the config file's keys
 * and the library's `bridge.setPortVlans(port, spec)`.
 *
 * Meaning (`resolvePortVlans`): a set of member VIDs, each tagged or
 * untagged on egress, and at most one PVID — exactly what
 * `bridge vlan add dev X vid N [pvid] [untagged]` builds:
 *   access=N     {N pvid untagged}
 *   trunk=A,B    {A tagged, B tagged}
 *   native=M     adds {M pvid untagged} (only with a trunk)
 *   pvid=P       P is the PVID (a member; tagged unless listed untagged)
 *   vlans=LIST   tagged members;  untagged=LIST  untagged members
 * A VID listed both tagged and untagged is untagged (as systemd-networkd's
 * VLAN= with EgressUntagged=). Errors are sentences that name the option.
 */
import { TapbridgeError } from "../errors.js";

export const VID_MIN = 1;
export const VID_MAX = 4094;

/** A list of VIDs: numbers, or text like "59,89,100-110". */
export type VidList = readonly number[] | string;

export interface PortVlanSpec {
  /** Access port of this VLAN: {VID pvid untagged}, and nothing else. */
  access?: number;
  /** Tagged members of a trunk. */
  trunk?: VidList;
  /** The trunk's native VLAN: {VID pvid untagged}. Needs `trunk`. */
  native?: number;
  /** The VLAN untagged and priority-tagged frames are put in. */
  pvid?: number;
  /** Tagged members (Linux terms). */
  vlans?: VidList;
  /** Untagged members (Linux terms). */
  untagged?: VidList;
}

export const PORT_VLAN_KEYS = ["access", "trunk", "native", "pvid", "vlans", "untagged"] as const;

/** One member VID of a port, as `bridge vlan show` lists it. */
export interface VlanMembership {
  vid: number;
  pvid: boolean;
  untagged: boolean;
}

export class VlanSpecError extends TapbridgeError {
  constructor(message: string) {
    super("EINVAL", message);
    this.name = "VlanSpecError";
  }
}

/** Whether a spec says anything about VLANs (any of its keys is present). */
export function hasVlanSpec(spec: object): boolean {
  return PORT_VLAN_KEYS.some((k) => (spec as Record<string, unknown>)[k] !== undefined);
}

/** Only the VLAN keys of a larger settings object. */
export function pickVlanSpec(settings: PortVlanSpec): PortVlanSpec {
  const out: Record<string, unknown> = {};
  for (const k of PORT_VLAN_KEYS) if (settings[k] !== undefined) out[k] = settings[k];
  return out as PortVlanSpec;
}

/** A settings object without its VLAN keys. */
export function withoutVlanSpec<T extends object>(settings: T): T {
  const out = { ...settings } as Record<string, unknown>;
  for (const k of PORT_VLAN_KEYS) delete out[k];
  return out as T;
}

/** Why `vid` is not a usable VLAN ID, or undefined when it is. */
function vidProblem(vid: number): string | undefined {
  if (!Number.isInteger(vid)) return `${vid} is not a VLAN ID: use a whole number from ${VID_MIN} to ${VID_MAX}`;
  if (vid === 0) return `VLAN ID 0 is not a VLAN (it marks priority-tagged frames): use ${VID_MIN} to ${VID_MAX}`;
  if (vid === 4095) return `VLAN ID 4095 is reserved: use ${VID_MIN} to ${VID_MAX}`;
  if (vid < VID_MIN || vid > VID_MAX) return `VLAN ID ${vid} is out of range: use ${VID_MIN} to ${VID_MAX}`;
  return undefined;
}

/** Check one VID (a number, or its text); `what` names where it came from in the message. */
export function checkVid(value: number | string, what: string): number {
  let vid: number;
  if (typeof value === "string") {
    const text = value.trim();
    if (!/^\d+$/.test(text)) throw new VlanSpecError(`${what}: "${value}" is not a VLAN ID: use a whole number from ${VID_MIN} to ${VID_MAX}`);
    vid = Number(text);
  } else vid = value;
  const problem = vidProblem(vid);
  if (problem) throw new VlanSpecError(`${what}: ${problem}`);
  return vid;
}

/** "59,89,100-110" or [59, 89] → sorted, distinct VIDs. */
export function parseVidList(list: VidList, what: string): number[] {
  const out = new Set<number>();
  if (typeof list === "string") {
    if (list.trim() === "") throw new VlanSpecError(`${what}: the list of VLAN IDs is empty`);
    for (const part of list.split(",")) {
      const range = /^\s*(\w+)\s*-\s*(\w+)\s*$/.exec(part);
      if (range) {
        const lo = checkVid(range[1]!, what);
        const hi = checkVid(range[2]!, what);
        if (hi < lo) throw new VlanSpecError(`${what}: the range ${lo}-${hi} runs backwards (write ${hi}-${lo})`);
        for (let v = lo; v <= hi; v++) out.add(v);
      } else {
        if (part.trim() === "") throw new VlanSpecError(`${what}: empty entry in the list of VLAN IDs (two ',' in a row, or one at an end)`);
        out.add(checkVid(part, what));
      }
    }
  } else {
    if (!Array.isArray(list)) throw new VlanSpecError(`${what}: expected a list of VLAN IDs, not ${JSON.stringify(list)}`);
    for (const v of list) out.add(checkVid(v, what));
  }
  return [...out].sort((a, b) => a - b);
}

/** VIDs as ranges: [1, 2, 3, 7] → "1-3,7". */
export function formatVidList(vids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < vids.length; ) {
    let j = i;
    while (j + 1 < vids.length && vids[j + 1] === vids[j]! + 1) j++;
    parts.push(j > i ? `${vids[i]}-${vids[j]}` : String(vids[i]));
    i = j + 1;
  }
  return parts.join(",");
}

function optionText(key: string, value: unknown): string {
  return `${key}=${Array.isArray(value) ? value.join(",") : String(value)}`;
}

/**
 * The cross-option rules and the meaning of a spec: the member VIDs in
 * ascending order, with their flags. Throws a VlanSpecError naming the
 * option(s) at fault.
 */
export function resolvePortVlans(spec: PortVlanSpec): VlanMembership[] {
  const unknown = Object.keys(spec).filter((k) => !(PORT_VLAN_KEYS as readonly string[]).includes(k) && (spec as Record<string, unknown>)[k] !== undefined);
  if (unknown.length) throw new VlanSpecError(`unknown VLAN setting "${unknown[0]}" (known: ${PORT_VLAN_KEYS.join(", ")})`);
  const at = (key: keyof PortVlanSpec) => `option "${optionText(key, spec[key])}"`;
  const access = spec.access !== undefined ? checkVid(spec.access, at("access")) : undefined;
  const native = spec.native !== undefined ? checkVid(spec.native, at("native")) : undefined;
  const pvid = spec.pvid !== undefined ? checkVid(spec.pvid, at("pvid")) : undefined;
  const trunk = spec.trunk !== undefined ? parseVidList(spec.trunk, at("trunk")) : undefined;
  const tagged = spec.vlans !== undefined ? parseVidList(spec.vlans, at("vlans")) : [];
  const untagged = spec.untagged !== undefined ? parseVidList(spec.untagged, at("untagged")) : [];

  if (native !== undefined && trunk === undefined) {
    throw new VlanSpecError(`option "native=${native}" needs a trunk=LIST: the native VLAN is the untagged VLAN of a trunk (for a port in one VLAN use access=${native})`);
  }
  if (access !== undefined && trunk !== undefined) {
    throw new VlanSpecError(`options "access=${access}" and "${optionText("trunk", spec.trunk)}" exclude each other: a port is an access port of one VLAN or a trunk`);
  }
  const pvids = [
    access !== undefined ? `access=${access}` : undefined,
    native !== undefined ? `native=${native}` : undefined,
    pvid !== undefined ? `pvid=${pvid}` : undefined,
  ].filter((x): x is string => x !== undefined);
  const pvidValues = new Set([access, native, pvid].filter((x) => x !== undefined));
  if (pvidValues.size > 1) throw new VlanSpecError(`options "${pvids.join('" and "')}" give the port two PVIDs: a port has at most one`);

  const members = new Map<number, VlanMembership>();
  const add = (vid: number, untag: boolean) => {
    const m = members.get(vid);
    if (m) m.untagged ||= untag;
    else members.set(vid, { vid, pvid: false, untagged: untag });
  };
  for (const v of trunk ?? []) add(v, false);
  for (const v of tagged) add(v, false);
  for (const v of untagged) add(v, true);
  const thePvid = access ?? native ?? pvid;
  if (access !== undefined) add(access, true);
  if (native !== undefined) add(native, true);
  if (thePvid !== undefined) {
    add(thePvid, false);
    members.get(thePvid)!.pvid = true;
  }
  return [...members.values()].sort((a, b) => a.vid - b.vid);
}
