/**
 * pcapng capture files (IETF draft-ietf-opsawg-pcapng), readable by tshark
 * and Wireshark: a Section Header Block, one Interface Description Block per
 * bridge port (if_name = the port's label, Ethernet, µs timestamps), and one
 * Enhanced Packet Block per frame, with its direction in epb_flags
 * (inbound: the port received it; outbound: the bridge sent it there) and,
 * optionally, an opt_comment "dropped: <reason>" on a received frame the
 * bridge sent nowhere. Frames are written as they were on the wire, 802.1Q
 * tags included.
 *
 * `recordPcapng(bridge, path)` mirrors every port (or the ones named) into a
 * file; blocks are buffered and written with synchronous writes, so the file
 * is complete when `close()` returns. Timestamps follow the bridge's
 * scheduler, so a capture under a VirtualClock shows virtual time.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { Bridge } from "../bridge.js";
import type { Port } from "../ports/port.js";

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const LINKTYPE_ETHERNET = 1;

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Options as (code, value) pairs → bytes, with opt_endofopt. */
function options(list: [number, Uint8Array][]): Buffer {
  if (list.length === 0) return Buffer.alloc(0);
  const size = list.reduce((s, [, v]) => s + 4 + pad4(v.length), 0) + 4;
  const b = Buffer.alloc(size);
  let at = 0;
  for (const [code, v] of list) {
    b.writeUInt16LE(code, at);
    b.writeUInt16LE(v.length, at + 2);
    b.set(v, at + 4);
    at += 4 + pad4(v.length);
  }
  return b; // the last 4 bytes stay zero: opt_endofopt
}

function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  b.writeUInt32LE(total, total - 4);
  return b;
}

const text = (s: string) => Buffer.from(s, "utf8");

export class PcapngWriter {
  private readonly fd: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private interfaces = 0;
  private closed = false;
  /** Packets written. */
  packets = 0;

  constructor(readonly path: string, application = "tapbridge") {
    this.fd = openSync(path, "w");
    const head = Buffer.alloc(16);
    head.writeUInt32LE(0x1a2b3c4d, 0);
    head.writeUInt16LE(1, 4);
    head.writeUInt16LE(0, 6);
    head.writeBigInt64LE(-1n, 8); // section length unknown
    this.put(block(SHB, Buffer.concat([head, options([[4, text(application)]])])));
  }

  /** Describe an interface; returns its id for writePacket. */
  addInterface(name: string, description?: string): number {
    const head = Buffer.alloc(8);
    head.writeUInt16LE(LINKTYPE_ETHERNET, 0);
    head.writeUInt32LE(0, 4); // no snap length limit
    const opts: [number, Uint8Array][] = [[2, text(name)]];
    if (description) opts.push([3, text(description)]);
    opts.push([9, Uint8Array.of(6)]); // if_tsresol: microseconds
    this.put(block(IDB, Buffer.concat([head, options(opts)])));
    return this.interfaces++;
  }

  /** One frame; `micros` since the Unix epoch. */
  writePacket(iface: number, micros: number, frame: Uint8Array, o: { direction?: "in" | "out"; comment?: string } = {}): void {
    if (this.closed) return;
    const head = Buffer.alloc(20);
    const ts = BigInt(Math.round(micros));
    head.writeUInt32LE(iface, 0);
    head.writeUInt32LE(Number(ts >> 32n), 4);
    head.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    head.writeUInt32LE(frame.length, 12);
    head.writeUInt32LE(frame.length, 16);
    const data = Buffer.alloc(pad4(frame.length));
    data.set(frame);
    const opts: [number, Uint8Array][] = [];
    if (o.comment) opts.push([1, text(o.comment)]);
    if (o.direction) {
      const f = Buffer.alloc(4);
      f.writeUInt32LE(o.direction === "in" ? 1 : 2);
      opts.push([2, f]);
    }
    this.put(block(EPB, Buffer.concat([head, data, options(opts)])));
    this.packets++;
  }

  flush(): void {
    if (this.chunks.length === 0) return;
    const all = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    for (let at = 0; at < all.length; ) at += writeSync(this.fd, all, at);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }

  private put(b: Buffer): void {
    this.chunks.push(b);
    this.buffered += b.length;
    if (this.buffered >= 256 * 1024) this.flush();
  }
}

export interface RecordOptions {
  /** Ports to record (default: every port, including ports added later). */
  ports?: (Port | string)[];
  /** Comment received frames the bridge dropped with the reason (default true). */
  dropReasons?: boolean;
}

export interface Recording {
  readonly path: string;
  /** Frames written so far. */
  readonly packets: number;
  /** Stop recording and close the file (idempotent). */
  close(): void;
}

/** Mirror a bridge's ports into a pcapng file. */
export function recordPcapng(bridge: Bridge, path: string, options: RecordOptions = {}): Recording {
  const writer = new PcapngWriter(path);
  const epochMicros = Date.now() * 1000;
  const start = bridge.scheduler.now();
  const stops: (() => void)[] = [];
  const withReasons = options.dropReasons ?? true;
  const add = (port: Port) => {
    const id = writer.addInterface(port.label, `${bridge.name} port ${port.label} (${port.kind})`);
    stops.push(
      bridge.mirror(port, (m) => {
        const comment = withReasons && m.dropped ? `dropped: ${m.dropped}` : undefined;
        writer.writePacket(id, epochMicros + (m.at - start) * 1000, m.frame, { direction: m.direction, ...(comment ? { comment } : {}) });
      }),
    );
  };
  if (options.ports) for (const p of options.ports) add(typeof p === "string" ? bridge.findPort(p) ?? fail(bridge, p) : p);
  else {
    for (const p of bridge.ports) add(p);
    const onAdded = (e: { port: string }) => {
      const p = bridge.findPort(e.port);
      if (p) add(p);
    };
    bridge.on("port-added", onAdded);
    stops.push(() => bridge.off("port-added", onAdded));
  }
  return {
    path,
    get packets() {
      return writer.packets;
    },
    close() {
      for (const s of stops.splice(0)) s();
      writer.close();
    },
  };
}

function fail(bridge: Bridge, name: string): never {
  throw new Error(`bridge ${bridge.name} has no port ${name}`);
}
