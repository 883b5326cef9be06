/**
 * The memory one batch of frames lives in: a slab of slots plus descriptor
 * arrays (see io/native-binding.ts for the layout). The addon provides it
 * when native ports exist; otherwise it is allocated here with the same
 * shape, so in-memory bridges run the very same decision code.
 */
import { EGRESS_WORDS, HEADROOM, VNET_AREA, VxlanMeta } from "./abi.js";

/** Room for a 64 KiB GSO frame plus a tag, the virtio-net area and headroom. */
export const SLOT_SIZE = 66 * 1024;
export const DEFAULT_BATCH_SIZE = 64;

/** The memory the addon shares with TypeScript (one slab and the descriptor arrays). */
export interface BatchMemory {
  readonly slab: ArrayBuffer;
  readonly rxPort: Uint16Array;
  readonly frameOffset: Uint32Array;
  readonly frameLength: Uint32Array;
  /** batchSize * EGRESS_WORDS words. */
  readonly egress: Uint32Array;
  /**
   * Per frame, the VLAN tag word (TPID << 16) | TCI it leaves tagged ports
   * with, or 0 (VLAN-unaware: sent as is). See core/vlan-egress.ts.
   */
  readonly frameTag: Uint32Array;
}

export interface Batch {
  readonly batchSize: number;
  readonly slotSize: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly rxPort: Uint16Array;
  readonly frameOffset: Uint32Array;
  readonly frameLength: Uint32Array;
  readonly egress: Uint32Array;
  readonly frameTag: Uint32Array;
}

export function batchFromNative(dp: BatchMemory, batchSize: number, slotSize: number): Batch {
  return {
    batchSize,
    slotSize,
    bytes: new Uint8Array(dp.slab),
    view: new DataView(dp.slab),
    rxPort: dp.rxPort,
    frameOffset: dp.frameOffset,
    frameLength: dp.frameLength,
    egress: dp.egress,
    frameTag: dp.frameTag,
  };
}

export function allocateBatch(batchSize = DEFAULT_BATCH_SIZE, slotSize = SLOT_SIZE): Batch {
  const slab = new ArrayBuffer(batchSize * slotSize);
  return {
    batchSize,
    slotSize,
    bytes: new Uint8Array(slab),
    view: new DataView(slab),
    rxPort: new Uint16Array(batchSize),
    frameOffset: new Uint32Array(batchSize),
    frameLength: new Uint32Array(batchSize),
    egress: new Uint32Array(batchSize * EGRESS_WORDS),
    frameTag: new Uint32Array(batchSize),
  };
}

/** Largest frame a slot holds. */
export function slotCapacity(batch: Batch): number {
  return batch.slotSize - VNET_AREA - HEADROOM;
}

/**
 * Put a frame (and optionally its 10-byte virtio-net header) into slot i,
 * the way the addon does on receive.
 */
export function fillSlot(batch: Batch, i: number, port: number, frame: Uint8Array, vnetHeader?: Uint8Array): void {
  const base = i * batch.slotSize;
  batch.bytes.fill(0, base, base + VNET_AREA);
  if (vnetHeader) batch.bytes.set(vnetHeader.subarray(0, 10), base);
  const offset = base + VNET_AREA + HEADROOM;
  batch.view.setInt32(offset - VxlanMeta.remote, -1, true); // to a VXLAN port: every flood remote, unless decided otherwise
  batch.bytes.set(frame, offset);
  batch.rxPort[i] = port;
  batch.frameOffset[i] = offset;
  batch.frameLength[i] = frame.length;
}
