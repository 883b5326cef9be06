/**
 * The slow protocols codec against real LACPDUs: frames Open vSwitch sent
 * (fixtures/ovs-lacpdus.txt, captured by fixtures/capture-ovs-lacp.sh: a
 * bond alone — partner expired, then defaulted — and the negotiation with a
 * second OVS bond until both collect and distribute). Every frame decodes
 * field by field and encodes back byte for byte.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeSlowPdu, encodeLacpdu, encodeMarker, isPduError, isSlowProtocolsFrame, lacpStateWords, LacpState, PDU_LEN, slowProtocolsFrame, type Lacpdu } from "../../src/bond/lacp/pdu.js";

const FIXTURE = new URL("./fixtures/ovs-lacpdus.txt", import.meta.url);
const frames = readFileSync(FIXTURE, "utf8").trim().split("\n").map((line) => {
  const [time, hex] = line.split(" ");
  return { time: Number(time), bytes: Uint8Array.from(Buffer.from(hex!, "hex")) };
});

function lacpdu(frame: Uint8Array): Lacpdu {
  const pdu = decodeSlowPdu(frame.subarray(14));
  if (isPduError(pdu) || pdu.type !== "lacp") throw new Error(`not a LACPDU: ${JSON.stringify(pdu)}`);
  return pdu;
}

describe("LACPDU codec", () => {
  it("reads Open vSwitch's frames: slow protocols address, ethertype, 110-byte PDU", () => {
    expect(frames.length).toBeGreaterThanOrEqual(10);
    for (const { bytes } of frames) {
      expect(bytes.length).toBe(14 + PDU_LEN);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      expect(isSlowProtocolsFrame(view, 0, bytes.length)).toBe(true);
    }
  });

  it("decodes a lone OVS bond's PDU field by field: actor expired, partner unknown but asked for a short timeout", () => {
    const pdu = lacpdu(frames[0]!.bytes);
    expect(pdu).toEqual({
      type: "lacp",
      version: 1,
      actor: { systemPriority: 65534, system: "02:0a:00:00:00:aa", key: 1, portPriority: 65535, port: 2, state: 0xbf },
      partner: { systemPriority: 0, system: "00:00:00:00:00:00", key: 0, portPriority: 0, port: 0, state: LacpState.timeout },
      collectorMaxDelay: 0,
    });
    expect(lacpStateWords(pdu.actor.state)).toEqual(["activity", "timeout", "aggregation", "synchronized", "collecting", "distributing", "expired"]);
    // Three seconds later its partner is defaulted.
    const defaulted = lacpdu(frames.find((f) => f.time > 2.5 && f.bytes[6 + 5] === 0x01)!.bytes);
    expect(lacpStateWords(defaulted.actor.state)).toEqual(["activity", "timeout", "aggregation", "collecting", "distributing", "defaulted"]);
  });

  it("decodes the negotiation: each side echoes the other as partner, both end in sync, collecting and distributing", () => {
    const last = lacpdu(frames[frames.length - 1]!.bytes);
    expect(last.actor.system).toBe("02:0b:00:00:00:bb");
    expect(last.partner.system).toBe("02:0a:00:00:00:aa");
    expect(lacpStateWords(last.actor.state)).toEqual(["activity", "aggregation", "synchronized", "collecting", "distributing"]);
    expect(lacpStateWords(last.partner.state)).toEqual(["activity", "timeout", "aggregation", "synchronized", "collecting", "distributing"]);
    expect(last.partner.key).toBe(1);
  });

  it("encodes every captured PDU back byte for byte", () => {
    for (const { bytes } of frames) {
      const pdu = lacpdu(bytes);
      const again = slowProtocolsFrame(bytes.subarray(6, 12), encodeLacpdu(pdu));
      expect(Buffer.from(again).toString("hex")).toBe(Buffer.from(bytes).toString("hex"));
    }
  });

  it("refuses what is not a LACPDU, with a reason", () => {
    const good = frames[0]!.bytes.subarray(14);
    const cases: [string, Uint8Array][] = [
      ["short", good.subarray(0, 40)],
      ["subtype", Uint8Array.from([9, ...good.subarray(1)])],
      ["actor TLV", Uint8Array.from([...good.subarray(0, 2), 7, ...good.subarray(3)])],
      ["partner TLV length", (() => { const b = Uint8Array.from(good); b[23] = 4; return b; })()],
      ["version 0", Uint8Array.from([1, 0, ...good.subarray(2)])],
    ];
    for (const [what, bytes] of cases) expect(isPduError(decodeSlowPdu(bytes)), what).toBe(true);
  });

  it("reads a later version by the fields it knows (longer TLVs accepted)", () => {
    const b = new Uint8Array(PDU_LEN + 8);
    b.set(encodeLacpdu({ actor: { systemPriority: 1, system: "02:00:00:00:00:01", key: 7, portPriority: 2, port: 3, state: 0x3d }, partner: { systemPriority: 0, system: "00:00:00:00:00:00", key: 0, portPriority: 0, port: 0, state: 0 }, collectorMaxDelay: 5 }));
    b[1] = 2;
    const pdu = decodeSlowPdu(b);
    expect(isPduError(pdu)).toBe(false);
    expect(pdu).toMatchObject({ type: "lacp", version: 2, actor: { key: 7, port: 3, state: 0x3d }, collectorMaxDelay: 5 });
  });

  it("marker information and response round-trip", () => {
    const info = encodeMarker({ response: false, requesterPort: 4, requesterSystem: "02:00:00:00:00:09", transactionId: 0xdeadbeef });
    expect(info.length).toBe(PDU_LEN);
    expect([...info.subarray(0, 4)]).toEqual([2, 1, 1, 16]);
    expect(decodeSlowPdu(info)).toEqual({ type: "marker", version: 1, response: false, requesterPort: 4, requesterSystem: "02:00:00:00:00:09", transactionId: 0xdeadbeef });
    const response = encodeMarker({ response: true, requesterPort: 4, requesterSystem: "02:00:00:00:00:09", transactionId: 0xdeadbeef });
    expect(response[2]).toBe(2);
    expect(response.subarray(4, 16)).toEqual(info.subarray(4, 16));
  });
});
