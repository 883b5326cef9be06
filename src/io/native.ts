/**
 * Loads the addon one way: node-gyp-build from the package root, or the file
 * named by TAPBRIDGE_NATIVE (an override for debugging builds).
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { TapbridgeError } from "../errors.js";
import { EGRESS_WORDS, HEADROOM, MAX_PORTS, PORT_STAT_COUNT, VNET_AREA, type NativeBinding } from "./native-binding.js";
import { VID_COUNT } from "../core/vlan.js";

const require = createRequire(import.meta.url);
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

let cached: NativeBinding | undefined;
let loadError: TapbridgeError | undefined;

/** The addon, or a TapbridgeError saying why it cannot be loaded. */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  if (loadError) throw loadError;
  try {
    const override = process.env.TAPBRIDGE_NATIVE;
    const binding = (override ? require(path.resolve(override)) : require("node-gyp-build")(findRoot())) as NativeBinding;
    checkConstants(binding);
    cached = binding;
    return binding;
  } catch (error) {
    loadError = error instanceof TapbridgeError ? error : new TapbridgeError("ENATIVE", describeLoadError(error), error);
    throw loadError;
  }
}

/** One line: what is missing, what still works, what to do. */
function describeLoadError(error: unknown): string {
  const message = String((error as Error)?.message ?? error);
  const fix = 'install g++ and make, then run "npm rebuild tapbridge"; in-memory ports work without it';
  if (/No native build was found/.test(message)) {
    return `the tapbridge native addon is not installed (no prebuilt binary for ${process.platform}-${process.arch} and none was compiled at install): TAP and AF_PACKET ports need it; ${fix}`;
  }
  const first = message.split("\n")[0]!.trim();
  return `the tapbridge native addon could not be loaded (${first}): TAP and AF_PACKET ports need it; ${fix}`;
}

/** True when the addon can be loaded on this machine. */
export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}

function findRoot(): string {
  // dist/src/io/native.js → package root; when run from sources by vitest, src/io/native.ts → root.
  const fromSources = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  try {
    require.resolve(path.join(packageRoot, "binding.gyp"));
    return packageRoot;
  } catch {
    return fromSources;
  }
}

function checkConstants(binding: NativeBinding): void {
  const expected: Record<string, number> = { VNET_AREA, HEADROOM, MAX_PORTS, PORT_STAT_COUNT, VLAN_UNTAGGED_WORDS: VID_COUNT * EGRESS_WORDS };
  for (const [name, value] of Object.entries(expected)) {
    if (binding.constants[name] !== value) {
      throw new TapbridgeError(
        "ENATIVE",
        `the tapbridge addon was built for another version (${name} is ${binding.constants[name]}, expected ${value}); run "npm rebuild tapbridge"`,
      );
    }
  }
}
