/**
 * Impairments on native ports (TAP, AF_PACKET), in the bridge's egress path.
 *
 * Ports with no impairment pay one test per batch (`active`). For an
 * impaired port, after the decision and before transmit(), each frame bound
 * for it has the port's egress bit cleared and is copied — bytes, virtio-net
 * header and VLAN tag word — into an ImpairedLink (impair/link.ts). Frames
 * wait there, in a heap with one scheduler timer, never in the batch slab.
 * When due they are put back into slots of the (then idle) slab with only
 * that port's egress bit set and sent with the ordinary transmit(): the
 * addon needs no second send path, VLAN tagging and GSO segmentation apply
 * as for any frame, and the other ports are never held up.
 *
 * Ingress impairments (frames from the device to the bridge) hold frames the
 * same way and then inject them as if just received on that port.
 */
import { EGRESS_WORDS, VNET_AREA } from "../core/abi.js";
import type { Batch } from "../core/batch.js";
import { ImpairedLink, type LinkStats } from "./link.js";
import type { ImpairmentSpec } from "./spec.js";
import type { Scheduler } from "../scheduler.js";

/** A frame waiting for its due time: its bytes with the 10-byte virtio-net header, and its VLAN tag word. */
interface Staged {
  port: number;
  frame: Uint8Array;
  vnet: Uint8Array | undefined;
  tag: number;
}

export interface NativeImpairHost {
  readonly scheduler: Scheduler;
  /** Transmit staged frames now (the slab is idle). */
  transmitStaged(frames: Staged[]): void;
  /** Inject a frame as received on `port` (ingress impairment). */
  receiveStaged(port: number, frame: Uint8Array, vnet: Uint8Array | undefined): void;
  countDrop(port: number, reason: number): void;
  reportError(error: unknown): void;
}

export class NativeImpairments {
  private readonly egress: (ImpairedLink | undefined)[] = [];
  private readonly ingress: (ImpairedLink | undefined)[] = [];
  /** Bit p set: port p has an egress impairment. */
  private readonly mask = new Uint32Array(EGRESS_WORDS);
  private activeCount = 0;
  private ingressCount = 0;
  private ready: Staged[] = [];
  /** The tag word of the frame being staged (ImpairedLink carries bytes only). */
  private currentTag = 0;

  constructor(private readonly host: NativeImpairHost) {}

  /** Some native port has an egress impairment. */
  get active(): boolean {
    return this.activeCount > 0;
  }

  /** Some native port has an ingress impairment. */
  get ingressActive(): boolean {
    return this.ingressCount > 0;
  }

  hasIngress(port: number): boolean {
    return this.ingress[port] !== undefined;
  }

  set(port: number, spec: ImpairmentSpec | undefined, direction: "egress" | "ingress" | "both"): void {
    if (direction !== "ingress") this.setEgress(port, spec);
    if (direction !== "egress") this.setIngress(port, spec);
  }

  stats(port: number): { egress?: LinkStats; ingress?: LinkStats } {
    return { egress: this.egress[port]?.stats, ingress: this.ingress[port]?.stats };
  }

  /** Port removed: its frames in flight are dropped. */
  clear(port: number): void {
    this.setEgress(port, undefined, true);
    this.setIngress(port, undefined, true);
  }

  /** After decide, before transmit: take frames bound for impaired ports out of the batch. */
  intercept(batch: Batch, count: number): void {
    const { bytes, egress, frameOffset, frameLength, frameTag, slotSize } = batch;
    const mask = this.mask;
    for (let i = 0; i < count; i++) {
      const at = i * EGRESS_WORDS;
      for (let w = 0; w < EGRESS_WORDS; w++) {
        let hit = egress[at + w]! & mask[w]!;
        if (hit === 0) continue;
        egress[at + w]! &= ~hit;
        while (hit !== 0) {
          const bit = hit & -hit;
          hit ^= bit;
          const port = w * 32 + (31 - Math.clz32(bit));
          const off = frameOffset[i]!;
          const vnetAt = i * slotSize;
          const hasVnet = bytes[vnetAt] !== 0 || bytes[vnetAt + 1] !== 0;
          this.currentTag = frameTag[i]!;
          this.egress[port]!.send(bytes.slice(off, off + frameLength[i]!), hasVnet ? bytes.slice(vnetAt, vnetAt + VNET_AREA) : undefined);
        }
      }
    }
  }

  /** Frames released (due now) wait here until the slab is idle. */
  takeReady(): Staged[] {
    const r = this.ready;
    this.ready = [];
    return r;
  }

  get hasReady(): boolean {
    return this.ready.length > 0;
  }

  private setEgress(port: number, spec: ImpairmentSpec | undefined, drop = false): void {
    let link = this.egress[port];
    if (spec && !link) {
      link = new ImpairedLink(this.host.scheduler, (frame, vnet) => this.ready.push({ port, frame, vnet, tag: this.currentTag }), {
        onDrop: (reason) => this.host.countDrop(port, reason),
        afterRelease: () => this.flushFromTimer(),
        onError: (e) => this.host.reportError(e),
      });
      this.egress[port] = link;
      this.mask[port >>> 5]! |= 1 << (port & 31);
      this.activeCount++;
    }
    if (!link) return;
    link.set(spec);
    if (!spec) {
      if (drop) link.flush();
      if (link.held === 0 || drop) {
        this.egress[port] = undefined;
        this.mask[port >>> 5]! &= ~(1 << (port & 31));
        this.activeCount--;
      }
    }
  }

  private setIngress(port: number, spec: ImpairmentSpec | undefined, drop = false): void {
    let link = this.ingress[port];
    if (spec && !link) {
      link = new ImpairedLink(this.host.scheduler, (frame, vnet) => this.host.receiveStaged(port, frame, vnet), {
        onDrop: (reason) => this.host.countDrop(port, reason),
        onError: (e) => this.host.reportError(e),
      });
      this.ingress[port] = link;
      this.ingressCount++;
    }
    if (!link) return;
    link.set(spec);
    if (!spec) {
      if (drop) link.flush();
      if (link.held === 0 || drop) {
        this.ingress[port] = undefined;
        this.ingressCount--;
      }
    }
  }

  /** Ingress: a received frame for an impaired port goes through its link instead of the decision. */
  offerIngress(port: number, frame: Uint8Array, vnet: Uint8Array | undefined): void {
    this.ingress[port]!.send(frame, vnet);
  }

  private flushFromTimer(): void {
    if (this.ready.length > 0) this.host.transmitStaged(this.takeReady());
  }
}

export type { Staged };
