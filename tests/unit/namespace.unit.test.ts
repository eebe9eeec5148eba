import { describe, expect, it } from "vitest";
import { namespaceFor } from "../../harness/vitest/drill.ts";

describe("namespaceFor", () => {
  it("names the scenario and the target, and stays a DNS-1123 label", () => {
    const ns = namespaceFor("atomic-upgrade-rollback", "helmfile 1.8.0 + helm 3.17.3 (apply)");
    expect(ns).toMatch(/^hd-atomic-upgrade-rollback-helmfile-1-8-0-helm-3-17-3(-a)?-[0-9a-f]{6}$/);
    expect(ns.length).toBeLessThanOrEqual(63);
    expect(ns).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it("gives a different name to each test of one target (the soak's 409 AlreadyExists), never by chance", () => {
    const names = new Set(Array.from({ length: 2000 }, () => namespaceFor("nodeport-conflict", "helm 4.1.4")));
    expect(names.size).toBe(2000);
  });
});
