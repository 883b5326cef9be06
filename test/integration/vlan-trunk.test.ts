/**
 * Two `tapbridge run` processes joined by an 802.1Q trunk, as root — the KVM
 * host whose uplink carries VLANs 59 and 89 (native VLAN 1), twice:
 *
 *   L59 (10.70.0.1) ─tap─ access=59 ┐                                  ┌ access=59 ─tap─ R59 (10.70.0.3)
 *   L89 (10.70.0.2) ─tap─ access=89 ├ bridge L ═ trL ═veth═ trR ═ bridge R ┤ access=89 ─tap─ R89 (10.70.0.4)
 *   L1  (10.70.0.5) ─tap─ access=1  ┘   trunk=59,89:native=1 (AF_PACKET)   └ access=1  ─tap─ R1  (10.70.0.6)
 *
 * All hosts share ONE subnet, so a frame leaking between VLANs would show as
 * an answered ping. tcpdump on the trunk shows what the wire carries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab } from "../../src/testing/lab.js";
import { TapbridgeProcess, dataplaneDelta, type Status } from "../../bench/tapbridge-process.js";

const lab = new Lab("tbk");
let sw = "";
const ns: Record<string, string> = {};
const ip: Record<string, string> = { L59: "10.70.0.1", L89: "10.70.0.2", R59: "10.70.0.3", R89: "10.70.0.4", L1: "10.70.0.5", R1: "10.70.0.6" };
const dev: Record<string, string> = {};
let left: TapbridgeProcess;
let right: TapbridgeProcess;
let trL = "";
let trR = "";

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("this test builds network namespaces and must run as root");
  sw = await lab.netns("sw");
  trL = lab.ifname("trL");
  trR = lab.ifname("trR");
  await lab.veth({ ns: sw, name: trL }, { ns: sw, name: trR });
  for (const h of Object.keys(ip)) {
    ns[h] = await lab.netns(h);
    dev[h] = lab.ifname(h.toLowerCase());
  }
  const args = (side: "L" | "R", trunk: string) => [
    "--name", `vlan${side}`,
    "--tap", `${dev[`${side}59`]}@${ns[`${side}59`]}:access=59`,
    "--tap", `${dev[`${side}89`]}@${ns[`${side}89`]}:access=89`,
    "--tap", `${dev[`${side}1`]}@${ns[`${side}1`]}:access=1`,
    "--attach", `${trunk}@${sw}:trunk=59,89:native=1`,
  ];
  left = await TapbridgeProcess.start(args("L", trL));
  right = await TapbridgeProcess.start(args("R", trR));
  for (const h of Object.keys(ip)) await lab.address(ns[h]!, dev[h]!, `${ip[h]}/24`);
}, 120_000);

afterAll(async () => {
  await left?.stop();
  await right?.stop();
  await lab.destroy();
});

const ping = (from: string, to: string, count = 3) =>
  lab.exec(ns[from]!, ["ping", "-c", String(count), "-i", "0.2", "-W", "1", ip[to]!], { allowFail: true, timeoutMs: 20_000 });

async function iperf(from: string, to: string, seconds = 2): Promise<number> {
  const server = await lab.iperfServer(ns[to]!, ip[to]!);
  try {
    const r = await lab.exec(ns[from]!, ["iperf3", "-c", ip[to]!, "-t", String(seconds), "-J"], { allowFail: true, timeoutMs: 60_000 });
    const report = JSON.parse(r.stdout) as { end?: { sum_received?: { bytes: number } }; error?: string };
    if (!report.end?.sum_received) throw new Error(`iperf3 ${from}→${to} failed: ${report.error ?? r.stderr}`);
    return report.end.sum_received.bytes;
  } finally {
    server.kill();
  }
}

const port = (s: Status, name: string) => s.ports.find((p) => p.name.startsWith(name))!;

describe("two tapbridge instances joined by a trunk", { timeout: 180_000 }, () => {
  it("carries each VLAN to its own hosts and no further, on one bridge and across the trunk", async () => {
    expect((await ping("L59", "R59")).code).toBe(0);
    expect((await ping("L89", "R89")).code).toBe(0);
    expect((await ping("L1", "R1")).code).toBe(0);
    // The same subnet, other VLANs: no answer (ARP never reaches them).
    expect((await ping("L59", "L89", 2)).code).not.toBe(0);
    expect((await ping("L59", "R89", 2)).code).not.toBe(0);
    expect((await ping("R89", "L59", 2)).code).not.toBe(0);
    expect((await ping("L1", "R59", 2)).code).not.toBe(0);
    const status = await left.status();
    // Per-(port, VID) counters: the trunk sent and received in both VLANs.
    const trunk = status.vlans!.find((p) => p.port.startsWith(trL))!;
    expect(trunk.vlans.map(({ vid, pvid, untagged }) => ({ vid, pvid, untagged }))).toEqual([
      { vid: 1, pvid: true, untagged: true },
      { vid: 59, pvid: false, untagged: false },
      { vid: 89, pvid: false, untagged: false },
    ]);
    for (const v of trunk.vlans) {
      expect(v.txPackets, `VLAN ${v.vid} tx`).toBeGreaterThan(0);
      expect(v.rxPackets, `VLAN ${v.vid} rx`).toBeGreaterThan(0);
    }
  });

  it("puts 802.1Q tags with the right VIDs on the trunk, and the native VLAN untagged", async () => {
    const dump = lab.spawn(sw, ["tcpdump", "-i", trL, "-nn", "-e", "-l", "-c", "40", "icmp or (vlan and icmp)"]);
    let out = "";
    dump.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    const done = new Promise((resolve) => dump.once("exit", resolve));
    let err = "";
    dump.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    for (let i = 0; i < 50 && !err.includes("listening on"); i++) await new Promise((r) => setTimeout(r, 100));
    await ping("L59", "R59", 2);
    await ping("R89", "L89", 2);
    await ping("L1", "R1", 2);
    await new Promise((r) => setTimeout(r, 500));
    dump.kill("SIGINT");
    await done;
    const lines = out.split("\n");
    const about = (a: string, b: string) => lines.filter((l) => l.includes(`${ip[a]} > ${ip[b]}`));
    expect(about("L59", "R59").length, out).toBeGreaterThanOrEqual(2);
    for (const l of [...about("L59", "R59"), ...about("R59", "L59")]) expect(l).toMatch(/ethertype 802\.1Q \(0x8100\), length \d+: vlan 59, p 0, ethertype IPv4/);
    expect(about("R89", "L89").length, out).toBeGreaterThanOrEqual(2);
    for (const l of [...about("L89", "R89"), ...about("R89", "L89")]) expect(l).toMatch(/ethertype 802\.1Q \(0x8100\), length \d+: vlan 89, p 0, ethertype IPv4/);
    expect(about("L1", "R1").length, out).toBeGreaterThanOrEqual(2);
    for (const l of [...about("L1", "R1"), ...about("R1", "L1")]) expect(l).toMatch(/ethertype IPv4 \(0x0800\)/);
    expect(out).not.toMatch(/vlan 1,/);
  });

  it("carries iperf3 TCP in VLANs 59 and 89, GSO frames kept whole from access port through the trunk to access port", async () => {
    const l0 = await left.status();
    const r0 = await right.status();
    expect(await iperf("L59", "R59")).toBeGreaterThan(10_000_000);
    const l1 = await left.status();
    const r1 = await right.status();
    expect(await iperf("R89", "L89")).toBeGreaterThan(10_000_000);

    const delta = (a: Status, b: Status, name: string, f: "rxBytes" | "rxPackets" | "txBytes" | "txPackets" | "txSegmented") => port(b, name)[f] - port(a, name)[f];
    const perFrame = (a: Status, b: Status, name: string, dir: "rx" | "tx") => delta(a, b, name, `${dir}Bytes`) / delta(a, b, name, `${dir}Packets`);
    // More bytes per frame than a 1518-byte tagged frame holds: 64 KiB GSO frames crossed the trunk tagged.
    expect(perFrame(l0, l1, dev.L59!, "rx")).toBeGreaterThan(1514);
    expect(perFrame(l0, l1, trL, "tx")).toBeGreaterThan(1518);
    expect(perFrame(r0, r1, trR, "rx")).toBeGreaterThan(1518);
    expect(perFrame(r0, r1, dev.R59!, "tx")).toBeGreaterThan(1514);
    // Nothing was segmented in software, on either bridge, on any port.
    const r2 = await right.status();
    const l2 = await left.status();
    for (const s of [l2, r2]) for (const p of s.ports) expect(p.txSegmented, `${p.name} txSegmented`).toBe(0);
    const dl = dataplaneDelta(l0, l1)!;
    const dr = dataplaneDelta(r0, r1)!;
    console.log(
      `access→trunk→access TCP: bridge L ${dl.framesPerBatch.toFixed(2)} frames/batch, ${perFrame(l0, l1, trL, "tx").toFixed(0)} bytes/frame on the trunk; ` +
        `bridge R ${dr.framesPerBatch.toFixed(2)} frames/batch, ${perFrame(r0, r1, trR, "rx").toFixed(0)} bytes/frame from the trunk`,
    );
    expect(dl.framesPerBatch).toBeGreaterThanOrEqual(1);
  });
});
