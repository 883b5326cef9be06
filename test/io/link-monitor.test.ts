/**
 * The link monitor: its table logic against a scripted addon (no root), and
 * the real rtnetlink sockets against namespaces made for the test (root):
 * devices appearing, changing and vanishing, one socket per namespace shared
 * by subscribers, and a namespace deleted and created again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LinkMonitor, type LinkEvent } from "../../src/io/link-monitor.js";
import { loadNative } from "../../src/io/native.js";
import type { NativeBinding, NativeLinkEvent } from "../../src/io/native-binding.js";
import { Lab, run } from "../../src/testing/lab.js";

/** A stand-in addon whose link watcher is driven by the test. */
function scripted() {
  let deliver: (events: NativeLinkEvent[]) => void = () => {};
  const opened: (string | undefined)[] = [];
  const closed: number[] = [];
  const binding = {
    constants: {},
    Dataplane: class {},
    LinkWatcher: class {
      constructor(onEvents: (events: NativeLinkEvent[]) => void) {
        deliver = onEvents;
      }
      open(path?: string) {
        opened.push(path);
        return opened.length;
      }
      closeSocket(id: number) {
        closed.push(id);
      }
      resync() {}
      close() {}
      ref() {}
      unref() {}
    },
  } as unknown as NativeBinding;
  const link = (socket: number, ifindex: number, name: string, over: Partial<NativeLinkEvent> = {}): NativeLinkEvent => ({
    socket, type: "new", dump: false, ifindex, name, flags: 0x1 | 0x10000, operstate: 6, linkType: 1, mtu: 1500, master: 0, kind: "veth", ...over,
  });
  return { binding, opened, closed, link, send: (...events: NativeLinkEvent[]) => deliver(events) };
}

describe("link monitor table (scripted addon)", () => {
  it("reports new, changed and deleted links, and up as Linux decides it", async () => {
    const s = scripted();
    const monitor = new LinkMonitor(s.binding);
    const seen: LinkEvent[] = [];
    const sub = monitor.subscribe(undefined, (e) => seen.push(e));
    expect(sub.isReady).toBe(false);
    s.send(s.link(1, 7, "eth7", { dump: true }), { ...s.link(1, 0, ""), type: "dump-done" });
    await sub.ready;
    expect(sub.byName("eth7")).toMatchObject({ ifindex: 7, adminUp: true, carrier: true, operstate: "up", up: true, kind: "veth" });
    s.send(s.link(1, 7, "eth7", { flags: 0x1, operstate: 5 })); // carrier lost: lowerlayerdown
    s.send(s.link(1, 7, "eth7", { flags: 0x1, operstate: 5 })); // no change, no event
    s.send(s.link(1, 7, "eth7", { flags: 0, operstate: 2 }));
    s.send(s.link(1, 8, "lo", { flags: 0x1 | 0x8, operstate: 0, linkType: 772 })); // unknown counts as up
    s.send({ ...s.link(1, 7, "eth7"), type: "del" });
    expect(seen.map((e) => (e.type === "netns-deleted" ? e.type : `${e.type} ${e.link.name} up=${e.link.up}`))).toEqual([
      "new eth7 up=true",
      "changed eth7 up=false",
      "changed eth7 up=false",
      "new lo up=true",
      "deleted eth7 up=true",
    ]);
    expect(sub.byIndex(8)?.loopback).toBe(true);
    expect(sub.byIndex(7)).toBeUndefined();
    sub.close();
    expect(s.closed).toEqual([1]);
  });

  it("after an overrun, what the new dump does not show is reported deleted", () => {
    const s = scripted();
    const monitor = new LinkMonitor(s.binding);
    const seen: string[] = [];
    monitor.subscribe(undefined, (e) => seen.push(e.type === "netns-deleted" ? e.type : `${e.type} ${e.link.name}`));
    s.send(s.link(1, 2, "a", { dump: true }), s.link(1, 3, "b", { dump: true }), { ...s.link(1, 0, ""), type: "dump-done" });
    s.send({ ...s.link(1, 0, ""), type: "overrun" }, s.link(1, 3, "b", { dump: true }), s.link(1, 4, "c", { dump: true }), { ...s.link(1, 0, ""), type: "dump-done" });
    expect(seen).toEqual(["new a", "new b", "new c", "deleted a"]);
  });

  it("shares one socket per namespace between subscribers", () => {
    const s = scripted();
    const monitor = new LinkMonitor(s.binding);
    const one = monitor.subscribe(undefined, () => {});
    const two = monitor.subscribe(undefined, () => {});
    expect(s.opened).toEqual([undefined]);
    one.close();
    expect(s.closed).toEqual([]);
    two.close();
    expect(s.closed).toEqual([1]);
    expect(monitor.watched).toEqual([]);
  });
});

describe("link monitor on real namespaces (root)", () => {
  const lab = new Lab("tbm");
  let monitor: LinkMonitor;
  beforeAll(() => {
    monitor = new LinkMonitor(loadNative());
  });
  afterAll(async () => {
    await lab.destroy();
  });

  /** Resolves with the first event that matches. */
  function waitFor(netns: string | undefined, match: (e: LinkEvent) => boolean) {
    return new Promise<LinkEvent>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no such link event")), 30_000);
      const sub = monitor.subscribe(netns, (e) => {
        if (!match(e)) return;
        clearTimeout(timer);
        sub.close();
        resolve(e);
      });
    });
  }

  it("sees a namespace's devices come, change and go, with their state", async () => {
    const ns = await lab.netns("a");
    const seen: LinkEvent[] = [];
    const sub = monitor.subscribe(ns, (e) => seen.push(e));
    await sub.ready;
    expect(sub.byName("lo")).toMatchObject({ loopback: true, adminUp: true, linkType: 772 });
    const a = lab.ifname("a0");
    const b = lab.ifname("a1");
    const upped = waitFor(ns, (e) => e.type !== "netns-deleted" && e.link.name === a && e.link.up);
    await run(["ip", "-n", ns, "link", "add", a, "type", "veth", "peer", "name", b]);
    await run(["ip", "-n", ns, "link", "set", a, "up"]);
    await run(["ip", "-n", ns, "link", "set", b, "up"]);
    const up = await upped;
    expect(up.type === "changed" && up.link).toMatchObject({ name: a, kind: "veth", adminUp: true, carrier: true, operstate: "up", mtu: 1500 });
    const lost = waitFor(ns, (e) => e.type === "changed" && e.link.name === a && !e.link.carrier);
    await run(["ip", "-n", ns, "link", "set", b, "down"]);
    const carrierLost = await lost;
    expect(carrierLost.type === "changed" && carrierLost.link).toMatchObject({ adminUp: true, up: false });
    const gone = waitFor(ns, (e) => e.type === "deleted" && e.link.name === a);
    await run(["ip", "-n", ns, "link", "del", a]);
    await gone;
    expect(sub.byName(a)).toBeUndefined();
    expect(seen.some((e) => e.type === "new" && e.link.name === a)).toBe(true);
    sub.close();
  });

  it("tells subscribers when their namespace is deleted, and watches it again when it returns", async () => {
    const ns = await lab.netns("b");
    const seen: string[] = [];
    const sub = monitor.subscribe(ns, (e) => seen.push(e.type === "netns-deleted" ? "netns-deleted" : `${e.type} ${e.link.name}`));
    await sub.ready;
    expect(monitor.namespaceGone(ns)).toBe(false);
    expect(monitor.namespaceGone(undefined)).toBe(false);
    const deleted = waitFor(ns, (e) => e.type === "netns-deleted");
    await run(["ip", "netns", "del", ns]);
    // Known at once, before the namespace's own event: a port's device report can ask.
    expect(monitor.namespaceGone(ns)).toBe(true);
    await deleted;
    const back = waitFor(ns, (e) => e.type === "new" && e.link.name === "lo");
    await run(["ip", "netns", "add", ns]);
    await back;
    expect(monitor.namespaceGone(ns)).toBe(false); // the new namespace of that name is the one watched now
    expect(seen).toContain("netns-deleted");
    expect(seen.filter((e) => e === "new lo")).toHaveLength(2);
    sub.close();
    await run(["ip", "netns", "del", ns], { allowFail: true });
  });
});
