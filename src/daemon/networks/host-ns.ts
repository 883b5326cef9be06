/**
 * The host's network namespace as a network sees it: the namespace whose
 * stack the host port serves (the daemon's own, or a named one), and the
 * real tools that change it — iproute2, nft, sysctl, dnsmasq — run inside
 * it. Every command goes through here, so a test that runs the daemon in a
 * namespace of its own ("the host") never touches the machine's.
 *
 * Commands that fail become sentences that say what was being done; a tool
 * that is not installed says which Debian package has it.
 */
import { accessSync, constants, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { TapbridgeError } from "../../errors.js";
import { exec, execInput, netnsPrefix, type ExecResult } from "../exec.js";

/** The Debian package of each tool a network uses. */
export const TOOL_PACKAGES: Record<string, string> = { ip: "iproute2", nft: "nftables", dnsmasq: "dnsmasq-base", sysctl: "procps", nsenter: "util-linux" };

/** Where a program is: PATH, then the sbin directories a root shell has (daemons often start with a short PATH). */
export function findTool(name: string, path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export function requireTool(name: string, why: string): string {
  const file = findTool(name);
  if (!file) {
    const pkg = TOOL_PACKAGES[name] ?? name;
    throw new TapbridgeError("ENOTOOL", `${name} is not installed (not found in PATH): ${why}; install the Debian package ${pkg} (apt-get install ${pkg})`);
  }
  return file;
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  address?: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  linkinfo?: { info_kind?: string };
}

export interface IpAddr {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  broadcast?: string;
  scope: string;
  dynamic?: boolean;
  noprefixroute?: boolean;
  label?: string;
}

export interface IpRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  table?: string;
  flags?: string[];
}

export class HostNs {
  constructor(readonly netns: string | undefined) {}

  /** "the host's namespace" or "namespace NAME", for sentences. */
  get where(): string {
    return this.netns === undefined ? "the host's namespace" : `namespace ${this.netns}`;
  }

  run(argv: string[], input?: string): Promise<ExecResult> {
    const full = [...netnsPrefix(this.netns), ...argv];
    return input === undefined ? exec(full, 15_000) : execInput(full, input, 15_000);
  }

  /** Run; a failure throws a sentence: "<what> failed: <stderr>". */
  async must(argv: string[], what: string, input?: string): Promise<string> {
    const r = await this.run(argv, input);
    if (r.code !== 0) throw new TapbridgeError("ECOMMAND", `${what} failed in ${this.where}: ${(r.stderr || r.stdout).trim().split("\n").slice(0, 3).join("; ") || `exit ${r.code}`}`);
    return r.stdout;
  }

  async links(): Promise<IpLink[]> {
    return JSON.parse(await this.must(["ip", "-d", "-j", "link", "show"], "listing links")) as IpLink[];
  }

  async link(name: string): Promise<IpLink | undefined> {
    return (await this.links()).find((l) => l.ifname === name);
  }

  async addresses(dev?: string): Promise<(IpAddr & { dev: string })[]> {
    const out = JSON.parse(await this.must(["ip", "-j", "addr", "show", ...(dev ? ["dev", dev] : [])], `listing the addresses${dev ? ` of ${dev}` : ""}`)) as { ifname: string; addr_info?: IpAddr[] }[];
    return out.flatMap((l) => (l.addr_info ?? []).map((a) => ({ ...a, dev: l.ifname })));
  }

  /** Every route of a family, all tables. */
  async routes(family: 4 | 6, dev?: string): Promise<IpRoute[]> {
    const out = await this.must(["ip", "-j", `-${family}`, "route", "show", "table", "all", ...(dev ? ["dev", dev] : [])], `listing the IPv${family} routes`);
    return (JSON.parse(out || "[]") as IpRoute[]).map((r) => (dev && !r.dev ? { ...r, dev } : r));
  }

  async sysctlGet(key: string): Promise<string> {
    const path = `/proc/sys/${slashed(key)}`;
    if (this.netns === undefined) {
      try {
        return readFileSync(path, "utf8").trim();
      } catch (error) {
        throw new TapbridgeError("ENOENT", `sysctl ${key} cannot be read: ${(error as Error).message}`);
      }
    }
    return (await this.must(["cat", path], `reading sysctl ${key}`)).trim();
  }

  async sysctlSet(key: string, value: string): Promise<void> {
    const path = `/proc/sys/${slashed(key)}`;
    if (this.netns === undefined) {
      try {
        writeFileSync(path, value);
        return;
      } catch (error) {
        throw new TapbridgeError("EPERM", `sysctl ${key} cannot be set to ${value}: ${(error as Error).message}`);
      }
    }
    await this.must(["sysctl", "-qw", `${slashed(key)}=${value}`], `setting sysctl ${key}=${value}`);
  }
}

/** A sysctl path for an interface: dots in interface names (vif1.0) are kept as they are by using '/' (sysctl's other separator). */
export function ifaceKey(family: "ipv4" | "ipv6", dev: string, name: string): string {
  return `net/${family}/conf/${dev}/${name}`;
}

/** "net.ipv4.ip_forward" → "net/ipv4/ip_forward"; a key already written with '/' stays (interface names may hold dots). */
function slashed(key: string): string {
  return key.includes("/") ? key : key.replace(/\./g, "/");
}
