import type { CommandResult } from "../../exec.ts";
import { withCommandTimeout } from "../../tools/runners.ts";
import type { Check } from "../checks.ts";
import { errorMessage, type CheckRecord } from "../records.ts";
import type { ActionContext, Step } from "../step.ts";
import { checkRecord, verifySafely } from "./checks.ts";

export interface ActionOutcome {
  /** The command's result (undefined when the step has no action or it could not run). */
  result?: CommandResult;
  /** The `whileRunning` checks, each watched until the action ended. */
  during: CheckRecord[];
  problem?: string;
}

/**
 * Runs the step's action exactly once (mutations are never retried) with its `during` checks
 * watched until it ends. An action that throws — even synchronously, before it returns a
 * promise — is the step's problem, never an escape from the run.
 */
export async function runAction(step: Step, ctx: ActionContext, during: Check[]): Promise<ActionOutcome> {
  const action = step.action;
  if (!action) return { during: [] };
  const ended = new AbortController();
  // The step's own per-operation timeout bounds every command its action runs (not the probes).
  const actionCtx = { ...ctx, runners: withCommandTimeout(ctx.runners, step.timeoutMs) };
  // Checks that arm first (a watch) are looking before the action starts, or the action starts
  // after ARM_LIMIT_MS anyway: an object that lives a moment must not come and go before the watch opens.
  const arming: Promise<void>[] = [];
  const watched = during.map(async (c) => {
    let armed = () => {};
    if (c.armsFirst) arming.push(new Promise<void>((resolve) => (armed = resolve)));
    try {
      return checkRecord(c, await verifySafely(c, { ...ctx, signal: ended.signal, armed }), "during");
    } finally {
      armed();
    }
  });
  if (arming.length) await withinArmLimit(Promise.all(arming));
  const running = (async () => action.run(actionCtx))().finally(() => ended.abort());
  let result: CommandResult | undefined;
  let problem: string | undefined;
  try {
    result = await running;
  } catch (error) {
    problem = `the step's command could not run: ${errorMessage(error)}`;
  }
  return { result, during: await Promise.all(watched), ...(problem ? { problem } : {}) };
}

/** The step's `finally`: runs whatever happened before; its failure is the step's problem. */
export async function runFinally(step: Step, ctx: ActionContext): Promise<string | undefined> {
  if (!step.finallyAction) return undefined;
  try {
    await step.finallyAction.run(ctx);
    return undefined;
  } catch (error) {
    return `the step's finally could not run: ${errorMessage(error)}`;
  }
}

/** How long an action waits for its `whileRunning` watches to open before it starts regardless. */
const ARM_LIMIT_MS = 15_000;

function withinArmLimit(armed: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise((resolve) => (timer = setTimeout(resolve, ARM_LIMIT_MS)));
  return Promise.race([armed, limit]).finally(() => clearTimeout(timer));
}
