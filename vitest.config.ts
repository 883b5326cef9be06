import { defineConfig } from "vitest/config";
import type { Reporter, TestModule } from "vitest/node";

/** A last line any CI can read: "tests: N passed, N failed, N skipped". */
const plainSummary: Reporter = {
  onTestRunEnd(testModules: readonly TestModule[]) {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      if (module.state() === "failed" && module.children.size === 0) failed++;
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  },
};

// Test files run in parallel: every file builds its own namespaces, veths
// and TAPs under unique names, and tests assert behaviour, never timing, so
// files sharing the machine's cores changes how long they take, not whether
// they pass. Most root tests wait on the network rather than compute, so
// three workers keep two cores busy.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    fileParallelism: true,
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ["default", plainSummary],
  },
});
