/**
 * Listing the FDB without stalling forwarding.
 *
 * A table of a million entries cannot be turned into one array (or one log
 * line) between two batches: that once took a second, wrote a 12.6 MB line,
 * lost 33 pings and grew RSS by 144 MB. Instead the table is walked from a
 * cursor (Fdb.scan) a chunk at a time — at most `chunkSize` records and
 * `slotsPerChunk` slots — and the walk yields to the event loop
 * (setImmediate) after every chunk, so ports are polled and batches run in
 * between. Memory is one chunk at a time.
 *
 * The walk is weakly consistent, as a netlink dump of Linux's FDB: an entry
 * present and unmoved for the whole walk is listed exactly once; entries
 * learned, moved or removed meanwhile may or may not appear (or appear
 * twice); if the table grew (a rehash) the result says `interrupted`.
 *
 * `dumpStatus` is SIGUSR1's status report (tapbridge run; the daemon's too):
 * one "status" line with every counter right away, then the entries in
 * "fdb" lines of `chunkSize` entries (512), then one "fdb end" line.
 */
import type { Fdb } from "./core/fdb.js";
import { FdbFlag } from "./core/fdb.js";
import { formatMac } from "./core/frame.js";
import type { Logger } from "./log.js";

export interface FdbRecord {
  mac: string;
  vlan: number;
  port: string;
  /** Seconds since last seen (0 for static entries). */
  ageing: number;
  static: boolean;
  sticky: boolean;
  /** VXLAN ports: the remote VTEP the MAC is behind (`bridge fdb show`'s dst). */
  dst?: string;
}

export interface FdbChunkOptions {
  /** Records per chunk (default 512). */
  chunkSize?: number;
  /** Slots read per chunk at most, so that a sparse table yields as often as a full one (default 16 384). */
  slotsPerChunk?: number;
  /** Only this port's entries (by index; Bridge.fdbChunks takes a name). */
  portIndex?: number;
  /** Only this VLAN's entries. */
  vlan?: number;
}

export interface FdbWalkResult {
  entries: number;
  chunks: number;
  /** The table was rehashed during the walk: entries may be missing or repeated. */
  interrupted: boolean;
}

export const DEFAULT_CHUNK = 512;
export const DEFAULT_CHUNK_SLOTS = 16_384;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The FDB in chunks, yielding to the event loop between them. */
export async function* walkFdb(
  fdb: Fdb,
  clock: () => number,
  labelOf: (port: number) => string,
  options: FdbChunkOptions = {},
  alive: () => boolean = () => true,
  /** The address of a port's remote VTEP (VXLAN ports), for `dst`. */
  dstOf?: (port: number, remote: number) => string | undefined,
): AsyncGenerator<FdbRecord[], FdbWalkResult> {
  const chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK);
  const slots = Math.max(1, options.slotsPerChunk ?? DEFAULT_CHUNK_SLOTS);
  const { portIndex, vlan } = options;
  const cursor = fdb.cursor();
  let entries = 0;
  let chunks = 0;
  while (!cursor.done && alive()) {
    const chunk: FdbRecord[] = [];
    fdb.scan(cursor, clock(), slots, (vid, hi, lo, port, ageMs, flags, remote) => {
      if ((portIndex !== undefined && port !== portIndex) || (vlan !== undefined && vid !== vlan)) return true;
      chunk.push({
        mac: formatMac(hi, lo),
        vlan: vid,
        port: labelOf(port),
        ageing: Math.round(ageMs / 10) / 100,
        static: (flags & FdbFlag.static) !== 0,
        sticky: (flags & FdbFlag.sticky) !== 0,
      });
      if (remote >= 0 && dstOf) {
        const dst = dstOf(port, remote);
        if (dst !== undefined) chunk[chunk.length - 1]!.dst = dst;
      }
      return chunk.length < chunkSize;
    });
    if (chunk.length > 0) {
      entries += chunk.length;
      chunks++;
      yield chunk;
    }
    if (!cursor.done) await nextTurn();
  }
  return { entries, chunks, interrupted: cursor.interrupted };
}

/** What `dumpStatus` needs of a bridge (Bridge has all of it). */
export interface StatusSource {
  statusSummary(): Record<string, unknown>;
  fdbChunks(options?: { chunkSize?: number }): AsyncGenerator<FdbRecord[], FdbWalkResult>;
}

let dumps = 0;
const dumping = new WeakSet<StatusSource>();

/**
 * The status report: a "status" line now (counters; `fdbDump` is the id of
 * the listing that follows, or null when one is still running), then the
 * entries streamed as "fdb" lines and an "fdb end" line. Resolves when done.
 */
export async function dumpStatus(bridge: StatusSource, log: Logger, chunkSize = DEFAULT_CHUNK): Promise<void> {
  const id = dumping.has(bridge) ? null : ++dumps;
  log.info("status", { ...bridge.statusSummary(), fdbDump: id });
  if (id === null) return;
  dumping.add(bridge);
  try {
    const walk = bridge.fdbChunks({ chunkSize });
    let seq = 0;
    for (;;) {
      const next = await walk.next();
      if (next.done) {
        log.info("fdb end", { dump: id, ...next.value });
        break;
      }
      log.info("fdb", { dump: id, seq: seq++, entries: next.value });
    }
  } finally {
    dumping.delete(bridge);
  }
}
