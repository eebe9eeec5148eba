/**
 * The DSL's expectations can fail: wrong expectations against the real cluster produce a
 * failed step that reports what was really observed. And two copies of the same scenario
 * run side by side on one cluster without interfering.
 */
import { describe, expect, inject } from "vitest";
import { fails, release, resources, succeeds } from "../../harness/dsl/checks.ts";
import { defineScenario, executeScenario } from "../../harness/dsl/scenario.ts";
import { step, type Step } from "../../harness/dsl/step.ts";
import { sync } from "../../harness/dsl/sync.ts";
import { openDrill } from "../../harness/vitest/drill.ts";
import { drillTest as test } from "../../harness/vitest/fixtures.ts";

import cleanupOnFail from "../../scenarios/failed-upgrade-cleanup-on-fail.ts";

const helmVersion = inject("helmdrill").config.helmVersions.at(-1)!;
const target = { driver: "helm" as const, helm: helmVersion };
const stub = (...steps: Step[]) =>
  defineScenario({ id: "honesty", title: "wrong on purpose", summary: "", source: { file: "-", section: "-" }, release: "my-release", steps });

describe("expectations that do not hold fail, with the real observation", () => {
  test("a wrong outcome, release state and resource set are each reported", async ({ drill }) => {
    const wrong = stub(step("install succeeds, but we claim it fails").does(sync()).expect(fails(/UPGRADE FAILED/)));
    const run1 = await executeScenario(wrong, target, drill.environment(target));
    expect(run1.status).toBe("failed");
    expect(run1.steps[0]!.checks[0]).toMatchObject({ ok: false, observed: "succeeded (exit 0)" });

    const wrongState = stub(step("claims revision 7 and a Deployment").expect(release({ revision: 7 }), resources({ serviceaccount: [], deployment: ["nope"] }, { timeoutMs: 3000 })));
    const run2 = await executeScenario(wrongState, target, drill.environment(target));
    const [rel, res] = run2.steps[0]!.checks;
    expect(rel).toMatchObject({ ok: false });
    expect(rel!.observed).toMatch(/r1 deployed .*current revision is 1/);
    expect(res).toMatchObject({ ok: false, observed: "serviceaccount: my-release-local-chart; deployment: none" });
    expect(run2.steps[0]!.diagnostics).toMatch(/== diagnostics for namespace/);
  });

  test("a step with no expectation for the version under test fails loudly", async ({ drill }) => {
    const gap = stub(step("only Helm 2 is covered").does(sync()).expect(succeeds().when({ helm: "<3" })));
    const r = await executeScenario(gap, target, drill.environment(target));
    expect(r.status).toBe("failed");
    expect(r.steps[0]!.problem).toMatch(/no expectation for helm .* in: outcome/);
    expect(r.steps[0]!.commands.filter((c) => !c.probe)).toEqual([]);
  });
});

describe("parallel copies", () => {
  test("two copies of the cleanup-on-fail scenario on one cluster do not interfere", { timeout: 300_000 }, async () => {
    const provided = inject("helmdrill");
    const [a, b] = await Promise.all([openDrill(provided, "parallel-a"), openDrill(provided, "parallel-b")]);
    try {
      const [ra, rb] = await Promise.all([
        executeScenario(cleanupOnFail, target, a.environment(target)),
        executeScenario(cleanupOnFail, target, b.environment(target)),
      ]);
      expect(a.namespace).not.toBe(b.namespace);
      expect([ra.status, rb.status]).toEqual(["passed", "passed"]);
      expect(ra.steps.map((s) => s.status)).toEqual(rb.steps.map((s) => s.status));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
