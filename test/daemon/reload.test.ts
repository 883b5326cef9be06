/**
 * Reload and bad input, with traffic running. A 10 ms ping crosses the
 * daemon's bridge br0 (two TAPs in namespaces a and b) through the whole
 * file, while the daemon is sent SIGHUP with a valid and an invalid config,
 * malformed control requests, unknown CLI verbs and configs with each kind
 * of error. Every bad input gets a clear message and a non-zero exit; the
 * running bridges, their ports and the ping are untouched.
 */
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lab, run } from "../../src/testing/lab.js";
import { cleanupDaemons, DaemonProcess, startPing, tempDir, until } from "./helpers.js";

const lab = new Lab("tbh");
let a = "";
let b = "";
let daemon: DaemonProcess;
let ping: ReturnType<typeof startPing>;
let base = "";

const write = (text: string) => writeFileSync(daemon.configFile!, text);

beforeAll(async () => {
  a = await lab.netns("a");
  b = await lab.netns("b");
  base = `bridges:
  br0:
    ports:
      - tap: ${lab.ifname("t1")}
        netns: ${a}
      - tap: ${lab.ifname("t2")}
        netns: ${b}
`;
  daemon = await DaemonProcess.start({ dir: tempDir("h"), config: base });
  await lab.address(a, lab.ifname("t1"), "10.64.0.1/24");
  await lab.address(b, lab.ifname("t2"), "10.64.0.2/24");
  ping = startPing(a, "10.64.0.2", 0.01);
  await until(() => ping.replies() >= 10, "the ping to start");
});

afterAll(async () => {
  await daemon?.stop();
  cleanupDaemons();
  await lab.destroy();
});

/** Raw request lines to the control socket; resolves with the reply lines. */
function raw(lines: (string | Buffer)[], expect: number): Promise<Record<string, any>[]> {
  return new Promise((resolve, reject) => {
    const s = connect(daemon.socket);
    let data = "";
    s.on("data", (d: Buffer) => {
      data += d.toString();
      const got = data.split("\n").filter(Boolean);
      if (got.length >= expect) {
        s.destroy();
        resolve(got.map((l) => JSON.parse(l)));
      }
    });
    s.on("error", reject);
    for (const l of lines) s.write(l);
  });
}

describe("reload", () => {
  it("SIGHUP with a valid config applies the difference live and logs what changed", async () => {
    const from = daemon.stderr.length;
    write(base.replace(`      - tap: ${lab.ifname("t2")}\n        netns: ${b}\n`, `      - tap: ${lab.ifname("t2")}\n        netns: ${b}\n        hairpin: true\n`) + "    fdb-max-learned: 100\n    fdb-full-policy: refuse\n    mac-flap-action: shutdown\n    parameters:\n      ageing-time: 120\n  br1: {}\n");
    daemon.child.kill("SIGHUP");
    await daemon.waitForLog("config applied", 15_000, from);
    const applied = daemon.logs().filter((l) => l.msg === "config applied").pop()!;
    expect(applied.changes).toEqual([
      `bridge br0: ageing-time 300 → 120`,
      `bridge br0: fdb-max-learned (default) → 100, fdb-full-policy (default) → refuse, mac-flap (default) → action shutdown`,
      `port ${lab.ifname("t2")}@${b} of br0: hairpin (default) → true`,
      "bridge br1 added",
    ]);
    expect(JSON.parse((await daemon.cli(["status"])).stdout).bridges).toHaveLength(2);
    expect((await daemon.cli(["show"])).stdout).toMatch(/^br1\t/m);
    expect((await daemon.cli(["link", "show", "-d"])).stdout).toMatch(new RegExp(`${lab.ifname("t2")}@${b}:[^\\n]*\\n    hairpin on`));
    expect((await daemon.cli(["save"])).stdout).toMatch(/fdb-full-policy: refuse\n(.*\n)*?\s+mac-flap-action: shutdown/);
    const r = await daemon.cli(["reload"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("no changes\n");
  });

  it("SIGHUP and reload with an invalid config change nothing and say why, with line and column", async () => {
    const before = (await daemon.cli(["save"])).stdout;
    const from = daemon.stderr.length;
    write("bridges:\n  br0:\n    parameters:\n      ageing-time: soon\n");
    daemon.child.kill("SIGHUP");
    await daemon.waitForLog("config not applied: the running state is unchanged", 15_000, from);
    expect(daemon.logs().pop()!.reason).toMatch(/tapbridge\.yaml:4:20: bridges\.br0\.parameters\.ageing-time: expected a number, not "soon"/);
    const r = await daemon.cli(["reload"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tapbridge reload: .*tapbridge\.yaml:4:20: bridges\.br0\.parameters\.ageing-time: expected a number/);
    expect((await daemon.cli(["save"])).stdout).toBe(before);
  });

  it("each config error is refused with its sentence, and nothing changes", async () => {
    const before = (await daemon.cli(["save"])).stdout;
    const t1 = `${lab.ifname("t1")}`;
    const cases: [string, RegExp][] = [
      ["bridges:\n  br0:\n    parameters: { stp: 3 }\n", /3:24: bridges\.br0\.parameters\.stp: expected true or false, not 3/],
      ["bridges:\n  br0:\n    colour: red\n", /3:5: bridges\.br0\.colour: unknown key "colour"/],
      [`bridges:\n  br0:\n    interfaces: [nosuch0]\n`, /3:18: bridges\.br0\.interfaces\[0\]: interface nosuch0 not found/],
      [`bridges:\n  br0:\n    ports:\n      - { tap: ${t1}, netns: ${a} }\n      - { tap: ${t1}, netns: ${a} }\n`, /5:9: bridges\.br0\.ports\[1\]: port \S+ is listed twice in bridge br0/],
      [`bridges:\n  br0:\n    ports:\n      - { tap: ${t1}, netns: ${a} }\n  br1:\n    ports:\n      - { tap: ${t1}, netns: ${a} }\n`, /7:9: bridges\.br1\.ports\[0\]: port \S+ is already a port of bridge br0/],
    ];
    for (const [text, message] of cases) {
      write(text);
      const r = await daemon.cli(["reload"]);
      expect(r.code, text).toBe(1);
      expect(r.stderr, text).toMatch(message);
      expect((await daemon.cli(["save"])).stdout).toBe(before);
    }
  });
});

describe("bad input", () => {
  it("malformed control requests get error replies: not JSON, unknown method, wrong types, a 10 MB line", async () => {
    const replies = await raw(
      [
        "{not json\n",
        '{"jsonrpc":"2.0","id":1,"method":"explode"}\n',
        '{"jsonrpc":"2.0","id":2,"method":"addif","params":{"bridge":7,"port":["x"]}}\n',
        '{"jsonrpc":"2.0","id":3,"method":"show","params":{"bridge":"',
        Buffer.alloc(10 * 1024 * 1024, 0x62),
        '"}}\n',
        '{"jsonrpc":"2.0","id":4,"method":"show"}\n',
      ],
      5,
    );
    expect(replies[0]).toMatchObject({ error: { code: -32700 } });
    expect(replies[1]).toMatchObject({ id: 1, error: { code: -32601, message: expect.stringContaining('unknown method "explode"') } });
    expect(replies[2]).toMatchObject({ id: 2, error: { code: -32602, message: expect.stringMatching(/params\.bridge: expected string.*params\.port: expected string/) } });
    expect(replies[3]).toMatchObject({ error: { code: -32600, message: expect.stringContaining("request too large") } });
    expect(replies[4]).toMatchObject({ id: 4, result: expect.arrayContaining([expect.objectContaining({ name: "br0" })]) });
  });

  it("unknown CLI verbs and bad arguments exit 2 with a sentence; refused changes exit 1", async () => {
    const cases: [string[], number, RegExp][] = [
      [["frobnicate"], 2, /unknown command "frobnicate"/],
      [["showmacs"], 2, /usage: tapbridge showmacs BRIDGE/],
      [["setageing", "br0", "soon"], 2, /the ageing time must be a number, not "soon"/],
      [["stp", "br0", "maybe"], 2, /stp takes on or off, not "maybe"/],
      [["fdb", "explode"], 2, /unknown command "fdb explode"/],
      [["link", "set", "dev", lab.ifname("t1"), "learning", "sometimes"], 2, /learning takes on or off/],
      [["showmacs", "nosuch"], 1, /bridge nosuch does not exist/],
      [["addif", "br0", "nosuch0"], 1, /interface nosuch0 not found/],
      [["addif", "br1", `${lab.ifname("t1")}@${a}`], 1, /already a port of bridge br0/],
      [["setfd", "br0", "99"], 1, /params\.seconds: must be at most 30/],
    ];
    for (const [args, code, message] of cases) {
      const r = await daemon.cli(args);
      expect(r.code, args.join(" ")).toBe(code);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
  });

  it("after all of it the bridge is as it was and the ping never stopped", async () => {
    const show = (await daemon.cli(["show", "br0"])).stdout;
    expect(show).toContain(`${lab.ifname("t1")}@${a}`);
    expect(show).toContain(`${lab.ifname("t2")}@${b}`);
    const result = await ping.done();
    console.log(`ping through reloads and bad input: ${result.received}/${result.transmitted} replies, longest gap ${result.maxGapMs} ms`);
    expect(result.received).toBeGreaterThanOrEqual(result.transmitted - 2);
    expect(daemon.child.exitCode).toBe(null);
    await run(["true"]);
  });
});
