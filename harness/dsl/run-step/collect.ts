import { collectDiagnostics } from "../../probes/diagnostics.ts";
import { displayArgv } from "../../tools/runners.ts";
import { errorMessage, type CollectedOutput, type CommandRecord } from "../records.ts";
import type { Action, ActionContext } from "../step.ts";
import type { RunEnvironment, StepScope } from "./context.ts";

/** A failed step's diagnostics of the namespace (events, pods, the release) for whoever reads it. */
export function diagnose({ env, ctx, release }: StepScope): Promise<string> {
  return collectDiagnostics(ctx.runners, env.kube, env.namespace, release);
}

/** A failed step's collectors, each run once; undefined when the step has none. */
export async function runCollectors({ step, ctx }: StepScope): Promise<CollectedOutput[] | undefined> {
  if (step.collectors.length === 0) return undefined;
  return Promise.all(step.collectors.map((a) => collect(a, ctx)));
}

/** Runs one collector; its failure is its output, never the step's. */
async function collect(action: Action, ctx: ActionContext): Promise<CollectedOutput> {
  try {
    const r = await action.run(ctx);
    return {
      label: action.label,
      argv: displayArgv(r.argv),
      exitCode: r.exitCode,
      output: `${r.stdout}${r.stderr}`.trimEnd(),
    };
  } catch (error) {
    return { label: action.label, output: `could not run: ${errorMessage(error)}` };
  }
}

/** The commands logged between two points of the run's command log, as the step's record shows them. */
export function commandRecords(log: RunEnvironment["commandLog"], from: number, to: number): CommandRecord[] {
  return log.slice(from, to).map(({ result: r, probe }) => ({
    argv: displayArgv(r.argv),
    exitCode: r.exitCode,
    durationMs: r.durationMs,
    stdout: r.stdout,
    stderr: r.stderr,
    probe,
  }));
}
