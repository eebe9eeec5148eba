import type { CommandResult } from "../exec.ts";
import { collectDiagnostics } from "../probes/diagnostics.ts";
import { readRelease, type ReleaseState } from "../probes/release.ts";
import { DEFAULT_SNAPSHOT_KINDS, snapshotResources, type Kube, type ResourceSnapshot } from "../probes/resources.ts";
import { displayArgv, withCommandTimeout, type ToolRunners } from "../tools/runners.ts";
import type { Check, CheckCategory, CheckContext, CheckOutcome } from "./checks.ts";
import { errorText } from "./checks.ts";
import type { Action, ActionContext, Documented, Step } from "./step.ts";
import type { FluxSession } from "./flux.ts";
import { describeSelector, targetLabel, type Driver, type Target } from "./target.ts";
import { poll } from "./poll.ts";

export interface ScenarioSource {
  /** File name in shared/scenarios-source. */
  file: string;
  /** The section of the write-up this scenario replays. */
  section: string;
}

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
  /** Also run migration targets: install with each Helm 3, then every `helmTo(…)` step with each Helm 4. */
  migrations?: boolean;
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

export function defineScenario(spec: ScenarioSpec): ScenarioSpec {
  if (!/^[a-z0-9-]+$/.test(spec.id)) throw new Error(`scenario id "${spec.id}" must be lower-case words joined by -`);
  if (spec.steps.length === 0) throw new Error(`scenario ${spec.id} has no steps`);
  return spec;
}

// ------------------------------------------------------------------ records

export type StepStatus = "matches" | "differs" | "failed" | "not-run";

export interface CommandRecord {
  argv: string[];
  exitCode: number;
  durationMs: number;
  stdout: string;
  stderr: string;
  probe: boolean;
}

export interface CheckRecord extends CheckOutcome {
  check: string;
  category: CheckCategory;
  when: string;
  drift?: string;
  phase: "during" | "after";
}

export interface StepRecord {
  index: number;
  title: string;
  explanation?: string;
  action?: string;
  documented?: Documented;
  commands: CommandRecord[];
  checks: CheckRecord[];
  status: StepStatus;
  /** Drift notes of the expectations that applied (why the cell "differs"). */
  drift: string[];
  /** The error text the step's command printed, if it failed. */
  observedError?: string;
  release?: ReleaseState;
  resources?: ResourceSnapshot;
  diagnostics?: string;
  /** The step's collectors' output (they run only when the step failed). */
  collected?: CollectedOutput[];
  problem?: string;
  durationMs: number;
}

export interface CollectedOutput {
  label: string;
  argv?: string[];
  exitCode?: number;
  output: string;
}

export interface ScenarioRun {
  scenario: string;
  title: string;
  source: ScenarioSource;
  target: Target;
  targetLabel: string;
  /** What it ran on: provider, node image, Kubernetes version (set by the runner that knows). */
  cluster?: string;
  /** The cluster's short name ("k3s 1.34"): the matrix's cluster dimension when a run spans several. */
  clusterLabel?: string;
  namespace: string;
  status: "passed" | "failed";
  /** Set when the target could not run here (the reason); its steps are all not run. */
  skipped?: string;
  steps: StepRecord[];
  vars: Record<string, string | number>;
  startedAt: string;
  durationMs: number;
}

// ------------------------------------------------------------------ execution

export interface RunEnvironment {
  namespace: string;
  runners: ToolRunners;
  kube: Kube;
  fixture(relative: string): string;
  allocateNodePort(): Promise<number>;
  /** Commands run through `runners` land here (the fixture wires runners' onCommand to it). */
  commandLog: { result: CommandResult; probe: boolean }[];
  /** Wraps each step (Allure steps under vitest). */
  wrapStep?: (title: string, fn: () => Promise<StepRecord>) => Promise<StepRecord>;
  /** Called once a step's record is complete (attachments, the walkthrough's pause). */
  afterStep?: (record: StepRecord) => Promise<void>;
  /** Called right before a step's action runs (the walkthrough prints the command). */
  beforeStep?: (step: Step, index: number) => Promise<void>;
  /** On a flux target: the run's Flux controllers and chart repository. */
  flux?: FluxSession;
  /** How long the snapshot after a step may keep retrying its reads (default 20 s). */
  snapshotTimeoutMs?: number;
}

/** Which expectations apply to the target, and which categories have none although they should. */
export function applicableChecks(checks: Check[], target: Target): { applied: Check[]; uncovered: CheckCategory[] } {
  const applied = checks.filter((c) => c.appliesTo(target));
  const categories = new Set(checks.map((c) => c.category));
  const uncovered = [...categories].filter((cat) => !applied.some((c) => c.category === cat));
  return { applied, uncovered };
}

export function stepStatus(checks: CheckRecord[], problem?: string): StepStatus {
  if (problem || checks.some((c) => !c.ok)) return "failed";
  return checks.some((c) => c.drift) ? "differs" : "matches";
}

function record(check: Check, outcome: CheckOutcome, phase: CheckRecord["phase"]): CheckRecord {
  return {
    ...outcome,
    check: check.describe(),
    category: check.category,
    when: describeSelector(check.targets),
    drift: check.driftNote,
    phase,
  };
}

async function verifySafely(check: Check, ctx: CheckContext): Promise<CheckOutcome> {
  try {
    return await check.verify(ctx);
  } catch (error) {
    return { ok: false, expected: check.describe(), observed: `probe error: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export async function executeScenario(spec: ScenarioSpec, target: Target, env: RunEnvironment): Promise<ScenarioRun> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const vars = spec.prepare ? await spec.prepare({ namespace: env.namespace, kube: env.kube, allocateNodePort: env.allocateNodePort }) : {};
  const selector = spec.selector ?? `app.kubernetes.io/instance=${spec.release}`;
  const kinds = snapshotKinds(spec, vars);
  const steps: StepRecord[] = [];
  let broken = false;
  const wrap = env.wrapStep ?? ((_: string, fn: () => Promise<StepRecord>) => fn());

  for (const [index, step] of spec.steps.entries()) {
    const base = stepBase(step, index);
    if (broken) {
      steps.push(notRunStep(base));
      continue;
    }
    const rec = await wrap(`${index + 1}. ${step.title}`, async () => {
      const r = await runStep(spec, step, base, target, env, vars, selector, kinds);
      await env.afterStep?.(r);
      return r;
    });
    steps.push(rec);
    if (rec.status === "failed") broken = true;
  }
  return {
    ...runHeader(spec, target),
    namespace: env.namespace,
    status: steps.some((s) => s.status === "failed") ? "failed" : "passed",
    steps,
    vars,
    startedAt,
    durationMs: Math.round(performance.now() - t0),
  };
}

/** The snapshot's kinds: the usual ones, the scenario's extra ones, and every kind a check names. */
export function snapshotKinds(spec: ScenarioSpec, vars: Record<string, string | number>): string[] {
  const named = spec.steps.flatMap((s) => [...s.checks, ...s.during]).flatMap((c) => c.kinds(vars));
  return [...new Set([...DEFAULT_SNAPSHOT_KINDS, ...(spec.snapshotKinds ?? []), ...named].map((k) => k.toLowerCase()))];
}

function runHeader(spec: ScenarioSpec, target: Target): Pick<ScenarioRun, "scenario" | "title" | "source" | "target" | "targetLabel"> {
  return { scenario: spec.id, title: spec.title, source: spec.source, target, targetLabel: targetLabel(target) };
}

type StepBase = Pick<StepRecord, "index" | "title" | "explanation" | "action" | "documented">;

function stepBase(step: Step, index: number): StepBase {
  return { index: index + 1, title: step.title, explanation: step.explanation, action: step.action?.label, documented: step.documented };
}

function notRunStep(base: StepBase, problem?: string): StepRecord {
  return { ...base, commands: [], checks: [], status: "not-run", drift: [], ...(problem ? { problem } : {}), durationMs: 0 };
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

async function runStep(
  spec: ScenarioSpec,
  step: Step,
  base: StepBase,
  target: Target,
  env: RunEnvironment,
  vars: Record<string, string | number>,
  selector: string,
  kinds: readonly string[],
): Promise<StepRecord> {
  const t0 = performance.now();
  const logStart = env.commandLog.length;
  const after = applicableChecks(step.checks, target);
  const during = applicableChecks(step.during, target);
  const checks: CheckRecord[] = [];
  let problem: string | undefined;
  const uncovered = [...after.uncovered, ...during.uncovered];
  if (uncovered.length > 0) {
    problem = `no expectation for ${targetLabel(target)} in: ${uncovered.join(", ")} — add one keyed to this version (a step never passes silently)`;
  }

  let result: CommandResult | undefined;
  const ctx: ActionContext = {
    target,
    runners: env.runners,
    kube: env.kube,
    namespace: env.namespace,
    release: spec.release,
    vars,
    fixture: env.fixture,
    flux: env.flux,
  };
  if (!problem) {
    await env.beforeStep?.(step, base.index);
    if (step.action) {
      const controller = new AbortController();
      // The step's own per-operation timeout bounds every command its action runs (not the probes).
      const running = step.action.run({ ...ctx, runners: withCommandTimeout(env.runners, step.timeoutMs) }).finally(() => controller.abort());
      const watched = during.applied.map(async (c) => record(c, await verifySafely(c, { ...ctx, signal: controller.signal }), "during"));
      try {
        result = await running;
      } catch (error) {
        problem = `the step's command could not run: ${error instanceof Error ? error.message : String(error)}`;
      }
      checks.push(...(await Promise.all(watched)));
    }
    if (!problem) {
      // Independent read-only probes: polled together, so a failing step costs the longest
      // check's timeout, not the sum of them. Records keep the declared order.
      checks.push(...(await Promise.all(after.applied.map(async (c) => record(c, await verifySafely(c, { ...ctx, result }), "after")))));
    }
  }

  // The step's `finally`: always, whatever happened above; the snapshot shows its effect.
  if (step.finallyAction) {
    try {
      await step.finallyAction.run(ctx);
    } catch (error) {
      problem ??= `the step's finally could not run: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  // Snapshot after every step: release history + resources owned by the release.
  let release: ReleaseState | undefined;
  let resources: ResourceSnapshot | undefined;
  // Read-only, so it may be retried: a reused keep-alive connection can be reset (ECONNRESET)
  // by a busy API server, and one such read must not fail the step. An attempt that hangs is
  // given up after 15 s and made again (CI saw one request hang 38 s, then "socket hang up").
  const snapshot = await poll(
    () => withinMs(15_000, "reading the release and its resources", Promise.all([readRelease(env.runners, env.kube.core, spec.release), snapshotResources(env.kube, env.namespace, selector, kinds)])),
    () => undefined,
    { timeoutMs: env.snapshotTimeoutMs ?? 60_000, intervalMs: 1000 },
  );
  if (snapshot.ok) [release, resources] = snapshot.last!;
  else problem ??= `snapshot failed: ${snapshot.lastProblem} (${snapshot.attempts} attempt(s) in ${(snapshot.elapsedMs / 1000).toFixed(1)} s)`;
  const status = stepStatus(checks, problem);
  let diagnostics: string | undefined;
  if (status === "failed") diagnostics = await collectDiagnostics(env.runners, env.kube, env.namespace, spec.release);

  const logEnd = env.commandLog.length;
  const collected = status === "failed" && step.collectors.length > 0 ? await Promise.all(step.collectors.map((a) => collect(a, ctx))) : undefined;
  const commands = env.commandLog.slice(logStart, logEnd).map(({ result: r, probe }) => ({
    argv: displayArgv(r.argv),
    exitCode: r.exitCode,
    durationMs: r.durationMs,
    stdout: r.stdout,
    stderr: r.stderr,
    probe,
  }));
  return {
    ...base,
    commands,
    checks,
    status,
    drift: [...new Set(checks.filter((c) => c.drift).map((c) => c.drift!))],
    observedError: result && result.exitCode !== 0 ? errorText(result) : undefined,
    release,
    resources,
    diagnostics,
    ...(collected ? { collected } : {}),
    problem,
    durationMs: Math.round(performance.now() - t0),
  };
}

/** Runs one collector; its failure is its output, never the step's. */
async function collect(action: Action, ctx: ActionContext): Promise<CollectedOutput> {
  try {
    const r = await action.run(ctx);
    return { label: action.label, argv: displayArgv(r.argv), exitCode: r.exitCode, output: `${r.stdout}${r.stderr}`.trimEnd() };
  } catch (error) {
    return { label: action.label, output: `could not run: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** A one-paragraph failure message for the test result. */
export function summarizeFailure(run: ScenarioRun): string {
  const failed = run.steps.find((s) => s.status === "failed");
  if (!failed) return "";
  const lines = [`${run.scenario} on ${run.targetLabel}: step ${failed.index} "${failed.title}" failed`];
  if (failed.problem) lines.push(`  ${failed.problem}`);
  for (const c of failed.checks.filter((c) => !c.ok)) {
    lines.push(`  ✖ expected (${c.phase}): ${c.expected}`, `    observed: ${c.observed}`);
  }
  if (failed.diagnostics) lines.push("", failed.diagnostics);
  return lines.join("\n");
}

/** A read that takes longer than `ms` is given up (its request may finish unobserved): the poll tries again. */
function withinMs<T>(ms: number, what: string, read: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms / 1000} s`)), ms);
  });
  return Promise.race([read, late]).finally(() => clearTimeout(timer));
}
