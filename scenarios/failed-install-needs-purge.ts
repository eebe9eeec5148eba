/**
 * Write-up 000 (helm-cleanup-on-fail-flag), "Scenario 2: Failed Install".
 *
 * "All resources created during install get left - no rollbacks. Helm delete required to run
 *  `helmfile sync` successfully." With Helm 2.16 a failed *first* install blocked every later
 * sync with `"my-release" has no deployed releases` until someone purged it. Helm ≥3.3
 * upgrades over a failed first install instead — the most important drift in the catalogue.
 */
import {
  defineScenario,
  fails,
  helm,
  history,
  podsInState,
  releaseAbsent,
  resources,
  step,
  succeeds,
} from "../harness/index.ts";
import { purge, sync } from "./shared/write-up-000.ts";
import { fluxTimedOut } from "./shared/flux-wait.ts";

const NAME = "my-release-local-chart";
const ARGS = ["--cleanup-on-fail"];
const POD_SELECTOR = "app.kubernetes.io/instance=my-release";

export default defineScenario({
  id: "failed-install-needs-purge",
  title: "Failed first install that needs a purge",
  summary:
    "A first install that fails leaves a FAILED release and all its objects behind. The write-up (Helm 2.16) could not sync again until `helm delete --purge`; today's Helm upgrades over it.",
  source: { file: "000_6791ce9c9c9433c6.txt", section: "Scenario 2: Failed Install" },
  release: "my-release",
  drivers: ["helm", "helmfile", "flux"],
  steps: [
    step("`helm ls -a my-release`: no release of that name exists yet")
      .explain(
        "The write-up first makes sure no old release is left. Its Helm 2 command no longer parses in Helm 3 or 4; the release checks below ask helm history and Helm's storage Secrets instead.",
      )
      .does(helm("ls", "-a", "my-release"))
      .documents({ outcome: "succeeds", text: "<no results>" })
      .expect(
        fails('"helm list" accepts no arguments')
          .when({ helm: "<4" })
          .drift("Helm 3 removed `helm ls <name>`; filter with `helm ls --filter`"),
        fails("unknown shorthand flag: 'a' in -a")
          .when({ helm: ">=4" })
          .drift("Helm 4 removed `helm ls -a` (all states are listed by default)"),
        releaseAbsent(),
        resources({ serviceaccount: [], service: [], deployment: [] }),
      ),

    step("Install with the Deployment and the Service enabled: the first install fails after 20 s")
      .does(sync({ set: { deploymentEnabled: true, serviceEnabled: true }, args: ARGS }))
      .documents({ outcome: "fails", release: "my-release 1 FAILED" })
      .expect(
        // `upgrade --install` taking the install path prints no "INSTALLATION FAILED:" prefix.
        fails(/^\s*Error: context deadline exceeded$/m).when({ driver: ["helm", "helmfile"], helm: ">=3.12.0 <4" }),
        ...fluxTimedOut(
          /Released InstallFailed: Helm install failed for release \S+\/my-release with chart local-chart@0\.1\.0: /,
          "Flux reports the failed install in the HelmRelease's conditions (Released=False InstallFailed) with Helm's own error",
        ),
        fails(/^\s*Error: resource Deployment\/\S+\/my-release-local-chart not ready/m).when({
          driver: ["helm", "helmfile"],
          helm: ">=4",
        }),
        history("failed"),
      ),

    step("All resources created during the failed install are still there ☹️")
      .explain("--cleanup-on-fail only applies to upgrades: nothing deletes what a failed install created.")
      .documents({
        outcome: "n/a",
        resources: "service, serviceaccount and deployment my-release-local-chart (0/1 ready)",
      })
      .expect(
        resources({ serviceaccount: [NAME], service: [NAME], deployment: [NAME] }),
        podsInState(POD_SELECTOR, /ErrImagePull|ImagePullBackOff/),
      ),

    step("Sync again with only the Service: Helm 2 refused (`has no deployed releases`); Helm ≥3.3 upgrades")
      .explain(
        "This is what made the write-up's pipeline stick: every later sync failed until someone purged the release. " +
          "Helm 3.3 changed `upgrade` to proceed when the only revision is a failed install, so the sync now succeeds as revision 2 and the Deployment is removed.",
      )
      .does(sync({ set: { serviceEnabled: true }, args: ARGS }))
      .documents({
        outcome: "fails",
        text: 'Error: UPGRADE FAILED: "my-release" has no deployed releases',
        release: "my-release 1 FAILED",
      })
      .expect(
        succeeds()
          .when({ helm: ">=3.3.0" })
          .drift(
            "since Helm 3.3 an upgrade over a failed first install proceeds instead of failing with `has no deployed releases`",
          ),
        history("superseded", "deployed").when({ helm: ">=3.3.0" }),
        resources({ serviceaccount: [NAME], service: [NAME], deployment: [] }).when({ helm: ">=3.3.0" }),
      ),

    step("Purge the release: every resource is removed")
      .does(purge())
      .documents({ outcome: "succeeds", text: 'release "my-release" deleted', resources: "No resources found" })
      .expect(succeeds(), releaseAbsent(), resources({ serviceaccount: [], service: [], deployment: [] })),

    step("Install again with only the Service: revision 1 deploys")
      .does(sync({ set: { serviceEnabled: true }, args: ARGS }))
      .documents({ outcome: "succeeds", release: "my-release 1 DEPLOYED" })
      .expect(succeeds(), history("deployed"), resources({ serviceaccount: [NAME], service: [NAME], deployment: [] })),
  ],
});
