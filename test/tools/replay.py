#!/usr/bin/env python3
"""Send crafted frames into a bridge and record where each one comes out.

Run inside the hosts namespace (the one holding h0..h3):

    ip netns exec tbd-hosts-XYZ python3 replay.py IN.json OUT.json

IN.json:
    {
      "ports": ["h0", "h1", "h2", "h3"],
      "magic": "<hex>",              # every crafted frame carries magic + u32 seq
      "gap_ms": 8,                   # pause after each frame
      "settle_ms": 300,              # wait after the last frame
      "max_wait_ms": 0,              # >0: after sending, wait up to this long
                                     #     for the frame's "wait_for" ports
      "frames": [{"seq": 0, "port": 2, "hex": "...", "wait_for": [0, 1], "gap_ms": 30}, ...]
                                     # wait_for, gap_ms: optional, per frame
    }

OUT.json:
    {
      "results": {"<seq>": {"ports": [1, 3], "captures": {"1": ["<hex>"], "3": ["<hex>"]}}},
      "unmarked": <frames seen without the marker>,
      "unmarked_samples": [{"port": 1, "head": "<first 64 bytes, hex>"}, ...],
      "foreign": <marked frames whose seq was never sent>
    }

Only the standard library is used: one AF_PACKET socket per port, bound to it,
which both sends and captures. Our own transmissions are ignored
(PACKET_IGNORE_OUTGOING, and pkttype PACKET_OUTGOING as a fallback). The
kernel moves a received 802.1Q/802.1ad tag out of the packet data into
metadata; PACKET_AUXDATA hands it back and we put it in again, so the recorded
bytes are the bytes that were on the wire.
"""

import json
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
AUXDATA = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata


def open_port(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    try:
        s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    except OSError:
        pass  # old kernel: the pkttype check below still filters
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((name, ETH_P_ALL))
    s.setblocking(False)
    return s


def read_one(s):
    data, anc, _flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(AUXDATA.size))
    if len(addr) > 2 and addr[2] == PACKET_OUTGOING:
        return None
    for level, kind, payload in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(payload) >= AUXDATA.size:
            status, _len, _snap, _mac, _net, tci, tpid = AUXDATA.unpack_from(payload)
            if status & TP_STATUS_VLAN_VALID:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    return data


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    magic = bytes.fromhex(cfg["magic"])
    socks = [open_port(name) for name in cfg["ports"]]
    index = {s.fileno(): i for i, s in enumerate(socks)}
    frames = cfg["frames"]
    sent = {fr["seq"] for fr in frames}
    results = {str(fr["seq"]): {"ports": [], "captures": {}} for fr in frames}
    stats = {"unmarked": 0, "foreign": 0, "unmarked_samples": []}

    def record(port, data):
        at = data.find(magic)
        if at < 0 or at + len(magic) + 4 > len(data):
            stats["unmarked"] += 1
            if len(stats["unmarked_samples"]) < 8:
                stats["unmarked_samples"].append({"port": port, "head": data[:64].hex()})
            return None
        (seq,) = struct.unpack_from("!I", data, at + len(magic))
        if seq not in sent:
            stats["foreign"] += 1
            return None
        r = results[str(seq)]
        r["captures"].setdefault(str(port), []).append(data.hex())
        return seq

    def pump(deadline, until=None):
        """Read until deadline; stop early once `until()` is true."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (until is not None and until()):
                return
            ready, _, _ = select.select(socks, [], [], left)
            for s in ready:
                while True:
                    try:
                        data = read_one(s)
                    except BlockingIOError:
                        break
                    if data is not None:
                        record(index[s.fileno()], data)

    # Anything queued before we bound (or stray frames) is discarded.
    pump(time.monotonic() + 0.05)
    for r in results.values():
        r["captures"].clear()
    stats["unmarked"] = stats["foreign"] = 0
    stats["unmarked_samples"].clear()

    gap = cfg.get("gap_ms", 8) / 1000.0
    max_wait = cfg.get("max_wait_ms", 0) / 1000.0
    for fr in frames:
        payload = bytes.fromhex(fr["hex"])
        socks[fr["port"]].send(payload)
        want = fr.get("wait_for")
        if max_wait > 0 and want:
            caps = results[str(fr["seq"])]["captures"]
            pump(time.monotonic() + max_wait, lambda: all(str(p) in caps for p in want))
        pump(time.monotonic() + fr.get("gap_ms", gap * 1000.0) / 1000.0)
    pump(time.monotonic() + cfg.get("settle_ms", 300) / 1000.0)

    for r in results.values():
        r["ports"] = sorted(int(p) for p in r["captures"])
    out = {"results": results, **stats}
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f)
    os.replace(tmp, sys.argv[2])


if __name__ == "__main__":
    main()
