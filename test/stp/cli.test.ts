/** Spanning tree on the command line: run flags and the port options of the colon grammar. */
import { describe, expect, it } from "vitest";
import { runCommand } from "../../src/cli/run.js";
import { parsePortSpec } from "../../src/config/port-options.js";

describe("spanning tree port options", () => {
  it("parses cost, priority, edge, bpdu-guard and root-guard", () => {
    expect(parsePortSpec("vm1@ns1:cost=4:priority=32:edge:bpdu-guard:root-guard=off").config).toEqual({ cost: 4, priority: 32, edge: true, bpduGuard: true, rootGuard: false });
  });

  it("rejects values out of range with a sentence naming the port and option", () => {
    expect(() => parsePortSpec("tap0:cost=0")).toThrow(/port tap0: option "cost=0" is out of range: use a whole number from 1 to 200000000/);
    expect(() => parsePortSpec("tap0:priority=256")).toThrow(/option "priority=256" is out of range: use a whole number from 0 to 255/);
    expect(() => parsePortSpec("tap0:edge=maybe")).toThrow(/option "edge" takes on or off/);
  });
});

describe("tapbridge run spanning tree flags", () => {
  it.each([
    [["--tap", "x", "--stp", "--rstp"], /--stp and --rstp exclude each other/],
    [["--tap", "x", "--hello", "1"], /--hello is a spanning tree setting: add --stp or --rstp/],
    [["--tap", "x", "--stp", "--hello", "0.5"], /--hello: hello time 0.5 is out of range: use from 1 to 10 seconds/],
    [["--tap", "x", "--rstp", "--max-age", "41"], /--max-age: max age 41 is out of range/],
    [["--tap", "x", "--stp", "--forward-delay", "1"], /--forward-delay: forward delay 1 is out of range: use from 2 to 30 seconds/],
    [["--tap", "x", "--stp", "--priority", "70000"], /--priority: bridge priority 70000 is out of range/],
    [["--tap", "x:cost=70000", "--stp"], /STP path cost 70000 is out of range: use a whole number from 1 to 65535/],
  ])("rejects %j", async (argv, why) => {
    await expect(runCommand(argv)).rejects.toThrow(why);
  });
});

describe("tapbridge run --stp, as a process", () => {
  it("logs the tree starting and a TAP port going listening, learning, forwarding", async () => {
    const { spawn } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const { Lab } = await import("../../src/testing/lab.js");
    const lab = new Lab("tbsc");
    const ns = await lab.netns("c");
    const cli = fileURLToPath(new URL("../../bin/tapbridge.js", import.meta.url));
    const child = spawn(process.execPath, [cli, "run", "--stp", "--hello", "1", "--forward-delay", "2", "--max-age", "6", "--priority", "4096", "--tap", `${lab.ifname("s0")}@${ns}:cost=7:priority=64`], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      const until = Date.now() + 30_000;
      while (!/"state":"forwarding"/.test(stderr) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      const lines = stderr.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => l.msg === "spanning tree started")).toMatchObject({ protocol: "stp", bridgeId: expect.stringMatching(/^1000\./), helloTime: 1, forwardDelay: 2 });
      const states = lines.filter((l) => l.msg === "spanning tree port change").map((l) => `${l.role}/${l.state}`);
      expect(states).toEqual(["designated/listening", "designated/learning", "designated/forwarding"]);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      await lab.destroy();
    }
  }, 60_000);
});
