/**
 * Write-up 000 (helm-cleanup-on-fail-flag), "Scenario 3: Failed Install With Atomic";
 * write-up 002 (Helm Install with Atomic Flag), parts 2–5.
 *
 * "All resources created during install get removed with `--atomic`, and users are able to
 *  carry on with future deploys without issue."
 */
import { defineScenario, fails, history, release, releaseAbsent, resources, step, succeeds } from "../harness/index.ts";
import { sync } from "./shared/write-up-000.ts";
import { fluxTimedOut } from "./shared/flux-wait.ts";

const NAME = "my-release-local-chart";
const ATOMIC = ["--cleanup-on-fail", "--atomic"];
const NOTHING = { serviceaccount: [], service: [], deployment: [] };

export default defineScenario({
  id: "atomic-install-purge",
  title: "Atomic install purges itself",
  summary:
    "With --atomic a failed first install removes the release and every object it created, so the next sync starts clean; later installs and upgrades with --atomic succeed.",
  source: { file: "000_6791ce9c9c9433c6.txt", section: "Scenario 3: Failed Install With Atomic (and 002 parts 2–5)" },
  release: "my-release",
  drivers: ["helm", "helmfile", "flux"],
  steps: [
    step("No release named my-release exists")
      .documents({ outcome: "n/a", text: "<no results>" })
      .expect(releaseAbsent(), resources(NOTHING)),

    step("Install with the Deployment and the Service enabled and --atomic: it fails and purges itself")
      .explain(
        "--atomic implies --wait. When the Deployment is not ready within 20 s, Helm uninstalls the release it just created.",
      )
      .does(sync({ set: { deploymentEnabled: true, serviceEnabled: true }, args: ATOMIC }))
      .whileRunning(resources({ serviceaccount: [NAME], service: [NAME], deployment: [NAME] }))
      .documents({
        outcome: "fails",
        text: "INSTALL FAILED / PURGING CHART / Error: release my-release failed: timed out waiting for the condition / Successfully purged a chart!",
        release: "<no results>",
      })
      .expect(
        fails(
          /release my-release failed, and has been uninstalled due to atomic being set/,
          /context deadline exceeded/,
        )
          .when({ driver: ["helm", "helmfile"], helm: ">=3.12.0 <4" })
          .drift("Helm 3 words it `…has been uninstalled due to atomic being set: context deadline exceeded`"),
        fails(/release my-release failed, and has been uninstalled due to rollback-on-failure being set/)
          .when({ driver: ["helm", "helmfile"], helm: ">=4" })
          .drift("Helm 4 renamed --atomic to --rollback-on-failure, and the message with it"),
        ...fluxTimedOut(
          /InstallFailed: Helm install failed for release \S+\/my-release with chart local-chart@0\.1\.0: /,
          "Flux says --atomic as install.remediation.remediateLastFailure: it uninstalls the failed release and reports both in the HelmRelease's conditions",
        ),
        releaseAbsent(),
      ),

    step("Every resource was deleted 😀")
      .documents({ outcome: "n/a", resources: "No resources found" })
      .expect(resources(NOTHING)),

    step("Install again (nothing enabled) with --atomic: revision 1 deploys")
      .does(sync({ args: ATOMIC }))
      .documents({ outcome: "succeeds", release: "my-release 1 DEPLOYED" })
      .expect(
        succeeds(),
        release({ revision: 1, status: "deployed" }),
        resources({ serviceaccount: [NAME], service: [], deployment: [] }),
      ),

    step("Upgrade enabling the Service with --atomic: revision 2 deploys")
      .does(sync({ set: { serviceEnabled: true }, args: ATOMIC }))
      .documents({ outcome: "succeeds", release: "my-release 2 DEPLOYED" })
      .expect(
        succeeds(),
        history("superseded", "deployed"),
        resources({ serviceaccount: [NAME], service: [NAME], deployment: [] }),
      ),
  ],
});
