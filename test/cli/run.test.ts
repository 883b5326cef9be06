/**
 * `tapbridge run` as users script it: started as a child process, ready when
 * it logs "bridge running", stopped by SIGTERM with exit 0 and nothing left
 * behind; bad flags exit 2 with a sentence, failures exit 1 and undo what
 * they made.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab, run } from "../../src/testing/lab.js";

const CLI = fileURLToPath(new URL("../../bin/tapbridge.js", import.meta.url));
const lab = new Lab("tbc");
let ns = "";
const children: ChildProcess[] = [];

beforeAll(async () => {
  ns = await lab.netns("c");
});
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await lab.destroy();
});

function start(args: string[]) {
  const child = spawn(process.execPath, [CLI, "run", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${stderr}`)), 20_000);
    child.stderr!.on("data", () => {
      if (stderr.includes('"msg":"bridge running"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  return { child, ready, exited, stderr: () => stderr };
}

const linkExists = async (name: string) => (await run(["ip", "-n", ns, "link", "show", "dev", name], { allowFail: true })).code === 0;

describe("tapbridge run", () => {
  it("creates TAPs in a namespace, forwards, and removes them on SIGTERM with exit 0", async () => {
    const t1 = lab.ifname("r1");
    const t2 = lab.ifname("r2");
    const bridge = start(["--name", "clitest", "--tap", `${t1}@${ns}:max-learned=100:storm-broadcast=1000`, "--tap", `${t2}@${ns}`, "--ageing", "60",
      "--fdb-max-learned", "5000", "--fdb-full-policy", "refuse", "--mac-flap-moves", "3", "--mac-flap-action", "shutdown"]);
    await bridge.ready;
    expect(await linkExists(t1)).toBe(true);
    expect(await linkExists(t2)).toBe(true);
    bridge.child.kill("SIGUSR1");
    await new Promise((r) => setTimeout(r, 300));
    expect(bridge.stderr()).toContain('"msg":"status"');
    // The status line carries counters, not the table; the table follows in "fdb" lines and an "fdb end" line.
    const lines = bridge.stderr().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const status = lines.find((l) => l.msg === "status")!;
    expect(status.fdb).toBeUndefined();
    expect(status.fdbStats).toMatchObject({ entries: 0, maxLearned: 5000, fullPolicy: "refuse" });
    expect((status.ports as { name: string; fdb: { maxLearned: number } }[]).find((p) => p.name === `${t1}@${ns}`)!.fdb.maxLearned).toBe(100);
    expect(lines.find((l) => l.msg === "fdb end")).toMatchObject({ dump: status.fdbDump, entries: 0, interrupted: false });
    bridge.child.kill("SIGTERM");
    expect(await bridge.exited).toBe(0);
    expect(await linkExists(t1)).toBe(false);
    expect(bridge.stderr()).toContain('"msg":"bridge stopped"');
  });

  it("keeps --persistent TAPs after exit and reopens them next time", async () => {
    const t = lab.ifname("p1");
    const first = start(["--tap", `${t}@${ns}`, "--persistent"]);
    await first.ready;
    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    expect(await linkExists(t)).toBe(true);
    const second = start(["--tap", `${t}@${ns}`]);
    await second.ready;
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    // The second run opened an existing device: it leaves it as it found it.
    expect(await linkExists(t)).toBe(true);
    await run(["ip", "-n", ns, "link", "del", t]);
  });

  it("rejects bad flags with exit 2 and a sentence", async () => {
    const cases: [string[], RegExp][] = [
      [["--bogus"], /unknown option --bogus/],
      [["--tap"], /--tap needs a value/],
      [["--ageing", "soon", "--tap", "x"], /--ageing needs a number, not "soon"/],
      [[], /needs at least one port/],
      [["--tap", "x", "--log-level", "loud"], /--log-level must be one of/],
      [["--tap", "x", "--vlan-protocol", "802.1x"], /--vlan-protocol must be 802.1Q or 802.1ad, not "802.1x"/],
      [["--tap", "x", "--default-pvid", "4095"], /--default-pvid: VLAN ID 4095 is reserved/],
      [["--tap", "x", "--fdb-max-learned", "-1"], /--fdb-max-learned must be a whole number from 0 \(no limit\) to 16777216, not -1/],
      [["--tap", "x", "--fdb-full-policy", "lru"], /--fdb-full-policy must be refuse or evict-from-largest-port, not "lru"/],
      [["--tap", "x", "--mac-flap-action", "panic"], /--mac-flap-action must be log or shutdown, not "panic"/],
      [["--tap", "x", "--mac-flap-window", "0"], /--mac-flap-window must be more than 0/],
      [["--tap", "x:max-learned=lots"], /--tap x:max-learned=lots: port x: option "max-learned=lots" is out of range/],
    ];
    for (const [args, message] of cases) {
      const r = await run([process.execPath, CLI, "run", ...args], { allowFail: true });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it("rejects bad VLAN options with exit 2, naming the port and the option, and creates nothing", async () => {
    const good = lab.ifname("v1");
    const cases: [string, RegExp][] = [
      [`${lab.ifname("v2")}@${ns}:access=0`, /--tap \S+:access=0: port \S+: option "access=0": VLAN ID 0 is not a VLAN/],
      [`${lab.ifname("v2")}@${ns}:access=4095`, /option "access=4095": VLAN ID 4095 is reserved/],
      [`${lab.ifname("v2")}@${ns}:trunk=59,5000`, /option "trunk=59,5000": VLAN ID 5000 is out of range: use 1 to 4094/],
      [`${lab.ifname("v2")}@${ns}:access=abc`, /option "access=abc": "abc" is not a VLAN ID/],
      [`${lab.ifname("v2")}@${ns}:native=1`, /option "native=1" needs a trunk=LIST/],
      [`${lab.ifname("v2")}@${ns}:access=59:pvid=89`, /give the port two PVIDs/],
      [`${lab.ifname("v2")}@${ns}:vlan=59`, /unknown option "vlan"/],
    ];
    for (const [spec, message] of cases) {
      // The good port comes first: it must not be created either.
      const r = await run([process.execPath, CLI, "run", "--tap", `${good}@${ns}:access=59`, "--tap", spec], { allowFail: true, timeoutMs: 20_000 });
      expect(r.code, spec).toBe(2);
      expect(r.stderr, spec).toMatch(message);
      expect(r.stderr, spec).toMatch(new RegExp(`port ${lab.ifname("v2")}@${ns}`));
      expect(await linkExists(good)).toBe(false);
      expect(await linkExists(lab.ifname("v2"))).toBe(false);
    }
  });

  it("fails with exit 1 and removes what it created when a later port cannot be opened", async () => {
    const t = lab.ifname("f1");
    const r = await run([process.execPath, CLI, "run", "--tap", `${t}@${ns}`, "--attach", `nosuch0@${ns}`], { allowFail: true, timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("interface nosuch0@" + ns + " not found");
    expect(await linkExists(t)).toBe(false);
    const r2 = await run([process.execPath, CLI, "run", "--tap", "x@no-such-ns-here"], { allowFail: true });
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("network namespace no-such-ns-here not found");
    const r3 = await run([process.execPath, CLI, "run", "--ageing", "-5", "--tap", `y@${ns}`], { allowFail: true });
    expect(r3.code).toBe(1);
    expect(r3.stderr).toContain("ageing time -5 is out of range");
  });

  it("says which capability is missing when run without CAP_NET_ADMIN", async () => {
    const drop = ["setpriv", "--bounding-set", "-net_admin,-net_raw", "--inh-caps", "-net_admin,-net_raw"];
    const r = await run([...drop, process.execPath, CLI, "run", "--tap", lab.ifname("k1")], { allowFail: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/creating TAP device \S+ needs CAP_NET_ADMIN/);
    // An Ethernet device (lo would be refused as loopback before any permission matters).
    const dev = lab.ifname("k2");
    await lab.veth({ ns, name: dev }, { ns, name: lab.ifname("k3") });
    const r2 = await run([...drop, process.execPath, CLI, "run", "--attach", `${dev}@${ns}`], { allowFail: true });
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(new RegExp(`attaching interface ${dev}@${ns} needs CAP_NET_ADMIN`));
  });
});
