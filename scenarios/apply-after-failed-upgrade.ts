/**
 * Write-up 000 (helm-cleanup-on-fail-flag), "Scenario 1: Failed Upgrade", one step further —
 * and through `helmfile apply`, the way most teams run Helmfile in CI.
 *
 * After the failed upgrade, the pipeline runs again with the same values. `helmfile sync`
 * (either style) retries the upgrade and fails again. `helmfile apply` first asks helm-diff,
 * which compares the values with the newest revision — the failed one — finds no changes and
 * syncs nothing: exit 0, a green pipeline, and the release still FAILED with its objects gone.
 */
import { defineScenario, failsWithExit, history, resources, step, succeeds } from "../harness/index.ts";
import { sync } from "./shared/write-up-000.ts";

const NAME = "my-release-local-chart";
const ARGS = ["--cleanup-on-fail"];
const FAILED_VALUES = { deploymentEnabled: true, serviceEnabled: true };
const SYNC = { style: ["args", "defaults"] } as const;
const APPLY = { style: "apply" } as const;

export default defineScenario({
  id: "apply-after-failed-upgrade",
  title: "helmfile apply after a failed upgrade: nothing to do, still FAILED",
  summary:
    "Re-running a failed upgrade with unchanged values: helmfile sync retries it and fails again; helmfile apply sees no diff against the failed revision, skips the sync and exits 0 while the release stays FAILED.",
  source: {
    file: "000_6791ce9c9c9433c6.txt",
    section: "Scenario 1: Failed Upgrade (re-run through helmfile apply; not in the write-up)",
  },
  release: "my-release",
  drivers: ["helmfile"],
  steps: [
    step("Install: only the ServiceAccount is rendered")
      .does(sync({ args: ARGS }))
      .documents({ outcome: "succeeds", release: "my-release 1 DEPLOYED" })
      .expect(succeeds(), history("deployed"), resources({ serviceaccount: [NAME], service: [], deployment: [] })),

    step("Upgrade enabling the Service and the Deployment: the bad image fails it after the 20 s timeout")
      .does(sync({ set: FAILED_VALUES, args: ARGS }))
      .documents({
        outcome: "fails",
        text: "Error: UPGRADE FAILED: timed out waiting for the condition",
        release: "my-release 2 FAILED",
      })
      .expect(
        failsWithExit(1, /failed processing release my-release/, /UPGRADE FAILED/),
        history("deployed", "failed"),
        resources({ serviceaccount: [NAME], service: [], deployment: [] }),
      ),

    step("The pipeline runs again with the same values")
      .explain(
        "sync retries the upgrade: revision 3 fails the same way. apply runs `helm diff upgrade` first; the values equal revision 2's " +
          "(the failed one), so there is nothing to sync — exit 0, no new revision, the release stays FAILED and the Service and Deployment stay deleted.",
      )
      .does(sync({ set: FAILED_VALUES, args: ARGS }))
      .documents({ outcome: "n/a" })
      .expect(
        failsWithExit(1, /failed processing release my-release/, /UPGRADE FAILED/).when(SYNC),
        history("deployed", "failed", "failed").when(SYNC),
        succeeds()
          .when(APPLY)
          .drift(
            "helmfile apply compares with the failed revision, finds no changes and skips the sync: exit 0 while the release stays FAILED",
          ),
        history("deployed", "failed").when(APPLY),
        resources({ serviceaccount: [NAME], service: [], deployment: [] }),
      ),
  ],
});
