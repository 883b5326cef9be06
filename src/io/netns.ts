/** Network namespace names, as `ip netns` keeps them, to paths the addon can open. */
import { existsSync } from "node:fs";
import { TapbridgeError } from "../errors.js";

export const NETNS_RUN_DIR = "/run/netns";

/** "blue" → /run/netns/blue; a path (containing '/') is taken as it is. Must exist. */
export function netnsPath(netns: string): string {
  const path = netns.includes("/") ? netns : `${NETNS_RUN_DIR}/${netns}`;
  if (!netns.includes("/") && !/^[A-Za-z0-9_.-]+$/.test(netns)) {
    throw new TapbridgeError("EINVAL", `"${netns}" is not a valid network namespace name`);
  }
  if (!existsSync(path)) {
    throw new TapbridgeError("ENOENT", `network namespace ${netns} not found (create it with "ip netns add ${netns}")`);
  }
  return path;
}
