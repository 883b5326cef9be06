/**
 * 802.1D against the Linux kernel bridge's own STP, as root: a triangle of
 * tapbridge and two kernel bridges (triangle.ts). Run once with a kernel
 * bridge as root and once with tapbridge as root: all agree on the root,
 * exactly one loop port blocks (the one the kernel would block), every host
 * pings every other, a broadcast does not storm, and cutting the active link
 * brings the blocked port into forwarding within 2 × forward delay + max age.
 * tshark decodes tapbridge's BPDUs. Then BPDU guard and root guard against a
 * kernel bridge.
 */
import { afterAll, describe, expect, it } from "vitest";
import { run, Lab } from "../../src/testing/lab.js";
import { PacketPort } from "../../src/io/native-port.js";
import { Bridge } from "../../src/bridge.js";
import { allPing, buildTriangle, IP, kernelBridge, kernelRootId, kernelStates, longestGapMs, LOOP, MAC, rxPackets, TIMERS, waitFor, type Triangle } from "./triangle.js";

const labs: Lab[] = [];
afterAll(async () => {
  for (const lab of labs) await lab.destroy();
});

async function triangle(rootIs: "kernel" | "tapbridge", protocol: "stp" | "rstp" = "stp"): Promise<Triangle> {
  const lab = new Lab("tbk");
  labs.push(lab);
  const tapPriority = rootIs === "tapbridge" ? 4096 : 32768;
  const aPriority = rootIs === "kernel" ? 4096 : 32768;
  return buildTriangle(lab, { protocol, priority: tapPriority }, async ({ lab, ns }) => {
    await kernelBridge(lab, ns.A, MAC.A, aPriority, ["ab", "at", "hp"]);
    await kernelBridge(lab, ns.B, MAC.B, 32768, ["ba", "bt", "hp"]);
    return async () => undefined;
  });
}

/** States of the six loop ports once nothing is listening or learning, or undefined while converging. */
async function loopStates(t: Triangle): Promise<Record<string, string> | undefined> {
  const states = await allLoopStates(t);
  return Object.values(states).every((s) => s === "forwarding" || s === "blocking") ? states : undefined;
}

async function allLoopStates(t: Triangle): Promise<Record<string, string>> {
  const a = await kernelStates(t.ns.A);
  const b = await kernelStates(t.ns.B);
  const states: Record<string, string> = {};
  for (const p of LOOP.A) states[`A.${p}`] = a[p]!;
  for (const p of LOOP.B) states[`B.${p}`] = b[p]!;
  // RSTP's discarding is the kernel's blocking.
  for (const p of LOOP.T) states[`T.${p}`] = t.tap.stpPortStatus(t.label(p)).state.replace("discarding", "blocking");
  return states;
}

async function converged(t: Triangle, expectedRoot: string) {
  return waitFor("the triangle to converge", 60_000, async () => {
    const roots = [await kernelRootId(t.ns.A), await kernelRootId(t.ns.B), t.tap.stpStatus().bridge.designatedRoot];
    if (roots.some((r) => r !== expectedRoot)) return undefined;
    const states = await loopStates(t);
    if (!states || Object.values(states).filter((s) => s === "blocking").length !== 1) return undefined;
    return states;
  });
}

/** Cut one link (its kernel-side end down); return how long until the other host answers again. */
async function cutAndMeasure(t: Triangle, ns: string, dev: string, from: string, to: string): Promise<{ gapMs: number; replies: number }> {
  const pinger = t.lab.spawn(from, ["ping", "-D", "-i", "0.2", "-W", "1", "-w", "25", to]);
  let out = "";
  pinger.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const done = new Promise((r) => pinger.once("exit", r));
  await new Promise((r) => setTimeout(r, 2000));
  await run(["ip", "-n", ns, "link", "set", dev, "down"]);
  await done;
  return longestGapMs(out);
}

describe.concurrent.each([
  ["kernel", "stp", `1000.${MAC.A.replace(/:/g, "")}`, "T.tb"],
  ["tapbridge", "stp", `1000.${MAC.T.replace(/:/g, "")}`, "B.ba"],
  // tapbridge in --rstp next to 802.1D bridges: its ports migrate to 802.1D and the three still form one tree.
  ["kernel", "rstp", `1000.${MAC.A.replace(/:/g, "")}`, "T.tb"],
] as const)("triangle with the %s bridge as root, tapbridge running %s", (rootIs, protocol, rootId, blocked) => {
  it("agrees on the root, blocks exactly one loop port, carries pings, does not storm, and heals a cut link", async () => {
    const t = await triangle(rootIs, protocol);
    try {
      const states = await converged(t, rootId);
      // The kernel's rules decide which port blocks; tapbridge blocks the same one.
      expect(Object.entries(states).filter(([, s]) => s === "blocking").map(([p]) => p)).toEqual([blocked]);
      expect(t.tap.stpStatus().bridge.isRoot).toBe(rootIs === "tapbridge");
      // Same path costs as the kernel: veths report 10 Gb/s, cost 2.
      if (protocol === "stp") expect(t.tap.stpPortStatus(t.label("ta")).pathCost).toBe(2);
      else expect(t.tap.stpPortStatus(t.label("ta"))).toMatchObject({ pathCost: 2000, sendingStp: true });
      expect(await allPing(t)).toBe(true);

      // A broadcast flood dies out: frame counters on the loop links stay bounded.
      const ends: [string, string][] = [[t.ns.A, "ab"], [t.ns.A, "at"], [t.ns.B, "ba"], [t.ns.B, "bt"], [t.ns.T, "ta"], [t.ns.T, "tb"]];
      const before = await Promise.all(ends.map(([ns, d]) => rxPackets(ns, d)));
      await t.lab.exec(t.ns.hA, ["ping", "-b", "-c", "5", "-i", "0.2", "10.99.0.255"], { allowFail: true });
      await new Promise((r) => setTimeout(r, 2000));
      const after = await Promise.all(ends.map(([ns, d]) => rxPackets(ns, d)));
      const grew = after.reduce((n, v, i) => n + v - before[i]!, 0);
      expect(grew).toBeLessThan(500);
      // tapbridge consumed the BPDUs it received (never flooded them).
      expect(t.tap.portStats(t.label("ta")).drops.bpdu_consumed ?? t.tap.portStats(t.label("tb")).drops.bpdu_consumed).toBeGreaterThan(0);

      if (rootIs === "tapbridge") {
        // tshark decodes tapbridge's configuration BPDUs: valid STP, tapbridge as root and as bridge.
        const r = await t.lab.exec(t.ns.A, ["tshark", "-i", "at", "-c", "2", "-a", "duration:10", "-f", `ether src ${await macOf(t.ns.T, "ta")}`, "-T", "fields",
          "-e", "stp.protocol", "-e", "stp.version", "-e", "stp.type", "-e", "stp.root.prio", "-e", "stp.root.hw", "-e", "stp.bridge.prio", "-e", "stp.bridge.hw", "-e", "stp.port", "-e", "_ws.malformed"], { allowFail: true, timeoutMs: 20_000 });
        const rows = r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => l.split("\t"));
        expect(rows.length, r.stderr).toBe(2);
        for (const row of rows) {
          expect(row.slice(0, 8)).toEqual(["0x0000", "0", "0x00", "4096", MAC.T, "4096", MAC.T, "0x8001"]);
          expect(row[8] ?? "").toBe(""); // not malformed
        }
      }

      // Cut the active link next to the blocked port: the blocked port takes over.
      const [ns, dev, from, to] = rootIs === "kernel" ? [t.ns.A, "at", t.ns.hT, IP.A] : [t.ns.B, "bt", t.ns.hB, IP.T];
      const outage = await cutAndMeasure(t, ns, dev, from, to);
      console.log(`${protocol.toUpperCase()} tapbridge, ${rootIs} root: ping outage after cutting the active link: ${outage.gapMs} ms (bound 2 x forward delay + max age = ${(2 * TIMERS.forwardDelay + TIMERS.maxAge) * 1000} ms)`);
      expect(outage.replies).toBeGreaterThan(10);
      // 2 × forward delay + max age, and one more hello for a shared machine's scheduling.
      expect(outage.gapMs).toBeLessThan((2 * TIMERS.forwardDelay + TIMERS.maxAge + TIMERS.helloTime) * 1000);
      const healed = await allLoopStates(t);
      expect(healed[blocked]).toBe("forwarding");
    } finally {
      await t.stop();
    }
  }, 180_000);
});

async function macOf(ns: string, dev: string): Promise<string> {
  return (await run(["ip", "netns", "exec", ns, "cat", `/sys/class/net/${dev}/address`])).stdout.trim();
}

describe("guards against a kernel bridge", () => {
  it("BPDU guard disables the port that hears the kernel's BPDUs; root guard keeps a superior kernel bridge from becoming root through its port", async () => {
    const lab = new Lab("tbg");
    labs.push(lab);
    const k = await lab.netns("K");
    const t = await lab.netns("T");
    await lab.veth({ ns: k, name: "kg" }, { ns: t, name: "g" });
    await lab.veth({ ns: k, name: "kr" }, { ns: t, name: "r" });
    // Two separate kernel bridges, so the two links do not form a loop.
    await run(["ip", "-n", k, "link", "add", "br1", "type", "bridge", "stp_state", "1", "hello_time", "100", "forward_delay", "400", "max_age", "600", "priority", "0"]);
    await run(["ip", "-n", k, "link", "set", "kg", "master", "br1"]);
    await run(["ip", "-n", k, "link", "set", "br1", "up"]);
    await kernelBridge(lab, k, "02:00:00:00:0d:00", 0, ["kr"]);
    const bridge = new Bridge({ name: "tbguard", stp: { protocol: "stp", ...TIMERS } });
    const guards: string[] = [];
    bridge.on("stp-guard", (e) => guards.push(`${e.port.split("@")[0]} ${e.guard}`));
    try {
      bridge.addPort(new PacketPort({ name: "g", netns: t }), { bpduGuard: true });
      bridge.addPort(new PacketPort({ name: "r", netns: t }), { rootGuard: true });
      await waitFor("BPDU guard to act", 20_000, async () => (bridge.stpPortStatus(`g@${t}`).guardTripped ? true : undefined));
      expect(bridge.stpPortStatus(`g@${t}`).state).toBe("disabled");
      expect(bridge.portStats(`g@${t}`).drops.bpdu_guard).toBeGreaterThan(0);
      await waitFor("root guard to act", 20_000, async () => (bridge.stpPortStatus(`r@${t}`).rootBlocked ? true : undefined));
      await new Promise((r) => setTimeout(r, 3000));
      // The kernel bridge (priority 0) is superior, but tapbridge does not take it as root through the guarded port.
      expect(bridge.stpStatus().bridge.isRoot).toBe(true);
      expect(bridge.stpPortStatus(`r@${t}`)).toMatchObject({ role: "alternate", state: "blocking", rootBlocked: true });
      expect(bridge.portStats(`r@${t}`).drops.root_guard).toBeGreaterThan(1);
      expect(guards).toEqual(expect.arrayContaining(["g bpdu", "r root"]));
    } finally {
      bridge.close();
    }
  }, 90_000);
});
