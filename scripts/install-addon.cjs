#!/usr/bin/env node
// npm's "install" step for tapbridge's native addon, in order:
//  1. a prebuilt binary shipped in prebuilds/<platform>-<arch>/ that loads
//     (skipped with npm_config_build_from_source=true or --build-from-source);
//  2. compiling it with node-gyp (needs a C++ compiler and make);
//  3. neither: the package still installs — in-memory bridges need no addon —
//     and one line says what is missing; opening a TAP or AF_PACKET port
//     later fails with a one-line error naming it too.
"use strict";
const { spawnSync } = require("node:child_process");
const { existsSync, readdirSync } = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const fromSource = process.env.npm_config_build_from_source === "true" || process.argv.includes("--build-from-source");
const tuple = `${process.platform}-${process.arch}`;

function prebuildLoads() {
  const dir = path.join(root, "prebuilds", tuple);
  if (!existsSync(dir) || readdirSync(dir).length === 0) return false;
  const check = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(require.resolve("node-gyp-build"))})(${JSON.stringify(root)})`], {
    env: { ...process.env, PREBUILDS_ONLY: "1" },
    stdio: "ignore",
  });
  return check.status === 0;
}

function compile() {
  if (!existsSync(path.join(root, "binding.gyp"))) return false;
  // npm hands its bundled node-gyp to lifecycle scripts; otherwise use the one on PATH.
  const gyp = process.env.npm_config_node_gyp;
  const [cmd, args] = gyp && existsSync(gyp) ? [process.execPath, [gyp, "rebuild"]] : ["node-gyp", ["rebuild"]];
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  return r.status === 0;
}

if (!fromSource && prebuildLoads()) process.exit(0);
if (compile()) process.exit(0);
const why = fromSource ? "building from source was asked for" : `no prebuilt binary for ${tuple} loads here`;
process.stderr.write(
  `tapbridge: the native addon is not installed (${why}, and compiling it failed: is a C++ compiler (g++) and make installed?); ` +
    `in-memory bridges work, TAP and AF_PACKET ports need it: install g++ and make, then run "npm rebuild tapbridge"\n`,
);
process.exit(0);
