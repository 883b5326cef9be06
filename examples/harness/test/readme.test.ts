import { Bridge, MemoryPort } from "tapbridge";
import { arpRequest, VirtualClock, waitForFrame, wire } from "tapbridge/testing";
import { expect, test } from "vitest";

test("a partition between two switches, and the heal", async () => {
  const clock = new VirtualClock();                              // time moves only when told
  const left = new Bridge({ name: "left", scheduler: clock });
  const right = new Bridge({ name: "right", scheduler: clock });
  const alice = left.addPort(new MemoryPort("alice"));
  const bob = right.addPort(new MemoryPort("bob"));
  const trunk = wire(left.addPort(new MemoryPort("t1")), right.addPort(new MemoryPort("t2")), { delay: "5ms", loss: "1%" });
  const hello = () => alice.send(arpRequest({ srcMac: "02:00:00:00:00:0a", srcIp: "10.0.0.1", targetIp: "10.0.0.2" }));

  trunk.partition();
  hello();
  clock.advance(10);
  expect(bob.take()).toHaveLength(0);
  expect(right.portStats("t2").drops.partitioned).toBe(1);

  trunk.heal();
  hello();
  clock.advance(10);
  expect((await waitForFrame(bob, { arp: { targetIp: "10.0.0.2" } })).src).toBe("02:00:00:00:00:0a");
});
