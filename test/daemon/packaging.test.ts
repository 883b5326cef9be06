/**
 * Packaging, checked by reading (no Docker engine here; no systemd as PID 1):
 * systemd-analyze verifies the unit, and the unit, compose file and
 * Dockerfile carry what the daemon needs — the capabilities instead of full
 * root, /dev/net/tun, the runtime directory of the control socket.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { run } from "../../src/testing/lab.js";
import { CLI, cleanupDaemons, REPO, tempDir } from "./helpers.js";

afterAll(() => cleanupDaemons());

describe("packaging", () => {
  it("the systemd unit verifies and runs the daemon with three capabilities, the TUN device and /run/tapbridge", async () => {
    const unit = readFileSync(join(REPO, "packaging", "tapbridge.service"), "utf8");
    for (const line of [
      "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN",
      "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN",
      "DeviceAllow=/dev/net/tun rw",
      "RuntimeDirectory=tapbridge",
      "ExecReload=/bin/kill -HUP $MAINPID",
    ]) expect(unit).toContain(line);
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/tapbridge daemon -c \/etc\/tapbridge\/tapbridge\.yaml$/m);
    const file = join(tempDir("sd"), "tapbridge.service");
    writeFileSync(file, unit.replace("/usr/local/bin/tapbridge", `${process.execPath} ${CLI}`));
    const r = await run(["systemd-analyze", "verify", file], { allowFail: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe("");
  });

  it("the compose file runs the daemon in the host's network with the capabilities and the TUN device", () => {
    const compose = parse(readFileSync(join(REPO, "docker", "compose.yaml"), "utf8")) as { services: Record<string, Record<string, unknown>> };
    const s = compose.services.tapbridge!;
    expect(s.command).toEqual(["daemon", "-c", "/etc/tapbridge/tapbridge.yaml"]);
    expect(s.network_mode).toBe("host");
    expect(s.cap_add).toEqual(["NET_ADMIN", "NET_RAW", "SYS_ADMIN"]);
    expect(s.devices).toEqual(["/dev/net/tun:/dev/net/tun"]);
    expect(s.volumes).toContain("/run/tapbridge:/run/tapbridge");
    expect((s.build as { dockerfile: string }).dockerfile).toBe("docker/Dockerfile");
  });

  it("the Dockerfile ships everything the daemon loads", () => {
    const docker = readFileSync(join(REPO, "docker", "Dockerfile"), "utf8");
    for (const part of ["COPY --from=build /src/dist dist", "COPY --from=build /src/node_modules node_modules", "build/Release/tapbridge.node", "npm prune --omit=dev"]) expect(docker).toContain(part);
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    // What the daemon imports at run time must be a dependency (pruned images keep only those).
    for (const dep of ["yaml", "zod", "pino", "pino-pretty", "prom-client"]) expect(pkg.dependencies[dep], dep).toBeDefined();
  });
});
