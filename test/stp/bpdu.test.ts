/**
 * BPDU codec against byte vectors checked by hand against 802.1D-1998 9.3
 * and 802.1D-2004 9.3.3, and against a configuration BPDU captured from the
 * Linux kernel bridge (fixtures/kernel-config-bpdu.txt).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bpduFrame, bpduPayload, decodeBpdu, encodeBpdu, isBpduError, type ConfigBpdu } from "../../src/stp/bpdu.js";
import { formatBridgeId, formatPortId, makeBridgeId } from "../../src/stp/ids.js";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

const config: ConfigBpdu = {
  type: "config",
  version: 0,
  flags: 0x81,
  rootId: makeBridgeId(0x8000, "00:11:22:33:44:55"),
  rootPathCost: 4,
  bridgeId: makeBridgeId(0x8000, "00:aa:bb:cc:dd:ee"),
  portId: 0x8002,
  messageAge: 1000,
  maxAge: 20000,
  helloTime: 2000,
  forwardDelay: 15000,
};

//                 proto ver type flags | root id                 | cost     | bridge id               | port | age  | max  | hello| fwd
const CONFIG_HEX = "0000  00  00   81    8000001122334455          00000004   8000 00aabbccddee           8002   0100   1400   0200   0f00";
const RST_HEX = "0000  02  02   3e    8000001122334455          00004e20   8000 00aabbccddee           8002   0000   1400   0200   0f00  00";

describe("BPDU encoding", () => {
  it("encodes a configuration BPDU byte for byte (TC and TC ack set)", () => {
    expect(toHex(encodeBpdu(config))).toBe(CONFIG_HEX.replace(/\s+/g, ""));
  });

  it("drops RSTP-only flags from an STP configuration BPDU", () => {
    expect(encodeBpdu({ ...config, flags: 0xff })[4]).toBe(0x81);
  });

  it("encodes a TCN BPDU as four bytes", () => {
    expect(toHex(encodeBpdu({ type: "tcn", version: 0 }))).toBe("00000080");
  });

  it("encodes an RST BPDU: version 2, type 2, role and state flags, version 1 length 0", () => {
    const rst = encodeBpdu({ ...config, type: "rst", version: 2, flags: 0x02 | (3 << 2) | 0x10 | 0x20, rootPathCost: 20000, messageAge: 0 });
    expect(toHex(rst)).toBe(RST_HEX.replace(/\s+/g, ""));
    expect(rst.length).toBe(36);
  });

  it("rounds times to 1/256 s", () => {
    const b = encodeBpdu({ ...config, messageAge: 4, helloTime: 1000 });
    expect(toHex(b.subarray(27, 33))).toBe("0001" + "1400" + "0100");
  });
});

describe("BPDU decoding", () => {
  it("decodes the configuration BPDU vector", () => {
    expect(decodeBpdu(hex(CONFIG_HEX))).toEqual(config);
  });

  it("decodes an RST BPDU and a TCN", () => {
    const rst = decodeBpdu(hex(RST_HEX));
    expect(rst).toMatchObject({ type: "rst", version: 2, flags: 0x3e, rootPathCost: 20000 });
    expect(decodeBpdu(hex("00000080"))).toEqual({ type: "tcn", version: 0 });
  });

  it("accepts longer BPDUs (later versions append fields)", () => {
    expect(decodeBpdu(hex(CONFIG_HEX + "00000000"))).toMatchObject({ type: "config" });
  });

  it.each([
    ["000000", /truncated BPDU/],
    ["00000000" + "00".repeat(30), /truncated configuration BPDU \(34 bytes, 35 needed\)/],
    [RST_HEX.replace(/\s+/g, "").slice(0, 70), /truncated RST BPDU/],
    ["0001000000", /protocol identifier 0001/],
    ["00000077", /unknown BPDU type 0x77/],
    ["00000002" + "00".repeat(32), /unknown BPDU type 0x02 \(version 0\)/],
  ])("rejects %s", (bytes, why) => {
    const r = decodeBpdu(hex(bytes));
    expect(isBpduError(r) && r.error).toMatch(why);
  });
});

describe("a BPDU from the Linux kernel bridge", () => {
  const text = readFileSync(new URL("./fixtures/kernel-config-bpdu.txt", import.meta.url), "utf8");
  const frame = hex(text.split("\n").filter((l) => !l.startsWith("#")).join(""));

  it("is an 802.3 frame with LLC 42 42 03 to 01:80:C2:00:00:00", () => {
    expect(frame.length).toBe(52);
    expect(toHex(frame.subarray(0, 6))).toBe("0180c2000000");
    expect((frame[12]! << 8) | frame[13]!).toBe(38);
  });

  it("decodes field by field", () => {
    const payload = bpduPayload(frame);
    if (isBpduError(payload as never)) throw new Error("not a BPDU");
    const b = decodeBpdu(payload as Uint8Array) as ConfigBpdu;
    expect(b.type).toBe("config");
    expect(b.version).toBe(0);
    expect(b.flags).toBe(0);
    expect(formatBridgeId(b.rootId)).toBe("7000.0200000000aa");
    expect(b.rootPathCost).toBe(0);
    expect(formatBridgeId(b.bridgeId)).toBe("7000.0200000000aa");
    expect(formatPortId(b.portId)).toBe("8001");
    expect(b.messageAge).toBe(0);
    expect(b.maxAge).toBe(6000);
    expect(b.helloTime).toBe(1000);
    expect(b.forwardDelay).toBe(4000);
  });

  it("is what this codec sends for the same fields, byte for byte", () => {
    const payload = bpduPayload(frame) as Uint8Array;
    const again = bpduFrame(hex("020000000001"), encodeBpdu(decodeBpdu(payload) as ConfigBpdu));
    expect(toHex(again)).toBe(toHex(frame));
  });
});

describe("BPDU frames", () => {
  it("rejects Ethernet II, other LLC headers and lengths beyond the frame", () => {
    const good = bpduFrame(hex("020000000001"), encodeBpdu(config));
    expect(bpduPayload(good)).toEqual(encodeBpdu(config));
    const ethertype = good.slice();
    ethertype[12] = 0x08;
    expect(bpduPayload(ethertype)).toMatchObject({ error: /ethertype 0x0826/ });
    const llc = good.slice();
    llc[16] = 0x13;
    expect(bpduPayload(llc)).toMatchObject({ error: /LLC header/ });
    expect(bpduPayload(good.subarray(0, 40))).toMatchObject({ error: /802.3 length 38 does not fit the 40-byte frame/ });
    expect(bpduPayload(good.subarray(0, 10))).toMatchObject({ error: /truncated frame/ });
  });
});
