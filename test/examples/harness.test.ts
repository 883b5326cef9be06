/**
 * The library as its users get it: the package is packed (as `npm pack`
 * would, with the prebuilt addon inside), installed into the example
 * project examples/harness (a copy in a temporary directory), and that
 * project's own vitest suite runs against it. Then the same tarball is
 * installed with no compiler on PATH (CXX=/bin/false): the install succeeds,
 * in-memory bridges work, and without a usable addon a native port fails
 * with a one-line error.
 *
 * To stay cheap the tarball is packed from a staged copy with the addon the
 * suite already built (no second compile, no lifecycle scripts); `npm pack`
 * in the repository does the same with prebuildify.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const work = mkdtempSync(join(tmpdir(), "tb-example-"));
let tarball = "";

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env, timeout = 300_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout });
}
const npmQuiet = ["--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"];
const show = (r: SpawnSyncReturns<string>) => `exit ${r.status}\n${r.stdout}\n${r.stderr}`;

beforeAll(() => {
  const stage = join(work, "stage");
  mkdirSync(stage);
  for (const f of ["package.json", "README.md", "binding.gyp", "bin", "native", "scripts"]) cpSync(join(repo, f), join(stage, f), { recursive: true });
  cpSync(join(repo, "dist", "src"), join(stage, "dist", "src"), { recursive: true });
  mkdirSync(join(stage, "prebuilds", `${process.platform}-${process.arch}`), { recursive: true });
  cpSync(join(repo, "build", "Release", "tapbridge.node"), join(stage, "prebuilds", `${process.platform}-${process.arch}`, "tapbridge.node"));
  const r = sh("npm", ["pack", "--ignore-scripts", "--pack-destination", work, ...npmQuiet], stage);
  expect(r.status, show(r)).toBe(0);
  tarball = join(work, readdirSync(work).find((f) => f.endsWith(".tgz"))!);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed tarball", () => {
  it("ships no benchmark code, no test code, and no source map without its sources", () => {
    const files = sh("tar", ["tzf", tarball], work).stdout.trim().split("\n");
    expect(files.filter((f) => /(^|\/)bench\/|\/test\//.test(f))).toEqual([]);
    expect(files).toContain(`package/prebuilds/${process.platform}-${process.arch}/tapbridge.node`);
    const map = files.find((f) => f.endsWith("bridge.js.map"))!;
    const content = JSON.parse(sh("tar", ["xzOf", tarball, map], work).stdout) as { sources: string[]; sourcesContent?: string[] };
    expect(content.sourcesContent?.length).toBe(content.sources.length);
  });

  it("README's harness test is the example project's test/readme.test.ts, word for word", () => {
    const readme = readFileSync(join(repo, "README.md"), "utf8");
    expect(readme).toContain("```ts\n" + readFileSync(join(repo, "examples", "harness", "test", "readme.test.ts"), "utf8") + "```");
  });

  it("examples/harness installs it and its own vitest suite passes (dnsmasq DHCP, partition, loop storm, pcapng)", () => {
    const project = join(work, "example");
    cpSync(join(repo, "examples", "harness"), project, { recursive: true, filter: (src) => !src.includes("node_modules") });
    const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
    pkg.dependencies.tapbridge = `file:${tarball}`;
    writeFileSync(join(project, "package.json"), JSON.stringify(pkg, null, 2));
    const install = sh("npm", ["install", "--omit=dev", ...npmQuiet], project);
    expect(install.status, show(install)).toBe(0);
    // vitest itself is the repository's (a devDependency of the example; linked to save a download).
    symlinkSync(join(repo, "node_modules", "vitest"), join(project, "node_modules", "vitest"));
    const test = sh(process.execPath, [join(repo, "node_modules", "vitest", "vitest.mjs"), "run", "--reporter=verbose"], project);
    expect(test.status, show(test)).toBe(0);
    expect(test.stdout.replace(/\x1b\[[0-9;]*m/g, "")).toMatch(/Tests\s+5 passed \(5\)/);
  }, 240_000);

  it("installs without a compiler: a prebuilt addon loads; without one, in-memory bridges work and a TAP port says what is missing in one line", () => {
    // A PATH with everything but compilers and make.
    const bin = join(work, "bin");
    mkdirSync(bin);
    for (const dir of ["/usr/local/bin", "/usr/bin"]) {
      for (const f of readdirSync(dir)) {
        if (/^(g\+\+|c\+\+|gcc|cc|clang|make|x86_64-linux-gnu-(g\+\+|gcc|c\+\+)|cpp)(-\d+)?$/.test(f)) continue;
        try {
          symlinkSync(join(dir, f), join(bin, f));
        } catch {
          /* first one wins */
        }
      }
    }
    const env = { ...process.env, PATH: bin, CXX: "/bin/false", CC: "/bin/false" };
    expect(sh("sh", ["-c", "command -v g++ || command -v make || echo none"], work, env).stdout.trim()).toBe("none");

    const script = `
      import { Bridge, MemoryPort, TapPort, nativeAvailable } from "tapbridge";
      const b = new Bridge();
      const a = b.addPort(new MemoryPort("a")), c = b.addPort(new MemoryPort("c"));
      a.send(new Uint8Array([255,255,255,255,255,255, 2,0,0,0,0,1, 0x88,0xb5, ...new Array(46).fill(0)]));
      console.log("memory", c.take().length, "native", nativeAvailable());
      try { b.addPort(new TapPort("tbnocc0")); console.log("tap opened"); } catch (e) { console.log("tap error:", e.message); }
      b.close();`;
    for (const [name, extraEnv] of [["prebuilt", {}], ["from-source", { npm_config_build_from_source: "true" }]] as const) {
      const dir = join(work, `nocc-${name}`);
      mkdirSync(dir);
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `nocc-${name}`, private: true, type: "module" }));
      // --foreground-scripts: npm shows an install script's output only when asked to.
      const install = sh("npm", ["install", tarball, "--foreground-scripts", ...npmQuiet], dir, { ...env, ...extraEnv });
      expect(install.status, show(install)).toBe(0);
      writeFileSync(join(dir, "check.mjs"), script);
      if (name === "prebuilt") {
        const r = sh(process.execPath, ["check.mjs"], dir, env);
        expect(r.stdout, show(r)).toContain("memory 1 native true");
      } else {
        // Compiling failed and said so in one line; the install went on.
        expect(install.stderr).toMatch(/tapbridge: the native addon is not installed \(building from source was asked for, and compiling it failed[^\n]*npm rebuild tapbridge"\n/);
        // Take the prebuilt binary away too, as on a platform without one.
        rmSync(join(dir, "node_modules", "tapbridge", "prebuilds"), { recursive: true, force: true });
        rmSync(join(dir, "node_modules", "tapbridge", "build"), { recursive: true, force: true });
        const r = sh(process.execPath, ["check.mjs"], dir, env);
        expect(r.stdout, show(r)).toContain("memory 1 native false");
        const line = r.stdout.split("\n").find((l) => l.startsWith("tap error:"))!;
        expect(line).toMatch(/^tap error: the tapbridge native addon is not installed \(no prebuilt binary for linux-x64 and none was compiled at install\): TAP and AF_PACKET ports need it; install g\+\+ and make, then run "npm rebuild tapbridge"; in-memory ports work without it$/);
      }
    }
  }, 240_000);
});
