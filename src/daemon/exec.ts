/**
 * Running iproute2, nft, sysctl and dnsmasq from the daemon without blocking
 * its event loop (it forwards frames on the same loop), in the daemon's own
 * network namespace or in a named one (`netnsPrefix`).
 */
import { execFile, spawn } from "node:child_process";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function exec(argv: string[], timeoutMs = 5000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === "number" ? ((error as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * The words that run a command in a network namespace: nothing for the
 * daemon's own, `ip netns exec NAME` for a named one, `nsenter --net=PATH`
 * for a path.
 */
export function netnsPrefix(netns: string | undefined): string[] {
  if (netns === undefined) return [];
  return netns.includes("/") ? ["nsenter", `--net=${netns}`] : ["ip", "netns", "exec", netns];
}

/** Like exec, with text on standard input (nft -f -). */
export function execInput(argv: string[], input: string, timeoutMs = 10_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + error.message });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}
