/**
 * A port that lives in memory: frames are injected with `send()` and the
 * frames the bridge sends to it are kept in `received` and passed to
 * listeners. For unit tests and for library users who want to play a host
 * without a namespace. Not on the fast path: each delivered frame is copied.
 */
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
  /** Keep at most this many received frames (oldest dropped first); default 10 000. */
  keep?: number;
}

/** The bridge side of an in-memory port. */
export interface MemoryPortSink {
  inject(port: MemoryPort, frame: Uint8Array, vnetHeader?: Uint8Array): void;
}

export class MemoryPort extends Port {
  readonly kind = "memory" as const;
  readonly received: ReceivedFrame[] = [];
  private readonly listeners = new Set<FrameListener>();
  private readonly keep: number;
  /** Set by the bridge while the port is attached. */
  sink: MemoryPortSink | undefined;

  constructor(name: string, options: MemoryPortOptions = {}) {
    super(name);
    this.mtu = options.mtu ?? 1500;
    this.mac = options.mac;
    this.keep = options.keep ?? 10_000;
  }

  /** Hand a frame to the bridge as if it arrived on this port. */
  send(frame: Uint8Array, vnetHeader?: Uint8Array): void {
    if (!this.sink) throw new Error(`port ${this.name} is not attached to a bridge`);
    this.sink.inject(this, frame, vnetHeader);
  }

  onFrame(listener: FrameListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Received frames so far, removing them. */
  take(): Uint8Array[] {
    return this.received.splice(0).map((f) => f.data);
  }

  /** Called by the bridge. */
  deliver(frame: Uint8Array, vnetHeader?: Uint8Array): void {
    if (this.received.length >= this.keep) this.received.shift();
    this.received.push(vnetHeader ? { data: frame, vnetHeader } : { data: frame });
    for (const listener of this.listeners) listener(frame, vnetHeader);
  }
}
