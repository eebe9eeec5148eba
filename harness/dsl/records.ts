/**
 * What a scenario run leaves behind: one record per step (its commands, checks, the release and
 * resources after it) and one per run. The reports, transcripts and JUnit/Allure read only these.
 */
import type { ReleaseState } from "../probes/release.ts";
import type { ResourceSnapshot } from "../probes/resources.ts";
import type { CheckCategory, CheckOutcome } from "./checks.ts";
import type { Documented } from "./step.ts";
import type { Target } from "./target.ts";

export interface ScenarioSource {
  /** File name in shared/scenarios-source. */
  file: string;
  /** The section of the write-up this scenario replays. */
  section: string;
}

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
  /**
   * The project root the run read its charts and helmfiles from (set by the reporter): a path
   * tools echo in their errors, named `{project}` by `compare` so two checkouts compare equal.
   */
  root?: string;
  namespace: string;
  status: "passed" | "failed";
  /** Set when the target could not run here (the reason); its steps are all not run. */
  skipped?: string;
  /**
   * Set when the cluster died under the run (its node container exited, its API server stopped
   * answering): from this step on the cells say "cluster lost" — an infrastructure fault, not
   * a verdict on Helm.
   */
  clusterLost?: { step: number; reason: string };
  steps: StepRecord[];
  vars: Record<string, string | number>;
  startedAt: string;
  durationMs: number;
}

/** The part of a step's record known before it runs. */
export type StepBase = Pick<StepRecord, "index" | "title" | "explanation" | "action" | "documented">;

/** The problem of a step that expects nothing: it is reported, never a match. */
export const NO_EXPECTATIONS =
  "no expectations: this step checks nothing, so it can never match the write-up — add .expect(…)";

/**
 * A step's verdict from its checks: failed on a problem or a check that did not hold; a step
 * with no check at all failed too (nothing was compared, so nothing "matches").
 */
export function stepStatus(checks: CheckRecord[], problem?: string): StepStatus {
  if (problem || checks.length === 0 || checks.some((c) => !c.ok)) return "failed";
  return checks.some((c) => c.drift) ? "differs" : "matches";
}

export function notRunStep(base: StepBase, problem?: string): StepRecord {
  return {
    ...base,
    commands: [],
    checks: [],
    status: "not-run",
    drift: [],
    ...(problem ? { problem } : {}),
    durationMs: 0,
  };
}

/** A step that failed before or without any check (the run stopped, its setup failed). */
export function failedStep(base: StepBase, problem: string, durationMs = 0): StepRecord {
  return { ...base, commands: [], checks: [], status: "failed", drift: [], problem, durationMs };
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

/** An error's message, for a record (never a stack trace). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
