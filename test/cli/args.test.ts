import { describe, expect, it } from "vitest";
import { parseArgs, UsageError, type FlagSpec } from "../../src/cli/args.js";
import { formatPortStats, formatShowmacs } from "../../src/cli/format.js";

const specs: Record<string, FlagSpec> = {
  name: { type: "string", help: "" },
  tap: { type: "string", repeat: true, help: "" },
  ageing: { type: "number", help: "" },
  persistent: { type: "boolean", help: "" },
};

describe("parseArgs", () => {
  it("takes --flag value, --flag=value, repeats and booleans", () => {
    const { flags, positionals } = parseArgs(["--name", "br0", "--tap=t1", "--tap", "t2@ns", "--ageing", "0", "--persistent", "x"], specs, "run");
    expect(flags).toEqual({ name: "br0", tap: ["t1", "t2@ns"], ageing: 0, persistent: true });
    expect(positionals).toEqual(["x"]);
  });

  it("takes a negative number, a short alias and -- before positionals", () => {
    const { flags, positionals } = parseArgs(["--ageing", "-5", "-c", "f.yaml", "--", "--tap"], { ...specs, config: { type: "string", short: "c", help: "" } }, "run");
    expect(flags).toEqual({ ageing: -5, config: "f.yaml" });
    expect(positionals).toEqual(["--tap"]);
  });

  it("rejects what it does not know, with a sentence naming it", () => {
    expect(() => parseArgs(["--nmae", "x"], specs, "run")).toThrow(/unknown option --nmae for "tapbridge run"/);
    expect(() => parseArgs(["-n"], specs, "run")).toThrow(/unknown option -n/);
    expect(() => parseArgs(["--name"], specs, "run")).toThrow(/--name needs a value/);
    expect(() => parseArgs(["--name", "--tap"], specs, "run")).toThrow(/--name needs a value/);
    expect(() => parseArgs(["--ageing", "5s"], specs, "run")).toThrow(/--ageing needs a number, not "5s"/);
    expect(() => parseArgs(["--name", "a", "--name", "b"], specs, "run")).toThrow(/given twice/);
    expect(() => parseArgs(["--persistent=yes"], specs, "run")).toThrow(UsageError);
  });
});

describe("output formats", () => {
  it("showmacs has brctl's columns, sorted by MAC", () => {
    const text = formatShowmacs(
      [
        { mac: "02:00:00:00:00:02", vlan: 0, port: "tap1", ageing: 1.5, static: false, sticky: false },
        { mac: "02:00:00:00:00:01", vlan: 0, port: "tap0", ageing: 0, static: true, sticky: false },
        { mac: "02:00:00:00:00:00", vlan: 0, port: "tap1", ageing: 2, static: false, sticky: false },
      ],
      (p) => (p === "tap0" ? 1 : 2),
    );
    expect(text.split("\n")).toEqual([
      "port no\tmac addr\t\tis local?\tageing timer",
      "  2\t02:00:00:00:00:00\tno\t\t   2.00",
      "  1\t02:00:00:00:00:01\tyes\t\t   0.00",
      "  2\t02:00:00:00:00:02\tno\t\t   1.50",
      "",
    ]);
  });

  it("port stats name every drop reason", () => {
    const text = formatPortStats([
      { name: "m0", kind: "memory", index: 0, state: "forwarding", rxPackets: 3, rxBytes: 180, txPackets: 0, txBytes: 0, rxDropped: 0, txDropped: 0, txErrors: 0, rxSyscalls: 0, txSyscalls: 0, txSegmented: 0, drops: { runt: 2, same_port: 1 } },
    ]);
    expect(text).toContain("runt=2,same_port=1");
    expect(text.split("\n")[0]).toMatch(/^port\s+kind\s+state\s+rx packets/);
  });
});
