/**
 * What networks changed on the host, written down as it happens so that it
 * can be undone: on `net-destroy`, on daemon shutdown, and after a crash —
 * the next daemon start reads the file the dead process left and undoes
 * every action in reverse before starting anything.
 *
 * The file (`<runtime dir>/networks/state.json`) is rewritten whole after
 * every action (write to a temporary file, rename): a crash leaves either
 * the state before an action or after it, never half a file. An action is
 * recorded just before it is carried out, so the worst a crash between the
 * two can leave is an undo of something not done, which every undo
 * tolerates (deleting an address that is not there, a table that does not
 * exist).
 *
 * Sysctls are shared: two networks may both need ip_forward. Each key has
 * one hold with the value it had before the first network changed it and
 * the networks that need it; the original comes back when the last one
 * lets go (unless someone else changed the value meanwhile).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** Something a network did, with what is needed to undo it. */
export type Action =
  /** A bridge the network created (not in bridges:). In-process: gone with the daemon. */
  | { kind: "bridge"; bridge: string }
  /** The bridge's host port, made for the network. In-process (a TAP that dies with the daemon). */
  | { kind: "host-port"; bridge: string; name: string; netns?: string }
  /** An interface the network attached to its bridge (bridge mode's uplink, an isolated network's uplink). In-process. */
  | { kind: "port"; bridge: string; label: string }
  /** `private: true`: guests of the bridge isolated from one another. In-process. */
  | { kind: "private"; bridge: string }
  /** The uplink renamed (Xen's eth0 → peth0), and whether it was up. */
  | { kind: "rename"; from: string; to: string; up: boolean }
  /** An address added to the host port. */
  | { kind: "address"; dev: string; cidr: string }
  /** An address moved from the uplink to the host port; `args` re-adds it (brd, flags). */
  | { kind: "moved-address"; from: string; to: string; cidr: string; family: 4 | 6; args: string[] }
  /** A route moved from the uplink to the host port; `spec` is `ip route add` without its dev. */
  | { kind: "moved-route"; from: string; to: string; family: 4 | 6; spec: string[] }
  /** A sysctl this network holds (see SysctlHold). */
  | { kind: "sysctl"; key: string }
  /** An nftables table of tapbridge's own. */
  | { kind: "nft"; family: "inet" | "netdev"; table: string }
  /** dnsmasq, started by tapbridge: its pid, pid file, config file. */
  | { kind: "dnsmasq"; pid: number; pidFile: string; conf: string; dir: string };

export interface NetworkState {
  /** The host namespace the network changed (absent: the daemon's own). */
  netns?: string;
  bridge: string;
  mode: string;
  startedAt: string;
  actions: Action[];
}

export interface SysctlHold {
  netns?: string;
  key: string;
  /** The value before tapbridge changed it, and the value it set. */
  original: string;
  value: string;
  /** Networks that need it. */
  users: string[];
}

export interface StateData {
  version: 1;
  /** The daemon that wrote it. */
  pid: number;
  networks: Record<string, NetworkState>;
  sysctls: Record<string, SysctlHold>;
}

export function emptyState(): StateData {
  return { version: 1, pid: process.pid, networks: {}, sysctls: {} };
}

export function holdKey(netns: string | undefined, key: string): string {
  return `${netns ?? ""}|${key}`;
}

export class StateFile {
  constructor(readonly path: string) {}

  /** What a previous daemon left, or undefined when nothing (or the file cannot be read: then it is set aside, named in the log). */
  read(): StateData | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch {
      return undefined;
    }
    const data = JSON.parse(text) as StateData;
    if (data.version !== 1 || typeof data.networks !== "object") throw new Error(`${this.path} is not a tapbridge network state file (version ${String(data.version)})`);
    data.sysctls ??= {};
    return data;
  }

  write(data: StateData): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    const empty = Object.keys(data.networks).length === 0 && Object.keys(data.sysctls).length === 0;
    if (empty) {
      rmSync(this.path, { force: true });
      return;
    }
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(data, null, 2) + "\n", { mode: 0o644 });
    renameSync(tmp, this.path);
  }
}
