/**
 * Write-up 001 ("Failing end 2 end tests in staging") and 003 (GitOps) together: the chart's
 * `helm test` as the gate of a GitOps upgrade. With `test.enable: true`, helm-controller runs the
 * chart's test hooks after every install and upgrade and counts a failing test as a failed
 * release — so the HelmRelease's remediation undoes an upgrade whose smoke test fails, unless
 * `test.ignoreFailures` says the test only informs. Not in the write-ups: it shows which Helm
 * state each setting leaves behind.
 *
 * podinfo's test Pod fetches the page through the Service and looks for a text (the build by
 * default); `smokeTest.expect` set to a text the page never shows makes it fail.
 *
 * helm-controller 1.4 (Helm 3 library) reports a failed test as Helm 3 does (`pod <name>
 * failed`); helm-controller 1.6 (Helm 4 library) watches test hooks with kstatus and says which
 * object ended Failed: `failed early due to stalled resources: [Pod/<ns>/<name> status: 'Failed']`.
 */
import {
  defineScenario,
  fails,
  fluxCondition,
  fluxRelease,
  helm,
  history,
  podsInState,
  release,
  step,
  succeeds,
} from "../harness/index.ts";

const RELEASE = "podinfo-dev";
const REPOSITORY = "gitops";
const SMOKE = "app.kubernetes.io/name=podinfo-smoke";
const values = (build: string, expect = "") => ({
  image: { repository: "helmdrill.local/busybox", tag: "1.35.0" },
  build,
  replicaCount: 1,
  smokeTest: { expect },
});
const POD_FAILED_14 = /pod podinfo-dev-smoke failed/;
const POD_FAILED_16 = /failed early due to stalled resources: \[Pod\/\S+\/podinfo-dev-smoke status: 'Failed'\]/;
const KSTATUS =
  "helm-controller 1.6 (Helm 4 library) watches the test hook with kstatus: it names the Pod whose status is Failed, where Helm 3 said pod … failed";
const gated = (extra: Record<string, unknown> = {}) => ({
  timeout: "60s",
  test: { enable: true, ...extra },
  upgrade: { remediation: { retries: 0, remediateLastFailure: true, strategy: "rollback" } },
});

export default defineScenario({
  id: "flux-test-gate",
  title: "Flux: helm test gates an upgrade",
  summary:
    "With `test.enable: true` helm-controller runs podinfo's smoke test after each install and upgrade. An upgrade whose test fails is rolled back (rollback strategy) although Helm's history only shows `superseded` / `Rollback to 1`, and `helm status` then reports r1's passing test; with `test.ignoreFailures: true` the same upgrade stays deployed and only TestSuccess=False tells.",
  source: {
    file: "001 + 003",
    section: "the smoke test of 001 as the gate of 003's GitOps upgrades (not in the write-ups)",
  },
  release: RELEASE,
  drivers: ["flux"],
  steps: [
    step("Install podinfo 0.2.0 with `test.enable: true`: the controller runs the chart's test after the install")
      .does(
        fluxRelease({
          repository: REPOSITORY,
          chart: "podinfo",
          version: "0.2.0",
          values: values("dev-kb9lm91e"),
          spec: gated(),
        }),
      )
      .expect(
        succeeds(),
        history(["deployed", "Install complete"]),
        fluxCondition("TestSuccess", "True"),
        podsInState(SMOKE, "Succeeded"),
      ),

    step("Upgrade to 0.2.1 whose smoke test fails: the controller counts the failed test and rolls back")
      .does(
        fluxRelease({
          repository: REPOSITORY,
          chart: "podinfo",
          version: "0.2.1",
          values: values("dev-9ij63o4c", "never shown"),
          spec: gated(),
        }),
      )
      .explain(
        "The upgrade itself succeeds (revision 2 deploys); the test Pod then finds no `never shown` on the page and fails. " +
          "With remediateLastFailure and strategy rollback, the failed test is the failure that gets remediated: revision 3 rolls back to 1.",
      )
      .expect(
        fails(/TestSuccess TestFailed: Helm test failed for release \S+\/podinfo-dev\.v2 with chart podinfo@0\.2\.1: /),
        fails(POD_FAILED_14).when({ flux: "1.4" }),
        fails(POD_FAILED_16).when({ flux: ">=1.6" }).drift(KSTATUS),
        fluxCondition("Remediated", "True", "RollbackSucceeded"),
        // Helm's history does not know the test failed: revision 2 is just superseded by the rollback.
        history(["superseded", "Install complete"], ["superseded", "Upgrade complete"], ["deployed", "Rollback to 1"]),
        release({ chart: "podinfo-0.2.0" }),
        podsInState(SMOKE, "Failed", "Error"),
      ),

    step("`helm status podinfo-dev` after the rollback: the test suite shows the test that passed")
      .explain(
        "The rollback revision copies revision 1's hooks with their last run, so `helm status` reports the smoke test as Succeeded although the last test run — of revision 2 — failed and its Pod is still there in Error.",
      )
      .does(helm("status", RELEASE))
      .expect(succeeds(/REVISION: 3/, /TEST SUITE:\s+podinfo-dev-smoke[\s\S]*Phase:\s+Succeeded/)),

    step("The same upgrade with `test.ignoreFailures: true`: the test fails, the upgrade stays")
      .explain(
        "The failed test no longer counts as a failed release: nothing is remediated, Ready is True, and only TestSuccess=False says the smoke test failed.",
      )
      .does(
        fluxRelease({
          repository: REPOSITORY,
          chart: "podinfo",
          version: "0.2.1",
          values: values("dev-9ij63o4c", "never shown"),
          spec: gated({ ignoreFailures: true }),
        }),
      )
      .expect(
        succeeds(),
        fluxCondition("Ready", "True"),
        fluxCondition("TestSuccess", "False", "TestFailed", POD_FAILED_14).when({ flux: "1.4" }),
        fluxCondition("TestSuccess", "False", "TestFailed", POD_FAILED_16).when({ flux: ">=1.6" }).drift(KSTATUS),
        history(
          ["superseded", "Install complete"],
          ["superseded", "Upgrade complete"],
          ["superseded", "Rollback to 1"],
          ["deployed", "Upgrade complete"],
        ),
        release({ chart: "podinfo-0.2.1" }),
        podsInState(SMOKE, "Failed", "Error"),
      ),
  ],
});
