import type { CommandResult } from "../../exec.ts";
import type { Check, CheckCategory, CheckContext, CheckOutcome } from "../checks.ts";
import { errorMessage, NO_EXPECTATIONS, type CheckRecord } from "../records.ts";
import type { Step } from "../step.ts";
import { describeSelector, targetLabel, type Target } from "../target.ts";

/** Which expectations apply to the target, and which categories have none although they should. */
export function applicableChecks(checks: Check[], target: Target): { applied: Check[]; uncovered: CheckCategory[] } {
  const applied = checks.filter((c) => c.appliesTo(target));
  const categories = new Set(checks.map((c) => c.category));
  const uncovered = [...categories].filter((cat) => !applied.some((c) => c.category === cat));
  return { applied, uncovered };
}

/** A step's expectations on one target, and why the step must not run when it cannot be judged. */
export interface StepExpectations {
  after: Check[];
  during: Check[];
  /** Set when an expectation has no variant for this target, or the step expects nothing at all. */
  problem?: string;
}

export function stepExpectations(step: Step, target: Target): StepExpectations {
  const after = applicableChecks(step.checks, target);
  const during = applicableChecks(step.during, target);
  const uncovered = [...after.uncovered, ...during.uncovered];
  const expectations = { after: after.applied, during: during.applied };
  if (uncovered.length > 0) {
    const missing = `no expectation for ${targetLabel(target)} in: ${uncovered.join(", ")}`;
    return { ...expectations, problem: `${missing} — add one keyed to this version (a step never passes silently)` };
  }
  // `during` checks are watched only while an action runs.
  const judged = after.applied.length + (step.action ? during.applied.length : 0);
  return judged === 0 ? { ...expectations, problem: NO_EXPECTATIONS } : expectations;
}

export function checkRecord(check: Check, outcome: CheckOutcome, phase: CheckRecord["phase"]): CheckRecord {
  return {
    ...outcome,
    check: check.describe(),
    category: check.category,
    when: describeSelector(check.targets),
    drift: check.driftNote,
    phase,
  };
}

/** A check whose probe throws did not hold; the error is what was observed. */
export async function verifySafely(check: Check, ctx: CheckContext): Promise<CheckOutcome> {
  try {
    return await check.verify(ctx);
  } catch (error) {
    return { ok: false, expected: check.describe(), observed: `probe error: ${errorMessage(error)}` };
  }
}

/**
 * The checks after the action. Independent read-only probes: polled together, so a failing step
 * costs the longest check's timeout, not the sum of them. Records keep the declared order.
 */
export async function verifyAfter(
  checks: Check[],
  ctx: CheckContext,
  result: CommandResult | undefined,
): Promise<CheckRecord[]> {
  return Promise.all(checks.map(async (c) => checkRecord(c, await verifySafely(c, { ...ctx, result }), "after")));
}
