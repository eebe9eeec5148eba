/**
 * Write-up 004 (Kiamol ch. 12, in Korean), exercise 4: a `pre-upgrade` hook Job vetoes an
 * upgrade. Chart v4 adds a ConfigMap (hook-weight 1) and a Job (hook-weight 10,
 * backoffLimit 0) that checks the live database version; the database is already 11.8, the
 * check wants 11.6, so the Job fails and Helm never touches the workload.
 */
import {
  defineScenario,
  fails,
  helm,
  history,
  jobFailed,
  logsShow,
  podsRunImages,
  resources,
  step,
} from "../harness/index.ts";
import { DB_11_8, DB_PODS, RELEASE, chart, installV1, upgradeToV3 } from "./shared/todo-list.ts";

const CHECK_JOB = "todo-list-db-check";
const VETO = "** ERROR - Postgres not at expected version - wanted: 11.6, got: PostgreSQL 11.8 - CANNOT UPGRADE **";

export default defineScenario({
  id: "pre-upgrade-hook-veto",
  title: "A pre-upgrade hook Job vetoes an upgrade",
  summary:
    "The v4 chart's pre-upgrade Job checks the running database and fails (BackoffLimitExceeded). The upgrade fails before any release object changes; the failed Job stays for its logs; history records the failure, and with --atomic a rollback revision follows.",
  source: { file: "004_30748cb077af98f7.txt", section: "실습 4 (exercise 4): pre-upgrade hook" },
  release: RELEASE,
  selector: "kiamol=ch12",
  steps: [
    installV1(),
    upgradeToV3(2),

    step("`helm upgrade todo-list v4` (no --atomic): the pre-upgrade check Job fails and the upgrade stops")
      .explain(
        "Hooks run before Helm changes anything. The ConfigMap (weight 1) is created before the Job (weight 10) that mounts it; the Job exits 1 once and, with backoffLimit 0, fails. " +
          "Helm returns as soon as the Job fails, so the 2-minute timeout costs nothing; it only keeps a slow pod start on a busy machine from turning the veto into a timeout.",
      )
      .does(helm("upgrade", "--timeout", "2m", RELEASE, chart("v4")))
      .documents({
        outcome: "fails",
        text: "Job failed: BackoffLimitExceeded",
        release: "todo-list 3 PENDING_UPGRADE (Helm 2)",
      })
      .expect(
        fails(/UPGRADE FAILED: pre-upgrade hooks failed/, /job todo-list-db-check failed: BackoffLimitExceeded/)
          .when({ helm: "<4" })
          .drift("Helm 3 marks the revision failed (Helm 2 left it PENDING_UPGRADE)"),
        fails(/UPGRADE FAILED: pre-upgrade hooks failed/)
          .when({ helm: ">=4" })
          .drift("Helm 4 reports the hook Job through its kstatus waiter"),
        history("superseded", "deployed", ["failed", /pre-upgrade hooks failed/]),
        jobFailed(CHECK_JOB, "BackoffLimitExceeded"),
        logsShow(`job-name=${CHECK_JOB}`, VETO),
        podsRunImages(DB_PODS, DB_11_8),
      ),

    step("`helm upgrade --atomic --timeout 30s todo-list v4`: vetoed again, and rolled back")
      .does(helm("upgrade", "--atomic", "--timeout", "30s", RELEASE, chart("v4")))
      .documents({
        outcome: "fails",
        text: "Error: UPGRADE FAILED: release todo-list failed, and has been rolled back due to atomic being set: pre-upgrade hooks failed: 1 error occurred: * job failed: BackoffLimitExceeded",
        release: "rolled back to the previous revision",
      })
      .expect(
        fails(/has been rolled back due to atomic being set: pre-upgrade hooks failed/, /BackoffLimitExceeded/).when({
          helm: "<4",
        }),
        fails(/has been rolled back due to rollback-on-failure being set: pre-upgrade hooks failed/)
          .when({ helm: ">=4" })
          .drift("Helm 4 names --rollback-on-failure"),
        history(
          "superseded",
          "superseded",
          ["failed", /pre-upgrade hooks failed/],
          ["failed", /pre-upgrade hooks failed/],
          ["deployed", "Rollback to 2"],
        ),
        jobFailed(CHECK_JOB, "BackoffLimitExceeded"),
        podsRunImages(DB_PODS, DB_11_8),
        resources({ job: [CHECK_JOB], configmap: ["todo-list-db-check-scripts"] }),
      ),
  ],
});
