/**
 * Write-up 004 (Kiamol ch. 12, in Korean), exercise 3, and write-up 001 ("Failing end 2 end
 * tests in staging"): `helm test` runs a test-hook Job on demand; the Job is kept, so its
 * logs can be read afterwards, and a second run replaces it.
 */
import { defineScenario, helm, jobComplete, logsShow, step, succeeds } from "../harness/index.ts";
import { RELEASE, installV1, upgradeToV3 } from "./shared/todo-list.ts";

const TEST_JOB = "todo-list-db-test";

export default defineScenario({
  id: "helm-test-smoke",
  title: "helm test as a smoke test",
  summary:
    "The v3 chart carries a `helm.sh/hook: test` Job that queries the database. `helm test` runs it, succeeds, and leaves the Job so `kubectl logs -l job-name=todo-list-db-test` shows the query result; running it again works.",
  source: { file: "004_30748cb077af98f7.txt", section: "실습 3 (exercise 3); 001 Failing end 2 end tests" },
  release: RELEASE,
  selector: "kiamol=ch12",
  steps: [
    installV1(),
    upgradeToV3(2),

    step("`helm test todo-list`: the test Job queries the database and succeeds")
      .does(helm("test", RELEASE, "--timeout", "60s"))
      .documents({ outcome: "succeeds", text: "count / ------- / 0 / (1 row)" })
      .expect(succeeds(), jobComplete(TEST_JOB), logsShow(`job-name=${TEST_JOB}`, "(1 row)")),

    step("`helm test todo-list` again: the old Job is replaced and the suite passes again")
      .explain(
        "The default hook delete policy (before-hook-creation) deletes the previous test Job before creating it again, so the suite can be re-run at any time — as 001 does after DNS propagates.",
      )
      .does(helm("test", RELEASE, "--timeout", "60s"))
      .documents({ outcome: "succeeds" })
      .expect(succeeds(), jobComplete(TEST_JOB), logsShow(`job-name=${TEST_JOB}`, "(1 row)")),
  ],
});
