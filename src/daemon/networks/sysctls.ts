/**
 * Sysctls networks change (ip_forward, IPv6 forwarding, proxy_arp on an
 * uplink), shared between networks: the first network to need a key
 * records the value it had, the last one to let go puts it back — unless
 * the value is no longer the one tapbridge set (someone changed it since:
 * their value stays, and the log says so). The holds live in the state
 * file, so a crash leaves what is needed to put the originals back.
 */
import type { Logger } from "../../log.js";
import { HostNs } from "./host-ns.js";
import { holdKey, type StateData } from "./state.js";

export class SysctlLedger {
  constructor(
    private readonly state: () => StateData,
    private readonly save: () => void,
    private readonly log: Logger,
  ) {}

  /** Network `network` needs `key` = `value` in `ns`. Records the original before writing. */
  async acquire(network: string, ns: HostNs, key: string, value: string): Promise<void> {
    const holds = this.state().sysctls;
    const k = holdKey(ns.netns, key);
    const hold = holds[k];
    if (hold) {
      if (!hold.users.includes(network)) hold.users.push(network);
      this.save();
      if ((await ns.sysctlGet(key)) !== value) await ns.sysctlSet(key, value);
      return;
    }
    const original = await ns.sysctlGet(key);
    holds[k] = { ...(ns.netns !== undefined ? { netns: ns.netns } : {}), key, original, value, users: [network] };
    this.save();
    if (original !== value) await ns.sysctlSet(key, value);
  }

  /** Network `network` no longer needs `key`; the last user puts the original back. */
  async release(network: string, ns: HostNs, key: string): Promise<void> {
    const holds = this.state().sysctls;
    const k = holdKey(ns.netns, key);
    const hold = holds[k];
    if (!hold) return;
    hold.users = hold.users.filter((u) => u !== network);
    if (hold.users.length > 0) return this.save();
    await restore(ns, hold.key, hold.original, hold.value, this.log);
    delete holds[k];
    this.save();
  }

  /** After a crash: every hold goes back to its original (the networks that held them are gone). */
  async restoreAll(): Promise<void> {
    const holds = this.state().sysctls;
    for (const [k, hold] of Object.entries(holds)) {
      try {
        await restore(new HostNs(hold.netns), hold.key, hold.original, hold.value, this.log);
      } catch (error) {
        this.log.warn("sysctl not restored", { key: hold.key, original: hold.original, err: error });
      }
      delete holds[k];
      this.save();
    }
  }
}

async function restore(ns: HostNs, key: string, original: string, value: string, log: Logger): Promise<void> {
  let now: string;
  try {
    now = await ns.sysctlGet(key);
  } catch {
    return; // an interface's key, and the interface is gone
  }
  if (now === original) return;
  if (now !== value) {
    log.warn("sysctl changed by someone else since tapbridge set it: left as it is", { key, original, set: value, now });
    return;
  }
  await ns.sysctlSet(key, original);
}
