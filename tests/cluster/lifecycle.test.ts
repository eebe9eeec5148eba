/**
 * Provider lifecycle, outside the run's shared cluster: a k3s node started through
 * @testcontainers/k3s comes up Ready and leaves no container behind after dispose (kind: see
 * kind.test.ts); `existing` refuses without an opt-in.
 */
import { describe, expect, it } from "vitest";
import { K3sProvider, ExistingClusterProvider, RUN_LABEL } from "../../harness/cluster/index.ts";
import { loadConfig } from "../../harness/config.ts";
import { run } from "../../harness/exec.ts";
import { saveImages, workloadImageRefs } from "../../harness/provision/images.ts";
import { CoreV1Api } from "@kubernetes/client-node";
import { kubeConfigFromYaml } from "../../harness/cluster/kubeconfig.ts";

const containersLabelled = async (id: string) =>
  (await run(["docker", "ps", "-a", "-q", "--filter", `label=${RUN_LABEL}=${id}`])).stdout
    .trim()
    .split("\n")
    .filter(Boolean);

describe("k3s provider lifecycle", () => {
  it("starts a Ready node and removes every container it labelled on dispose", { timeout: 300_000 }, async () => {
    const config = loadConfig();
    const runId = `lifecycle-${Date.now().toString(36)}`;
    const archive = await saveImages(config.cacheDir, "workloads", workloadImageRefs());
    {
      await using cluster = await new K3sProvider()
        .withPreloadedImages(archive)
        .withLabels({ [RUN_LABEL]: runId })
        .start();
      const nodes = await kubeConfigFromYaml(cluster.kubeconfig).makeApiClient(CoreV1Api).listNode();
      expect(nodes.items[0]?.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
      expect(await containersLabelled(runId)).toHaveLength(1);
    }
    expect(await containersLabelled(runId)).toEqual([]);
  });
});

describe("existing provider", () => {
  it("refuses to start without an explicit opt-in, before contacting anything", async () => {
    await expect(
      new ExistingClusterProvider({ kubeconfig: "/etc/kubeconfig", context: "prod", optIn: false }).start(),
    ).rejects.toThrow(/explicit opt-in/);
  });
});
