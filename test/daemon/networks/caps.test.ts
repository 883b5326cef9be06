/**
 * A network with dnsmasq under the systemd unit's capabilities, emulated
 * with setpriv (root, bounding/inheritable/ambient sets as the unit gives
 * them): the unit alone lacks what dnsmasq needs, and the daemon refuses
 * the network naming the capabilities and the drop-in; with
 * packaging/tapbridge.service.d/networks.conf added, a guest leases an
 * address, and a stop leaves the host namespace as it was (dnsmasq, which
 * runs as nobody, stopped — CAP_KILL).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingForDnsmasq } from "../../../src/daemon/networks/caps.js";
import { Lab } from "../../../src/testing/lab.js";
import { CLI, DaemonProcess, REPO, tempDir } from "../helpers.js";
import { dhcp, snapshot, tearDown, udhcpcScript, uplinkWorld, type HostSnapshot } from "./helpers.js";

const lab = new Lab("nmx");
let host = "";
let g1 = "";
let before: HostSnapshot;
let daemon: DaemonProcess | undefined;
const uplink = lab.ifname("u");

/** The capabilities a unit file's CapabilityBoundingSet lines give, as setpriv's list. */
const capsOf = (...files: string[]) =>
  files
    .flatMap((f) => [...readFileSync(join(REPO, "packaging", f), "utf8").matchAll(/^CapabilityBoundingSet=(.*)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/)))
    .map((c) => "+" + c.replace(/^CAP_/, "").toLowerCase())
    .join(",");

const config = (t1: string) => `networks:
  capnet:
    mode: nat
    bridge: capbr0
    addresses: [10.85.0.1/24]
    uplink: ${uplink}
    dhcp: { start: 10.85.0.10, end: 10.85.0.20 }
bridges:
  capbr0:
    ports:
      - { tap: ${t1}, netns: ${g1} }
`;

beforeAll(async () => {
  host = await lab.netns("host");
  await uplinkWorld(lab, host, uplink, lab.ifname("f"));
  g1 = await lab.netns("g1");
  before = await snapshot(host);
}, 60_000);

afterAll(() => tearDown(lab, daemon, host));

describe("networks under the systemd unit's capabilities", () => {
  it("knows which capabilities dnsmasq needs from /proc/self/status", () => {
    // CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN: bits 12, 13, 21.
    expect(missingForDnsmasq(0x203000n)).toEqual(["CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_KILL"]);
    expect(missingForDnsmasq(0x203000n | (1n << 10n) | (1n << 7n) | (1n << 6n) | (1n << 5n))).toEqual([]);
  });

  it("the unit alone: the network is refused with the capabilities named, and nothing is left", async () => {
    const caps = "-all," + capsOf("tapbridge.service");
    const dir = tempDir("x");
    const file = join(dir, "tapbridge.yaml");
    writeFileSync(file, config(lab.ifname("t1")));
    const r = await lab.exec(host, ["setpriv", "--bounding-set", caps, "--inh-caps", caps, "--ambient-caps", caps, process.execPath, CLI, "daemon", "-c", file, "--socket", join(dir, "c.sock")], { allowFail: true, timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("network capnet runs dnsmasq, which needs CAP_NET_BIND_SERVICE, CAP_SETUID, CAP_SETGID, CAP_KILL from the daemon");
    expect(r.stderr).toContain("packaging/tapbridge.service.d/networks.conf");
    expect(await snapshot(host)).toEqual(before);
  }, 60_000);

  it("with the networks drop-in: a guest leases an address, and a stop leaves the host as it was", async () => {
    const caps = "-all," + capsOf("tapbridge.service", "tapbridge.service.d/networks.conf");
    const dir = tempDir("y");
    const t2 = lab.ifname("t2");
    daemon = await DaemonProcess.start({ dir, netns: host, config: config(t2), wrap: ["setpriv", "--bounding-set", caps, "--inh-caps", caps, "--ambient-caps", caps] });
    const lease = await dhcp(lab, g1, t2, udhcpcScript(dir));
    expect(lease.ip).toMatch(/^10\.85\.0\.(1\d|20)$/);
    expect(await daemon.stop("SIGTERM")).toBe(0);
    expect(await snapshot(host)).toEqual(before);
  }, 90_000);
});
