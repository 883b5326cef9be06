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

/** Bytes each iperf3 transfer sends: a fixed amount, so the test asserts that it arrived, not how fast. */
const TRANSFER = 32 * 1024 * 1024;

/**
 * iperf3 TCP of TRANSFER bytes. Resolves when the client finished cleanly
 * (exit 0: every byte written and the connection closed, so TCP delivered
 * them) with the bytes sent and the receiver's rate (logged, never asserted;
 * the receiver's byte count may stop short of the sender's, as iperf3 ends
 * its intervals at the test's end message).
 */
async function iperf(from: string, to: string): Promise<{ code: number; sent: number; bitsPerSecond: number }> {
  const server = await lab.iperfServer(ns[to]!, ip[to]!);
  try {
    const r = await lab.exec(ns[from]!, ["iperf3", "-c", ip[to]!, "-n", String(TRANSFER), "-J"], { allowFail: true, timeoutMs: 150_000 });
    type Report = { end?: { sum_sent?: { bytes: number }; sum_received?: { bits_per_second: number } }; error?: string };
    const report = JSON.parse(r.stdout || "{}") as Report;
    if (!report.end?.sum_sent || !report.end.sum_received) throw new Error(`iperf3 ${from}→${to} failed: ${report.error ?? r.stderr}`);
    return { code: r.code, sent: report.end.sum_sent.bytes, bitsPerSecond: report.end.sum_received.bits_per_second };
  } finally {
    server.kill();
  }
}

/**
 * tcpdump on a trunk veth while `during` runs: the TCP frames of `vid` it
 * saw, as [frame length, VID] pairs from the 802.1Q header tcpdump decodes.
 */
async function trunkTcp(vid: number, during: () => Promise<void>): Promise<{ length: number; vid: number }[]> {
  const dump = lab.spawn(sw, ["tcpdump", "-i", trL, "-nn", "-e", "-l", "-c", "200", `vlan ${vid} and tcp`]);
  let out = "";
  let err = "";
  dump.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  dump.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise((resolve) => dump.once("exit", resolve));
  for (let i = 0; i < 100 && !err.includes("listening on"); i++) await new Promise((r) => setTimeout(r, 100));
  try {
    await during();
  } finally {
    dump.kill("SIGINT");
    await done;
  }
  const frames: { length: number; vid: number }[] = [];
  for (const m of out.matchAll(/ethertype 802\.1Q \(0x8100\), length (\d+): vlan (\d+),/g)) frames.push({ length: Number(m[1]), vid: Number(m[2]) });
  return frames;
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

  it("carries iperf3 TCP in VLANs 59 and 89, GSO frames tagged and kept whole from access port through the trunk to access port", async () => {
    // Behaviour, not speed: each transfer completes, its frames cross the
    // trunk tagged with their VLAN and whole (64 KiB GSO frames, never
    // segmented in software). The rates are logged for the reader.
    const rates: string[] = [];
    const transfer = async (from: string, to: string, vid: number) => {
      const l0 = await left.status();
      const r0 = await right.status();
      let result = { code: -1, sent: 0, bitsPerSecond: 0 };
      const wire = await trunkTcp(vid, async () => {
        result = await iperf(from, to);
      });
      const l1 = await left.status();
      const r1 = await right.status();
      expect(result.code, `iperf3 ${from}→${to} exit code`).toBe(0);
      expect(result.sent, `iperf3 ${from}→${to} bytes sent`).toBeGreaterThanOrEqual(TRANSFER);
      rates.push(`${from}→${to} ${(result.bitsPerSecond / 1e6).toFixed(0)} Mbit/s`);
      // tcpdump decodes an 802.1Q header with the transfer's VID on every TCP frame of it on the trunk,
      // and frames longer than a tagged 1518-byte frame: GSO frames crossed whole.
      expect(wire.length, `TCP frames of VLAN ${vid} seen on the trunk`).toBeGreaterThan(0);
      for (const f of wire) expect(f.vid).toBe(vid);
      expect(Math.max(...wire.map((f) => f.length)), "largest tagged TCP frame on the trunk").toBeGreaterThan(1518);
      return { l0, l1, r0, r1 };
    };
    const a = await transfer("L59", "R59", 59);
    const b = await transfer("R89", "L89", 89);

    const delta = (x: Status, y: Status, name: string, f: "rxBytes" | "rxPackets" | "txBytes" | "txPackets") => port(y, name)[f] - port(x, name)[f];
    const perFrame = (x: Status, y: Status, name: string, dir: "rx" | "tx") => delta(x, y, name, `${dir}Bytes`) / delta(x, y, name, `${dir}Packets`);
    // More bytes per frame than a 1518-byte tagged frame holds, at every hop of both paths.
    expect(perFrame(a.l0, a.l1, dev.L59!, "rx")).toBeGreaterThan(1514);
    expect(perFrame(a.l0, a.l1, trL, "tx")).toBeGreaterThan(1518);
    expect(perFrame(a.r0, a.r1, trR, "rx")).toBeGreaterThan(1518);
    expect(perFrame(a.r0, a.r1, dev.R59!, "tx")).toBeGreaterThan(1514);
    expect(perFrame(b.r0, b.r1, dev.R89!, "rx")).toBeGreaterThan(1514);
    expect(perFrame(b.r0, b.r1, trR, "tx")).toBeGreaterThan(1518);
    expect(perFrame(b.l0, b.l1, trL, "rx")).toBeGreaterThan(1518);
    expect(perFrame(b.l0, b.l1, dev.L89!, "tx")).toBeGreaterThan(1514);
    // The per-(port, VID) counters put the trunk's frames in the transfer's VLAN.
    const vlanTx = (s: Status, name: string, vid: number) => s.vlans!.find((p) => p.port.startsWith(name))!.vlans.find((v) => v.vid === vid)!.txPackets;
    expect(vlanTx(a.l1, trL, 59) - vlanTx(a.l0, trL, 59)).toBeGreaterThan(0);
    expect(vlanTx(b.r1, trR, 89) - vlanTx(b.r0, trR, 89)).toBeGreaterThan(0);
    // Nothing was segmented in software, on either bridge, on any port.
    for (const s of [a.l1, a.r1, b.l1, b.r1]) for (const p of s.ports) expect(p.txSegmented, `${p.name} txSegmented`).toBe(0);
    const dl = dataplaneDelta(a.l0, a.l1)!;
    const dr = dataplaneDelta(a.r0, a.r1)!;
    console.log(
      `access→trunk→access TCP (${rates.join(", ")}; figures only, not asserted): bridge L ${dl.framesPerBatch.toFixed(2)} frames/batch, ` +
        `${perFrame(a.l0, a.l1, trL, "tx").toFixed(0)} bytes/frame on the trunk; bridge R ${dr.framesPerBatch.toFixed(2)} frames/batch, ` +
        `${perFrame(a.r0, a.r1, trR, "rx").toFixed(0)} bytes/frame from the trunk`,
    );
    expect(dl.framesPerBatch).toBeGreaterThanOrEqual(1);
  });
});
