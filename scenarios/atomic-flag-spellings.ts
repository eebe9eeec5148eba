/**
 * Write-up 002 (Helm Install with Atomic Flag), "Part 2: Solution with Atomic Flag" and
 * "Part 4: --atomic Automatically Enables --wait", on `helm install` itself.
 *
 * Helm 4 renamed `--atomic` to `--rollback-on-failure`. This scenario pins down what each
 * spelling does on `helm install` for every Helm version: the failed install must purge
 * itself, or the flag must be rejected before anything is created.
 */
import { defineScenario, fails, fixture, helm, releaseAbsent, resources, step } from "../harness/index.ts";

const NOTHING = { serviceaccount: [], service: [], deployment: [] };
const NAME = "my-release-local-chart";

export default defineScenario({
  id: "atomic-flag-spellings",
  title: "helm install --atomic and --rollback-on-failure",
  summary:
    "`helm install --atomic` purges a failed install on every Helm version (a deprecated alias on Helm 4); `--rollback-on-failure` does the same on Helm 4 and is an unknown flag on Helm 3.",
  source: {
    file: "002_a35d70069ababb80.txt",
    section: "Part 2: Solution with Atomic Flag; Part 4: --atomic Automatically Enables --wait",
  },
  release: "my-release",
  steps: [
    step("`helm install --atomic` of a release whose Deployment can never be ready: purged after the timeout")
      .explain(
        "--atomic implies --wait: the install waits for the Deployment, gives up after 20 s, and uninstalls everything it created.",
      )
      .does(
        helm(
          "install",
          "my-release",
          fixture("local-chart"),
          "--set",
          "deploymentEnabled=true",
          "--set",
          "serviceEnabled=true",
          "--atomic",
          "--timeout",
          "20s",
        ),
      )
      .whileRunning(resources({ serviceaccount: [NAME], service: [NAME], deployment: [NAME] }))
      .documents({ outcome: "fails", text: "INSTALL FAILED / PURGING CHART", release: "<no results>" })
      .expect(
        fails(
          /INSTALLATION FAILED: release my-release failed, and has been uninstalled due to atomic being set: context deadline exceeded/,
        )
          .when({ helm: ">=3.12.0 <4" })
          .drift(
            "Helm 3 prints `INSTALLATION FAILED: … uninstalled due to atomic being set: context deadline exceeded`",
          ),
        fails(/has been uninstalled due to rollback-on-failure being set/)
          .when({ helm: ">=4.1.2" })
          .drift(
            "on Helm 4 --atomic is a deprecated alias of --rollback-on-failure, and the message names the new flag",
          ),
        releaseAbsent(),
        resources(NOTHING),
      ),

    step("`helm install --rollback-on-failure`: Helm 4's spelling")
      .does(
        helm(
          "install",
          "my-release",
          fixture("local-chart"),
          "--set",
          "deploymentEnabled=true",
          "--rollback-on-failure",
          "--timeout",
          "20s",
        ),
      )
      .documents({ outcome: "n/a", text: "(no such flag in Helm 2)" })
      .expect(
        fails("unknown flag: --rollback-on-failure").when({ helm: "<4" }).drift("Helm 3 has no --rollback-on-failure"),
        fails(/has been uninstalled due to rollback-on-failure being set/)
          .when({ helm: ">=4" })
          .drift("Helm 4's new name for --atomic"),
        releaseAbsent(),
        resources(NOTHING),
      ),
  ],
});
