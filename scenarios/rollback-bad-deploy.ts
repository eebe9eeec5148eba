/**
 * Write-up 001 (a team's Helm operating guide), "Rollback a bad deploy": "If we deployed a
 * bad version, the quickest way to get to the previous working version is using helm
 * rollback." A bad v2 deploy fails its wait; `helm rollback todo-list` restores revision 1.
 */
import { defineScenario, fails, helm, history, podsRunImages, release, step, succeeds } from "../harness/index.ts";
import { DB_11_6, DB_PODS, RELEASE, chart, installV1 } from "./shared/todo-list.ts";

export default defineScenario({
  id: "rollback-bad-deploy",
  title: "Rolling back a bad deploy with helm rollback",
  summary:
    "Without --atomic a bad deploy stays FAILED with the broken pod beside the old one. `helm rollback <release>` goes back to the previous revision as a new revision, and only the good pods remain.",
  source: { file: "001_bc6a2d13cd6a438d.txt", section: "Rollback a bad deploy" },
  release: RELEASE,
  selector: "kiamol=ch12",
  steps: [
    installV1(),

    step("Deploy the bad version: `helm upgrade --wait --timeout 30s todo-list v2` fails")
      .does(helm("upgrade", "--wait", "--timeout", "30s", RELEASE, chart("v2")))
      .documents({ outcome: "n/a", text: "(the guide describes a bad deploy, not its output)" })
      .expect(
        fails(/UPGRADE FAILED: context deadline exceeded/).when({ helm: ">=3.12.0 <4" }),
        fails(/UPGRADE FAILED: resource Deployment\/\S+\/todo-list-db not ready/).when({ helm: ">=4" }),
        release({ revision: 2, status: "failed" }),
      ),

    step("`helm rollback todo-list`: back to the previous working version")
      .does(helm("rollback", RELEASE, "--wait", "--timeout", "60s"))
      .documents({ outcome: "succeeds", text: "Rollback was a success! Happy Helming!" })
      .expect(
        succeeds(),
        history("superseded", "failed", ["deployed", "Rollback to 1"]),
        podsRunImages(DB_PODS, DB_11_6),
      ),
  ],
});
