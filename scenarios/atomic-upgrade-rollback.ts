/**
 * Write-up 004 (Kiamol ch. 12, in Korean), exercise 2, and write-up 002 part 5: an upgrade
 * whose new database pod never becomes ready is rolled back by --atomic. While Helm waits,
 * an 11.8 pod runs next to the 11.6 one; afterwards only 11.6 remains.
 */
import { defineScenario, fails, helm, history, podsInclude, podsRunImages, step } from "../harness/index.ts";
import { DB_11_6, DB_11_8, DB_PODS, RELEASE, chart, installV1 } from "./shared/todo-list.ts";

export default defineScenario({
  id: "atomic-upgrade-rollback",
  title: "Atomic upgrade rolled back on failed readiness",
  summary:
    "The v2 chart's database never passes its readiness probe. `helm upgrade --atomic --timeout 30s` waits, gives up, and rolls back: revision 2 failed, revision 3 is a rollback to 1, and the old pod never stopped serving.",
  source: {
    file: "004_30748cb077af98f7.txt",
    section: "실습 2 (exercise 2); 002 Part 5: Atomic with Upgrade Operations",
  },
  release: RELEASE,
  selector: "kiamol=ch12",
  steps: [
    installV1(),

    step("`helm upgrade --atomic --timeout 30s todo-list v2`: the new database never becomes ready; Helm rolls back")
      .explain(
        "Kubernetes starts an 11.8 pod beside the 11.6 one (maxUnavailable 0); its readiness probe keeps failing, so after 30 s Helm rolls the release back and the 11.8 pod goes away.",
      )
      .does(helm("upgrade", "--atomic", "--timeout", "30s", RELEASE, chart("v2")))
      .whileRunning(podsInclude(DB_PODS, DB_11_8))
      .documents({
        outcome: "fails",
        text: "Error: UPGRADE FAILED: release todo-list failed, and has been rolled back due to atomic being set: context deadline exceeded",
        release: "rolled back; only the postgres:11.6-alpine pod remains",
      })
      .expect(
        fails(
          "UPGRADE FAILED: release todo-list failed, and has been rolled back due to atomic being set: context deadline exceeded",
        ).when({ helm: ">=3.12.0 <4" }),
        fails(/UPGRADE FAILED: release todo-list failed, and has been rolled back due to rollback-on-failure being set/)
          .when({ helm: ">=4" })
          .drift("Helm 4 names --rollback-on-failure and the resource that was not ready"),
        history("superseded", "failed", ["deployed", "Rollback to 1"]),
        podsRunImages(DB_PODS, DB_11_6),
      ),
  ],
});
