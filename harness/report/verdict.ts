import type { TestModule } from "vitest/node";
import type { ScenarioRun } from "../dsl/scenario.ts";
import { isClusterLostError } from "../vitest/cluster-lost.ts";

/**
 * What a run of tests says, for `helmdrill run`'s exit code: everything passed; a behaviour
 * failed (or a test could not run); or the cluster died under runs that would otherwise have
 * passed — an infrastructure fault, which a nightly job retries instead of reading the matrix.
 */
export type RunVerdict = "passed" | "failed" | "lost";

/** `helmdrill run`'s exit codes (2 is bad input, thrown as a HelmdrillError before anything runs). */
export const EXIT_CODE: Record<RunVerdict, number> = { passed: 0, failed: 1, lost: 3 };

export interface TestFacts {
  failed: boolean;
  /** It failed because the cluster was lost: its run says so, or its only errors are ClusterLostErrors. */
  lost: boolean;
}

/** A test that failed on a lost cluster (its scenario run was marked lost, or its drill could not be set up on it). */
export function isLostTest(
  meta: { helmdrill?: Pick<ScenarioRun, "clusterLost"> },
  errors: readonly unknown[] | undefined,
): boolean {
  if (meta.helmdrill) return Boolean(meta.helmdrill.clusterLost);
  return (errors?.length ?? 0) > 0 && errors!.every(isClusterLostError);
}

/**
 * One vitest run's verdict: a non-zero exit with a failed test that is not lost, or a failure
 * outside any test (a file that did not load, a hook, an unhandled error), is a failure; a
 * non-zero exit whose failed tests are all lost is "lost".
 */
export function legVerdict(exitCode: number, tests: readonly TestFacts[], otherFailures: number): RunVerdict {
  if (exitCode === 0) return "passed";
  if (otherFailures > 0 || tests.some((t) => t.failed && !t.lost)) return "failed";
  return tests.some((t) => t.failed && t.lost) ? "lost" : "failed";
}

/** The facts `legVerdict` needs, read from vitest's test modules. */
export function testFacts(modules: readonly TestModule[]): { tests: TestFacts[]; otherFailures: number } {
  const tests: TestFacts[] = [];
  let otherFailures = 0;
  for (const m of modules) {
    otherFailures += m.errors().length + [...m.children.allSuites()].reduce((n, s) => n + s.errors().length, 0);
    for (const t of m.children.allTests()) {
      const result = t.result();
      const failed = result.state === "failed";
      tests.push({ failed, lost: failed && isLostTest(t.meta(), result.errors) });
    }
  }
  return { tests, otherFailures };
}

/** Several legs (clusters): a behaviour failure anywhere outweighs a lost cluster, which outweighs passing. */
export function combineVerdicts(verdicts: readonly RunVerdict[]): RunVerdict {
  if (verdicts.includes("failed")) return "failed";
  return verdicts.includes("lost") ? "lost" : "passed";
}
