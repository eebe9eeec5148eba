import { readRelease, type ReleaseState } from "../../probes/release.ts";
import { snapshotResources, type ResourceSnapshot } from "../../probes/resources.ts";
import { poll } from "../poll.ts";
import type { StepScope } from "./context.ts";

export interface StepSnapshot {
  release?: ReleaseState;
  resources?: ResourceSnapshot;
  /** Why there is no snapshot. */
  problem?: string;
}

/**
 * After every step: the release's history and the resources owned by it. Read-only, so it may
 * be retried: a reused keep-alive connection can be reset (ECONNRESET) by a busy API server, and
 * one such read must not fail the step. An attempt that hangs is given up after 15 s and made
 * again (CI saw one request hang 38 s, then "socket hang up").
 */
export async function snapshotAfterStep({ env, ctx, release, selector, kinds }: StepScope): Promise<StepSnapshot> {
  const read = () =>
    withinMs(
      15_000,
      "reading the release and its resources",
      Promise.all([
        readRelease(ctx.runners, env.kube.core, release),
        snapshotResources(env.kube, env.namespace, selector, kinds),
      ]),
    );
  const snapshot = await poll(read, () => undefined, { timeoutMs: env.snapshotTimeoutMs ?? 60_000, intervalMs: 1000 });
  if (snapshot.ok) {
    const [state, resources] = snapshot.last!;
    return { release: state, resources };
  }
  const took = `${snapshot.attempts} attempt(s) in ${(snapshot.elapsedMs / 1000).toFixed(1)} s`;
  return { problem: `snapshot failed: ${snapshot.lastProblem} (${took})` };
}

/** A read that takes longer than `ms` is given up (its request may finish unobserved): the poll tries again. */
function withinMs<T>(ms: number, what: string, read: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms / 1000} s`)), ms);
  });
  return Promise.race([read, late]).finally(() => clearTimeout(timer));
}
