/**
 * A breaking change: 2.0.0 with a new StatefulSet selector. spec.selector is immutable, so the
 * API server refuses the update; the release is marked failed and the database keeps running
 * 1.0.0. Upgrading without the selector change recovers.
 */
import { defineScenario, fails, helm, history, object, step, succeeds } from "helmdrill";
import { databaseAt, installV1, RELEASE, V2 } from "../lib/inventory.ts";

export default defineScenario({
  id: "selector-change-breaks-upgrade",
  title: "A changed StatefulSet selector fails the upgrade",
  summary:
    "Upgrading with --set component=database changes the StatefulSet's immutable selector: the upgrade fails with the API server's Forbidden error, revision 2 is failed, the StatefulSet keeps its 1.0.0 selector and pods. The same upgrade without the change succeeds as revision 3.",
  source: { file: "docs/upgrade-runbook.md", section: "what never to change in a minor release" },
  release: RELEASE,
  steps: [
    installV1(),

    step("Upgrade to 2.0.0 with a new selector (--set component=database): the API server refuses it")
      .does(helm("upgrade", RELEASE, V2, "--set", "component=database", "--wait", "--timeout", "2m"))
      .documents({
        outcome: "fails",
        text: "spec: Forbidden: updates to statefulset spec for fields other than …",
        release: "inventory r2 failed",
      })
      .expect(
        fails(
          /UPGRADE FAILED/,
          /StatefulSet\.apps "inventory-db" is invalid: spec: Forbidden: updates to statefulset spec for fields other than/,
        ).when({ kubernetes: "<1.37" }),
        // Kubernetes 1.37 validates the selector on its own (ValidateImmutableField in
        // pkg/apis/apps/validation; 1.34–1.36 forbid any change outside a list of fields).
        fails(
          /UPGRADE FAILED/,
          /StatefulSet\.apps "inventory-db" is invalid: spec\.selector: Invalid value: .*: field is immutable/,
        ).when({ kubernetes: ">=1.37" }),
        history("deployed", "failed"),
        object(`statefulset/${RELEASE}-db`).matches({
          spec: { selector: { matchLabels: { "app.kubernetes.io/component": "db" } } },
        }),
        databaseAt("1.0.0", 1),
      ),

    step("Upgrade to 2.0.0 as released (selector unchanged): revision 3 recovers the release")
      .does(helm("upgrade", RELEASE, V2, "--wait", "--timeout", "3m"))
      .documents({ outcome: "succeeds", release: "inventory r3 deployed" })
      .expect(succeeds(), history("superseded", "failed", "deployed"), databaseAt("2.0.0", 2)),
  ],
});
