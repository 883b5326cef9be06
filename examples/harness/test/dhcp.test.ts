import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bridge, MemoryPort, TapPort } from "tapbridge";
import { dhcpDiscover, dhcpRequest, Lab, waitForFrame, type DecodedFrame } from "tapbridge/testing";
import { afterAll, expect, test } from "vitest";

const lab = new Lab("hx");
const dir = mkdtempSync(join(tmpdir(), "harness-dhcp-"));
let bridge: Bridge | undefined;
afterAll(async () => {
  bridge?.close();
  await lab.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test("a DHCP exchange with a real dnsmasq across a link with 20 ms delay and 10% loss", async () => {
  // dnsmasq in a namespace, behind a TAP port of the bridge.
  const ns = await lab.netns("dhcp");
  bridge = new Bridge({ name: "hx" });
  bridge.addPort(new TapPort({ name: "eth0", netns: ns }));
  await lab.address(ns, "eth0", "10.9.0.1/24");
  const leases = join(dir, "leases");
  lab.spawn(ns, [
    "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--user=root", "--interface=eth0", "--bind-interfaces", "--port=0",
    "--no-resolv", "--no-hosts", "--dhcp-authoritative", "--dhcp-range=10.9.0.100,10.9.0.150,255.255.255.0,1h",
    `--dhcp-leasefile=${leases}`, `--pid-file=${join(dir, "pid")}`,
  ]);

  // The client is an in-memory port whose link is impaired both ways.
  const mac = "02:00:00:00:d4:c9";
  const client = bridge.addPort(new MemoryPort("client")).impair({ delay: 20, loss: "10%", seed: 42 });

  /** Send until the answer comes: the link loses frames, and dnsmasq may still be starting. */
  const ask = async (frame: Uint8Array, messageType: string, xid: number): Promise<DecodedFrame> => {
    for (let attempt = 1; ; attempt++) {
      client.take();
      client.send(frame);
      try {
        return await waitForFrame(client, { dhcp: { xid, messageType } }, { timeoutMs: 1000 });
      } catch (error) {
        if (attempt >= 20) throw error;
      }
    }
  };
  const xid = 0x5eed;
  const offer = await ask(dhcpDiscover({ mac, xid }), "OFFER", xid);
  expect(offer.dhcp).toMatchObject({ op: "reply", chaddr: mac, serverId: "10.9.0.1", subnetMask: "255.255.255.0" });
  const address = offer.dhcp!.yiaddr;
  expect(address).toMatch(/^10\.9\.0\.(1[0-4]\d|150)$/);

  const ack = await ask(dhcpRequest({ mac, xid, requestedIp: address, serverId: "10.9.0.1" }), "ACK", xid);
  expect(ack.dhcp).toMatchObject({ yiaddr: address, leaseTime: 3600 });
  expect(readFileSync(leases, "utf8")).toContain(`${mac} ${address}`);
  expect(client.impairmentStats().egress!.offered).toBeGreaterThanOrEqual(2);
});
