/**
 * Restart without disruption, and metrics. Two namespaces g1, g2 each hold
 * a persistent TAP of the daemon's bridge, with addresses set inside them:
 *
 *   g1: k1 10.63.0.1 ═╗                 ╔═ k2 10.63.0.2 :g2
 *                     ╚═ tapbridge br0 ═╝
 *
 * A 10 ms ping from g1 to g2 runs while the daemon is stopped and started
 * (SIGTERM, as systemctl restart) and killed (-9) and started; the TAPs and
 * their addresses survive, ping resumes, and the longest gap between
 * replies is logged. A scrape of /metrics parses as Prometheus text and its
 * counters move with the traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab, run } from "../../src/testing/lab.js";
import { cleanupDaemons, DaemonProcess, startEcho, startPing, tempDir, until } from "./helpers.js";

const lab = new Lab("tbr");
let g1 = "";
let g2 = "";
let daemon: DaemonProcess;
const metricsPort = 20000 + (process.pid % 20000);

beforeAll(async () => {
  g1 = await lab.netns("g1");
  g2 = await lab.netns("g2");
  const config = `metrics:
  listen: "127.0.0.1:${metricsPort}"
bridges:
  br0:
    ports:
      - tap: ${lab.ifname("k1")}
        netns: ${g1}
        persistent: true
      - tap: ${lab.ifname("k2")}
        netns: ${g2}
        persistent: true
`;
  daemon = await DaemonProcess.start({ dir: tempDir("r"), config });
  await lab.address(g1, lab.ifname("k1"), "10.63.0.1/24");
  await lab.address(g2, lab.ifname("k2"), "10.63.0.2/24");
  const r = await lab.exec(g1, ["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.63.0.2"], { allowFail: true });
  expect(r.code, r.stdout).toBe(0);
});

afterAll(async () => {
  await daemon?.stop();
  cleanupDaemons();
  for (const [ns, tap] of [[g1, lab.ifname("k1")], [g2, lab.ifname("k2")]]) await run(["ip", "-n", ns!, "link", "del", tap!], { allowFail: true });
  await lab.destroy();
});

async function restartUnderPing(how: "SIGTERM" | "SIGKILL") {
  const ping = startPing(g1, "10.63.0.2", 0.01);
  const echo = await startEcho(g1, g2, "10.63.0.2");
  await until(() => ping.replies() >= 20 && echo.received() >= 20, "replies before the restart");
  const killedAt = Date.now();
  await daemon.stop(how);
  await daemon.launch();
  const readyAt = Date.now();
  const before = [ping.replies(), echo.received()] as const;
  await until(() => ping.replies() >= before[0] + 20 && echo.received() >= before[1] + 20, "replies after the restart", 20_000);
  const result = { ping: await ping.done(), echo: await echo.done() };
  const events = daemon.logs().filter((l) => /link|ready|added/.test(String(l.msg))).map((l) => `${String(l.msg)}@${Number(l.time) - killedAt}ms`);
  console.log(`${how}: daemon ready ${readyAt - killedAt} ms after the signal; ${events.join(", ")}`);
  const what = how === "SIGTERM" ? "restart (SIGTERM + start)" : "restart (kill -9 + start)";
  console.log(
    `${what}: longest gap between replies: ${result.echo.maxGapMs} ms (10 ms UDP echo, ${result.echo.received}/${result.echo.sent}), ` +
      `${result.ping.maxGapMs} ms (10 ms ping, ${result.ping.received}/${result.ping.transmitted}; ping slows down while replies are missing)`,
  );
  return result;
}

describe("restart without disruption", () => {
  it("a stop and start (systemctl restart) keeps the persistent TAPs, their addresses, and ping resumes", async () => {
    const result = await restartUnderPing("SIGTERM");
    const addr = await run(["ip", "-n", g1, "-br", "addr", "show", "dev", lab.ifname("k1")]);
    expect(addr.stdout).toContain("10.63.0.1/24");
    expect(result.echo.received).toBeGreaterThan(40);
    expect(result.ping.received).toBeGreaterThan(40);
  });

  it("kill -9 and start: the same, and the new daemon reattaches the config's ports", async () => {
    const result = await restartUnderPing("SIGKILL");
    expect((await run(["ip", "-n", g2, "-br", "addr", "show", "dev", lab.ifname("k2")])).stdout).toContain("10.63.0.2/24");
    const status = JSON.parse((await daemon.cli(["status"])).stdout) as { pid: number; bridges: { name: string; ports: number }[] };
    expect(status.pid).toBe(daemon.child.pid);
    expect(status.bridges).toEqual([{ name: "br0", ports: 2 }]);
    const show = await daemon.cli(["show"]);
    expect(show.stdout).toContain(`${lab.ifname("k1")}@${g1}`);
    expect(show.stdout).toContain(`${lab.ifname("k2")}@${g2}`);
    expect(result.echo.received).toBeGreaterThan(40);
    expect(result.ping.received).toBeGreaterThan(40);
  });
});

/** Prometheus text exposition: HELP/TYPE comments, then `name{labels} value` samples. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$/;
  for (const line of text.split("\n")) {
    if (line === "" || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const m = sample.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    samples.set(m[1]! + (m[2] ?? ""), Number(m[3]));
  }
  return samples;
}

describe("metrics", () => {
  it("a scrape parses as Prometheus text and the counters move with traffic", async () => {
    const scrape = async () => {
      const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
      return parsePrometheus(await r.text());
    };
    const key = (name: string, port: string) => `${name}{bridge="br0",port="${port}"}`;
    const p1 = `${lab.ifname("k1")}@${g1}`;
    const before = await scrape();
    await run(["ip", "-n", g1, "neigh", "flush", "all"]); // the next ping starts with a broadcast ARP request
    const r = await lab.exec(g1, ["ping", "-c", "5", "-i", "0.05", "-W", "2", "10.63.0.2"], { allowFail: true });
    expect(r.code).toBe(0);
    const after = await scrape();
    for (const name of ["tapbridge_port_rx_packets_total", "tapbridge_port_tx_packets_total", "tapbridge_port_rx_bytes_total"]) {
      expect(after.get(key(name, p1)), name).toBeGreaterThanOrEqual((before.get(key(name, p1)) ?? 0) + 5);
    }
    expect(after.get(key("tapbridge_port_state", p1))).toBe(3);
    expect(after.get('tapbridge_fdb_entries{bridge="br0"}')).toBeGreaterThanOrEqual(2);
    expect(after.get('tapbridge_bridge_ports{bridge="br0"}')).toBe(2);
    expect(after.has('tapbridge_internal_errors_total{bridge="br0"}')).toBe(true);
    expect(after.get('tapbridge_fdb_learned_entries{bridge="br0"}')).toBeGreaterThanOrEqual(2);
    expect(after.get(key("tapbridge_port_fdb_learned_entries", p1))).toBeGreaterThanOrEqual(1);
    expect(after.has('tapbridge_fdb_refused_total{bridge="br0",reason="full"}')).toBe(true);
    expect(after.get('tapbridge_stp_root{bridge="br0"}')).toBe(1);
    // The ARP request was broadcast: flooded.
    expect(after.get(`tapbridge_port_floods_total{bridge="br0",port="${p1}",kind="broadcast"}`)).toBeGreaterThanOrEqual(1);
    expect(after.get(`tapbridge_stp_port_role{bridge="br0",port="${p1}",role="designated"}`)).toBe(1);
    expect(after.has('tapbridge_stp_topology_changes_total{bridge="br0"}')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);
  });
});
