import { Bridge, MemoryPort } from "tapbridge";
import { arpRequest, VirtualClock, waitForFrame, wire } from "tapbridge/testing";
import { expect, test } from "vitest";

test("a partition between two bridges stops traffic until it heals; learned entries survive it, a cut cable flushes them", async () => {
  const clock = new VirtualClock();
  const left = new Bridge({ name: "left", scheduler: clock });
  const right = new Bridge({ name: "right", scheduler: clock });
  const a = left.addPort(new MemoryPort("a"));
  const b = right.addPort(new MemoryPort("b"));
  const trunk = wire(left.addPort(new MemoryPort("l-trunk")), right.addPort(new MemoryPort("r-trunk")), { delay: 2 });
  const hello = () => a.send(arpRequest({ srcMac: "02:00:00:00:00:0a", srcIp: "10.0.0.1", targetIp: "10.0.0.2" }));

  hello();
  clock.advance(5);
  await waitForFrame(b, { arp: { senderIp: "10.0.0.1" } });
  expect(right.lookup("02:00:00:00:00:0a")?.name).toBe("r-trunk");

  trunk.partition();
  b.take();
  hello();
  clock.advance(5);
  expect(b.take()).toHaveLength(0);
  expect(right.portStats("r-trunk").drops.partitioned).toBe(1);
  expect(right.lookup("02:00:00:00:00:0a")?.name).toBe("r-trunk"); // carrier stayed up

  trunk.heal();
  hello();
  clock.advance(5);
  expect(b.take()).toHaveLength(1);

  trunk.cut();
  expect(right.lookup("02:00:00:00:00:0a")).toBeUndefined(); // carrier loss flushes, as Linux does
  trunk.restore();
  left.close();
  right.close();
});
