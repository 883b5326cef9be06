/**
 * A real virtual machine on the NAT network: examples/networks/nat-default.yaml
 * as shipped runs in a host namespace of the test's own; QEMU (TCG) boots
 * Debian's cloud kernel with a busybox initramfs (scripts/build-vm-image.sh,
 * built from installed packages and cached) on a TAP named vnet0 with a
 * vnet header and virtio-net — what libvirt does — and the daemon attaches
 * it by its attach pattern, as it would libvirt's vnetN:
 *
 *   VM (virtio-net) ─ vnet0 ┐
 *                           ├ tapbridge virbr0 ═ host port 192.168.122.1 (dnsmasq) ─ host ─ eth0 ═ up 203.0.113.1, 198.51.100.1
 *   g1: eth0 ═ vnet9 ───────┘
 *
 * The guest's /init leases an address by DHCP through tapbridge and pings
 * the host port, the namespace guest and the far address beyond the
 * uplink, which sees the host's uplink address.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../../src/testing/lab.js";
import { DaemonProcess, REPO, tempDir, until } from "../helpers.js";
import { FAR, capture, dhcp, tearDown, udhcpcScript, untilAttached, uplinkWorld } from "./helpers.js";

const lab = new Lab("nmv");
let host = "";
let up = "";
let g1 = "";
let daemon: DaemonProcess;
let script = "";
let image: [string, string];

beforeAll(async () => {
  image = execFileSync("bash", [join(REPO, "scripts", "build-vm-image.sh")], { encoding: "utf8" }).trim().split(" ") as [string, string];
  host = await lab.netns("host");
  up = await uplinkWorld(lab, host, "eth0", lab.ifname("f"));
  g1 = await lab.netns("g1");
  const dir = tempDir("v");
  script = udhcpcScript(dir);
  daemon = await DaemonProcess.start({ dir, netns: host, configFile: join(REPO, "examples", "networks", "nat-default.yaml") });
  await lab.veth({ ns: host, name: "vnet9" }, { ns: g1, name: "eth0" });
  await untilAttached(daemon, "virbr0", "vnet9");
}, 120_000);

afterAll(() => tearDown(lab, daemon, host));

describe("a QEMU virtual machine on the NAT network", () => {
  it("leases its address by DHCP through tapbridge and reaches the host port, a namespace guest and the far side (masqueraded)", async () => {
    const neighbour = await dhcp(lab, g1, "eth0", script);
    const far = await capture(lab, up, lab.ifname("f"), ["icmp"]);
    const [kernel, initrd] = image;
    const qemu = lab.spawn(host, [
      "qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-nographic", "-nodefaults", "-no-reboot", "-serial", "stdio",
      "-kernel", kernel, "-initrd", initrd,
      "-append", `console=ttyS0 panic=-1 quiet tb.ping=192.168.122.1,${neighbour.ip},${FAR}`,
      "-netdev", "tap,id=n0,ifname=vnet0,script=no,downscript=no,vnet_hdr=on",
      "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:7b:00:01",
    ]);
    let console = "";
    qemu.stdout!.on("data", (d: Buffer) => (console += d.toString()));
    qemu.stderr!.on("data", (d: Buffer) => (console += d.toString()));
    const exited = new Promise<void>((resolve) => qemu.once("exit", () => resolve()));
    await until(async () => (await daemon.cli(["show", "virbr0"])).stdout.includes("vnet0"), "the VM's vnet0 to be attached", 60_000).catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 240_000))]);
    qemu.kill("SIGKILL");
    const lines = console.replace(/\r/g, "");
    expect(lines, lines).toContain("TB-DONE");
    const lease = /TB-LEASE (192\.168\.122\.\d+) (\S+)/.exec(lines);
    expect(lease, lines).not.toBeNull();
    expect(lease![2]).toBe("192.168.122.1");
    expect(lines).toContain("TB-PING 192.168.122.1 ok");
    expect(lines).toContain(`TB-PING ${neighbour.ip} ok`);
    expect(lines).toContain(`TB-PING ${FAR} ok`);
    const seen = await far.done(/ICMP echo request/);
    expect(seen).toContain(`IP 203.0.113.2 > ${FAR}: ICMP echo request`);
    expect(seen).not.toContain("192.168.122.");
    const leases = JSON.parse((await daemon.cli(["net-dhcp-leases", "default", "-j"])).stdout) as { mac: string; ip: string }[];
    expect(leases).toContainEqual(expect.objectContaining({ mac: "52:54:00:7b:00:01", ip: lease![1] }));
  }, 300_000);
});
