/**
 * Kinds beyond the usual eight, on the real cluster: a StatefulSet, a PVC, a cluster-scoped
 * ClusterRole and a custom resource, resolved through API discovery; partial-object checks
 * that hold and one that does not (with the difference it reports); the step snapshot listing
 * the same kinds; and the drill's cleanup removing a cluster-scoped object Helm kept.
 */
import { describe, expect, inject, it } from "vitest";
import { object, resources, succeeds } from "../../harness/dsl/checks.ts";
import { defineScenario, executeScenario, summarizeFailure } from "../../harness/dsl/scenario.ts";
import { fixture, helm, kubectl, step, type Step } from "../../harness/dsl/step.ts";
import { openDrill } from "../../harness/vitest/drill.ts";
import { listKind } from "../../harness/probes/resources.ts";

const helmVersion = inject("helmdrill").config.helmVersions.at(-1)!;
const target = { driver: "helm" as const, helm: helmVersion };
const scenario = (...steps: Step[]) =>
  defineScenario({
    id: "any-kind",
    title: "any kind",
    summary: "",
    source: { file: "-", section: "-" },
    release: "r",
    steps,
  });

describe("any resource kind", () => {
  it(
    "asserts a StatefulSet, a PVC, a ClusterRole and a custom resource; cleans up what Helm kept",
    { timeout: 300_000 },
    async () => {
      const drill = await openDrill(inject("helmdrill"), "any-kind");
      const reader = `${drill.namespace}-r-reader`;
      let closed = false;
      try {
        const run = await executeScenario(
          scenario(
            step("install the any-kind chart (CRD in crds/)")
              .does(helm("install", "r", fixture("any-kind")))
              .expect(
                succeeds(),
                resources({
                  statefulset: ["r-db"],
                  pvc: ["r-data"],
                  clusterrole: [reader],
                  "widgets.example.com": ["r-widget"],
                }),
                object("statefulset/r-db").matches({ spec: { replicas: 1 }, status: { readyReplicas: 1 } }),
                object("pvc/r-data").matches({ status: { phase: "Pending" } }),
                object(`clusterrole/${reader}`).matches({ rules: [{ resources: ["widgets"] }] }),
                object("wd/r-widget").matches({ spec: { size: "small" } }),
              ),
            step("upgrade to two replicas and a large widget")
              .does(helm("upgrade", "r", fixture("any-kind"), "--set", "replicas=2", "--set", "widgetSize=large"))
              .expect(
                succeeds(),
                object("sts/r-db").matches({ spec: { replicas: 2 } }),
                object("widget/r-widget").matches({ spec: { size: "large" } }),
              ),
            step("uninstall: the ClusterRole stays (helm.sh/resource-policy: keep)")
              .does(helm("uninstall", "r"))
              .expect(succeeds(), resources({ statefulset: [], "widgets.example.com": [], clusterrole: [reader] })),
          ),
          target,
          drill.environment(target),
        );
        expect(run.status, summarizeFailure(run)).toBe("passed");
        // The snapshot after each step lists the kinds the checks named, with a status.
        const first = run.steps[0]!.resources!;
        expect(first.statefulset?.map((r) => r.name)).toEqual(["r-db"]);
        expect(first.pvc?.[0]).toMatchObject({ name: "r-data", status: "Pending" });
        expect(first["widgets.example.com"]?.map((r) => r.name)).toEqual(["r-widget"]);
        expect(run.steps[2]!.resources!.clusterrole?.map((r) => r.name)).toEqual([reader]);

        // A partial that does not hold reports the last observed difference, by path.
        const wrong = await executeScenario(
          scenario(
            step("claims five replicas")
              .does(kubectl("get", "statefulsets"))
              .expect(object("statefulset/none", { timeoutMs: 3000 }).matches({ spec: { replicas: 5 } })),
          ),
          target,
          drill.environment(target),
        );
        expect(wrong.steps[0]!.checks[0]).toMatchObject({ ok: false });
        expect(wrong.steps[0]!.checks[0]!.observed).toMatch(
          /^not found — statefulset\/none not found \(\d+ observation\(s\) in \d+\.\d s\)$/,
        );

        // An unknown kind is one clear error, not a stack trace.
        const unknown = await executeScenario(
          scenario(step("names a kind nobody serves").expect(resources({ statefulsetz: [] }))),
          target,
          drill.environment(target),
        );
        expect(unknown.steps[0]!.checks[0]!.observed).toMatch(
          /unknown resource kind "statefulsetz": the API server serves no resource of that name — closest: statefulset/,
        );

        await drill.close();
        closed = true;
        const left = await listKind(drill.kube, drill.namespace, "clusterrole", "app.kubernetes.io/instance=r");
        expect(left.map((r) => r.name)).not.toContain(reader);
      } finally {
        if (!closed) await drill.close();
        await drill.kube
          .objects!.delete({
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            metadata: { name: "widgets.example.com" },
          })
          .catch(() => undefined);
      }
    },
  );
});
