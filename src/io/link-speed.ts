/**
 * The speed of a network interface in Mb/s, as /sys/class/net/IF/speed
 * reports it (what Linux's bridge uses for default STP path costs), read in
 * the interface's namespace. Undefined when the link is down or the driver
 * reports no speed. Control plane only: it may run a short `ip netns exec`.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

export function linkSpeedMbps(ifname: string, netns?: string): number | undefined {
  const path = `/sys/class/net/${ifname}/speed`;
  let text: string;
  try {
    if (!netns) {
      text = readFileSync(path, "utf8");
    } else {
      const r = spawnSync("ip", ["netns", "exec", netns, "cat", path], { encoding: "utf8", timeout: 5000 });
      if (r.status !== 0) return undefined;
      text = r.stdout;
    }
  } catch {
    return undefined;
  }
  const speed = Number(text.trim());
  return Number.isInteger(speed) && speed > 0 ? speed : undefined;
}
