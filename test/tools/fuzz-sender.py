"""Sends frames into a device through AF_PACKET with virtio-net headers.

Reads records from stdin: a 4-byte big-endian length N, then N bytes of
[10-byte virtio-net header][frame]. Each is sent as it is (PACKET_VNET_HDR,
so the kernel validates the header; PACKET_QDISC_BYPASS, so nothing waits
in a qdisc). Prints {"sent": n, "rejected": {errno name: n}} at the end.
Run with Debian's /usr/bin/python3.
"""
import errno
import json
import socket
import struct
import sys

SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_QDISC_BYPASS = 20

sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
sock.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
sock.bind((sys.argv[1], 0))

sent = 0
rejected = {}
data = sys.stdin.buffer
unpack = struct.Struct(">I").unpack
while True:
    head = data.read(4)
    if len(head) < 4:
        break
    record = data.read(unpack(head)[0])
    try:
        sock.send(record)
        sent += 1
    except OSError as e:
        name = errno.errorcode.get(e.errno, str(e.errno))
        rejected[name] = rejected.get(name, 0) + 1
print(json.dumps({"sent": sent, "rejected": rejected}), flush=True)
