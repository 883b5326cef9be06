#!/usr/bin/python3
"""Send crafted frames with scapy and report, per interface, the frames that
came out there, as the bytes that were on the wire.

Run with Debian's python (scapy imports only there), inside the namespace
holding the interfaces:

    ip netns exec NS /usr/bin/python3 vlan-probe.py IN.json

IN.json:
    {"listen": ["h0", "h1"], "marker": "<hex>", "settle_ms": 700,
     "send": [{"iface": "h0", "hex": "<frame>"}, ...]}

stdout: {"h0": ["<hex>", ...], "h1": [...]} — only frames holding the marker
that were received (not sent) on each interface. The kernel moves a
received 802.1Q/802.1ad tag into packet metadata; scapy's listening socket
reads it back (PACKET_AUXDATA) and puts it in again.
"""

import json
import sys
import threading
import time

from scapy.all import AsyncSniffer, Raw, conf, sendp  # noqa: E402

conf.verb = 0


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    marker = bytes.fromhex(cfg["marker"])
    listen = cfg["listen"]
    got = {name: [] for name in listen}
    ready = threading.Event()
    sniffer = AsyncSniffer(
        iface=listen,
        store=False,
        lfilter=lambda p: marker in bytes(p),
        prn=lambda p: got[p.sniffed_on].append(bytes(p).hex()),
        started_callback=ready.set,
    )
    sniffer.start()
    if not ready.wait(30):
        sys.exit("the sniffer did not start")
    time.sleep(0.2)  # every socket is bound before anything is sent
    for frame in cfg["send"]:
        sendp(Raw(bytes.fromhex(frame["hex"])), iface=frame["iface"])
        time.sleep(cfg.get("gap_ms", 50) / 1000.0)
    time.sleep(cfg.get("settle_ms", 700) / 1000.0)
    sniffer.stop()
    # Our own transmissions show up as outgoing on the sending interface: drop them.
    sent = {}
    for frame in cfg["send"]:
        sent.setdefault(frame["iface"], []).append(frame["hex"])
    for name, frames in got.items():
        for h in sent.get(name, []):
            if h in frames:
                frames.remove(h)
    json.dump(got, sys.stdout)


if __name__ == "__main__":
    main()
