import { defineConfig } from "vitest/config";
import { loadProject } from "./harness/config.ts";
import { helmdrillProject, helmdrillReporters, RUN_OPTIONS } from "./harness/vitest/preset.ts";

// helmdrill's own catalogue, read from helmdrill.config.ts like any project's.
const project = await loadProject();

/**
 * Three projects:
 *  - unit:    pure logic (parsing, matchers, version ranges, reports); no cluster, fast.
 *  - cli:     the `helmdrill` command as a real process (bad input, interruption, packaging).
 *  - cluster: everything that needs the real cluster — provider tests and the scenario
 *             catalogue, through the same preset `helmdrill run` and a team's project use:
 *             ONE cluster per run (globalSetup, `provide`), every scenario file a test file.
 * Reports: JUnit XML, vitest JSON (read by .ci/run), Allure results, and helmdrill's own
 * conformance matrix + transcripts, all under reports/.
 */
export default defineConfig({
  test: {
    ...RUN_OPTIONS,
    reporters: helmdrillReporters(project.reportsDir),
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
          setupFiles: ["allure-vitest/setup", "tests/cli/child-env.ts"],
          testTimeout: 120_000,
          // Hooks remove whole installed projects (node_modules of the packed tarball): under the
          // cluster project's load that took over vitest's default 10 s in CI. A hang guard only.
          hookTimeout: 5 * 60_000,
          // After the unit and cluster projects, not beside them: its interruption tests start
          // clusters of their own, and with the catalogue's scenario runs on two cores the load
          // average passed 50 and the run's API server stalled for tens of seconds (CI failures:
          // a namespace Terminating for 120 s, Flux CRDs not Established in 60 s).
          sequence: { groupOrder: 1 },
        },
      },
      helmdrillProject(project, { name: "cluster", include: ["tests/cluster/**/*.test.ts"] }),
    ],
  },
});
