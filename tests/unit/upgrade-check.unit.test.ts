import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { fieldManagers, judgeOwnership } from "../../harness/dsl/checks.ts";
import { expectationCoverage } from "../../harness/dsl/coverage.ts";
import { applicableChecks, type ScenarioRun, type StepRecord } from "../../harness/dsl/scenario.ts";
import { selects, targetLabel, targetSlug, targetsFor, type Target } from "../../harness/dsl/target.ts";
import {
  ownershipWorkload,
  upgradeCheckScenarios,
  versionBump,
  type UpgradeCheckPlan,
} from "../../harness/dsl/upgrade-check.ts";
import { scenarioModule } from "../../harness/cli/upgrade-check.ts";
import { applyMethodOf, decodeStoredRelease } from "../../harness/probes/release.ts";
import { cellDetails } from "../../harness/report/markdown.ts";
import { buildMatrix } from "../../harness/report/model.ts";
import { releaseSelectors, summarizeRendered } from "../../harness/sources/rendered.ts";

const PINNED = { helmVersions: ["3.17.3", "3.18.0", "4.1.4"], helmfileVersions: ["1.8.0"] };

describe("migration targets: installed with each Helm 3, driven with each Helm 4", () => {
  it("are added only when a scenario asks, as their own columns", () => {
    const plain = targetsFor(["helm"], PINNED);
    expect(plain.map(targetLabel)).toEqual(["helm 3.17.3", "helm 3.18.0", "helm 4.1.4"]);
    const withMigrations = targetsFor(["helm"], PINNED, undefined, undefined, true);
    const migrations = withMigrations.filter((t) => t.helmTo);
    expect(migrations.map(targetLabel)).toEqual(["helm 3.17.3 → 4.1.4", "helm 3.18.0 → 4.1.4"]);
    expect(migrations.map(targetSlug)).toEqual(["h3173-h414", "h3180-h414"]);
  });

  it("`helm` selects by the installing version, `helmTo` by the version that drives the later steps", () => {
    const migration: Target = { driver: "helm", helm: "3.17.3", helmTo: "4.1.4" };
    const helm3: Target = { driver: "helm", helm: "3.17.3" };
    expect(selects({ helm: "<4" }, migration)).toBe(true);
    expect(selects({ helmTo: ">=4.0.0-0" }, migration)).toBe(true);
    expect(selects({ helmTo: ">=4.0.0-0" }, helm3)).toBe(false);
    expect(selects({ helmTo: "<4.0.0-0" }, helm3)).toBe(true);
  });
});

// A chart's `helm template` output in two versions (pure text: what summarizeRendered reads).
const manifests = (version: string, replicas: number, extra = "") => `
apiVersion: v1
kind: Service
metadata: { name: app, labels: { app.kubernetes.io/instance: app, app.kubernetes.io/managed-by: Helm } }
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: app-db, labels: { app.kubernetes.io/instance: app } }
spec: { replicas: ${replicas}, template: { spec: { containers: [{ name: db, image: "local/db:${version}" }] } } }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: unlabelled }
---
apiVersion: v1
kind: Pod
metadata: { name: app-test, annotations: { helm.sh/hook: test } }
spec: { containers: [{ name: t, image: local/test }] }
${extra}`;

function plan(previous: string, next: string, prevReplicas = 1, nextReplicas = 2): UpgradeCheckPlan {
  const at = (version: string, replicas: number) => ({
    path: `/charts/app-${version}.tgz`,
    name: "app",
    version,
    origin: `app ${version} from http://127.0.0.1:1`,
    rendered: summarizeRendered(manifests(version, replicas), releaseSelectors("app")),
  });
  return {
    release: "app",
    previous: at(previous, prevReplicas),
    next: at(next, nextReplicas),
    caseLabel: "default values",
    caseId: "default",
    timeout: "5m",
  };
}

describe("what a chart version renders", () => {
  it("lists objects under the label most of them carry, the rest apart, and the tests and workloads", () => {
    const r = summarizeRendered(manifests("1.0.0", 1), releaseSelectors("app"));
    expect(r.selector).toBe("app.kubernetes.io/instance=app");
    expect(r.objects).toEqual({ service: ["app"], statefulset: ["app-db"] });
    expect(r.unlabelled).toEqual(["configmap/unlabelled"]);
    expect(r.tests).toEqual(["Pod/app-test"]);
    expect(r.workloads).toEqual([{ kind: "statefulset", name: "app-db", replicas: 1 }]);
    expect(r.images).toEqual(["local/db:1.0.0", "local/test"]);
  });
});

describe("upgrade-check scenarios", () => {
  it("install → test → upgrade → test → rollback → upgrade, the release's chart checked at each step", () => {
    const [upgrade] = upgradeCheckScenarios(plan("1.4.0", "1.5.0"));
    expect(upgrade!.id).toBe("upgrade-app-default");
    expect(upgrade!.migrations).toBe(true);
    expect(upgrade!.steps.map((s) => s.action?.label)).toEqual([
      "helm install app /charts/app-1.4.0.tgz --wait --timeout 5m",
      "helm test app --timeout 5m",
      "helm upgrade app /charts/app-1.5.0.tgz --wait --timeout 5m",
      "helm test app --timeout 5m",
      "helm rollback app 1 --wait --timeout 5m",
      "helm upgrade app /charts/app-1.5.0.tgz --wait --timeout 5m",
    ]);
    const described = upgrade!.steps.map((s) => s.checks.map((c) => c.describe()).join(" | "));
    expect(described[4]).toContain(`revision 3, deployed, chart "app-1.4.0"`);
    expect(described[5]).toContain(`revision 4, deployed, chart "app-1.5.0"`);
    expect(described[0]).toContain("configmap/unlabelled matches");
    expect(upgrade!.title).not.toMatch(/major/);
  });

  it("a major version bump is run and labelled, never skipped", () => {
    expect(versionBump("1.9.3", "2.0.0")).toBe("major version bump 1 → 2");
    expect(versionBump("2.0.0", "2.1.0")).toBeUndefined();
    const [upgrade] = upgradeCheckScenarios(plan("1.9.3", "2.0.0"));
    expect(upgrade!.title).toContain("(major version bump 1 → 2)");
    expect(upgrade!.steps[2]!.title).toContain("major version bump 1 → 2");
  });

  it("a chart without tests has no `helm test` step", () => {
    const p = plan("1.0.0", "1.1.0");
    p.previous.rendered.tests = [];
    p.next.rendered.tests = [];
    expect(upgradeCheckScenarios(p)[0]!.steps.map((s) => s.action?.label.split(" ")[1])).toEqual([
      "install",
      "upgrade",
      "rollback",
      "upgrade",
    ]);
  });

  it("the field-ownership drill scales past both versions' replicas and keys --force-conflicts by the upgrading Helm", () => {
    const p = plan("1.0.0", "1.1.0", 1, 2);
    expect(ownershipWorkload(p)).toEqual({ kind: "statefulset", name: "app-db", previous: 1, next: 2, scaled: 3 });
    const drill = upgradeCheckScenarios(p)[1]!;
    expect(drill.id).toBe("field-ownership-app-default");
    expect(drill.steps[1]!.action?.label).toBe("kubectl scale statefulset/app-db --replicas=3");
    const force = drill.steps[3]!;
    const helm3: Target = { driver: "helm", helm: "3.18.0" };
    const helm4: Target = { driver: "helm", helm: "4.1.4" };
    const migration: Target = { driver: "helm", helm: "3.18.0", helmTo: "4.1.4" };
    const applied = (t: Target) => applicableChecks(force.checks, t).applied.map((c) => c.describe());
    expect(applied(helm3)).toEqual(["helm refuses the upgrade with /unknown flag: --force-conflicts/"]);
    expect(applied(migration)).toEqual([
      "helm refuses the upgrade with /forceConflicts enabled when serverSideApply disabled/",
    ]);
    expect(applied(helm4)).toEqual([expect.stringMatching(/kept \(3\), overwritten \(2\) or a conflict/)]);
    // Every step has an expectation for every pinned target, migrations included.
    expect(expectationCoverage(drill, PINNED)).toEqual([]);
  });

  it("no workload both versions render: no drill", () => {
    const p = plan("1.0.0", "1.1.0");
    p.next.rendered.workloads = [];
    expect(upgradeCheckScenarios(p).map((s) => s.id)).toEqual(["upgrade-app-default"]);
  });

  it("the generated scenario module carries the plan as data and picks its scenario", () => {
    const text = scenarioModule(plan("1.0.0", "1.1.0"), 1, "/pkg/harness/dsl/upgrade-check.ts");
    expect(text).toContain('import { upgradeCheckScenarios } from "/pkg/harness/dsl/upgrade-check.ts";');
    expect(text).toMatch(/^export default upgradeCheckScenarios\(\{[\s\S]*\}\)\[1\];$/m);
  });
});

describe("field ownership: kept, overwritten or a conflict", () => {
  const base = { chartValue: 2, otherValue: 3 };
  it("classifies what the upgrade did", () => {
    expect(judgeOwnership({ ...base, exitCode: 0, error: "", value: 3 })).toEqual({ verdict: "kept" });
    expect(judgeOwnership({ ...base, exitCode: 0, error: "", value: 2 })).toEqual({ verdict: "overwritten" });
    expect(
      judgeOwnership({
        ...base,
        exitCode: 1,
        error: 'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas',
        value: 3,
      }),
    ).toEqual({ verdict: "conflict" });
  });
  it("a failure that is no conflict, or a value neither side set, is no verdict", () => {
    expect(
      judgeOwnership({ ...base, exitCode: 1, error: "Error: context deadline exceeded", value: 3 }).problem,
    ).toMatch(/failed without a conflict: Error: context deadline exceeded/);
    // Helm's own refusal names a flag "forceConflicts": that is no field conflict.
    const refusal =
      "Error: UPGRADE FAILED: invalid client update option(s): forceConflicts enabled when serverSideApply disabled";
    expect(judgeOwnership({ ...base, exitCode: 1, error: refusal, value: 3 }).verdict).toBeUndefined();
    expect(judgeOwnership({ ...base, exitCode: 0, error: "", value: 5 }).problem).toMatch(
      /neither the chart's 2 nor the other manager's 3/,
    );
  });
  it("names the managers that own a field", () => {
    const o = {
      metadata: {
        managedFields: [
          { manager: "helm", operation: "Apply", fieldsV1: { "f:spec": { "f:replicas": {}, "f:template": {} } } },
          { manager: "kubectl", operation: "Update", fieldsV1: { "f:spec": { "f:replicas": {} } } },
          { manager: "kube-controller-manager", operation: "Update", fieldsV1: { "f:status": { "f:replicas": {} } } },
        ],
      },
    };
    expect(fieldManagers(o, "spec.replicas")).toEqual(["helm (Apply)", "kubectl (Update)"]);
  });
});

describe("the apply method Helm recorded", () => {
  const secret = (record: object) => ({
    data: { release: Buffer.from(gzipSync(Buffer.from(JSON.stringify(record))).toString("base64")).toString("base64") },
  });
  it("decodes Helm's storage Secret: server-side, client-side, or Helm 3's nothing", () => {
    expect(applyMethodOf(decodeStoredRelease(secret({ name: "r", apply_method: "ssa" })))).toBe("server-side");
    expect(applyMethodOf(decodeStoredRelease(secret({ name: "r", apply_method: "csa" })))).toBe("client-side");
    expect(applyMethodOf(decodeStoredRelease(secret({ name: "r" })))).toBe("client-side (Helm 3: not recorded)");
    expect(decodeStoredRelease({ data: { release: "not base64 of gzip" } })).toBeUndefined();
  });

  it("a matching matrix cell shows findings and the apply method; migration columns follow the helm columns", () => {
    const stepRecord = (finding?: string): StepRecord => ({
      index: 1,
      title: "upgrade",
      commands: [],
      checks: [
        {
          ok: true,
          expected: "e",
          observed: "o",
          check: "e",
          category: "custom",
          when: "every version",
          phase: "after",
          ...(finding ? { finding } : {}),
        },
      ],
      status: "matches",
      drift: [],
      durationMs: 1,
      release: {
        release: "app",
        exists: true,
        history: [],
        storage: [{ revision: 2, status: "deployed", applyMethod: "server-side" }],
      },
    });
    const runOf = (target: Target, finding?: string): ScenarioRun => ({
      scenario: "s",
      title: "s",
      source: { file: "f", section: "x" },
      target,
      targetLabel: targetLabel(target),
      namespace: "ns",
      status: "passed",
      steps: [stepRecord(finding)],
      vars: {},
      startedAt: "",
      durationMs: 1,
    });
    const m = buildMatrix(
      [
        runOf({ driver: "helm", helm: "3.17.3", helmTo: "4.1.4" }, "kept: spec.replicas 3"),
        runOf({ driver: "helm", helm: "4.1.4" }, "conflict: x"),
        runOf({ driver: "helm", helm: "3.18.0" }),
      ],
      "baseline",
    );
    expect(m.columns).toEqual(["helm 3.18.0", "helm 4.1.4", "helm 3.17.3 → 4.1.4"]);
    expect(cellDetails(m.rows[0]!.cells["helm 3.17.3 → 4.1.4"]!).notes).toEqual([
      "kept: spec.replicas 3",
      "r2 server-side apply",
    ]);
    expect(cellDetails(m.rows[0]!.cells["helm 4.1.4"]!).notes).toEqual(["conflict: x", "r2 server-side apply"]);
  });
});
