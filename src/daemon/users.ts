/** Group names to gids, from /etc/group (the daemon needs no NSS for this one lookup). */
import { readFileSync } from "node:fs";
import { TapbridgeError } from "../errors.js";

export function groupId(group: string | number): number {
  if (typeof group === "number") return group;
  if (/^\d+$/.test(group)) return Number(group);
  let text = "";
  try {
    text = readFileSync("/etc/group", "utf8");
  } catch {
    /* fall through to the error below */
  }
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === group && gid !== undefined) return Number(gid);
  }
  throw new TapbridgeError("ENOENT", `group ${group} not found (control.group names a group of /etc/group, or a gid)`);
}
