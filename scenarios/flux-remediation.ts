/**
 * Write-up 000's failed upgrade and failed install, the GitOps way: the same bad Deployment
 * (an image that can never be pulled, a 20 s timeout), but what happens next is the
 * HelmRelease's remediation settings, not flags on a command line. Not in the write-up: it
 * maps each Helm lesson of 000 onto the settings a Flux user writes instead.
 *
 *   upgrade.remediation.strategy: rollback   — a failed upgrade is rolled back (a new revision)
 *   install.remediation.retries: 1           — a failed install is uninstalled and tried again
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

const RELEASE = "my-release";
const NAME = "my-release-local-chart";
const CHART = { repository: "local-chart", chart: "local-chart", version: "0.1.0" } as const;
const BAD = { deploymentEnabled: true, serviceEnabled: true };
const ONLY_SA = { serviceaccount: [NAME], service: [], deployment: [] };
const NOTHING = { serviceaccount: [], service: [], deployment: [] };
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
          /Released UpgradeFailed: Helm upgrade failed for release \S+\/my-release with chart local-chart@0\.1\.0: .*context deadline exceeded/,
        ),
        history(
          ["superseded", "Install complete"],
          ["failed", /context deadline exceeded/],
          ["deployed", "Rollback to 1"],
        ),
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
        history(["failed", /context deadline exceeded/]),
        resources({ serviceaccount: [NAME], service: [NAME], deployment: [NAME] }),
      ),
  ],
});
