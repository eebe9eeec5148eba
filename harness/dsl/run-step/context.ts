import type { CommandResult } from "../../exec.ts";
import type { Kube } from "../../probes/resources.ts";
import type { ToolRunners } from "../../tools/runners.ts";
import type { FluxSession } from "../flux-session.ts";
import type { StepBase, StepRecord } from "../records.ts";
import type { ActionContext, Step } from "../step.ts";
import type { Target } from "../target.ts";

/** Where and how a scenario runs: its namespace, tools, cluster clients and hooks. */
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
  /** How long the snapshot after a step may keep retrying its reads (default 60 s). */
  snapshotTimeoutMs?: number;
  /**
   * Aborted when the run must stop (its test timed out, the run was cancelled): every command
   * the run started is killed, the step then running fails saying so and no later step runs.
   */
  signal?: AbortSignal;
}

/** Everything one step's parts read: the step, where it runs, and the context its action and checks get. */
export interface StepScope {
  step: Step;
  base: StepBase;
  target: Target;
  env: RunEnvironment;
  release: string;
  /** The action's and the checks' context (its runners stop with the run's signal). */
  ctx: ActionContext;
  /** The snapshot's label selector and kinds. */
  selector: string;
  kinds: readonly string[];
}

/** Why the run was stopped, in one line (vitest's timeout error has a second line of advice). */
export function stopReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  const text = reason instanceof Error ? reason.message : reason === undefined ? "aborted" : String(reason);
  return text.split("\n")[0]!.trim();
}
