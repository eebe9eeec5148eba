/**
 * The upgrade every environment takes next: 1.0.0 → 2.0.0. The migration Job runs first, then
 * the new objects appear and the database scales to two replicas of 2.0.0.
 */
import { defineScenario, helm, history, jobComplete, logsShow, object, resources, step, succeeds } from "helmdrill";
import { databaseAt, installV1, MIGRATION_JOB, RELEASE, V2, V2_OBJECTS } from "../lib/inventory.ts";

export default defineScenario({
  id: "upgrade-v1-to-v2",
  title: "inventory 1.0.0 → 2.0.0 upgrades cleanly",
  summary:
    "Install 1.0.0, upgrade to 2.0.0 with --wait: the pre-upgrade migration completes, the API Service, Ingress and hourly Backup appear, and the database runs two ready replicas of 2.0.0.",
  source: { file: "docs/upgrade-runbook.md", section: "1.0.0 → 2.0.0" },
  release: RELEASE,
  steps: [
    installV1(),

    step("`helm upgrade inventory ./charts/inventory/2.0.0 --wait`: migration first, then the 2.0.0 objects")
      .does(helm("upgrade", RELEASE, V2, "--wait", "--timeout", "3m"))
      .documents({
        outcome: "succeeds",
        release: "inventory r2 deployed",
        resources: "api Service, Ingress, hourly Backup added",
      })
      .expect(
        succeeds(),
        history("superseded", "deployed"),
        jobComplete(MIGRATION_JOB),
        logsShow(`job=${MIGRATION_JOB}`, "migrating inventory schema to 2.0.0", "migration done"),
        resources(V2_OBJECTS),
        databaseAt("2.0.0", 2),
        object(`backups.platform.example.com/${RELEASE}-hourly`).matches({
          spec: { target: `${RELEASE}-db`, schedule: "0 * * * *" },
        }),
        object(`ingress/${RELEASE}`).matches({ spec: { rules: [{ host: "inventory.example.test" }] } }),
      ),
  ],
});
