/**
 * The DSL's expectations can fail: wrong expectations against the real cluster produce a
 * failed step that reports what was really observed. And two copies of the same scenario
 * run side by side on one cluster without interfering.
 */
import { describe, expect, inject, it } from "vitest";
import { fails, release, resources, succeeds } from "../../harness/dsl/checks.ts";
import { defineScenario, executeScenario, summarizeFailure } from "../../harness/dsl/scenario.ts";
import { step, type Action, type Step } from "../../harness/dsl/step.ts";
import { sync } from "../../scenarios/shared/write-up-000.ts";
import { openDrill } from "../../harness/vitest/drill.ts";
import { drillTest as test } from "../../harness/vitest/fixtures.ts";

import cleanupOnFail from "../../scenarios/failed-upgrade-cleanup-on-fail.ts";

const helmVersion = inject("helmdrill").config.helmVersions.at(-1)!;
const target = { driver: "helm" as const, helm: helmVersion };
const stub = (...steps: Step[]) =>
  defineScenario({
    id: "honesty",
    title: "wrong on purpose",
    summary: "",
    source: { file: "-", section: "-" },
    release: "my-release",
    steps,
  });

describe("expectations that do not hold fail, with the real observation", () => {
  test("a wrong outcome, release state and resource set are each reported", async ({ drill }) => {
    const wrong = stub(
      step("install succeeds, but we claim it fails")
        .does(sync())
        .expect(fails(/UPGRADE FAILED/)),
    );
    const run1 = await executeScenario(wrong, target, drill.environment(target));
    expect(run1.status).toBe("failed");
    expect(run1.steps[0]!.checks[0]).toMatchObject({ ok: false, observed: "succeeded (exit 0)" });

    const wrongState = stub(
      step("claims revision 7 and a Deployment").expect(
        release({ revision: 7 }),
        resources({ serviceaccount: [], deployment: ["nope"] }, { timeoutMs: 3000 }),
      ),
    );
    const run2 = await executeScenario(wrongState, target, drill.environment(target));
    const [rel, res] = run2.steps[0]!.checks;
    expect(rel).toMatchObject({ ok: false });
    expect(rel!.observed).toMatch(/r1 deployed .*current revision is 1/);
    expect(res).toMatchObject({ ok: false });
    // The real observation, why it does not hold, and how often it was looked at.
    expect(res!.observed).toMatch(
      /^serviceaccount: my-release-local-chart; deployment: none — found serviceaccount: \[my-release-local-chart\]; deployment: \[\] \(\d+ observation\(s\) in \d+\.\d s\)$/,
    );
    expect(run2.steps[0]!.diagnostics).toMatch(/== diagnostics for namespace/);
  });

  test("a step with no expectation for the version under test fails loudly", async ({ drill }) => {
    const gap = stub(
      step("only Helm 2 is covered")
        .does(sync())
        .expect(succeeds().when({ helm: "<3" })),
    );
    const r = await executeScenario(gap, target, drill.environment(target));
    expect(r.status).toBe("failed");
    expect(r.steps[0]!.problem).toMatch(/no expectation for helm .* in: outcome/);
    expect(r.steps[0]!.commands.filter((c) => !c.probe)).toEqual([]);
  });
});

describe("while an action runs", () => {
  // An action that creates a labelled ConfigMap and deletes it again at once: it exists for a
  // fraction of a second, far less than a poll interval.
  const blink: Action = {
    label: "kubectl create configmap blink; kubectl delete configmap blink",
    run: async (ctx) => {
      const created = await ctx.runners.kubectl(["create", "configmap", "blink", "--from-literal=a=b"]);
      if (created.exitCode !== 0) return created;
      await ctx.runners.kubectl(["label", "configmap", "blink", "app.kubernetes.io/instance=blink"]);
      return ctx.runners.kubectl(["delete", "configmap", "blink", "--wait=false"]);
    },
  };

  test("a `during` resources check sees an object that existed only briefly, and reports one that never existed", async ({
    drill,
  }) => {
    const seen = stub(
      step("blink")
        .does(blink)
        .whileRunning(resources({ configmap: ["blink"] }, { selector: "app.kubernetes.io/instance=blink" }))
        .expect(succeeds()),
    );
    const r1 = await executeScenario(seen, target, drill.environment(target));
    expect(r1.steps[0]!.checks.find((c) => c.phase === "during")).toMatchObject({
      ok: true,
      observed: "configmap: blink",
    });

    const never = stub(
      step("blink")
        .does(blink)
        .whileRunning(resources({ configmap: ["other"] }, { selector: "app.kubernetes.io/instance=blink" }))
        .expect(succeeds()),
    );
    const r2 = await executeScenario(never, target, drill.environment(target));
    const during = r2.steps[0]!.checks.find((c) => c.phase === "during")!;
    expect(during.ok).toBe(false);
    expect(during.observed).toMatch(
      /^configmap: none — found configmap: \[\] \(\d+\.\d s: watch events configmap \d+; \d+ list\(s\)\)$/,
    );
  });
});

describe("parallel copies", () => {
  // This file imports the catalogue scenario for its definition: its 17 targets are the scenario
  // file's tests, not this file's (registered here they ran twice, on the same node, at once).
  it("importing a catalogue scenario registers none of its targets in the importing file", ({ task }) => {
    expect(task.file.tasks.map((t) => t.name)).not.toContain(`${cleanupOnFail.id} — ${cleanupOnFail.title}`);
    expect(task.file.tasks.map((t) => t.name)).toContain("parallel copies");
  });

  test("two copies of the cleanup-on-fail scenario on one cluster do not interfere", { timeout: 300_000 }, async () => {
    const provided = inject("helmdrill");
    const [a, b] = await Promise.all([openDrill(provided, "parallel-a"), openDrill(provided, "parallel-b")]);
    try {
      const [ra, rb] = await Promise.all([
        executeScenario(cleanupOnFail, target, a.environment(target)),
        executeScenario(cleanupOnFail, target, b.environment(target)),
      ]);
      expect(a.namespace).not.toBe(b.namespace);
      expect([ra.status, rb.status], `${summarizeFailure(ra)}\n${summarizeFailure(rb)}`).toEqual(["passed", "passed"]);
      expect(ra.steps.map((s) => s.status)).toEqual(rb.steps.map((s) => s.status));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
