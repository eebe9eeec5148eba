/**
 * `helmdrill/vitest`: for projects that drive their scenarios with `npx vitest` instead of
 * `helmdrill run` — the preset (globalSetup, reporters, scenario registration), `replay` for a
 * scenario registered by hand, and the `drill` fixture for tests of their own on the run's cluster.
 */
export {
  helmdrillProject,
  helmdrillReporters,
  helmdrillVitestConfig,
  RUN_OPTIONS,
  scenarioPlugin,
  type PresetOptions,
} from "./preset.ts";
export { replay } from "./replay.ts";
export { drillTest } from "./fixtures.ts";
export type { Drill, HelmdrillProvided } from "./drill.ts";
