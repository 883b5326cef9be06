import { describe, expect, it } from "vitest";
import { Bridge } from "../src/bridge.js";
import { buildFrame } from "../src/core/frame.js";
import { MemoryPort } from "../src/ports/memory-port.js";

const A = "02:00:00:00:00:0a";
const B = "02:00:00:00:00:0b";

function setup() {
  let now = 0;
  const bridge = new Bridge({ clock: () => now });
  const a = bridge.addPort(new MemoryPort("a"));
  const b = bridge.addPort(new MemoryPort("b"));
  const c = bridge.addPort(new MemoryPort("c"));
  return { bridge, a, b, c, advance: (ms: number) => (now += ms) };
}

describe("ports follow their links", () => {
  it("link down disables the port and flushes its learned entries; link up restores it", () => {
    const { bridge, a, b, c } = setup();
    const events: string[] = [];
    bridge.on("port-down", (e) => events.push(`down ${e.port} ${e.reason} flushed=${e.flushed}`));
    bridge.on("port-up", (e) => events.push(`up ${e.port} ${e.reason}`));
    b.send(buildFrame({ src: B, dst: A }));
    bridge.addStaticEntry("02:00:00:00:00:99", "b");
    expect(bridge.lookup(B)?.name).toBe("b");

    bridge.setPortLink("b", false, "carrier");
    expect(bridge.portLinkUp("b")).toBe(false);
    expect(bridge.portSettings("b").state).toBe("disabled");
    expect(bridge.lookup(B)).toBeUndefined();
    expect(bridge.lookup("02:00:00:00:00:99")?.name).toBe("b"); // static entries stay, as in Linux
    a.take();
    c.take();
    a.send(buildFrame({ src: A, dst: "ff:ff:ff:ff:ff:ff" }));
    expect(b.take()).toHaveLength(0);
    expect(c.take()).toHaveLength(1);
    b.send(buildFrame({ src: B, dst: A }));
    expect(a.take()).toHaveLength(0);
    expect(bridge.portStats("b").drops.port_state).toBe(1);

    bridge.setPortLink("b", false, "carrier"); // no change, no event
    bridge.setPortLink("b", true, "carrier");
    expect(bridge.portSettings("b").state).toBe("forwarding");
    a.send(buildFrame({ src: A, dst: "ff:ff:ff:ff:ff:ff" }));
    expect(b.take()).toHaveLength(1);
    expect(events).toEqual(["down b carrier flushed=1", "up b carrier"]);
  });

  it("a state set while the link is down applies when it comes back", () => {
    const { bridge } = setup();
    bridge.setPortLink("a", false);
    bridge.setPortSettings("a", { state: "blocking" });
    expect(bridge.portSettings("a").state).toBe("disabled");
    bridge.setPortLink("a", true);
    expect(bridge.portSettings("a").state).toBe("blocking");
  });

  it("announces ports added and removed", () => {
    const bridge = new Bridge();
    const seen: string[] = [];
    bridge.on("port-added", (e) => seen.push(`+${e.port}:${e.kind}:${e.index}`));
    bridge.on("port-removed", (e) => seen.push(`-${e.port}:${e.reason}`));
    bridge.addPort(new MemoryPort("m0"));
    bridge.removePort("m0");
    expect(seen).toEqual(["+m0:memory:0", "-m0:removed"]);
    bridge.close();
  });
});
