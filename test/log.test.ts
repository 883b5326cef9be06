import { describe, expect, it } from "vitest";
import { createLogger } from "../src/log.js";

describe("createLogger (pino behind the message-first signature)", () => {
  it("writes one JSON line per call, message under msg, fields beside it, errors serialized", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l), level: "debug", bindings: { bridge: "br0" } });
    log.info("port added", { port: "tap0", kind: "tap" });
    log.trace("not written");
    log.child({ port: "p1" }).error("failed", { err: Object.assign(new Error("boom"), { code: "EIO" }) });
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ level: 30, msg: "port added", bridge: "br0", port: "tap0", kind: "tap" });
    expect(typeof first.time).toBe("number");
    const second = JSON.parse(lines[1]!);
    expect(second).toMatchObject({ level: 50, msg: "failed", bridge: "br0", port: "p1", err: { type: "Error", message: "boom", code: "EIO" } });
  });

  it("changes level at run time and stays silent when asked", () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l), level: "warn" });
    log.info("dropped");
    log.level = "info";
    log.info("kept");
    log.level = "silent";
    log.error("dropped too");
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["kept"]);
  });
});
