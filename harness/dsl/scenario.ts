import { HelmdrillError } from "../errors.ts";
import { DEFAULT_SNAPSHOT_KINDS, type Kube } from "../probes/resources.ts";
import { withCallDefaults } from "../tools/runners.ts";
import {
  errorMessage,
  failedStep,
  notRunStep,
  type ScenarioRun,
  type ScenarioSource,
  type StepBase,
  type StepRecord,
} from "./records.ts";
import type { RunEnvironment, StepScope } from "./run-step/context.ts";
import { stopReason } from "./run-step/context.ts";
import { runStep } from "./run-step/index.ts";
import type { ActionContext, Step } from "./step.ts";
import { targetLabel, type Driver, type Migrations, type Target } from "./target.ts";

export type {
  CheckRecord,
  CollectedOutput,
  CommandRecord,
  ScenarioRun,
  ScenarioSource,
  StepRecord,
  StepStatus,
} from "./records.ts";
export { NO_EXPECTATIONS, stepStatus, summarizeFailure } from "./records.ts";
export type { RunEnvironment } from "./run-step/context.ts";
export { applicableChecks } from "./run-step/checks.ts";

export interface ScenarioSpec {
  id: string;
  title: string;
  /** One paragraph: what the scenario demonstrates. */
  summary: string;
  source: ScenarioSource;
  /** The release whose state every step records. */
  release: string;
  /** Label selector for the "resources owned by the release" snapshot after each step. */
  selector?: string;
  /** Drivers this scenario runs through (default: helm only). */
  drivers?: Driver[];
  /**
   * Also run migration targets: install with each Helm 3, then every `helmTo(…)` step with each
   * Helm 4; on flux, start each older flux target's controllers, then `switchFlux()` to each
   * newer one's. `"only"`: nothing but migration targets (a walkthrough of the migration itself).
   */
  migrations?: Migrations;
  /**
   * Extra kinds for the snapshot after each step (any kind discovery resolves: `statefulset`,
   * `pvc`, `widgets.example.com`). Kinds the scenario's checks name are added by themselves.
   */
  snapshotKinds?: string[];
  /** Computes per-run values (e.g. allocates a NodePort) before the first step. */
  prepare?: (ctx: PrepareContext) => Promise<Record<string, string | number>>;
  steps: Step[];
}

export interface PrepareContext {
  namespace: string;
  kube: Kube;
  allocateNodePort(): Promise<number>;
}

/**
 * A scenario, checked as it is defined: a bad id, no steps or a step that expects nothing is
 * an error naming it (a step without expectations could never be judged, so it never "matches").
 */
export function defineScenario(spec: ScenarioSpec): ScenarioSpec {
  if (!/^[a-z0-9-]+$/.test(spec.id))
    throw new HelmdrillError(`scenario id "${spec.id}" must be lower-case words joined by -`);
  if (spec.steps.length === 0) throw new HelmdrillError(`scenario ${spec.id} has no steps`);
  const idle = spec.steps.findIndex((s) => s.checks.length === 0 && s.during.length === 0);
  if (idle >= 0) {
    throw new HelmdrillError(
      `scenario ${spec.id}, step ${idle + 1} "${spec.steps[idle]!.title}" has no expectations`,
      "give it .expect(…) (e.g. succeeds()): a step that checks nothing can never match the write-up",
    );
  }
  return spec;
}

// ------------------------------------------------------------------ execution

/**
 * Runs the scenario's steps in order on one target. It never rejects for something that went
 * wrong in the run — a failing `prepare`, an action that throws, a stopped run: each is in the
 * failed step's record, and the steps after it are not run.
 */
export async function executeScenario(spec: ScenarioSpec, target: Target, env: RunEnvironment): Promise<ScenarioRun> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const finish = (steps: StepRecord[], vars: Record<string, string | number>): ScenarioRun => ({
    ...runHeader(spec, target),
    namespace: env.namespace,
    status: steps.some((s) => s.status === "failed") ? "failed" : "passed",
    steps,
    vars,
    startedAt,
    durationMs: Math.round(performance.now() - t0),
  });
  let vars: Record<string, string | number> = {};
  try {
    if (spec.prepare)
      vars = await spec.prepare({ namespace: env.namespace, kube: env.kube, allocateNodePort: env.allocateNodePort });
  } catch (error) {
    return finish(abandonedSteps(spec, [], `the scenario's prepare failed: ${errorMessage(error)}`), vars);
  }
  const scope = stepScopeFor(spec, target, env, vars);
  const steps: StepRecord[] = [];
  const wrap = env.wrapStep ?? ((_: string, fn: () => Promise<StepRecord>) => fn());
  for (const [index, step] of spec.steps.entries()) {
    const base = stepBase(step, index);
    if (steps.some((s) => s.status === "failed")) {
      steps.push(notRunStep(base));
      continue;
    }
    if (env.signal?.aborted) {
      steps.push(failedStep(base, `the run was stopped before this step: ${stopReason(env.signal)}`));
      continue;
    }
    steps.push(
      await wrap(`${index + 1}. ${step.title}`, async () => {
        const r = await runStep({ ...scope, step, base });
        await env.afterStep?.(r);
        return r;
      }),
    );
  }
  return finish(steps, vars);
}

/** What every step of one run shares; the action's runners stop with the run's signal. */
function stepScopeFor(
  spec: ScenarioSpec,
  target: Target,
  env: RunEnvironment,
  vars: Record<string, string | number>,
): Omit<StepScope, "step" | "base"> {
  const runners = env.signal ? withCallDefaults(env.runners, { cancelSignal: env.signal }) : env.runners;
  const selector = spec.selector ?? `app.kubernetes.io/instance=${spec.release}`;
  const ctx: ActionContext = {
    target,
    runners,
    kube: env.kube,
    namespace: env.namespace,
    release: spec.release,
    selector,
    vars,
    fixture: env.fixture,
    flux: env.flux,
    ...(env.signal ? { stopSignal: env.signal } : {}),
  };
  return {
    target,
    env,
    release: spec.release,
    ctx,
    selector,
    kinds: snapshotKinds(spec, vars),
  };
}

/** The snapshot's kinds: the usual ones, the scenario's extra ones, and every kind a check names. */
export function snapshotKinds(spec: ScenarioSpec, vars: Record<string, string | number>): string[] {
  const named = spec.steps.flatMap((s) => [...s.checks, ...s.during]).flatMap((c) => c.kinds(vars));
  return [...new Set([...DEFAULT_SNAPSHOT_KINDS, ...(spec.snapshotKinds ?? []), ...named].map((k) => k.toLowerCase()))];
}

function runHeader(
  spec: ScenarioSpec,
  target: Target,
): Pick<ScenarioRun, "scenario" | "title" | "source" | "target" | "targetLabel"> {
  return { scenario: spec.id, title: spec.title, source: spec.source, target, targetLabel: targetLabel(target) };
}

function stepBase(step: Step, index: number): StepBase {
  return {
    index: index + 1,
    title: step.title,
    explanation: step.explanation,
    action: step.action?.label,
    documented: step.documented,
  };
}

/**
 * The steps of a run that could not go on: the records of the steps done, then the next step
 * failed with the problem, and every later step not run.
 */
function abandonedSteps(spec: ScenarioSpec, done: readonly StepRecord[], problem: string): StepRecord[] {
  return spec.steps.map((step, i) => {
    if (i < done.length) return done[i]!;
    return i === done.length ? failedStep(stepBase(step, i), problem) : notRunStep(stepBase(step, i));
  });
}

/**
 * The record of a run that ended in an error outside any step's record (a Flux start that
 * failed, a reporter hook that threw): the steps done keep their records, the next one failed
 * with the error, so the matrix shows the run as failed rather than absent.
 */
export function abandonedScenario(
  spec: ScenarioSpec,
  target: Target,
  namespace: string,
  done: readonly StepRecord[],
  problem: string,
  startedAt = new Date().toISOString(),
): ScenarioRun {
  const steps = done.length >= spec.steps.length ? [...done] : abandonedSteps(spec, done, problem);
  return {
    ...runHeader(spec, target),
    namespace,
    status: "failed",
    steps,
    vars: {},
    startedAt,
    durationMs: Math.round(Date.now() - Date.parse(startedAt)),
  };
}

/** The record of a target that cannot run here: every step not run, each saying why. */
export function notRunScenario(spec: ScenarioSpec, target: Target, reason: string): ScenarioRun {
  return {
    ...runHeader(spec, target),
    namespace: "",
    status: "passed",
    skipped: reason,
    steps: spec.steps.map((step, i) => notRunStep(stepBase(step, i), `not run: ${reason}`)),
    vars: {},
    startedAt: new Date().toISOString(),
    durationMs: 0,
  };
}
