/**
 * helmdrill's public API: what a scenario file and a helmdrill.config.ts import
 * (`import { defineScenario, step, helm, succeeds } from "helmdrill"`). The vitest entry is
 * `helmdrill/vitest`; everything else under harness/ is internal.
 */
export { defineConfig, type HelmdrillProjectConfig } from "./project.ts";
export {
  defineScenario,
  type PrepareContext,
  type ScenarioSource,
  type ScenarioSpec,
  type ScenarioRun,
  type StepRecord,
} from "./dsl/scenario.ts";
export {
  cancel,
  fixture,
  fromVar,
  helm,
  helmTo,
  helmfile,
  kubectl,
  step,
  Step,
  type Action,
  type ActionContext,
  type Arg,
  type CancelOptions,
  type Documented,
} from "./dsl/step.ts";
export {
  Check,
  appliedWith,
  cancelled,
  exitsWith,
  fails,
  failsWithExit,
  fieldOwnership,
  history,
  jobComplete,
  jobFailed,
  logsShow,
  managedBy,
  object,
  podsInState,
  podsInclude,
  podsRunImages,
  release,
  releaseAbsent,
  refusesUpgrade,
  resources,
  succeeds,
  without,
  type AbsentPattern,
  type CheckContext,
  type CheckOutcome,
  type ReleaseExpectation,
  type ResourceSet,
  type TextPattern,
} from "./dsl/checks.ts";
export type { Driver, HelmfileStyle, Migrations, Selector, Target } from "./dsl/target.ts";
export type { CommandResult } from "./exec.ts";
export {
  fluxCondition,
  fluxRelease,
  switchFlux,
  type FluxReleaseOptions,
  type FluxSession,
  type SwitchFluxOptions,
} from "./dsl/flux.ts";
export { upgradeCheckScenarios, type ChartVersionPlan, type UpgradeCheckPlan } from "./dsl/upgrade-check.ts";
export { serveChartRepository, type ChartRepository, type ChartRepositoryOptions } from "./sources/chart-repo.ts";
