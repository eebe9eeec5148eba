import { describe, expect, it } from "vitest";
import { observedText, poll, TimeoutError, withTimeout } from "../../harness/util/poll.ts";

/** A probe that never answers: a hung API read. */
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

describe("poll: every attempt has its own time limit", () => {
  it("a probe that never answers makes the poll fail at its deadline, naming what it waited for", async () => {
    const r = await poll(never, () => undefined, { timeoutMs: 200, intervalMs: 20, what: "helm history of web" });
    expect(r.ok).toBe(false);
    expect(r.attempts).toBe(1);
    expect(r.lastProblem).toMatch(/^probe failed: helm history of web: no answer within 0\.2 s$/);
  });

  it("a poll that lasts while the action runs still has a hard deadline when the action never ends", async () => {
    const running = new AbortController(); // never aborted
    const r = await poll(
      async () => false,
      () => "not created yet",
      {
        timeoutMs: 10,
        intervalMs: 20,
        signal: running.signal,
        limitMs: 200,
      },
    );
    expect(r).toMatchObject({ ok: false, lastProblem: "not created yet" });
    expect(running.signal.aborted).toBe(false);
  });

  it("a hung attempt under a signal is given up too", async () => {
    const r = await poll(never, () => undefined, {
      timeoutMs: 10,
      signal: new AbortController().signal,
      limitMs: 150,
      what: "deployments of web",
    });
    expect(r.ok).toBe(false);
    expect(r.lastProblem).toContain("deployments of web: no answer within");
  });

  it("a slow attempt is given up and the next one made; its signal tells the probe to stop", async () => {
    const signals: AbortSignal[] = [];
    const r = await poll(
      (signal) => {
        signals.push(signal);
        return signals.length === 1 ? never<string>() : Promise.resolve("answered");
      },
      (v) => (v === "answered" ? undefined : "no"),
      { timeoutMs: 10_000, intervalMs: 1, attemptTimeoutMs: 50, what: "pods of web" },
    );
    expect(r).toMatchObject({ ok: true, last: "answered", attempts: 2, errors: 1 });
    expect(r.lastError).toBe("probe failed: pods of web: no answer within 0.1 s");
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
    expect(signals[1]!.aborted).toBe(false);
  });

  it("an action that has already ended gets one look, not the whole timeout", async () => {
    let looks = 0;
    const ended = AbortSignal.abort();
    const r = await poll(
      async () => ++looks,
      () => "absent",
      { timeoutMs: 60_000, intervalMs: 1000, signal: ended },
    );
    expect(r).toMatchObject({ ok: false, attempts: 1, lastProblem: "absent" });
    expect(looks).toBe(1);
  });
});

describe("withTimeout", () => {
  it("rejects with a TimeoutError naming what did not finish, and aborts the work's signal", async () => {
    let seen: AbortSignal | undefined;
    const late = withTimeout(
      (signal) => {
        seen = signal;
        return never();
      },
      30,
      "reading namespace x",
    );
    await expect(late).rejects.toThrow("reading namespace x: no answer within 0 s");
    expect(seen?.aborted).toBe(true);
  });

  it("passes a result and an error of the work through unchanged", async () => {
    await expect(withTimeout(Promise.resolve(42), 1000, "x")).resolves.toBe(42);
    await expect(withTimeout(Promise.reject(new Error("403 Forbidden")), 1000, "x")).rejects.toThrow("403 Forbidden");
    await expect(withTimeout(() => Promise.resolve("ok"), 1000, "x")).resolves.toBe("ok");
  });
});

describe("the last observation before the deadline", () => {
  it("is a real one, not an attempt started with no time left (any-kind: 'no answer within 0 s')", async () => {
    const slowNotReady = () => new Promise<string>((resolve) => setTimeout(() => resolve("missing"), 20));
    const r = await poll(slowNotReady, (v) => `statefulset/none ${v}`, { timeoutMs: 1200, intervalMs: 500 });
    expect(r).toMatchObject({ ok: false, errors: 0, lastProblem: "statefulset/none missing" });
  });
});

describe("observedText: what a failed check reports", () => {
  it("keeps why the last value seen does not hold when a later look could not answer (CI: 'current revision is 1' lost to a cut attempt)", async () => {
    let n = 0;
    const flaky = async () => {
      n++;
      if (n === 1) return "r1 deployed";
      throw new Error("no answer within 0.3 s");
    };
    const r = await poll(flaky, () => "current revision is 1", { timeoutMs: 300, intervalMs: 50 });
    expect(r.errors).toBeGreaterThan(0);
    expect(observedText(r, (v) => v)).toMatch(
      /^r1 deployed — current revision is 1 \(\d+ observation\(s\) in \d+\.\d s; \d+ probe error\(s\), last: probe failed: no answer within 0\.3 s\)$/,
    );
  });

  it("says nothing was observed when no look answered", async () => {
    const r = await poll(never, () => undefined, { timeoutMs: 100, intervalMs: 20, what: "pods" });
    expect(observedText(r, String)).toMatch(
      /^nothing observed \(1 observation\(s\) in 0\.\d s; 1 probe error\(s\), last: probe failed: pods: no answer within 0\.1 s\)$/,
    );
  });
});
