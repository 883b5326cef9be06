/**
 * Bonds as users run them, as root: `tapbridge daemon` with a `bond:` entry
 * of two veth uplinks to a kernel bridge, read with `tapbridge bond show`
 * (text and -j) and `link show`, changed live by reload (no member is
 * reopened: their counters go on), failed over by cutting a member (a
 * "bond failover" log line, the Prometheus metrics per bond and member),
 * saved back; and `tapbridge run --bond`: a bad
 * spec exits 2 with a sentence, a good one logs its members and puts the
 * bond in its SIGUSR1 status line.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab, run } from "../../src/testing/lab.js";
import { CLI, cleanupDaemons, DaemonProcess, tempDir, until } from "../daemon/helpers.js";
import { kernelSwitch } from "./switch-lab.js";

const lab = new Lab("tbbd");
let tb = "";
let sw = "";
let g = "";
let h = "";

beforeAll(async () => {
  sw = await lab.netns("sw");
  tb = await lab.netns("tb");
  g = await lab.netns("g");
  h = await lab.netns("h");
  await lab.veth({ ns: tb, name: "u1" }, { ns: sw, name: "s1" });
  await lab.veth({ ns: tb, name: "u2" }, { ns: sw, name: "s2" });
  await lab.veth({ ns: tb, name: "u3" }, { ns: sw, name: "s3" });
  await lab.veth({ ns: tb, name: "u4" }, { ns: sw, name: "s4" });
  await lab.veth({ ns: h, name: "eth0", address: "10.56.0.100/24" }, { ns: sw, name: "hp" });
  await kernelSwitch(lab, sw, ["s1", "s2", "s3", "s4"], ["hp"]);
});

afterAll(async () => {
  cleanupDaemons();
  await lab.destroy();
});

const metricsPort = 40000 + (process.pid % 20000);

const config = (updelay: number, mode = "active-backup") => `metrics:
  listen: "127.0.0.1:${metricsPort}"
bridges:
  br0:
    ports:
      - bond: bond0
        members: [u1, u2]
        netns: ${tb}
        mode: ${mode}
        primary: u1
        updelay: ${updelay}
      - tap: t0
        netns: ${g}
`;

describe("bonds in the daemon", () => {
  it("bond show, link show, live changes by reload, failover, save", async () => {
    const daemon = await DaemonProcess.start({ dir: tempDir("bd"), config: config(100) });
    try {
      await lab.address(g, "t0", "10.56.0.1/24");
      await until(async () => (await lab.exec(h, ["ping", "-c", "1", "-W", "1", "10.56.0.1"], { allowFail: true })).code === 0, "the guest to answer", 30_000);
      const text = await daemon.cli(["bond", "show"]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^---- bond0 ----\nbridge: br0\nbond_mode: active-backup\nmiimon: 100 ms\nupdelay: 100 ms\ndowndelay: 0 ms\nlacp_status: off\nactive-backup primary: u1\nactive member: u1\n/);
      expect(text.stdout).toMatch(/\nmember u1: enabled\n  active member\n  primary member\n  link: up \((carrier|updelay over)\), carrier yes\n/);
      expect(text.stdout).toMatch(/\nmember u2: disabled\n/);
      const json = JSON.parse((await daemon.cli(["bond", "show", "bond0", "-j"])).stdout) as { bridge: string; name: string; activeMember: string; members: { name: string; rxPackets: number }[] }[];
      expect(json).toMatchObject([{ bridge: "br0", name: "bond0", activeMember: "u1", members: [{ name: "u1" }, { name: "u2" }] }]);
      expect((await daemon.cli(["bond", "show", "nope"])).stderr).toMatch(/there is no bond nope/);
      const links = JSON.parse((await daemon.cli(["link", "show", "-j"])).stdout) as { ifname: string; state: string }[];
      expect(links.map((l) => l.ifname)).toEqual(expect.arrayContaining(["bond0", `t0@${g}`]));

      // Live: updelay and then the mode change in place; the members are not reopened (their counters go on).
      const rxBefore = json[0]!.members[0]!.rxPackets;
      writeFileSync(daemon.configFile!, config(300, "balance-slb"));
      const reload = await daemon.cli(["reload"]);
      expect(reload.code, reload.stderr).toBe(0);
      expect(reload.stdout).toMatch(/port bond0 of br0: .*mode active-backup → balance-slb/);
      const after = JSON.parse((await daemon.cli(["bond", "show", "-j"])).stdout)[0] as { mode: string; options: { updelay: number }; members: { rxPackets: number }[] };
      expect(after.mode).toBe("balance-slb");
      expect(after.options.updelay).toBe(300);
      expect(after.members[0]!.rxPackets).toBeGreaterThanOrEqual(rxBefore);

      // Failover: a log line with the reason, and bond show says so.
      const mark = daemon.stderr.length;
      await run(["ip", "-n", sw, "link", "set", "s1", "down"]);
      await daemon.waitForLog("bond failover", 15_000, mark);
      const line = daemon.logs().find((l) => l.msg === "bond failover")!;
      expect(line).toMatchObject({ bridge: "br0", bond: "bond0", from: "u1", to: "u2", reason: "carrier" });
      expect((await daemon.cli(["bond", "show"])).stdout).toMatch(/failovers: 1, last u1 -> u2 \(carrier\)/);
      // Metrics: the failover, which member carries traffic, counters per member.
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^tapbridge_bond_failovers_total\{bridge="br0",bond="bond0"\} 1$/m);
      expect(metrics).toMatch(/^tapbridge_bond_up\{bridge="br0",bond="bond0"\} 1$/m);
      expect(metrics).toMatch(/^tapbridge_bond_member_enabled\{bridge="br0",bond="bond0",member="u1"\} 0$/m);
      expect(metrics).toMatch(/^tapbridge_bond_member_enabled\{bridge="br0",bond="bond0",member="u2"\} 1$/m);
      expect(metrics).toMatch(/^tapbridge_bond_member_link_up\{bridge="br0",bond="bond0",member="u1"\} 0$/m);
      expect(metrics).toMatch(/^tapbridge_bond_member_tx_packets_total\{bridge="br0",bond="bond0",member="u1"\} [1-9]\d*$/m);
      expect(metrics).toMatch(/^tapbridge_bond_member_rx_packets_total\{bridge="br0",bond="bond0",member="u1"\} [1-9]\d*$/m);
      expect((await lab.exec(h, ["ping", "-c", "2", "-W", "2", "10.56.0.1"], { allowFail: true })).code).toBe(0);

      const saved = await daemon.cli(["save"]);
      expect(saved.stdout).toContain(`- bond: bond0\n        members:\n          - u1\n          - u2\n        netns: ${tb}\n`);
      expect(saved.stdout).toMatch(/mode: balance-slb/);
    } finally {
      await daemon.stop();
      await run(["ip", "-n", sw, "link", "set", "s1", "up"]);
    }
  }, 120_000);
});

describe("tapbridge run --bond", () => {
  it("refuses a bad spec with a sentence (exit 2)", async () => {
    const r = await run([process.execPath, CLI, "run", "--bond", "bond0=u3@x:mode=round-robin"], { allowFail: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--bond bond0=u3@x:mode=round-robin: bond bond0: option "mode=round-robin": "round-robin" is not a bond mode/);
    const help = await run([process.execPath, CLI, "run", "--help"]);
    expect(help.stdout).toMatch(/--bond NAME=IF\[@NETNS\],IF\.\.\.\[:OPT\]\.\.\./);
    expect(help.stdout).toMatch(/Bond options \(--bond only\):/);
  });

  it("runs a bond, logs its members, and reports it in the status line", async () => {
    const child = spawn(process.execPath, [CLI, "run", "--name", "runbond", "--bond", `up=u3@${tb},u4@${tb}:mode=balance-slb:rebalance-interval=1000`], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
    try {
      await until(() => stderr.includes('"msg":"bridge running"'), "the bridge to run", 20_000);
      const lines = () => stderr.trim().split("\n").map((l) => JSON.parse(l) as Record<string, any>);
      expect(lines().find((l) => l.msg === "bridge running")!.ports).toEqual([expect.objectContaining({ name: "up", kind: "bond", members: [`u3@${tb}`, `u4@${tb}`] })]);
      child.kill("SIGUSR1");
      await until(() => stderr.includes('"msg":"status"'), "the status line", 10_000);
      const status = lines().find((l) => l.msg === "status")!;
      expect(status.bonds).toEqual([expect.objectContaining({ name: "up", mode: "balance-slb", members: [expect.objectContaining({ name: `u3@${tb}` }), expect.objectContaining({ name: `u4@${tb}` })] })]);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);
});
