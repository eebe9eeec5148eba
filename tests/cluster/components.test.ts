/**
 * The run's own cluster (k3s-compatible by default) runs what real k3s packages (issue #20):
 * CoreDNS, local-path-provisioner, a load balancer, metrics-server, and a registry mirror beside
 * it. tests/cluster/kind.test.ts shows the same on kind; a cluster started with `--disable` lacks
 * exactly what it switched off.
 */
import { describe, expect, inject, it } from "vitest";
import { ApiregistrationV1Api, AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { componentFacts } from "./component-facts.ts";
import { clusterBeside } from "./cluster-facts.ts";
import { componentNotReady } from "../../harness/cluster/components.ts";
import { kubeConfigFromYaml } from "../../harness/cluster/kubeconfig.ts";
import { run } from "../../harness/exec.ts";

const base = inject("helmdrill");

componentFacts(`the run's ${base.cluster.label} cluster`, () => base, { timeout: 300_000 });

describe("a k3s cluster started with --disable servicelb,metrics-server,registry-mirror", () => {
  const runId = `${base.config.runId}-off`;
  const { cluster, provided } = clusterBeside(runId, {
    cluster: "k3s",
    clusters: ["k3s"],
    disabled: ["servicelb", "metrics-server", "registry-mirror"],
  });

  it("has CoreDNS and storage, and no load balancer, no metrics API, no mirror", { timeout: 120_000 }, async () => {
    expect(provided().config.disabled).toEqual(["servicelb", "metrics-server", "registry-mirror"]);
    const kc = kubeConfigFromYaml(cluster().kubeconfig);
    expect(await componentNotReady(kc, "coredns")).toBeUndefined();
    expect(await componentNotReady(kc, "local-storage")).toBeUndefined();
    const namespaces = (await kc.makeApiClient(CoreV1Api).listNamespace()).items.map((n) => n.metadata?.name);
    expect(namespaces).not.toContain("metallb-system");
    const apis = (await kc.makeApiClient(ApiregistrationV1Api).listAPIService()).items.map((a) => a.metadata?.name);
    expect(apis).not.toContain("v1beta1.metrics.k8s.io");
    const deployments = (
      await kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: "kube-system" })
    ).items.map((d) => d.metadata?.name);
    expect(deployments).not.toContain("metrics-server");
    const mirrors = await run([
      "docker",
      "ps",
      "-q",
      "--filter",
      `label=io.helmdrill.run=${runId}`,
      "--filter",
      "label=io.helmdrill.role=registry-mirror",
    ]);
    expect(mirrors.stdout.trim()).toBe("");
  });

  it("leaves no container of its own behind", { timeout: 120_000 }, async () => {
    await cluster().stop();
    const left = await run(["docker", "ps", "-aq", "--filter", `label=io.helmdrill.run=${runId}`]);
    expect(left.stdout.trim()).toBe("");
  });
});
