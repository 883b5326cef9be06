import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bridge, MemoryPort } from "tapbridge";
import { recordPcapng, udp4 } from "tapbridge/testing";
import { expect, test } from "vitest";

test("a pcapng capture reads back in tshark with the right frame count and VLAN tags", () => {
  const dir = mkdtempSync(join(tmpdir(), "harness-pcap-"));
  try {
    const bridge = new Bridge({ name: "cap" });
    const a = bridge.addPort(new MemoryPort("a"));
    bridge.addPort(new MemoryPort("b"));
    const file = join(dir, "cap.pcapng");
    const rec = recordPcapng(bridge, file);
    for (const vlan of [10, 20, 30]) {
      a.send(udp4({ srcMac: "02:00:00:00:00:0a", vlan, srcIp: "10.0.0.1", dstIp: "10.0.0.2", sport: 1000 + vlan, dport: 53 }));
    }
    rec.close();
    bridge.close();
    // Three frames in on a, three out on b.
    const out = execFileSync("tshark", ["-r", file, "-T", "fields", "-E", "separator=,", "-e", "frame.interface_name", "-e", "vlan.id", "-e", "udp.srcport"], { encoding: "utf8" });
    const rows = out.trim().split("\n");
    expect(rows).toEqual(["a,10,1010", "b,10,1010", "a,20,1020", "b,20,1020", "a,30,1030", "b,30,1030"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
