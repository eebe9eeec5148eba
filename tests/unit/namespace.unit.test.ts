import { describe, expect, it, vi } from "vitest";
import { namespaceFor } from "../../harness/vitest/drill.ts";
import { describeStuckNamespace } from "../../harness/probes/namespace.ts";

describe("namespaceFor", () => {
  it("names the scenario and the target, and stays a DNS-1123 label", () => {
    const ns = namespaceFor("atomic-upgrade-rollback", "helmfile 1.8.0 + helm 3.17.3 (apply)");
    expect(ns).toMatch(/^hd-atomic-upgrade-rollback-helmfile-1-8-0-helm-3-17-3(-a)?-[0-9a-f]{6}$/);
    expect(ns.length).toBeLessThanOrEqual(63);
    expect(ns).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  // Distinct names are not the claim (random draws are distinct too, most of the time): the claim
  // is that they cannot collide within a process, because the suffix is a counter, not a draw.
  it("gives each test of one target the next suffix of a counter (the soak's 409 AlreadyExists), never a chance draw", () => {
    const suffix = (ns: string) => Number.parseInt(ns.slice(-6), 16);
    const names = Array.from({ length: 2000 }, () => namespaceFor("nodeport-conflict", "helm 4.1.4"));
    const steps = names.slice(1).map((ns, i) => (suffix(ns) - suffix(names[i]!) + 0x1000000) % 0x1000000);
    expect(new Set(steps)).toEqual(new Set([1]));
  });

  it("starts each process at a random suffix and wraps within six hex digits", async () => {
    vi.resetModules();
    // The random start drawn just below the wrap point: the counter goes on past it, still six digits.
    vi.doMock("node:crypto", async (actual) => ({
      ...(await actual<typeof import("node:crypto")>()),
      randomBytes: () => Buffer.from([0xff, 0xff, 0xfe]),
    }));
    try {
      const fresh = (await import("../../harness/vitest/drill.ts")).namespaceFor;
      expect([fresh("a"), fresh("a"), fresh("a")]).toEqual(["hd-a-ffffff", "hd-a-000000", "hd-a-000001"]);
    } finally {
      vi.doUnmock("node:crypto");
      vi.resetModules();
    }
  });
});

describe("describeStuckNamespace", () => {
  it("names the namespace controller's true conditions and the pods left, terminating or not", () => {
    const ns = {
      spec: { finalizers: ["kubernetes"] },
      status: {
        phase: "Terminating",
        conditions: [
          {
            type: "NamespaceDeletionDiscoveryFailure",
            status: "True",
            reason: "DiscoveryFailed",
            message:
              "Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: example.com/v1alpha1: stale GroupVersion discovery",
          },
          {
            type: "NamespaceDeletionContentFailure",
            status: "False",
            reason: "ContentDeleted",
            message: "All content successfully deleted",
          },
          {
            type: "NamespaceContentRemaining",
            status: "True",
            reason: "SomeResourcesRemain",
            message: "Some resources are remaining: pods. has 1 resource instances",
          },
        ],
      },
    };
    const pods = [
      {
        metadata: { name: "web-1", deletionTimestamp: new Date(), finalizers: ["example.com/hold"] },
        spec: { containers: [{ name: "c" }] },
        status: { phase: "Running", containerStatuses: [{ name: "c", ready: true, state: { running: {} } }] },
      },
    ];
    const text = describeStuckNamespace(ns as never, pods as never);
    expect(text).toBe(
      "NamespaceDeletionDiscoveryFailure: Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: example.com/v1alpha1: stale GroupVersion discovery; " +
        "NamespaceContentRemaining: Some resources are remaining: pods. has 1 resource instances — " +
        "pod/web-1 Running 1/1 ready (terminating) finalizers example.com/hold — spec.finalizers kubernetes",
    );
  });

  it("says when the controller reports nothing and no pod is left, or pods could not be listed", () => {
    expect(describeStuckNamespace({ status: { phase: "Terminating" } }, [])).toBe(
      "the namespace controller reports no condition — no pods left",
    );
    expect(describeStuckNamespace(undefined, undefined)).toBe(
      "the namespace controller reports no condition — pods could not be listed",
    );
  });
});
