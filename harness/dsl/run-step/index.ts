import { errorText } from "../checks.ts";
import { stepStatus, type CheckRecord, type StepRecord } from "../records.ts";
import { runAction, runFinally, type ActionOutcome } from "./action.ts";
import { stepExpectations, verifyAfter } from "./checks.ts";
import { commandRecords, diagnose, runCollectors } from "./collect.ts";
import { stopReason, type StepScope } from "./context.ts";
import { snapshotAfterStep, type StepSnapshot } from "./snapshot.ts";

/**
 * One step: its action (with `during` checks), the checks after it, its `finally`, the snapshot
 * of the release and its resources, and — when it failed — diagnostics and collectors. When the
 * run is stopped while the step runs, its commands are killed and the step fails saying so; the
 * rest (checks, finally, snapshot, collectors) is skipped.
 */
export async function runStep(scope: StepScope): Promise<StepRecord> {
  const { step, base, target, env, ctx } = scope;
  const t0 = performance.now();
  const logStart = env.commandLog.length;
  const expectations = stepExpectations(step, target);
  const checks: CheckRecord[] = [];
  let problem = expectations.problem;
  let outcome: ActionOutcome = { during: [] };
  if (!problem) {
    await env.beforeStep?.(step, base.index);
    outcome = await runAction(step, ctx, expectations.during);
    checks.push(...outcome.during);
    problem = outcome.problem;
  }
  const stopped = stoppedProblem(scope);
  let snapshot: StepSnapshot = {};
  if (stopped) problem = stopped;
  else {
    if (!problem) checks.push(...(await verifyAfter(expectations.after, ctx, outcome.result)));
    // The step's `finally`: always, whatever happened above; the snapshot shows its effect.
    const finallyProblem = await runFinally(step, ctx);
    problem ??= finallyProblem;
    snapshot = await snapshotAfterStep(scope);
    problem ??= snapshot.problem;
  }
  const status = stepStatus(checks, problem);
  const failed = status === "failed" && !stopped;
  const diagnostics = failed ? await diagnose(scope) : undefined;
  // Collector commands are not the step's commands: the step's end in the log is here.
  const logEnd = env.commandLog.length;
  const collected = failed ? await runCollectors(scope) : undefined;
  const { result } = outcome;
  return {
    ...base,
    commands: commandRecords(env.commandLog, logStart, logEnd),
    checks,
    status,
    drift: [...new Set(checks.filter((c) => c.drift).map((c) => c.drift!))],
    observedError: result && result.exitCode !== 0 ? errorText(result) : undefined,
    release: snapshot.release,
    resources: snapshot.resources,
    diagnostics,
    ...(collected ? { collected } : {}),
    problem,
    durationMs: Math.round(performance.now() - t0),
  };
}

function stoppedProblem({ env }: StepScope): string | undefined {
  return env.signal?.aborted ? `the run was stopped while this step ran: ${stopReason(env.signal)}` : undefined;
}
