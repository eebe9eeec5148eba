import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProjectInlineConfiguration, ViteUserConfig } from "vitest/config";
import { loadProject, type Project } from "../config.ts";
import { scenarioFiles } from "../dsl/catalogue.ts";
import { HelmdrillError } from "../errors.ts";

/**
 * The vitest entry: what a project needs to run its scenarios on the cluster — the
 * globalSetup that starts one cluster per run, allure's setup, the reporters, and a plugin
 * that registers every scenario file the config's globs match as a test file (no
 * hand-written `.test.ts` beside it). `helmdrill run` uses exactly this; a project that
 * prefers `npx vitest` writes `export default helmdrillVitestConfig()` in vitest.config.ts.
 */
const self = fileURLToPath(import.meta.url);
/** .ts from the sources, .js from the compiled package. */
const sibling = (...rel: string[]) =>
  path.join(path.dirname(self), ...rel.slice(0, -1), `${rel.at(-1)}${path.extname(self)}`);
export const REPLAY_MODULE = sibling("replay");
export const GLOBAL_SETUP_MODULE = sibling("global-setup");
export const REPORTER_MODULE = sibling("..", "report", "reporter");
/** vitest's JUnit reporter, writing a test that failed on a lost cluster as an <error>, not a <failure>. */
export const JUNIT_REPORTER_MODULE = sibling("..", "report", "junit");
// Resolved from helmdrill's own dependencies, so a project root without node_modules (upgrade-check's
// generated project in the run's scratch) runs the same setup and reporter.
const fromHere = createRequire(import.meta.url);
export const ALLURE_SETUP = fromHere.resolve("allure-vitest/setup");
const ALLURE_REPORTER = fromHere.resolve("allure-vitest/reporter");

type Plugin = NonNullable<ViteUserConfig["plugins"]>[number];

/**
 * Turns `export default defineScenario({…})` in a scenario file into a registered test:
 * the default export is kept and handed to `replay()` with the file's own path, so a test file
 * that imports a scenario only for its definition does not register (and run) all its targets again.
 */
export function registerScenario(code: string, file: string, replayModule = REPLAY_MODULE): string {
  const marker = /^export default /m;
  if (!marker.test(code)) {
    throw new HelmdrillError(
      `${file} does not default-export a scenario`,
      "write: export default defineScenario({ id, title, summary, source, release, steps })",
    );
  }
  return (
    code.replace(marker, "const __helmdrillScenario = ") +
    `\nexport default __helmdrillScenario;\nimport { replay as __helmdrillReplay } from ${JSON.stringify(`/@fs${replayModule}`)};\n__helmdrillReplay(__helmdrillScenario, ${JSON.stringify(file)});\n`
  );
}

export function scenarioPlugin(project: Project): Plugin {
  let files: Promise<Set<string>> | undefined;
  return {
    name: "helmdrill:scenarios",
    enforce: "post",
    async transform(code: string, id: string) {
      files ??= scenarioFiles(project).then((f) => new Set(f));
      const file = id.split("?")[0]!;
      if (!(await files).has(file)) return undefined;
      return { code: registerScenario(code, file), map: null };
    },
  } as Plugin;
}

export interface PresetOptions {
  /** The project name vitest shows (default "helmdrill"). */
  name?: string;
  /** More test files for the same cluster (globs relative to the project root), e.g. provider tests. */
  include?: string[];
}

type TestOptions = NonNullable<TestProjectInlineConfiguration["test"]>;

/** The test options every scenario run needs: one cluster per run, scenario files as tests. */
export function clusterTestOptions(project: Project, options: PresetOptions = {}): TestOptions {
  return {
    name: options.name ?? "helmdrill",
    root: project.root,
    include: [...project.scenarios, ...(options.include ?? [])],
    exclude: ["**/node_modules/**", "**/*.d.ts"],
    globalSetup: [GLOBAL_SETUP_MODULE],
    setupFiles: [ALLURE_SETUP],
    testTimeout: 15 * 60_000,
    hookTimeout: 10 * 60_000,
    // Scenario runs spend most of their time waiting out Helm timeouts, each in its own
    // namespace: every target of a scenario runs at once.
    maxConcurrency: 16,
    fileParallelism: true,
    retry: 0,
  };
}

/** A vitest project (for `projects: [...]`) running the config's scenarios. */
export function helmdrillProject(project: Project, options: PresetOptions = {}): TestProjectInlineConfiguration {
  return { plugins: [scenarioPlugin(project)], test: clusterTestOptions(project, options) };
}

/**
 * JUnit, vitest JSON, Allure results and helmdrill's matrix and transcripts, under the reports
 * directory. `leg` (a run over several clusters) names the cluster in every JUnit test case's
 * class name, so the legs' cases stay apart once merged into one file.
 */
export function helmdrillReporters(
  reportsDir: string,
  leg?: string,
): NonNullable<NonNullable<ViteUserConfig["test"]>["reporters"]> {
  return [
    "default",
    [
      JUNIT_REPORTER_MODULE,
      {
        outputFile: path.join(reportsDir, "junit.xml"),
        ...(leg ? { classnameTemplate: `${leg} › {filename}` } : {}),
      },
    ],
    ["json", { outputFile: path.join(reportsDir, "vitest-results.json") }],
    [ALLURE_REPORTER, { resultsDir: path.join(reportsDir, "allure-results") }],
    REPORTER_MODULE,
  ];
}

/**
 * Shared by every helmdrill run: forks, one worker per scenario file in flight, no retries. Two
 * files in flight (every target of each at once): with four, the first wave of a catalogue on
 * Kubernetes 1.36 (68 runs and 8 Flux controllers starting together on 2 cores) left the API
 * server without an answer for 60-72 s on both providers — 51 of 194 runs "cluster lost".
 */
export const RUN_OPTIONS = { pool: "forks", maxWorkers: 2, retry: 0 } as const;

/** A whole vitest config for a project's scenarios: `export default helmdrillVitestConfig()`. */
export async function helmdrillVitestConfig(
  options: { config?: string } & PresetOptions = {},
): Promise<ViteUserConfig> {
  const project = await loadProject({ configPath: options.config });
  return {
    test: {
      ...RUN_OPTIONS,
      reporters: helmdrillReporters(project.reportsDir),
      projects: [helmdrillProject(project, options)],
    },
  } as ViteUserConfig;
}
