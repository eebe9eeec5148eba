/**
 * Write-up 000 (helm-cleanup-on-fail-flag), "Scenario 1: Failed Upgrade".
 *
 * "New resources created during failed upgrade get rolled back, it is possible to upgrade
 *  from there." An install renders only a ServiceAccount; an upgrade that adds a Service and
 * a Deployment with an unpullable image times out after 20 s; `--cleanup-on-fail` deletes
 * the two new objects; the next upgrade (Service only) succeeds as revision 3.
 */
import {
  defineScenario,
  exitsWith,
  fails,
  failsWithExit,
  history,
  release,
  resources,
  step,
  succeeds,
} from "../harness/index.ts";
import { diff, sync } from "./shared/write-up-000.ts";
import { fluxTimedOut } from "./shared/flux-wait.ts";

const NAME = "my-release-local-chart";
const ARGS = ["--cleanup-on-fail"];
const FAILED_VALUES = { deploymentEnabled: true, serviceEnabled: true };
const NO_DIFF = "helm-diff compares with the newest revision, the failed one, not with what runs in the cluster";
const CLI_DRIVERS = { driver: ["helm", "helmfile"] } as const;
/** Through Flux, a diff from the CLI never comes out clean: helm-controller's post-renderer labels every object it applies. */
const fluxDiff = () =>
  exitsWith(2, /helm\.toolkit\.fluxcd\.io\/name/)
    .when({ driver: "flux" })
    .drift(
      "helm-controller labels every object it applies (helm.toolkit.fluxcd.io/name, /namespace); `helm diff` from the CLI renders without them, so it reports changes for a release Flux manages",
    );

export default defineScenario({
  id: "failed-upgrade-cleanup-on-fail",
  title: "Failed upgrade cleaned up by --cleanup-on-fail",
  summary:
    "A failed upgrade leaves the release FAILED at revision 2, but --cleanup-on-fail deletes the objects that revision created, so the next upgrade goes through as revision 3.",
  source: { file: "000_6791ce9c9c9433c6.txt", section: "Scenario 1: Failed Upgrade" },
  release: "my-release",
  drivers: ["helm", "helmfile", "flux"],
  steps: [
    step("Install: only the ServiceAccount is rendered")
      .explain(
        "With both toggles off, local-chart renders just a ServiceAccount. `helmfile sync` (or `helm upgrade --install`) installs revision 1.",
      )
      .does(sync({ args: ARGS }))
      .documents({ outcome: "succeeds", release: "my-release 1 DEPLOYED" })
      .expect(
        succeeds(),
        release({ revision: 1, status: "deployed" }),
        resources({ serviceaccount: [NAME], service: [], deployment: [] }),
      ),

    step("Upgrade enabling the Service and the Deployment: the bad image fails it after the 20 s timeout")
      .explain(
        "The Deployment's image can never be pulled, so Helm's --wait gives up after 20 s and marks revision 2 failed. " +
          "While Helm waits, the new Service and Deployment exist — the write-up watched them from a second shell.",
      )
      .does(sync({ set: { deploymentEnabled: true, serviceEnabled: true }, args: ARGS }))
      .whileRunning(resources({ serviceaccount: [NAME], service: [NAME], deployment: [NAME] }))
      .documents({
        outcome: "fails",
        text: "Error: UPGRADE FAILED: timed out waiting for the condition",
        release: "my-release 2 FAILED",
      })
      .expect(
        fails(/UPGRADE FAILED/).when({ driver: "helm" }),
        fails(/UPGRADE FAILED: context deadline exceeded/)
          .when({ driver: ["helm", "helmfile"], helm: ">=3.12.0 <4" })
          .drift("Helm ≥3.12 reports `context deadline exceeded` instead of `timed out waiting for the condition`"),
        fails(/resource Deployment\/\S+\/my-release-local-chart not ready/)
          .when({ ...CLI_DRIVERS, helm: ">=4" })
          .drift("Helm 4's kstatus waiter names the Deployment that was not ready"),
        // helmfile exits 1 when a release fails (2 is --detailed-exitcode with changes, 3 no release matched).
        failsWithExit(1, /failed processing release my-release/, /UPGRADE FAILED/).when({ driver: "helmfile" }),
        // helmfile's failed-releases table, as the write-up's 0.106.3 printed it — retitled in 1.x.
        fails(/^FAILED RELEASES:$/m).when({ driver: "helmfile", helmfile: "<1.0.0" }),
        fails(/^=+ Failed Releases =+$/m)
          .when({ driver: "helmfile", helmfile: ">=1.7.0" })
          .drift("helmfile 1.x retitled the failed-releases table `==== Failed Releases ====`"),
        ...fluxTimedOut(
          /Released UpgradeFailed: Helm upgrade failed for release \S+\/my-release with chart local-chart@0\.1\.0: /,
          "Flux reports the failure in the HelmRelease's conditions (Released=False UpgradeFailed, Stalled=True RetriesExceeded) with Helm's own error",
        ),
        history("deployed", "failed"),
      ),

    step("The new Service and Deployment no longer exist: --cleanup-on-fail removed them")
      .documents({ outcome: "n/a", resources: "serviceaccount/my-release-local-chart only" })
      .expect(resources({ serviceaccount: [NAME], service: [], deployment: [] })),

    step("A CI gate asks `diff --detailed-exitcode` with the failed upgrade's values: exit 0, no changes")
      .explain(
        "Not in the write-up; what a pipeline running `helmfile diff --detailed-exitcode` (or `helm diff upgrade`) as a gate sees now. " +
          "The release is FAILED and --cleanup-on-fail deleted the Service and the Deployment, yet the diff reports nothing to do: " +
          `${NO_DIFF}. So \`helmfile apply\` with these values would not even try (see apply-after-failed-upgrade).`,
      )
      .does(diff({ set: FAILED_VALUES }))
      .documents({ outcome: "n/a" })
      .expect(
        exitsWith(0).when(CLI_DRIVERS),
        fluxDiff(),
        history("deployed", "failed"),
        resources({ serviceaccount: [NAME], service: [], deployment: [] }),
      ),

    step("Upgrade enabling only the Service: revision 3 deploys")
      .does(sync({ set: { serviceEnabled: true }, args: ARGS }))
      .documents({ outcome: "succeeds", release: "my-release 3 DEPLOYED" })
      .expect(
        succeeds(),
        history("superseded", "failed", "deployed"),
        resources({ serviceaccount: [NAME], service: [NAME], deployment: [] }),
      ),

    step("`diff --detailed-exitcode` with unchanged values (Service only): exit 0")
      .explain(
        "With revision 3 deployed, the same values diff clean (0); the next step enables the Deployment, a change (2). Read-only: nothing is upgraded.",
      )
      .does(diff({ set: { serviceEnabled: true } }))
      .documents({ outcome: "n/a" })
      .expect(exitsWith(0).when(CLI_DRIVERS), fluxDiff(), history("superseded", "failed", "deployed")),

    step("`diff --detailed-exitcode` with the Deployment enabled: exit 2, changes")
      .does(diff({ set: FAILED_VALUES }))
      .documents({ outcome: "n/a" })
      .expect(exitsWith(2, /deployment/i), history("superseded", "failed", "deployed")),

    step('`diff --detailed-exitcode` with values that break the chart: exit 1, an error — not "changes"')
      .explain(
        "A typo in the pipeline's `--set` (`image=broken` where the chart expects `image.repository`) makes the template fail. " +
          "A gate must tell this apart from exit 2: 1 means the diff could not be computed at all. Nothing is upgraded.",
      )
      .does(diff({ set: { deploymentEnabled: true, image: "broken" } }))
      .documents({ outcome: "n/a" })
      .expect(exitsWith(1, /can't evaluate field repository/), history("superseded", "failed", "deployed")),
  ],
});
