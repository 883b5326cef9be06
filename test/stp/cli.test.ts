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
