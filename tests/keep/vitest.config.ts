import { defineConfig } from "vitest/config";

/** Used only by tests/cli/keep.test.ts: one deliberately failing cluster test, run with HELMDRILL_KEEP=1. */
export default defineConfig({
  test: {
    retry: 0,
    include: ["tests/keep/*.keep.ts"],
    globalSetup: ["./harness/vitest/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
