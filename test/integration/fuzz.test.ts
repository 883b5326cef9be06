/**
 * Fuzz, as root: hostile frames (test/tools/fuzz-frames.ts: random,
 * malformed, BPDUs, VLAN stacks, oversized, bad virtio-net headers, damaged
 * GSO frames) from two sources at once into one VLAN-filtering bridge:
 *
 *   - through a TAP: a sender in the TAP's namespace writes them with
 *     AF_PACKET and PACKET_VNET_HDR, so they take the kernel's path (its
 *     validation, tun, our readv);
 *   - in-process: a MemoryPort injects them with their virtio-net headers
 *     as given, straight into the decision loop and, for what is forwarded,
 *     into native transmit (a TAP, and an AF_PACKET port without virtio-net
 *     headers, so random GSO headers meet software segmentation).
 *
 * Every frame is accounted for: per port, received = forwarded + dropped by
 * reason; the TAP path end to end (every frame tun handed over was
 * decided on, or counted as lost before a decision); no internal error, no callback error, no GSO frame the decision
 * core accepted that transmit could not send; and the bridge still forwards
 * ping afterwards.
 *
 * Size: TAPBRIDGE_FUZZ_FRAMES frames in all, half from each source (default
 * 200 000, under a minute here). The full run, 10^6 frames:
 *   TAPBRIDGE_FUZZ_FRAMES=1000000 npx vitest run test/integration/fuzz.test.ts
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bridge, type PortStats } from "../../src/bridge.js";
import { PacketPort, TapPort } from "../../src/io/native-port.js";
import { PORT_STAT_COUNT, PortStat, type NativeDataplane } from "../../src/io/native-binding.js";
import { createLogger } from "../../src/log.js";
import { MemoryPort } from "../../src/ports/memory-port.js";
import { Lab, run } from "../../src/testing/lab.js";
import { FUZZ_KINDS, fuzzFrames } from "../tools/fuzz-frames.js";

const TOTAL = Number(process.env.TAPBRIDGE_FUZZ_FRAMES ?? 200_000);
const SENDER = fileURLToPath(new URL("../tools/fuzz-sender.py", import.meta.url));
const lab = new Lab("tbz");
let bridge: Bridge | undefined;

afterAll(async () => {
  bridge?.close();
  await lab.destroy();
});

const drops = (s: PortStats) => Object.values(s.drops).reduce((a, b) => a + b, 0);
const nextTurn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** tun's own counters of a TAP, seen from its namespace: what it handed to our fd, what its full queue dropped. */
async function tunCounters(ns: string, dev: string): Promise<{ packets: number; dropped: number }> {
  const r = await run(["ip", "-n", ns, "-s", "-j", "link", "show", "dev", dev]);
  const tx = (JSON.parse(r.stdout) as { stats64: { tx: { packets: number; dropped: number } } }[])[0]!.stats64.tx;
  return { packets: tx.packets, dropped: tx.dropped };
}

describe("fuzz", () => {
  let nsIn = "";
  let nsOut = "";
  let nsH = "";
  beforeAll(async () => {
    nsIn = await lab.netns("in");
    nsOut = await lab.netns("out");
    nsH = await lab.netns("h");
  });

  it(`accounts for every one of ${TOTAL} hostile frames and keeps forwarding`, async () => {
    const warnings: string[] = [];
    bridge = new Bridge({
      name: "fuzz",
      vlanFiltering: true,
      logger: createLogger({ level: "warn", write: (l) => warnings.push(l) }),
    });
    const tapIn = lab.ifname("i0");
    const tapOut = lab.ifname("o0");
    const outside = lab.ifname("p0");
    const inside = lab.ifname("h0");
    await lab.veth({ ns: nsOut, name: outside }, { ns: nsH, name: inside, address: "10.68.0.2/24" });
    const pIn = bridge.addPort(new TapPort({ name: tapIn, netns: nsIn }), { vlans: "1-20", pvid: 1, untagged: "1" });
    const pOut = bridge.addPort(new TapPort({ name: tapOut, netns: nsOut }));
    const pPkt = bridge.addPort(new PacketPort({ name: outside, netns: nsOut, vnetHdr: false }));
    const mem = bridge.addPort(new MemoryPort("fuzzmem", { keep: 16 }), { vlans: "1-20", pvid: 1, untagged: "1" });
    await lab.address(nsOut, tapOut, "10.68.0.1/24");
    await lab.address(nsIn, tapIn, "10.69.0.1/32"); // up; no neighbours, so the kernel stays quiet on it

    const perSource = Math.floor(TOTAL / 2);
    const t0 = performance.now();

    // Through the TAP: the sender reads records from stdin as they are generated.
    const sender = spawn("ip", ["netns", "exec", nsIn, "/usr/bin/python3", SENDER, tapIn], { stdio: ["pipe", "pipe", "pipe"] });
    let senderOut = "";
    let senderErr = "";
    sender.stdout.on("data", (d: Buffer) => (senderOut += d));
    sender.stderr.on("data", (d: Buffer) => (senderErr += d));
    const senderDone = new Promise<number>((r) => sender.on("close", (code) => r(code ?? -1)));
    const feed = (async () => {
      // No frame larger than a slot through the TAP: the kernel refuses those anyway (EMSGSIZE).
      const next = fuzzFrames(6001, FUZZ_KINDS.filter((k) => k !== "oversize-slot"));
      const chunk: Buffer[] = [];
      let bytes = 0;
      for (let n = 0; n < perSource; n++) {
        const { frame, vnet } = next();
        const rec = Buffer.alloc(4 + 10 + frame.length);
        rec.writeUInt32BE(10 + frame.length, 0);
        if (vnet) rec.set(vnet, 4);
        rec.set(frame, 14);
        chunk.push(rec);
        bytes += rec.length;
        if (bytes > 1 << 20 || n === perSource - 1) {
          if (!sender.stdin.write(Buffer.concat(chunk))) await new Promise((r) => sender.stdin.once("drain", r));
          chunk.length = 0;
          bytes = 0;
        }
      }
      sender.stdin.end();
    })();

    // In-process, at the same time.
    const kinds = new Map<string, number>();
    const next = fuzzFrames(6002);
    for (let n = 0; n < perSource; n++) {
      const f = next();
      kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
      mem.send(f.frame, f.vnet);
      if ((n & 511) === 511) await nextTurn(); // let the native ports run
    }
    await feed;
    expect(await senderDone, senderErr).toBe(0);
    const sender_ = JSON.parse(senderOut) as { sent: number; rejected: Record<string, number> };

    // Until tun has handed over everything it took and the bridge has read it.
    let tun = await tunCounters(nsIn, tapIn);
    for (let i = 0; i < 100 && tun.packets < sender_.sent - tun.dropped; i++) {
      await sleep(100);
      tun = await tunCounters(nsIn, tapIn);
    }
    let inStats = bridge.portStats(pIn);
    for (let i = 0; i < 100 && inStats.rxPackets + inStats.rxDropped < tun.packets; i++) {
      await sleep(100);
      inStats = bridge.portStats(pIn);
    }
    const seconds = (performance.now() - t0) / 1000;

    const stats = [pIn, pOut, pPkt, mem].map((p) => bridge!.portStats(p));
    const dp = (bridge as unknown as { dp: NativeDataplane }).dp;
    const native = (port: { index: number }, column: number) => dp.portStats[port.index * PORT_STAT_COUNT + column]!;
    const dpStats = bridge.dataplaneStats()!;
    console.log(
      `fuzz: ${TOTAL} frames in ${seconds.toFixed(1)} s; through the TAP: sent ${sender_.sent}, refused by the kernel ${JSON.stringify(sender_.rejected)}, ` +
        `dropped by tun ${tun.dropped}, received ${inStats.rxPackets} (forwarded ${inStats.forwarded}); in-process: ${stats[3]!.rxPackets} ` +
        `(forwarded ${stats[3]!.forwarded}); software-segmented toward ${outside}: ${native(pPkt, PortStat.txSegmented)}`,
    );
    for (const s of stats) console.log(`  ${s.name}: rx ${s.rxPackets} = forwarded ${s.forwarded} + dropped ${JSON.stringify(s.drops)}`);

    // Every frame accounted for, on every port.
    for (const s of stats) expect(s.forwarded + drops(s), s.name).toBe(s.rxPackets);
    expect(stats[3]!.rxPackets).toBe(perSource);
    // The TAP path end to end: every frame tun handed over, the bridge decided on or counted lost before deciding.
    expect(inStats.rxPackets + inStats.rxDropped).toBe(tun.packets);
    expect(tun.packets).toBeLessThanOrEqual(sender_.sent);
    expect(inStats.rxPackets).toBeGreaterThan(perSource / 4);
    // Nothing broke.
    expect(bridge.internalErrors).toBe(0);
    expect(dpStats.callbackErrors).toBe(0);
    for (const p of [pIn, pOut, pPkt]) expect(native(p, PortStat.txGsoDropped), p.label).toBe(0); // transmit sent every GSO frame the decision core let through
    expect(native(pPkt, PortStat.txSegmented)).toBeGreaterThan(0);
    expect(warnings.filter((l) => /internal error/.test(l))).toEqual([]);
    // And it still forwards.
    const ping = await lab.exec(nsOut, ["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.68.0.2"], { allowFail: true });
    expect(ping.code, ping.stdout).toBe(0);
  }, 60_000 + TOTAL / 2); // ~20 s per 100 000 frames here, with room for a busy machine
});
