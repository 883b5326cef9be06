/**
 * Which devices are ports of a bridge in this process. A device can be a
 * port of one bridge only, as in Linux (a port already has a master): a
 * second bridge attaching it — or the same bridge attaching its own TAP
 * again through AF_PACKET, or a bridge's host port — would make a loop
 * with no STP to see it. The kernel cannot tell us (an AF_PACKET socket
 * does not make the bridge the device's master), so the process keeps the
 * table: by namespace and name before an open (to refuse before touching
 * anything), by namespace and ifindex after it (names can change).
 */
import { TapbridgeError } from "../errors.js";

interface Claim {
  owner: string;
  name: string;
}

const byIndex = new Map<string, Claim>();

const key = (netns: string | undefined, ifindex: number | string): string => `${netns ?? ""}\0${ifindex}`;

/** The owner ("bridge br0", "host port of bridge br0") of a device, by namespace and name or ifindex. */
export function deviceOwner(netns: string | undefined, device: string | number): string | undefined {
  if (typeof device === "number") return byIndex.get(key(netns, device))?.owner;
  for (const [k, claim] of byIndex) if (claim.name === device && k.startsWith(`${netns ?? ""}\0`)) return claim.owner;
  return undefined;
}

/** Throws EBUSY when the device is taken; `label` names it in the sentence. */
export function checkUnclaimed(netns: string | undefined, device: string | number, label: string): void {
  const owner = deviceOwner(netns, device);
  if (owner) throw new TapbridgeError("EBUSY", `interface ${label} is already a port of ${owner}: a device can be a port of one bridge only`);
}

export function claimDevice(netns: string | undefined, ifindex: number, name: string, owner: string): void {
  byIndex.set(key(netns, ifindex), { owner, name });
}

export function releaseDevice(netns: string | undefined, ifindex: number | undefined): void {
  if (ifindex !== undefined) byIndex.delete(key(netns, ifindex));
}
