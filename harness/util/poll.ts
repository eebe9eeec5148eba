/**
 * Polling for read-only probes only (mutations are never retried), and time limits that fire.
 * A leaf module: it imports nothing of helmdrill's, so any room (dsl, probes, tools, cluster)
 * may use it without an import cycle.
 *
 * Every attempt has its own time limit, and so has every poll — also one that lasts "while the
 * action runs" (a `signal`): a probe that never answers (a hung API read) makes the poll fail at
 * its deadline, naming what it waited for, instead of hanging the run.
 */

/** How long one attempt of a poll may take unless the caller says otherwise. */
export const ATTEMPT_TIMEOUT_MS = 30_000;
/**
 * The hard deadline of a poll that lasts until its `signal` fires: a watched action normally
 * ends long before (commands have their own timeouts), so this only stops a poll whose action
 * never ends. As long as a test's own timeout (15 min).
 */
export const SIGNAL_LIMIT_MS = 15 * 60_000;

/**
 * An attempt is not started with less time than this (or half the interval, if less) left before
 * the deadline (the first always is).
 */
export const MIN_ATTEMPT_MS = 250;

/** `what` did not finish in time. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what}: no answer within ${seconds(ms)}`);
  }
}

/** 0.2 s, 30 s, 1.5 s. */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/**
 * Gives up on `work` after `ms`, rejecting with a TimeoutError that names `what`. Given a
 * function, it is called with a signal that aborts at that moment, so a request can be
 * cancelled rather than left running unobserved.
 */
export async function withTimeout<T>(
  work: Promise<T> | ((signal: AbortSignal) => Promise<T>),
  ms: number,
  what: string,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const error = new TimeoutError(what, ms);
        controller.abort(error);
        reject(error);
      },
      Math.max(0, ms),
    );
  });
  try {
    const running = typeof work === "function" ? Promise.resolve().then(() => work(controller.signal)) : work;
    return await Promise.race([running, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits `ms`, or less when `signal` fires first. Never rejects. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** On timeout the result carries the last real observation, not just "timed out". */
export interface PollResult<T> {
  ok: boolean;
  /** The last value observed (or undefined if every attempt threw). */
  last?: T;
  /** Why the last attempt did not satisfy the condition. */
  lastProblem: string;
  /** Why `last`, the last value observed, did not (a later attempt may have thrown instead). */
  lastJudgement?: string;
  attempts: number;
  /** Attempts whose probe threw (an API error, a timeout), and the last such error. */
  errors: number;
  lastError?: string;
  elapsedMs: number;
}

export interface PollOptions {
  /** How long to keep trying (without a signal). */
  timeoutMs: number;
  intervalMs?: number;
  /**
   * The end of a `during` check's window: the action it watches has finished. With a signal,
   * polling lasts until it fires (then one last look) and timeoutMs does not apply — the
   * expectation is "holds at some point while the action runs", however long a contended
   * machine makes the action — but never longer than `limitMs`.
   */
  signal?: AbortSignal;
  /** With a signal: the hard deadline, should the signal never fire (default SIGNAL_LIMIT_MS). */
  limitMs?: number;
  /** One attempt is given up after this long (default ATTEMPT_TIMEOUT_MS; never past the deadline). */
  attemptTimeoutMs?: number;
  /** What is waited for, as a failure names it: "helm history of web", "namespace x to be deleted". */
  what?: string;
}

/**
 * Calls `observe` until `judge` returns undefined (= satisfied) or the time is up. `judge`
 * returns a description of the mismatch; `observe` may throw (the message is kept) and is
 * given a signal that aborts when its attempt is given up.
 */
export async function poll<T>(
  observe: (signal: AbortSignal) => Promise<T>,
  judge: (value: T) => string | undefined,
  options: PollOptions,
): Promise<PollResult<T>> {
  const { timeoutMs, intervalMs = 500, signal, what = "the probe" } = options;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
  const deadline = signal ? (options.limitMs ?? SIGNAL_LIMIT_MS) : timeoutMs;
  const t0 = performance.now();
  let attempts = 0;
  let last: T | undefined;
  let lastProblem = "not observed yet";
  let errors = 0;
  let lastError: string | undefined;
  let lastJudgement: string | undefined;
  const result = (ok: boolean): PollResult<T> => {
    const elapsedMs = Math.round(performance.now() - t0);
    const judged = ok ? {} : { lastJudgement };
    return { ok, last, lastProblem: ok ? "" : lastProblem, ...judged, attempts, errors, lastError, elapsedMs };
  };
  for (;;) {
    const remaining = deadline - (performance.now() - t0);
    // No attempt in the last moments before the deadline: it could only be cut short, and would
    // replace the last real observation with "no answer within 0 s".
    if (attempts > 0 && remaining < Math.min(MIN_ATTEMPT_MS, intervalMs / 2)) return result(false);
    attempts++;
    const limit = Math.min(attemptTimeoutMs, remaining);
    let givenUp: unknown;
    const attempt = (s: AbortSignal) => {
      s.addEventListener("abort", () => (givenUp = s.reason), { once: true });
      return observe(s);
    };
    // An attempt cut at the deadline ends the poll (timers may fire a fraction of a ms early).
    let reachedDeadline = false;
    try {
      last = await withTimeout(attempt, limit, what);
      const problem = judge(last);
      if (problem === undefined) return result(true);
      lastProblem = problem;
      lastJudgement = problem;
    } catch (error) {
      lastProblem = `probe failed: ${error instanceof Error ? error.message : String(error)}`;
      errors++;
      lastError = lastProblem;
      reachedDeadline = error === givenUp && limit === remaining;
    }
    const elapsed = performance.now() - t0;
    if (reachedDeadline || elapsed >= deadline || signal?.aborted) return result(false);
    await pause(Math.min(intervalMs, deadline - elapsed), signal);
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
  // Why the last value seen does not hold, even when a later attempt could not look at all.
  const why = r.lastJudgement ?? (r.lastProblem !== r.lastError ? r.lastProblem : undefined);
  const problem = r.last !== undefined && why ? ` — ${why}` : "";
  return `${seen}${problem} (${r.attempts} observation(s) in ${(r.elapsedMs / 1000).toFixed(1)} s${errors})`;
}
