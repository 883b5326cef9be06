/**
 * src/core/vlan.ts and vlan-egress.ts: what VLANs cost per frame in
 * TypeScript, on batches of 64.
 *
 * - tag/untag: the ingress classification (VlanTable.ingressTci: PVID,
 *   membership, the tag word written to the batch) and the per-port egress
 *   decision (egressFormOf: as is, insert or strip) — the work the decision
 *   loop and the addon's TransmitTo do per frame. The splice itself is native (iovecs, no copy)
 *   and shows in the namespace benchmarks.
 * - the decision loop with VLAN filtering on, on the same FDB and mixes as
 *   forward.bench.ts (access ports and trunks of VLAN 59), to read beside
 *   its VLAN-unaware rows.
 */
import { allocateBatch, type Batch, fillSlot } from "../../src/core/batch.js";
import type { Fdb } from "../../src/core/fdb.js";
import type { Decider } from "../../src/core/forward.js";
import { VlanTable } from "../../src/core/vlan.js";
import { EgressForm, egressForm, egressFormOf } from "../../src/core/vlan-egress.js";
import { label } from "./fdb.bench.js";
import { BATCH, blackhole, decisionRig, MICRO_SLOT, type MicroResult, type MicroTask, random, rawFrame, runTasks } from "./harness.js";

export const VID = 59;

/** Ports 0..n-1: even ones access ports of VID 59, odd ones trunks carrying it tagged. */
export function vlanTable(portCount: number): VlanTable {
  const vlan = new VlanTable();
  for (let p = 0; p < portCount; p++) vlan.set(p, VID, p % 2 === 0, p % 2 === 0);
  return vlan;
}

/** A frame as it arrives on `port` of vlanTable(): untagged on access ports, tagged on trunks. */
export function arriving(frame: Uint8Array, port: number): Uint8Array {
  if (port % 2 === 0) return frame.slice();
  const out = new Uint8Array(frame.length + 4);
  out.set(frame.subarray(0, 12));
  out.set([0x81, 0x00, (VID >> 8) & 0x0f, VID & 0xff], 12);
  out.set(frame.subarray(12), 16);
  return out;
}

function tagTask(name: string, inPort: number, outPort: number, expected: number): MicroTask {
  const vlan = vlanTable(4);
  const batch = allocateBatch(BATCH, MICRO_SLOT);
  const frame = rawFrame(0x0200, 2, 0x0200, 1);
  for (let i = 0; i < BATCH; i++) fillSlot(batch, i, inPort, arriving(frame, inPort));
  const { view, frameOffset, frameTag } = batch;
  const tpid = vlan.tpid;
  const tpidHigh = tpid << 16;
  const untagged = vlan.untagged;
  const check = egressForm(view, frameOffset[0]!, vlan.tagWord(vlan.ingressTci(view, frameOffset[0]!, inPort)), untagged, outPort);
  if (check !== expected) throw new Error(`${name}: egress form ${check}, expected ${expected}`);
  return {
    name,
    framesPerOp: BATCH,
    fn: () => {
      let x = 0;
      for (let i = 0; i < BATCH; i++) {
        const offset = frameOffset[i]!;
        const tci = vlan.ingressTci(view, offset, inPort);
        frameTag[i] = tpidHigh | tci;
        x += egressFormOf(view, offset, tpid, tci, untagged, outPort);
      }
      blackhole.n += x;
    },
  };
}

export interface VlanRig {
  fdb: Fdb;
  decider: Decider;
  batches: Batch[];
}

/**
 * The decision loop with VLAN filtering on: `portCount` ports of vlanTable(),
 * `fdbSize` hosts learned in VID 59 spread over them, 64 prepared batches.
 */
export function vlanDecisionRig(portCount: number, fdbSize: number, mix: "unicast" | "broadcast", batchCount = 64): VlanRig {
  const { fdb, decider, hosts, hostPort } = decisionRig(portCount, fdbSize, { table: vlanTable(portCount), vid: VID });
  const rnd = random(7);
  const batches: Batch[] = [];
  for (let b = 0; b < batchCount; b++) {
    const batch = allocateBatch(BATCH, MICRO_SLOT);
    for (let i = 0; i < BATCH; i++) {
      const s = Math.floor(rnd() * fdbSize);
      let d = Math.floor(rnd() * fdbSize);
      if (hostPort[d] === hostPort[s]) d = (d + 1) % fdbSize;
      const [dh, dl] = mix === "broadcast" ? [0xffff, 0xffffffff] : [hosts.hi[d]!, hosts.lo[d]!];
      fillSlot(batch, i, hostPort[s]!, arriving(rawFrame(dh, dl, hosts.hi[s]!, hosts.lo[s]!), hostPort[s]!));
    }
    batches.push(batch);
  }
  return { fdb, decider, batches };
}

function decideTask(name: string, mix: "unicast" | "broadcast", fdbSize: number): MicroTask {
  const rig = vlanDecisionRig(4, fdbSize, mix);
  let at = 0;
  let now = 1;
  return {
    name,
    framesPerOp: BATCH,
    fn: () => {
      rig.decider.decide(rig.batches[at]!, BATCH, now);
      at = (at + 1) % rig.batches.length;
      now += 0.001;
    },
  };
}

export function vlanTasks(fdbSize = 65_536): MicroTask[] {
  const size = label(fdbSize);
  return [
    tagTask("tag/untag decision, untagged in → tagged out (access → trunk)", 0, 1, EgressForm.insert),
    tagTask("tag/untag decision, tagged in → untagged out (trunk → access)", 1, 0, EgressForm.strip),
    tagTask("tag/untag decision, tagged in → tagged out (trunk → trunk)", 1, 3, EgressForm.asIs),
    decideTask(`decide, VLAN 59 access/trunk, known unicast, FDB ${size}, 4 ports`, "unicast", fdbSize),
    decideTask(`decide, VLAN 59 access/trunk, broadcast, FDB ${size}, 4 ports`, "broadcast", fdbSize),
  ];
}

export function run(timeMs: number): Promise<MicroResult[]> {
  return runTasks("vlan", vlanTasks(), timeMs);
}
