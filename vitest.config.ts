import { defineConfig } from "vitest/config";

// Integration tests build namespaces and run real traffic; running test files
// one at a time keeps them from competing for the machine's two cores.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
