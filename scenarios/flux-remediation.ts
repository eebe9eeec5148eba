/**
 * Write-up 000's failed upgrade and failed install, the GitOps way: the same bad Deployment
 * (an image that can never be pulled, a 20 s timeout), but what happens next is the
 * HelmRelease's remediation settings, not flags on a command line. Not in the write-up: it
 * maps each Helm lesson of 000 onto the settings a Flux user writes instead.
 *
 *   upgrade.remediation.strategy: rollback   — a failed upgrade is rolled back (a new revision)
 *   install.remediation.retries: 1           — a failed install is uninstalled and tried again
 *
 * On each flux target: helm-controller 1.4 (Helm 3 library) waits Helm 3's way and says
 * `context deadline exceeded`; helm-controller 1.6 (Helm 4 library) waits with kstatus (its
 * `poller` wait strategy, fluxcd/pkg/ssa's WaitForSet, polling every 5 s): observed, its poll's
 * client rate limiter gives up before the deadline — `client rate limiter Wait returned an error:
 * rate: Wait(n=1) would exceed context deadline` —; a poll that still fits before the deadline
 * ends in `timeout waiting for: [Deployment/<ns>/<name> status: 'InProgress']` instead (which of
 * the two is a matter of milliseconds). What each setting does to the release is the same on both.
 */
import {
  defineScenario,
  fails,
  fluxCondition,
  fluxRelease,
  history,
  kubectl,
  releaseAbsent,
  resources,
  step,
  succeeds,
} from "../harness/index.ts";
import { FLUX_KSTATUS_DRIFT, FLUX_TIMED_OUT } from "./shared/flux-wait.ts";

const RELEASE = "my-release";
const NAME = "my-release-local-chart";
const CHART = { repository: "local-chart", chart: "local-chart", version: "0.1.0" } as const;
const BAD = { deploymentEnabled: true, serviceEnabled: true };
const ONLY_SA = { serviceaccount: [NAME], service: [], deployment: [] };
const NOTHING = { serviceaccount: [], service: [], deployment: [] };
const [TIMED_OUT_14, TIMED_OUT_16] = [FLUX_TIMED_OUT["1.4"], FLUX_TIMED_OUT["1.6"]];
const KSTATUS = FLUX_KSTATUS_DRIFT;
const remediation = (strategy: "rollback" | "uninstall") => ({
  timeout: "20s",
  upgrade: { cleanupOnFail: true, remediation: { retries: 0, remediateLastFailure: true, strategy } },
});

export default defineScenario({
  id: "flux-remediation",
  title: "Flux remediation: a failed upgrade rolled back, a failed install retried",
  summary:
    "Through helm-controller, the failed upgrade of write-up 000 is remediated by the HelmRelease's settings: strategy rollback makes a rollback revision and keeps the release; deleting the HelmRelease uninstalls it; install retries uninstall a failed install and try again, then leave the last failure in place.",
  source: {
    file: "000_6791ce9c9c9433c6.txt",
    section: "Scenarios 1 and 2, with Flux's remediation settings (not in the write-up)",
  },
  release: RELEASE,
  drivers: ["flux"],
  steps: [
    step("The HelmRelease installs local-chart: only the ServiceAccount")
      .does(fluxRelease({ ...CHART, spec: remediation("rollback") }))
      .expect(succeeds(), history(["deployed", "Install complete"]), resources(ONLY_SA)),

    step(
      "Upgrade to the bad Deployment with `upgrade.remediation.strategy: rollback`: it fails, and the controller rolls back",
    )
      .explain(
        "Helm's --atomic, as a setting: the failed revision 2 stays in the history, revision 3 is the rollback to 1, and --cleanup-on-fail (upgrade.cleanupOnFail) removed the new objects.",
      )
      .does(fluxRelease({ ...CHART, values: BAD, spec: remediation("rollback") }))
      .expect(
        fails(
          /Released UpgradeFailed: Helm upgrade failed for release \S+\/my-release with chart local-chart@0\.1\.0: /,
        ),
        fails(TIMED_OUT_14).when({ flux: "1.4" }),
        fails(TIMED_OUT_16).when({ flux: ">=1.6" }).drift(KSTATUS),
        history(["superseded", "Install complete"], ["failed", TIMED_OUT_14], ["deployed", "Rollback to 1"]).when({
          flux: "1.4",
        }),
        history(["superseded", "Install complete"], ["failed", TIMED_OUT_16], ["deployed", "Rollback to 1"])
          .when({ flux: ">=1.6" })
          .drift(KSTATUS),
        fluxCondition("Remediated", "True", "RollbackSucceeded"),
        resources(ONLY_SA),
      ),

    step("Delete the HelmRelease: its finalizer uninstalls the release and every object goes")
      .does(kubectl("delete", "helmreleases.helm.toolkit.fluxcd.io", RELEASE, "--wait", "--timeout=120s"))
      .expect(succeeds(), releaseAbsent(), resources(NOTHING)),

    step(
      "A failing first install with `install.remediation.retries: 1`: uninstalled, tried once more, then left FAILED",
    )
      .explain(
        "The first failed attempt is uninstalled before the retry; the retry fails too and, with remediateLastFailure unset, is not remediated: " +
          "the controller stops (Stalled, `Failed to install after 2 attempt(s)`) and the failed revision 1 stays with every object.",
      )
      .withTimeout(240_000)
      .does(
        fluxRelease({
          ...CHART,
          values: { ...BAD, attempt: 3 },
          spec: { timeout: "20s", install: { remediation: { retries: 1 } } },
          timeoutMs: 240_000,
        }),
      )
      .expect(
        fails(/Released InstallFailed: Helm install failed/),
        fluxCondition("Stalled", "True", "RetriesExceeded", /Failed to install after 2 attempt\(s\)/),
        history(["failed", TIMED_OUT_14]).when({ flux: "1.4" }),
        history(["failed", TIMED_OUT_16]).when({ flux: ">=1.6" }).drift(KSTATUS),
        resources({ serviceaccount: [NAME], service: [NAME], deployment: [NAME] }),
      ),
  ],
});
