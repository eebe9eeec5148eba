import { describe, expect, it } from "vitest";
import type { V1APIResource } from "@kubernetes/client-node";
import { closestKinds, collectionPath, matchKind } from "../../harness/probes/kinds.ts";
import { genericStatus } from "../../harness/probes/resources.ts";
import { partialDiff } from "../../harness/dsl/checks.ts";

const res = (name: string, kind: string, namespaced: boolean, shortNames: string[] = []): V1APIResource =>
  ({ name, singularName: kind.toLowerCase(), kind, namespaced, shortNames, verbs: ["list"] }) as V1APIResource;

// What discovery answers, in part (pure data: the resolution logic, not the API server).
const discovered = [
  { group: "", version: "v1", resource: res("persistentvolumeclaims", "PersistentVolumeClaim", true, ["pvc"]) },
  { group: "", version: "v1", resource: res("pods", "Pod", true, ["po"]) },
  { group: "", version: "v1", resource: res("pods/log", "Pod", true) },
  { group: "apps", version: "v1", resource: res("statefulsets", "StatefulSet", true, ["sts"]) },
  { group: "networking.k8s.io", version: "v1", resource: res("ingresses", "Ingress", true, ["ing"]) },
  { group: "rbac.authorization.k8s.io", version: "v1", resource: res("clusterroles", "ClusterRole", false) },
  { group: "example.com", version: "v1alpha1", resource: res("widgets", "Widget", true, ["wd"]) },
  // A CRD that reuses a built-in name: kubectl's priority keeps the built-in one.
  { group: "acme.io", version: "v1", resource: res("statefulsets", "StatefulSet", true) },
];

describe("resolving any kind by name (discovery)", () => {
  it("accepts plural, singular, kind, short name and <name>.<group>", () => {
    for (const name of ["statefulsets", "statefulset", "StatefulSet", "sts"]) {
      expect(matchKind(name, discovered)).toMatchObject({
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        plural: "statefulsets",
        namespaced: true,
      });
    }
    expect(matchKind("pvc", discovered)).toMatchObject({ apiVersion: "v1", plural: "persistentvolumeclaims" });
    expect(matchKind("ingress", discovered)).toMatchObject({ apiVersion: "networking.k8s.io/v1" });
    expect(matchKind("widgets.example.com", discovered)).toMatchObject({
      apiVersion: "example.com/v1alpha1",
      kind: "Widget",
      name: "widgets.example.com",
    });
    expect(matchKind("statefulsets.acme.io", discovered)).toMatchObject({ apiVersion: "acme.io/v1" });
    expect(matchKind("clusterrole", discovered)).toMatchObject({ namespaced: false });
  });

  it("ignores subresources and answers undefined for an unknown name", () => {
    expect(matchKind("pods/log", discovered)).toBeUndefined();
    expect(matchKind("gizmo", discovered)).toBeUndefined();
  });

  it("names the closest kinds for a mistyped one", () => {
    expect(closestKinds("statefulste", discovered)[0]).toBe("statefulset");
    expect(closestKinds("ingres", discovered)).toContain("ingress");
    expect(closestKinds("clusteroles", discovered)[0]).toBe("clusterroles");
  });

  it("builds namespaced and cluster-scoped collection paths", () => {
    expect(collectionPath(matchKind("sts", discovered)!, "ns")).toBe("/apis/apps/v1/namespaces/ns/statefulsets");
    expect(collectionPath(matchKind("pvc", discovered)!, "ns")).toBe("/api/v1/namespaces/ns/persistentvolumeclaims");
    expect(collectionPath(matchKind("clusterrole", discovered)!, "ns")).toBe(
      "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    );
  });
});

describe("a generic status for any object", () => {
  it("shows phase, ready replicas, true conditions, or the kind", () => {
    expect(genericStatus({ kind: "PersistentVolumeClaim", status: { phase: "Pending" } } as never)).toBe("Pending");
    expect(genericStatus({ kind: "StatefulSet", spec: { replicas: 3 }, status: { readyReplicas: 1 } } as never)).toBe(
      "1/3 ready",
    );
    expect(genericStatus({ kind: "StatefulSet", spec: { replicas: 2 }, status: {} } as never)).toBe("0/2 ready");
    expect(
      genericStatus({
        kind: "CustomResourceDefinition",
        status: {
          conditions: [
            { type: "Established", status: "True" },
            { type: "Terminating", status: "False" },
          ],
        },
      } as never),
    ).toBe("Established");
    expect(genericStatus({ kind: "ClusterRole" } as never)).toBe("ClusterRole");
  });
});

describe("partial object matching", () => {
  const sts = {
    kind: "StatefulSet",
    spec: {
      replicas: 1,
      template: { spec: { containers: [{ name: "db", image: "helmdrill.local/busybox:1.35.0" }] } },
    },
    status: { readyReplicas: 1 },
  };

  it("matches when every given key matches, recursively; other keys are not looked at", () => {
    expect(partialDiff({ spec: { replicas: 1 } }, sts)).toEqual([]);
    expect(partialDiff({ spec: { template: { spec: { containers: [{ image: /busybox/ }] } } } }, sts)).toEqual([]);
  });

  it("names the path of every difference", () => {
    expect(partialDiff({ spec: { replicas: 3 }, status: { readyReplicas: 3 } }, sts)).toEqual([
      "spec.replicas: expected 3, observed 1",
      "status.readyReplicas: expected 3, observed 1",
    ]);
    expect(partialDiff({ spec: { template: { spec: { containers: [{ image: /postgres/ }] } } } }, sts)).toEqual([
      'spec.template.spec.containers[0].image: expected /postgres/, observed "helmdrill.local/busybox:1.35.0"',
    ]);
    expect(partialDiff({ spec: { template: { spec: { containers: [{}, {}] } } } }, sts)).toEqual([
      "spec.template.spec.containers: expected 2 item(s), observed 1",
    ]);
    expect(partialDiff({ spec: { serviceName: "db" } }, sts)).toEqual([
      'spec.serviceName: expected "db", observed nothing',
    ]);
    expect(partialDiff({ spec: { replicas: { value: 1 } } }, sts)).toEqual([
      "spec.replicas: expected an object, observed 1",
    ]);
  });
});
