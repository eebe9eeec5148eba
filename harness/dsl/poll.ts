/**
 * Polling for read-only probes only (mutations are never retried). On timeout the error
 * carries the last real observation, not just "timed out".
 */
export interface PollResult<T> {
  ok: boolean;
  /** The last value observed (or undefined if every attempt threw). */
  last?: T;
  /** Why the last attempt did not satisfy the condition. */
  lastProblem: string;
  attempts: number;
  /** Attempts whose probe threw (an API error, a timeout), and the last such error. */
  errors: number;
  lastError?: string;
  elapsedMs: number;
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
  /**
   * The end of a `during` check's window: the action it watches has finished. With a signal,
   * polling lasts until it fires and timeoutMs does not apply — the expectation is "holds at
   * some point while the action runs", however long a contended machine makes the action.
   */
  signal?: AbortSignal;
}

/**
 * Calls `observe` until `judge` returns undefined (= satisfied) or the time is up. `judge`
 * returns a description of the mismatch; `observe` may throw (the message is kept).
 */
export async function poll<T>(
  observe: () => Promise<T>,
  judge: (value: T) => string | undefined,
  { timeoutMs, intervalMs = 500, signal }: PollOptions,
): Promise<PollResult<T>> {
  const t0 = performance.now();
  let attempts = 0;
  let last: T | undefined;
  let lastProblem = "not observed yet";
  let errors = 0;
  let lastError: string | undefined;
  for (;;) {
    attempts++;
    try {
      last = await observe();
      const problem = judge(last);
      if (problem === undefined) return { ok: true, last, lastProblem: "", attempts, errors, lastError, elapsedMs: Math.round(performance.now() - t0) };
      lastProblem = problem;
    } catch (error) {
      lastProblem = `probe failed: ${error instanceof Error ? error.message : String(error)}`;
      errors++;
      lastError = lastProblem;
    }
    const elapsed = performance.now() - t0;
    const deadline = signal ? Number.POSITIVE_INFINITY : timeoutMs;
    if (elapsed >= deadline || signal?.aborted) {
      return { ok: false, last, lastProblem, attempts, errors, lastError, elapsedMs: Math.round(elapsed) };
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - elapsed))));
  }
}

/**
 * What a check reports as observed: the last observation, and when it did not hold, why, how
 * often it was looked at and any probe errors — so "never seen" and "could not look" differ.
 */
export function observedText<T>(r: PollResult<T>, render: (value: T) => string): string {
  const seen = r.last === undefined ? "nothing observed" : render(r.last);
  if (r.ok) return seen;
  const errors = r.errors ? `; ${r.errors} probe error(s), last: ${r.lastError}` : "";
  const problem = r.last !== undefined && r.lastProblem !== r.lastError ? ` — ${r.lastProblem}` : "";
  return `${seen}${problem} (${r.attempts} observation(s) in ${(r.elapsedMs / 1000).toFixed(1)} s${errors})`;
}
