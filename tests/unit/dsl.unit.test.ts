import { describe, expect, it } from "vitest";
import { CleanupStack } from "../../harness/dsl/cleanup.ts";
import { applicableChecks, stepStatus, type CheckRecord } from "../../harness/dsl/scenario.ts";
import { errorText, fails, matchText, release, resources, succeeds } from "../../harness/dsl/checks.ts";
import { selects, targetLabel, targetSlug, validateSelector, type Target } from "../../harness/dsl/target.ts";
import { poll } from "../../harness/util/poll.ts";
import type { CommandResult } from "../../harness/exec.ts";

const h3: Target = { driver: "helm", helm: "3.17.3" };
const h4: Target = { driver: "helm", helm: "4.1.4" };
const hf: Target = { driver: "helmfile", helm: "3.18.0", helmfile: "1.8.0", style: "args" };

function result(partial: Partial<CommandResult>): CommandResult {
  return {
    argv: ["helm"],
    exitCode: 0,
    stdout: "",
    stderr: "",
    durationMs: 1,
    startedAt: new Date(0),
    timedOut: false,
    ...partial,
  };
}

describe("version-range selection", () => {
  it("matches semver ranges, drivers and styles", () => {
    expect(selects({ helm: "<4" }, h3)).toBe(true);
    expect(selects({ helm: "<4" }, h4)).toBe(false);
    expect(selects({ helm: ">=3.12.0 <4" }, hf)).toBe(true);
    expect(selects({ driver: "helm" }, hf)).toBe(false);
    expect(selects({ helmfile: ">=1.7.2" }, hf)).toBe(true);
    expect(selects({ helmfile: ">=1.7.2" }, h3)).toBe(false);
    expect(selects({ style: "defaults" }, hf)).toBe(false);
    expect(selects(undefined, h4)).toBe(true);
  });

  it("rejects a malformed range when the expectation is defined", () => {
    expect(() => validateSelector({ helm: ">=banana" })).toThrow(/invalid semver range/);
    expect(() => fails("x").when({ helm: "not a range" })).toThrow(/invalid semver range/);
  });

  it("labels and slugs targets", () => {
    expect(targetLabel(hf)).toBe("helmfile 1.8.0 (--args) + helm 3.18.0");
    expect(targetSlug(h4)).toBe("h414");
    expect(targetSlug({ ...hf, style: "defaults" })).toBe("hf180d-h3180");
  });
});

describe("versioned expectations", () => {
  it("applies the entries keyed to the target and flags categories with no entry", () => {
    const checks = [fails("a").when({ helm: "<4" }), fails("b").when({ helm: ">=4" }), release({ revision: 2 })];
    expect(applicableChecks(checks, h3).applied.map((c) => c.describe())).toEqual([
      'fails with "a"',
      "release revision 2",
    ]);
    expect(applicableChecks(checks, h4).uncovered).toEqual([]);
    const onlyHelm3 = [fails("a").when({ helm: "<4" }), release({ revision: 2 })];
    expect(applicableChecks(onlyHelm3, h4).uncovered).toEqual(["outcome"]);
  });

  it("derives the matrix state of a step", () => {
    const ok = { ok: true } as CheckRecord;
    expect(stepStatus([ok])).toBe("matches");
    expect(stepStatus([ok, { ok: true, drift: "Helm 4 renamed it" } as CheckRecord])).toBe("differs");
    expect(stepStatus([ok, { ok: false } as CheckRecord])).toBe("failed");
    expect(stepStatus([ok], "no expectation for helm 4.1.4")).toBe("failed");
  });
});

describe("outcome matchers", () => {
  const ctx = (r: CommandResult) => ({ result: r }) as never;

  it("succeeds() needs exit 0", async () => {
    expect((await succeeds().verify(ctx(result({ exitCode: 0 })))).ok).toBe(true);
    expect((await succeeds().verify(ctx(result({ exitCode: 1, stderr: "Error: boom" })))).ok).toBe(false);
  });

  it("fails() needs a non-zero exit and every pattern", async () => {
    const r = result({ exitCode: 1, stderr: "Error: UPGRADE FAILED: context deadline exceeded\n" });
    expect((await fails(/UPGRADE FAILED/, "context deadline").verify(ctx(r))).ok).toBe(true);
    expect((await fails(/UPGRADE FAILED/, "timed out waiting").verify(ctx(r))).ok).toBe(false);
    expect((await fails("anything").verify(ctx(result({ exitCode: 0 })))).ok).toBe(false);
    expect((await fails().verify(ctx(result({ exitCode: 124, timedOut: true })))).ok).toBe(false);
  });

  it("succeeds(pattern) and exitsWith(0, pattern) need exit 0 and every pattern in the output", async () => {
    const { exitsWith } = await import("../../harness/dsl/checks.ts");
    const r = result({ exitCode: 0, stdout: "TEST SUITE:     podinfo-dev-smoke\nPhase:          Succeeded\n" });
    for (const check of [succeeds(/Phase:\s+Succeeded/), exitsWith(0, /Phase:\s+Succeeded/)]) {
      expect((await check.verify(ctx(r))).ok).toBe(true);
      expect((await check.verify(ctx(result({ exitCode: 1, stdout: r.stdout })))).ok).toBe(false);
    }
    expect((await succeeds(/Phase:\s+Failed/).verify(ctx(r))).ok).toBe(false);
  });

  it("failsWithExit() also needs the exit code", async () => {
    const { failsWithExit } = await import("../../harness/dsl/checks.ts");
    const r = result({ exitCode: 2, stderr: "in ./helmfile.yaml: failed processing release my-release" });
    expect((await failsWithExit(2, /failed processing release/).verify(ctx(r))).ok).toBe(true);
    expect((await failsWithExit(1, /failed processing release/).verify(ctx(r))).ok).toBe(false);
  });

  it("errorText picks Helm's and helmfile's error lines, once each", () => {
    const stderr = [
      'level=WARN msg="upgrade failed"',
      "in ./helmfile.yaml: failed processing release my-release: command exited",
      "Error: UPGRADE FAILED: context deadline exceeded",
      "COMBINED OUTPUT:",
      "Error: UPGRADE FAILED: context deadline exceeded",
    ].join("\n");
    expect(errorText(result({ exitCode: 1, stderr }))).toBe(
      "in ./helmfile.yaml: failed processing release my-release: command exited\nError: UPGRADE FAILED: context deadline exceeded",
    );
    expect(errorText(result({ exitCode: 1, stderr: "something odd\nlast line" }))).toBe("something odd\nlast line");
  });

  it("matchText takes strings literally and regexes as regexes", () => {
    expect(matchText("a.b", "a.b")).toBe(true);
    expect(matchText("axb", "a.b")).toBe(false);
    expect(matchText("axb", /a.b/)).toBe(true);
  });

  it("describes resource expectations like the write-up's kubectl get", () => {
    expect(resources({ serviceaccount: ["my-release-local-chart"], service: [] }).describe()).toBe(
      "serviceaccount: my-release-local-chart; service: none",
    );
  });
});

describe("cleanup stack", () => {
  it("runs newest first, keeps going after a failure and reports every action", async () => {
    const order: string[] = [];
    const stack = new CleanupStack();
    stack.defer("namespace", () => order.push("namespace"));
    stack.defer("release", () => {
      order.push("release");
      throw new Error("uninstall failed");
    });
    stack.defer("temp dir", async () => order.push("temp dir"));
    const records = await stack.run();
    expect(order).toEqual(["temp dir", "release", "namespace"]);
    expect(records.map((r) => [r.name, r.ok])).toEqual([
      ["temp dir", true],
      ["release", false],
      ["namespace", true],
    ]);
    expect(records[1]!.error).toBe("uninstall failed");
    expect(await stack.run()).toEqual([]);
    expect(() => stack.defer("late", () => {})).toThrow(/after cleanup already ran/);
  });

  it("on a lost cluster runs only what is on this machine (a controller process, a directory)", async () => {
    const order: string[] = [];
    const stack = new CleanupStack();
    stack.defer("helm home", () => order.push("helm home"), { host: true });
    stack.defer("namespace", () => order.push("namespace"));
    stack.defer("controllers", () => order.push("controllers"), { host: true });
    stack.defer("flux objects", () => order.push("flux objects"));
    const records = await stack.run({ hostOnly: true });
    expect(order).toEqual(["controllers", "helm home"]);
    expect(records.map((r) => r.name)).toEqual(["controllers", "helm home"]);
    expect(await stack.run()).toEqual([]);
  });

  it("as AsyncDisposable it throws when an action failed", async () => {
    const stack = new CleanupStack();
    stack.defer("bad", () => Promise.reject(new Error("nope")));
    await expect(stack[Symbol.asyncDispose]()).rejects.toThrow(/cleanup failed/);
  });
});

describe("poll (read-only probes)", () => {
  it("reports the last real observation on timeout", async () => {
    let n = 0;
    const r = await poll(
      async () => ++n,
      (v) => (v >= 1000 ? undefined : `only ${v}`),
      { timeoutMs: 1000, intervalMs: 20 },
    );
    expect(r.ok).toBe(false);
    expect(r.lastProblem).toBe(`only ${n}`);
    expect(r.attempts).toBeGreaterThan(2);
  });

  it("keeps a probe's error message as the problem", async () => {
    const r = await poll(
      () => Promise.reject(new Error("connection refused")),
      () => undefined,
      { timeoutMs: 50, intervalMs: 10 },
    );
    expect(r.ok).toBe(false);
    expect(r.lastProblem).toBe("probe failed: connection refused");
  });

  it("returns as soon as the condition holds", async () => {
    let n = 0;
    const r = await poll(
      async () => ++n,
      (v) => (v >= 3 ? undefined : "not yet"),
      { timeoutMs: 5000, intervalMs: 1 },
    );
    expect(r).toMatchObject({ ok: true, last: 3, attempts: 3 });
  });

  // Fake timers (performance.now() included): "after 300 ms" is the clock's, not a busy machine's.
  it("a `during` check watches until the action ends, not until its own timeout (a slow machine creates late)", async () => {
    const { vi } = await import("vitest");
    vi.useFakeTimers();
    try {
      // The watched object appears after 300 ms; the action ends at 600 ms; the check's timeout is 50 ms.
      const action = new AbortController();
      setTimeout(() => action.abort(), 600);
      const t0 = performance.now();
      const late = poll(
        async () => performance.now() - t0 > 300,
        (seen) => (seen ? undefined : "not created yet"),
        { timeoutMs: 50, intervalMs: 20, signal: action.signal },
      );
      await vi.advanceTimersByTimeAsync(600);
      const r = await late;
      expect(r).toMatchObject({ ok: true, last: true });
      expect(r.elapsedMs).toBeGreaterThan(300);
      // Never seen: it keeps looking until the action ends (200 ms), well past its own 50 ms, then says so.
      const ended = new AbortController();
      setTimeout(() => ended.abort(), 200);
      const never = poll(
        async () => false,
        () => "not created yet",
        { timeoutMs: 50, intervalMs: 20, signal: ended.signal },
      );
      await vi.advanceTimersByTimeAsync(300);
      const n = await never;
      expect(n).toMatchObject({ ok: false, lastProblem: "not created yet" });
      expect(n.elapsedMs).toBeGreaterThanOrEqual(200);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("per-step resource diffs", () => {
  it("names what a step created and removed, ignoring pod churn", async () => {
    const { diffSnapshots } = await import("../../harness/probes/resources.ts");
    const row = (kind: "service" | "deployment" | "serviceaccount" | "pod", name: string) => ({
      kind,
      name,
      status: "",
      terminating: false,
      labels: {},
    });
    const before = {
      serviceaccount: [row("serviceaccount", "sa")],
      service: [row("service", "svc")],
      deployment: [row("deployment", "web")],
      pod: [row("pod", "web-1")],
    };
    const after = {
      serviceaccount: [row("serviceaccount", "sa")],
      service: [],
      deployment: [],
      pod: [row("pod", "web-2")],
    };
    expect(diffSnapshots(before, after)).toEqual({ added: [], removed: ["deployment/web", "service/svc"] });
    expect(diffSnapshots(undefined, before)).toEqual({
      added: ["deployment/web", "service/svc", "serviceaccount/sa"],
      removed: [],
    });
  });
});

describe("history()", () => {
  it("reads like helm history and implies the current revision and status", async () => {
    const { history } = await import("../../harness/dsl/checks.ts");
    expect(history("superseded", "failed", ["deployed", "Rollback to 1"]).describe()).toBe(
      'release revision 3, deployed, history r1 superseded → r2 failed → r3 deployed "Rollback to 1"',
    );
  });
});

describe("transcript commands", () => {
  it("read as typed from the repository root", async () => {
    const { displayArgv } = await import("../../harness/tools/runners.ts");
    expect(
      displayArgv(
        ["/c/tools/helm/4.1.4/helm", "install", "qa101", "/repo/fixtures/mychart1", "--namespace", "ns"],
        "/repo",
      ),
    ).toEqual(["helm", "install", "qa101", "./fixtures/mychart1", "--namespace", "ns"]);
    expect(displayArgv(["/c/helmfile", "--helm-binary", "/c/helm", "-f", "/elsewhere/h.yaml"], "/repo")).toEqual([
      "helmfile",
      "--helm-binary",
      "helm",
      "-f",
      "/elsewhere/h.yaml",
    ]);
  });
});

describe("targets", () => {
  it("pairs every helm with every helmfile and style, skipping pairings the helmfile cannot drive", async () => {
    const { targetsFor } = await import("../../harness/dsl/target.ts");
    const versions = { helmVersions: ["3.18.0", "4.1.4"], helmfileVersions: ["0.167.1", "1.8.0"] };
    const supports = (hf: string, helm: string) => !(hf.startsWith("0.") && helm.startsWith("4."));
    const labels = targetsFor(["helm", "helmfile"], versions, supports).map(targetLabel);
    expect(labels).toEqual([
      "helm 3.18.0",
      "helm 4.1.4",
      "helmfile 0.167.1 (--args) + helm 3.18.0",
      "helmfile 0.167.1 (helmDefaults) + helm 3.18.0",
      "helmfile 1.8.0 (--args) + helm 3.18.0",
      "helmfile 1.8.0 (helmDefaults) + helm 3.18.0",
      "helmfile 1.8.0 (--args) + helm 4.1.4",
      "helmfile 1.8.0 (helmDefaults) + helm 4.1.4",
    ]);
    expect(targetsFor(["helm"], versions)).toHaveLength(2);
  });

  it("adds helmfile apply targets only when helm-diff was checked, and keeps an unusable one with its reason", async () => {
    const { targetsFor } = await import("../../harness/dsl/target.ts");
    const versions = { helmVersions: ["3.18.0", "4.1.4"], helmfileVersions: ["1.8.0"] };
    const unusable = (helm: string) =>
      helm === "4.1.4" ? "helm 4.1.4 does not load helm-diff 3.8.1: Error: …" : undefined;
    const apply = targetsFor(["helmfile"], versions, undefined, unusable).filter((t) => t.style === "apply");
    expect(apply.map((t) => [targetLabel(t), t.unavailable])).toEqual([
      ["helmfile 1.8.0 (apply) + helm 3.18.0", undefined],
      ["helmfile 1.8.0 (apply) + helm 4.1.4", "helm 4.1.4 does not load helm-diff 3.8.1: Error: …"],
    ]);
    expect(targetsFor(["helmfile"], versions).some((t) => t.style === "apply")).toBe(false);
  });

  it("selects several helmfile styles with one selector", async () => {
    const { selects, describeSelector } = await import("../../harness/dsl/target.ts");
    const sync = { driver: "helmfile", style: ["args", "defaults"] } as const;
    const t = (style: "args" | "defaults" | "apply") => ({
      driver: "helmfile" as const,
      helm: "3.18.0",
      helmfile: "1.8.0",
      style,
    });
    expect([selects(sync, t("args")), selects(sync, t("defaults")), selects(sync, t("apply"))]).toEqual([
      true,
      true,
      false,
    ]);
    expect(selects({ style: "apply" }, t("apply"))).toBe(true);
    expect(selects({ style: "apply" }, { driver: "helm", helm: "3.18.0" })).toBe(false);
    expect(describeSelector(sync)).toBe("via helmfile, helmfile args/defaults style");
  });
});
