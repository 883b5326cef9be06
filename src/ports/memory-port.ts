/**
 * A port that lives in memory: frames are injected with `send()` and the
 * frames the bridge sends to it are kept in `received` and passed to
 * listeners. For unit tests and for library users who want to play a host
 * without a namespace. Not on the fast path: each delivered frame is copied.
 *
 * Delivery never runs inside the decision loop (see memory-fabric.ts): a
 * listener may send frames, on this bridge or another, and may throw — the
 * other listeners still get the frame, and the error reaches the caller of
 * the `send()` that drove the delivery, or the bridge's `error` event.
 *
 * The port has a link, like a device: `setLinkUp(false)` is carrier loss
 * (the bridge disables the port and flushes what it learned there, as Linux
 * does), `setLinkUp(true)` brings it back.
 */
import { ImpairedLink, type LinkStats } from "../impair/link.js";
import type { ImpairmentSpec } from "../impair/spec.js";
import { realScheduler, type Scheduler } from "../scheduler.js";
import { FrameQueue } from "./frame-queue.js";
import { combine, fabric } from "./memory-fabric.js";
import { Port } from "./port.js";

export interface ReceivedFrame {
  data: Uint8Array;
  /** The 10-byte virtio-net header when the frame carried GSO or checksum-offload state. */
  vnetHeader?: Uint8Array;
}

export type FrameListener = (frame: Uint8Array, vnetHeader?: Uint8Array) => void;

export interface MemoryPortOptions {
  mtu?: number;
  mac?: string;
  /** Keep at most this many received frames (oldest dropped first); default 10 000; 0 keeps none. */
  keep?: number;
  /** Link state at start (default up). */
  linkUp?: boolean;
}

/** The bridge side of an in-memory port. */
export interface MemoryPortSink {
  readonly scheduler: Scheduler;
  inject(port: MemoryPort, frame: Uint8Array, vnetHeader?: Uint8Array): void;
  /** Queue without draining; `owned`: the buffer is handed over (not copied). */
  enqueue(port: MemoryPort, frame: Uint8Array, vnetHeader: Uint8Array | undefined, owned: boolean): void;
  setPortLink(port: MemoryPort, up: boolean, reason?: string): void;
  countDrop(port: MemoryPort, reason: number, length: number): void;
  reportErrors(errors: unknown[]): void;
}

/** Which way an impairment applies: frames the bridge sends to the port, frames the port sends to the bridge, or both. */
export type Direction = "egress" | "ingress" | "both";

export class MemoryPort extends Port {
  readonly kind = "memory" as const;
  readonly received: ReceivedFrame[] = [];
  /** Received frames kept (oldest dropped first); 0 keeps none (listeners still run). */
  keep: number;
  private readonly listeners = new Set<FrameListener>();
  private link: boolean;
  private egressLink: ImpairedLink | undefined;
  private ingressLink: ImpairedLink | undefined;
  /** Set by the bridge while the port is attached. */
  sink: MemoryPortSink | undefined;

  constructor(name: string, options: MemoryPortOptions = {}) {
    super(name);
    this.mtu = options.mtu ?? 1500;
    this.mac = options.mac;
    this.keep = options.keep ?? 10_000;
    this.link = options.linkUp ?? true;
  }

  /** Hand a frame to the bridge as if it arrived on this port (the bridge copies it). */
  send(frame: Uint8Array, vnetHeader?: Uint8Array): void {
    const sink = this.sink;
    if (!sink) throw new Error(`port ${this.name} is not attached to a bridge`);
    if (!this.ingressLink) return sink.inject(this, frame, vnetHeader);
    this.ingressLink.send(frame.slice(), vnetHeader?.slice());
    if (!fabric.draining) fabric.run("throw");
  }

  /**
   * Impair this port's link (netem's vocabulary, see impair/spec.ts) in one
   * direction or both; `undefined` clears it. Changeable while frames flow.
   */
  impair(spec: ImpairmentSpec | undefined, direction: Direction = "both"): this {
    if (direction !== "ingress") (this.egressLink ??= this.newLink("egress")).set(spec);
    if (direction !== "egress") (this.ingressLink ??= this.newLink("ingress")).set(spec);
    if (this.egressLink && !this.egressLink.impairment && this.egressLink.held === 0) this.egressLink = undefined;
    if (this.ingressLink && !this.ingressLink.impairment && this.ingressLink.held === 0) this.ingressLink = undefined;
    return this;
  }

  /** What the impairments did, per direction (zeros when never impaired). */
  impairmentStats(): { egress?: LinkStats; ingress?: LinkStats } {
    return { egress: this.egressLink?.stats, ingress: this.ingressLink?.stats };
  }

  private newLink(direction: "egress" | "ingress"): ImpairedLink {
    // The bridge's scheduler, looked up when used: the port may be impaired before it is attached.
    const current = () => this.sink?.scheduler ?? realScheduler;
    const scheduler: Scheduler = { now: () => current().now(), after: (ms, fn) => current().after(ms, fn), every: (ms, fn) => current().every(ms, fn) };
    const hooks = {
      onDrop: (reason: number, length: number) => this.sink?.countDrop(this, reason, length),
      afterRelease: () => {
        if (fabric.hasWork && !fabric.draining) fabric.run("emit");
      },
      onError: (error: unknown) => this.sink?.reportErrors([error]),
    };
    return direction === "egress"
      ? new ImpairedLink(scheduler, (f, v) => this.accept(f, v), hooks)
      : new ImpairedLink(scheduler, (f, v) => this.sink?.enqueue(this, f, v, true), hooks);
  }

  /** Call `listener` with every frame the bridge sends to this port; returns a function that removes it. */
  onFrame(listener: FrameListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A live tap: the frames the bridge sends to this port from now on (that
   * pass `filter`), as an async iterator. `break` or `close()` ends it.
   */
  capture(filter?: (frame: Uint8Array) => boolean, options: { limit?: number } = {}): FrameQueue<Uint8Array> {
    const queue: FrameQueue<Uint8Array> = new FrameQueue(() => stop(), options.limit);
    const stop = this.onFrame((frame) => {
      if (!filter || filter(frame)) queue.push(frame);
    });
    return queue;
  }

  /** Received frames so far, removing them. */
  take(): Uint8Array[] {
    return this.received.splice(0).map((f) => f.data);
  }

  /** Whether the port's link (carrier) is up. */
  get linkUp(): boolean {
    return this.link;
  }

  /** Carrier up or down; the bridge follows (down: port disabled, learned entries flushed). */
  setLinkUp(up: boolean, reason = "carrier"): void {
    this.link = up;
    this.sink?.setPortLink(this, up, reason);
  }

  /** Called by the bridge, outside its decision loop. Throws what listeners threw, after all ran. */
  deliver(frame: Uint8Array, vnetHeader?: Uint8Array): void {
    if (this.egressLink) this.egressLink.send(frame, vnetHeader);
    else this.accept(frame, vnetHeader);
  }

  private accept(frame: Uint8Array, vnetHeader?: Uint8Array): void {
    if (this.keep > 0) {
      this.received.push(vnetHeader ? { data: frame, vnetHeader } : { data: frame });
      // Trim in chunks: shifting one frame at a time is quadratic under a storm.
      if (this.received.length > this.keep + Math.max(16, this.keep >>> 3)) this.received.splice(0, this.received.length - this.keep);
    }
    let errors: unknown[] | undefined;
    for (const listener of this.listeners) {
      try {
        listener(frame, vnetHeader);
      } catch (error) {
        (errors ??= []).push(error);
      }
    }
    if (errors) throw combine(errors);
  }
}
