import { expect } from "vitest";
import { drillTest as test } from "../../harness/vitest/fixtures.ts";

// A cluster test (not a scenario) that fails after creating something in its namespace.
test("a failing cluster test keeps its namespace", async ({ drill }) => {
  await drill.kube.core.createNamespacedConfigMap({
    namespace: drill.namespace,
    body: { metadata: { name: "evidence" }, data: { why: "left for inspection" } },
  });
  expect("observed").toBe("expected");
});
