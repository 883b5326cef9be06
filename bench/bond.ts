/**
 * Bonding as a benchmark (issue 13): TCP from two guests through a
 * two-member balance-slb bond, against the same through a single uplink,
 * measured interleaved in one run.
 *
 *   npm run build && sudo flock /work/team/bench.lock node dist/bench/bond.js [--seconds 5] [--runs 3]
 *
 * Each rig: a `tapbridge run` process with two guests on TAPs (namespaces
 * G1, G2: 10.78.0.1 and .2) and its uplink(s) — veth pairs — to a kernel
 * bridge in namespace SW (multicast_snooping 0, bridge-nf-call-* 0), behind
 * which two servers sit on veths (S1, S2: 10.78.0.101 and .102). The "bond"
 * rig bonds two uplinks (`--bond up=u1,u2:mode=balance-slb`, guest MACs
 * picked so that the two guests hash to different members); the "single"
 * rig attaches one (`--attach u1`). A run measures both rigs in turn: two
 * iperf3 clients at once, G1→S1 and G2→S2, one stream each; the figure is
 * the sum of what the servers received. Medians over the runs, the ratio
 * bond / single, the bond's per-member share of the bytes sent, and the
 * tapbridge process's CPU per GB.
 *
 * Then rebalancing: a fresh bond (rebalance-interval=2000) whose two guests
 * hash to buckets of the same member; while both send, the members' share
 * of each second's bytes shows the rebalancer moving one guest's bucket.
 *
 * On veth pairs an uplink is no bottleneck (a veth moves what the CPU
 * does), so on this machine the ratio says what the bond costs, not what a
 * second NIC would add.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { slbBucket } from "../src/bond/hash.js";
import { parseMac } from "../src/core/frame.js";
import { Lab, run } from "../src/testing/lab.js";
import { sleep } from "./contenders.js";
import { median } from "./report.js";
import { describeMachine, machine, processCpuSeconds } from "./system.js";
import { TapbridgeProcess } from "./tapbridge-process.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const GUEST_IP = ["10.78.0.1", "10.78.0.2"];
const SERVER_IP = ["10.78.0.101", "10.78.0.102"];

interface Options {
  seconds: number;
  runs: number;
}

function parse(argv: string[]): Options {
  const o: Options = { seconds: 5, runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!.replace(/^--/, "") as keyof Options;
    const value = Number(argv[++i]);
    if (!(key in o) || !Number.isInteger(value) || value < 1) throw new Error(`unknown option or bad value: ${argv[i - 1]} ${argv[i] ?? ""} (options: --seconds N, --runs N)`);
    o[key] = value;
  }
  return o;
}

/**
 * Two guest MACs for balance-slb: buckets even and odd ("split": on
 * different members at start, as buckets are dealt out in turn), or both
 * even ("same": both on the first member until the rebalancer moves one).
 */
function guestMacs(layout: "split" | "same"): string[] {
  const even: string[] = [];
  const odd: string[] = [];
  for (let i = 1; even.length < 2 || odd.length < 1; i++) {
    const mac = `02:78:00:00:00:${i.toString(16).padStart(2, "0")}`;
    const [hi, lo] = parseMac(mac);
    (slbBucket(hi, lo, 0) % 2 === 0 ? even : odd).push(mac);
  }
  return layout === "split" ? [even[0]!, odd[0]!] : [even[0]!, even[1]!];
}

interface Rig {
  label: string;
  tb: TapbridgeProcess;
  guests: string[];
  servers: string[];
}

async function buildRig(lab: Lab, tag: string, label: string, uplinks: number, layout: "split" | "same" = "split", bondOptions = ""): Promise<Rig> {
  const sw = await lab.netns(`${tag}SW`);
  const up = await lab.netns(`${tag}U`);
  const guests = [await lab.netns(`${tag}G1`), await lab.netns(`${tag}G2`)];
  const servers = [await lab.netns(`${tag}S1`), await lab.netns(`${tag}S2`)];
  const members: string[] = [];
  for (let k = 1; k <= uplinks; k++) {
    await lab.veth({ ns: up, name: `u${k}` }, { ns: sw, name: `s${k}` });
    members.push(`s${k}`);
  }
  for (let k = 0; k < 2; k++) {
    await lab.veth({ ns: servers[k]!, name: "eth0", address: `${SERVER_IP[k]}/24` }, { ns: sw, name: `h${k}` });
    members.push(`h${k}`);
  }
  await run(["ip", "-n", sw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "0"]);
  for (const v of ["iptables", "ip6tables", "arptables"]) await lab.exec(sw, ["sysctl", "-qw", `net.bridge.bridge-nf-call-${v}=0`], { allowFail: true });
  for (const p of members) await run(["ip", "-n", sw, "link", "set", p, "master", "br0"]);
  await run(["ip", "-n", sw, "link", "set", "br0", "up"]);
  const uplink = uplinks > 1 ? ["--bond", `up=${Array.from({ length: uplinks }, (_, k) => `u${k + 1}@${up}`).join(",")}:mode=balance-slb${bondOptions}`] : ["--attach", `u1@${up}`];
  const tb = await TapbridgeProcess.start(["--name", `bench-${tag}`, ...uplink, "--tap", `t0@${guests[0]}`, "--tap", `t0@${guests[1]}`]);
  const macs = guestMacs(layout);
  for (let k = 0; k < 2; k++) {
    await lab.exec(guests[k]!, ["ip", "link", "set", "t0", "address", macs[k]!]);
    await lab.address(guests[k]!, "t0", `${GUEST_IP[k]}/24`);
  }
  // The rebalancing rig's guests stay silent until measured: any load before would be rebalanced already.
  for (let k = 0; k < 2 && layout === "split"; k++) {
    const ping = await lab.exec(guests[k]!, ["ping", "-c", "3", "-i", "0.2", "-W", "2", SERVER_IP[k]!], { allowFail: true, timeoutMs: 20_000 });
    if (!/ [1-9]\d* received/.test(ping.stdout)) throw new Error(`${label}: guest ${k + 1} cannot reach its server`);
  }
  return { label, tb, guests, servers };
}

interface Iperf {
  end?: { sum_received?: { bits_per_second: number; bytes: number } };
  error?: string;
}

/** Both guests send to their servers at once; Gbit/s received in all, bytes, tapbridge CPU seconds. */
async function twoFlows(lab: Lab, rig: Rig, seconds: number): Promise<{ gbps: number; bytes: number; cpu: number }> {
  const servers = await Promise.all(rig.servers.map((s, k) => lab.iperfServer(s, SERVER_IP[k]!)));
  const cpu0 = processCpuSeconds(rig.tb.pid);
  const results = await Promise.all(rig.guests.map((g, k) => lab.exec(g, ["iperf3", "-c", SERVER_IP[k]!, "-B", GUEST_IP[k]!, "-t", String(seconds), "-J"], { allowFail: true, timeoutMs: (seconds + 20) * 1000 })));
  const cpu = processCpuSeconds(rig.tb.pid) - cpu0;
  for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill("SIGKILL");
  let gbps = 0;
  let bytes = 0;
  for (const r of results) {
    let parsed: Iperf;
    try {
      parsed = JSON.parse(r.stdout) as Iperf;
    } catch {
      parsed = { error: r.stderr.trim() };
    }
    const got = parsed.end?.sum_received;
    if (!got) throw new Error(`${rig.label}: iperf3 failed: ${parsed.error ?? "no result"}`);
    gbps += got.bits_per_second / 1e9;
    bytes += got.bytes;
  }
  return { gbps, bytes, cpu };
}

/** Bytes each bond member sent, from the status line. */
async function memberTx(rig: Rig): Promise<number[]> {
  return (await rig.tb.status()).bonds?.[0]?.members.map((m) => m.txBytes) ?? [];
}

/**
 * Rebalancing: both guests start on one member (rebalance-interval 2000 ms);
 * while they send, the members' share of the bytes sent in each second,
 * and the second at which neither member carries more than 65%.
 */
async function rebalanceRun(lab: Lab, rig: Rig, seconds: number): Promise<{ perSecond: number[][]; evenAfterS: number | undefined; gbps: number }> {
  const flows = twoFlows(lab, rig, seconds);
  let settled = false;
  void flows.finally(() => (settled = true)).catch(() => undefined);
  const perSecond: number[][] = [];
  let last = await memberTx(rig);
  while (!settled && perSecond.length < seconds + 2) {
    await sleep(1000);
    const now = await memberTx(rig);
    const sent = now.map((b, k) => b - (last[k] ?? 0));
    last = now;
    const total = sent.reduce((a, b) => a + b, 0);
    if (total > 1e6) perSecond.push(sent.map((b) => b / total));
  }
  const r = await flows;
  const even = perSecond.findIndex((share) => Math.max(...share) <= 0.65);
  return { perSecond, evenAfterS: even < 0 ? undefined : even + 1, gbps: r.gbps };
}

export async function main(argv: string[]): Promise<number> {
  const o = parse(argv);
  if (process.getuid?.() !== 0) {
    process.stderr.write("the bond benchmark builds namespaces, veths and TAPs: run it as root\n");
    return 1;
  }
  console.log(`bond benchmark — TCP from two guests, balance-slb bond of two uplinks vs one uplink; ${o.runs} runs of ${o.seconds} s`);
  console.log(`machine: ${describeMachine(machine())}\n`);
  const lab = new Lab("bbnd");
  const rigs: Rig[] = [];
  try {
    rigs.push(await buildRig(lab, "b", "bond (2 × balance-slb)", 2));
    rigs.push(await buildRig(lab, "s", "single uplink", 1));
    const rows = new Map(rigs.map((r) => [r.label, { gbps: [] as number[], cpuPerGB: [] as number[], shares: [] as number[][] }]));
    for (let i = 0; i < o.runs; i++) {
      for (const rig of rigs) {
        const before = await memberTx(rig);
        const r = await twoFlows(lab, rig, o.seconds);
        const after = await memberTx(rig);
        const row = rows.get(rig.label)!;
        row.gbps.push(r.gbps);
        row.cpuPerGB.push(r.cpu / (r.bytes / 1e9));
        const sent = after.map((b, k) => b - (before[k] ?? 0));
        const total = sent.reduce((a, b) => a + b, 0);
        if (total > 0) row.shares.push(sent.map((b) => b / total));
        console.log(`run ${i + 1} ${rig.label.padEnd(24)} ${r.gbps.toFixed(2)} Gbit/s${total > 0 ? `  members' share of bytes sent: ${sent.map((b) => `${Math.round((b / total) * 100)}%`).join(" / ")}` : ""}; load ${os.loadavg()[0]!.toFixed(1)}`);
        await sleep(300);
      }
    }
    const bond = rows.get(rigs[0]!.label)!;
    const single = rows.get(rigs[1]!.label)!;
    const b = median(bond.gbps);
    const s = median(single.gbps);
    const out = {
      startedAt: new Date().toISOString(),
      options: o,
      machine: machine(),
      bond: { ...bond, median: b, cpuSecondsPerGB: median(bond.cpuPerGB) },
      single: { ...single, median: s, cpuSecondsPerGB: median(single.cpuPerGB) },
      ratio: b / s,
    };
    console.log("\nmedians (min–max):");
    for (const [label, row] of [[rigs[0]!.label, bond], [rigs[1]!.label, single]] as const) {
      console.log(`  ${label.padEnd(24)} ${median(row.gbps).toFixed(2)} Gbit/s (${Math.min(...row.gbps).toFixed(2)}–${Math.max(...row.gbps).toFixed(2)}), tapbridge ${median(row.cpuPerGB).toFixed(3)} CPU s/GB`);
    }
    console.log(`  ratio bond / single: ${(b / s).toFixed(2)}×`);
    // Rebalancing, on a fresh bond whose two guests hash to the same member.
    const rebalancing = await buildRig(lab, "r", "bond, both guests on one member at start", 2, "same", ":rebalance-interval=2000");
    rigs.push(rebalancing);
    const rb = await rebalanceRun(lab, rebalancing, Math.max(o.seconds, 6));
    console.log(`\nrebalancing (both guests on one member at start, rebalance-interval=2000): members' share of bytes sent, per second: ${rb.perSecond.map((sh) => sh.map((x) => `${Math.round(x * 100)}%`).join("/")).join("  ")}`);
    console.log(`  ${rb.evenAfterS === undefined ? "never evened (no second with both members at 35-65%)" : `even (no member above 65%) from second ${rb.evenAfterS}`}; ${rb.gbps.toFixed(2)} Gbit/s over the transfer`);
    Object.assign(out, { rebalancing: rb });
    const dir = path.join(ROOT, "bench", "results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "bond-latest.json"), JSON.stringify(out, null, 2));
    return 0;
  } finally {
    for (const r of rigs) await r.tb.stop().catch(() => undefined);
    await lab.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
}
