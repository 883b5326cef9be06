/**
 * brctl's output, byte for byte: the tabs, `%4i.%.2i` timers, `%3i` port
 * numbers, MACs sorted, the showstp block. Tests compare these against
 * brctl run on a kernel bridge built the same way.
 */
import type { MacRow, ShowBridge, StpBridgeView, StpPortView } from "../daemon/views.js";

/** brctl's timer: whole seconds in 4 columns, a dot, hundredths. */
export function timer(seconds: number): string {
  const hundredths = Math.round(seconds * 100);
  return `${String(Math.trunc(hundredths / 100)).padStart(4)}.${String(hundredths % 100).padStart(2, "0")}`;
}

const int4 = (n: number) => String(n).padStart(4);

export function formatShow(bridges: ShowBridge[]): string {
  let out = "bridge name\tbridge id\t\tSTP enabled\tinterfaces\n";
  for (const b of bridges) {
    out += `${b.name}\t\t${b.id}\t${b.stp ? "yes" : "no"}\t\t`;
    if (b.interfaces.length === 0) out += "\n";
    b.interfaces.forEach((name, i) => (out += i === 0 ? `${name}\n` : `\t\t\t\t\t\t\t${name}\n`));
  }
  return out;
}

export function formatShowmacs(rows: MacRow[]): string {
  let out = "port no\tmac addr\t\tis local?\tageing timer\n";
  for (const r of rows) out += `${String(r.port_no).padStart(3)}\t${r.mac}\t${r.is_local ? "yes" : "no"}\t\t${timer(r.ageing_timer)}\n`;
  return out;
}

export function formatShowstp(v: StpBridgeView): string {
  let out = `${v.name}\n`;
  out += ` bridge id\t\t${v.bridge_id}\n`;
  out += ` designated root\t${v.designated_root}\n`;
  out += ` root port\t\t${int4(v.root_port)}\t\t\tpath cost\t\t${int4(v.path_cost)}\n`;
  out += ` max age\t\t${timer(v.max_age)}\t\t\tbridge max age\t\t${timer(v.bridge_max_age)}\n`;
  out += ` hello time\t\t${timer(v.hello_time)}\t\t\tbridge hello time\t${timer(v.bridge_hello_time)}\n`;
  out += ` forward delay\t\t${timer(v.forward_delay)}\t\t\tbridge forward delay\t${timer(v.bridge_forward_delay)}\n`;
  out += ` ageing time\t\t${timer(v.ageing_time)}\n`;
  out += ` hello timer\t\t${timer(v.hello_timer)}\t\t\ttcn timer\t\t${timer(v.tcn_timer)}\n`;
  out += ` topology change timer\t${timer(v.topology_change_timer)}\t\t\tgc timer\t\t${timer(v.gc_timer)}\n`;
  out += ` flags\t\t\t${v.flags.map((f) => f + " ").join("")}\n`;
  out += "\n\n";
  for (const p of v.ports) out += formatStpPort(p);
  return out;
}

function formatStpPort(p: StpPortView): string {
  let out = `${p.name} (${p.port_no})\n`;
  out += ` port id\t\t${p.port_id}\t\t\tstate\t\t${p.state.padStart(15)}\n`;
  out += ` designated root\t${p.designated_root}\tpath cost\t\t${int4(p.path_cost)}\n`;
  out += ` designated bridge\t${p.designated_bridge}\tmessage age timer\t${timer(p.message_age_timer)}\n`;
  out += ` designated port\t${p.designated_port}\t\t\tforward delay timer\t${timer(p.forward_delay_timer)}\n`;
  out += ` designated cost\t${int4(p.designated_cost)}\t\t\thold timer\t\t${timer(p.hold_timer)}\n`;
  out += ` flags\t\t\t${p.flags.map((f) => f + " ").join("")}\n`;
  if (p.hairpin) out += ` hairpin mode\t\t${int4(1)}\n`;
  out += "\n";
  return out;
}
