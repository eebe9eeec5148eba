import path from "node:path";
import { defineConfig } from "vitest/config";
import { loadConfig } from "./harness/config.ts";

const reports = loadConfig().reportsDir;

/**
 * Three projects:
 *  - unit:    pure logic (parsing, matchers, version ranges, reports); no cluster, fast.
 *  - cli:     the `helmdrill` command's bad-input handling, run as a real process.
 *  - cluster: everything that needs the real cluster — provider tests and the scenario
 *             catalogue. Its globalSetup starts ONE cluster per run and provides it to
 *             every worker.
 * Reports: JUnit XML, vitest JSON (read by .ci/run), Allure results, and helmdrill's own
 * conformance matrix + transcripts, all under reports/.
 */
export default defineConfig({
  test: {
    retry: 0,
    reporters: [
      "default",
      ["junit", { outputFile: path.join(reports, "junit.xml") }],
      ["json", { outputFile: path.join(reports, "vitest-results.json") }],
      ["allure-vitest/reporter", { resultsDir: path.join(reports, "allure-results") }],
      "./harness/report/reporter.ts",
    ],
    projects: [
      {
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          setupFiles: ["allure-vitest/setup"],
          // A hang guard, not a speed target: unit tests that spawn processes share the machine
          // with the cluster project's scenario runs.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "cli",
          include: ["tests/cli/**/*.test.ts"],
          setupFiles: ["allure-vitest/setup"],
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: "cluster",
          include: ["tests/cluster/**/*.test.ts", "scenarios/**/*.test.ts"],
          globalSetup: ["./harness/vitest/global-setup.ts"],
          setupFiles: ["allure-vitest/setup"],
          testTimeout: 15 * 60_000,
          hookTimeout: 10 * 60_000,
          // Scenario runs spend most of their time waiting out Helm timeouts, each in its own
          // namespace: every target of a scenario runs at once (`npm run bench:suite` measures
          // wall time against the critical path).
          maxConcurrency: 16,
          fileParallelism: true,
        },
      },
    ],
    // One worker per scenario file in flight; workers mostly wait on Helm and the cluster.
    maxWorkers: 8,
    pool: "forks",
  },
});
