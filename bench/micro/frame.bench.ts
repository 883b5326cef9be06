/**
 * Frame parsing on the hot path: the header checks every frame passes before
 * any table is consulted (Decider's classify: length, 802.1Q header, the
 * virtio-net header's checksum and GSO fields, MTU) and reading the two MACs
 * as integers (src/frame.ts's representation). classifyHeaders() is timed
 * alone, without learning or lookup.
 *
 * VLAN tag/untag has its own module: vlan.bench.ts.
 */
import { allocateBatch, fillSlot } from "../../src/core/batch.js";
import { classifyHeaders } from "../../src/core/forward.js";
import { buildFrame } from "../../src/core/frame.js";
import { Vnet } from "../../src/core/abi.js";
import { BATCH, blackhole, MICRO_SLOT, type MicroResult, type MicroTask, runTasks } from "./harness.js";


function gsoHeader(): Uint8Array {
  const h = new Uint8Array(10);
  const v = new DataView(h.buffer);
  h[0] = Vnet.FLAG_NEEDS_CSUM;
  h[1] = Vnet.GSO_TCPV4;
  v.setUint16(Vnet.hdrLen, 66, true);
  v.setUint16(Vnet.gsoSize, 1448, true);
  v.setUint16(Vnet.csumStart, 34, true);
  v.setUint16(Vnet.csumOffset, 16, true);
  return h;
}

export function frameTasks(): MicroTask[] {
  const classify = classifyHeaders;
  const kinds: [string, Uint8Array, Uint8Array | undefined][] = [
    ["untagged", buildFrame({ dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01", ethertype: 0x0800, payload: new Uint8Array(46) }), undefined],
    ["802.1Q-tagged", buildFrame({ dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01", ethertype: 0x0800, vlan: { vid: 10 }, payload: new Uint8Array(46) }), undefined],
    ["TCP GSO (virtio-net header)", buildFrame({ dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01", ethertype: 0x0800, payload: new Uint8Array(1400) }), gsoHeader()],
  ];
  const tasks: MicroTask[] = kinds.map(([kind, frame, vnet]) => {
    const batch = allocateBatch(BATCH, MICRO_SLOT + 1536);
    for (let i = 0; i < BATCH; i++) fillSlot(batch, i, 0, frame, vnet);
    const { bytes, view, frameOffset, frameLength, slotSize } = batch;
    return {
      name: `header checks, ${kind}`,
      framesPerOp: BATCH,
      fn: () => {
        let bad = 0;
        for (let i = 0; i < BATCH; i++) bad += classify(bytes, view, i * slotSize, frameOffset[i]!, frameLength[i]!, 1500) >= 0 ? 1 : 0;
        blackhole.n += bad;
      },
    };
  });
  const batch = allocateBatch(BATCH, MICRO_SLOT);
  for (let i = 0; i < BATCH; i++) fillSlot(batch, i, 0, kinds[0]![1]);
  tasks.push({
    name: "read dst+src MAC as integers",
    framesPerOp: BATCH,
    fn: () => {
      const { view, frameOffset } = batch;
      let x = 0;
      for (let i = 0; i < BATCH; i++) {
        const o = frameOffset[i]!;
        x ^= view.getUint16(o) ^ view.getUint32(o + 2) ^ view.getUint16(o + 6) ^ view.getUint32(o + 8);
      }
      blackhole.n += x;
    },
  });
  return tasks;
}

export function run(timeMs: number): Promise<MicroResult[]> {
  return runTasks("frame", frameTasks(), timeMs);
}
