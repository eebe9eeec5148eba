/**
 * What failure drills on real charts need from a step, each on the real cluster: cancelling a
 * running command (after a delay, or once a condition holds) and asserting the release state
 * it leaves; collectors that run only when a step fails; and a `finally` that always runs.
 */
import { describe, expect, inject } from "vitest";
import { cancelled, fails, history, resources, succeeds } from "../../harness/dsl/checks.ts";
import { defineScenario, executeScenario, summarizeFailure } from "../../harness/dsl/scenario.ts";
import { cancel, fixture, helm, kubectl, step, type Step } from "../../harness/dsl/step.ts";
import { drillTest as test } from "../../harness/vitest/fixtures.ts";

const helmVersion = inject("helmdrill").config.helmVersions.at(-1)!;
const target = { driver: "helm" as const, helm: helmVersion };
const NAME = "my-release-local-chart";
const scenario = (...steps: Step[]) =>
  defineScenario({
    id: "lifecycle",
    title: "step lifecycle",
    summary: "",
    source: { file: "-", section: "-" },
    release: "my-release",
    steps,
  });
const install = (...extra: string[]) => helm("upgrade", "--install", "my-release", fixture("local-chart"), ...extra);
const BAD = ["--set", "deploymentEnabled=true", "--wait", "--timeout", "120s"];

describe("cancelling a running command", () => {
  test("SIGTERM after a delay: Helm cancels its wait and records the release as failed", async ({ drill }) => {
    const run = await executeScenario(
      scenario(
        step("a CI job is cancelled 8 s into `helm upgrade --install --wait`")
          .does(cancel(install(...BAD), { after: 8000 }))
          .expect(cancelled("SIGTERM"), history("failed"), resources({ deployment: [NAME] })),
      ),
      target,
      drill.environment(target),
    );
    expect(run.status, summarizeFailure(run)).toBe("passed");
    // Helm catches SIGTERM, cancels its wait and exits by itself: not killed by the signal.
    const command = run.steps[0]!.commands.find((c) => !c.probe)!;
    expect(command.exitCode).toBe(1);
    expect(command.stdout + command.stderr).toMatch(/Release my-release has been cancelled|context canceled/);
  });

  test("SIGKILL once the Deployment exists: the release is stuck pending and the next upgrade is refused", async ({
    drill,
  }) => {
    const run = await executeScenario(
      scenario(
        step("install, then upgrade; the runner is killed once the upgrade's Deployment exists")
          .does(install())
          .expect(succeeds(), history("deployed")),
        step("the runner dies mid-upgrade")
          .does(cancel(install(...BAD), { when: resources({ deployment: [NAME] }), signal: "SIGKILL" }))
          .expect(cancelled("SIGKILL"), history("deployed", "pending-upgrade")),
        step("the next pipeline run is refused while the release is pending")
          .does(install(...BAD))
          .expect(
            fails(/another operation \(install\/upgrade\/rollback\) is in progress/),
            history("deployed", "pending-upgrade"),
          ),
      ),
      target,
      drill.environment(target),
    );
    expect(run.status, summarizeFailure(run)).toBe("passed");
    expect(run.steps[1]!.checks[0]!.observed).toMatch(/^cancelled with SIGKILL after \d+\.\d s \(exit 137\)$/);
  });

  test("a cancel that comes too late is reported as such", async ({ drill }) => {
    const run = await executeScenario(
      scenario(
        step("install finishes before the cancel")
          .does(cancel(install(), { after: 120_000 }))
          .expect(cancelled()),
      ),
      target,
      drill.environment(target),
    );
    expect(run.steps[0]!.checks[0]).toMatchObject({
      ok: false,
      observed: "ran to its end (exit 0) before it was cancelled",
    });
  });
});

describe("collectors and finally", () => {
  test("collectors run only when the step fails, and their output is attached", async ({ drill }) => {
    const run = await executeScenario(
      scenario(
        step("install (passes: the collector does not run)")
          .does(install())
          .collectOnFailure(kubectl("get", "serviceaccounts"))
          .expect(succeeds()),
        step("claims a Deployment that is not there (fails: the collector runs)")
          .does(kubectl("get", "serviceaccounts"))
          .collectOnFailure(kubectl("get", "serviceaccounts", "-o", "name"), kubectl("describe", "deployment", "nope"))
          .expect(resources({ deployment: ["nope"] }, { timeoutMs: 2000 })),
      ),
      target,
      drill.environment(target),
    );
    expect(run.steps[0]!.collected).toBeUndefined();
    const collected = run.steps[1]!.collected!;
    expect(collected.map((c) => c.label)).toEqual([
      "kubectl get serviceaccounts -o name",
      "kubectl describe deployment nope",
    ]);
    expect(collected[0]!.output).toContain(`serviceaccount/${NAME}`);
    expect(collected[1]).toMatchObject({ exitCode: 1 });
    expect(collected[1]!.output).toMatch(/NotFound|not found/);
    // Collector commands are not the step's commands.
    expect(run.steps[1]!.commands.filter((c) => !c.probe).map((c) => c.argv.slice(0, 2).join(" "))).toEqual([
      "kubectl get",
    ]);
  });

  test("a finally runs after a failed step, and the snapshot shows its effect", async ({ drill }) => {
    const run = await executeScenario(
      scenario(
        step("install").does(install()).expect(succeeds()),
        step("an upgrade that fails, then `finally` uninstalls")
          .does(install("--set", "deploymentEnabled=true", "--wait", "--timeout", "5s"))
          .finally(helm("uninstall", "my-release", "--wait"))
          .expect(succeeds()),
      ),
      target,
      drill.environment(target),
    );
    const s = run.steps[1]!;
    expect(s.status).toBe("failed");
    expect(s.commands.filter((c) => !c.probe).map((c) => c.argv[1])).toEqual(["upgrade", "uninstall"]);
    expect(s.release?.exists).toBe(false);
    expect(run.steps[1]!.checks.map((c) => c.ok)).toEqual([false]);
  });
});
