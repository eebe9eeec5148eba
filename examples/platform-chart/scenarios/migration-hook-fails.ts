/**
 * The pre-upgrade migration fails: Helm stops before touching any release object, marks the
 * revision failed and keeps the Job so its logs explain why. A fixed migration then upgrades.
 */
import { defineScenario, fails, helm, history, jobFailed, logsShow, resources, step, succeeds } from "helmdrill";
import { databaseAt, installV1, MIGRATION_JOB, RELEASE, V1_OBJECTS, V2, V2_OBJECTS } from "../lib/inventory.ts";

export default defineScenario({
  id: "migration-hook-fails",
  title: "A failing migration hook stops the upgrade",
  summary:
    "Upgrading to 2.0.0 with a migration that exits 1: the pre-upgrade Job fails (BackoffLimitExceeded), the upgrade fails, nothing of 2.0.0 is applied and the database stays at 1.0.0; the Job's log shows the error. With the migration fixed the upgrade succeeds.",
  source: { file: "docs/upgrade-runbook.md", section: "when the migration fails" },
  release: RELEASE,
  steps: [
    installV1(),

    step("Upgrade to 2.0.0 with a failing migration (--set migration.fail=true)")
      .does(helm("upgrade", RELEASE, V2, "--set", "migration.fail=true", "--wait", "--timeout", "2m"))
      .documents({ outcome: "fails", text: "pre-upgrade hooks failed", release: "inventory r2 failed" })
      .expect(
        fails(/UPGRADE FAILED/, /pre-upgrade hooks failed/),
        jobFailed(MIGRATION_JOB, "BackoffLimitExceeded"),
        logsShow(`job=${MIGRATION_JOB}`, "ERROR: column sku already exists"),
        history("deployed", "failed"),
        resources(V1_OBJECTS),
        databaseAt("1.0.0", 1),
      ),

    step("Upgrade again with the migration fixed: the old Job is replaced and revision 3 is deployed")
      .does(helm("upgrade", RELEASE, V2, "--wait", "--timeout", "3m"))
      .documents({ outcome: "succeeds", release: "inventory r3 deployed" })
      .expect(succeeds(), history("superseded", "failed", "deployed"), resources(V2_OBJECTS), databaseAt("2.0.0", 2)),
  ],
});
