/**
 * Issue #20's acceptance, on any cluster helmdrill starts with its packaged components: each is
 * Ready; a chart with the patterns real charts use (fixtures/storefront: a `helm test` reaching
 * its Service by DNS name, a StatefulSet claim, a LoadBalancer Service, an HPA, a sidecar pulled
 * with imagePullPolicy Always) installs with `--wait` and passes `helm test` on every pinned
 * Helm; the claim is Bound through the provider's default StorageClass; the load-balancer
 * address answers from the host; the HPA shows current CPU.
 */
import path from "node:path";
import { describe, expect, inject } from "vitest";
import { AutoscalingV2Api, StorageV1Api } from "@kubernetes/client-node";
import { componentNotReady, defaultStorageClass, enabledComponents } from "../../harness/cluster/components.ts";
import { kubeConfigFromYaml } from "../../harness/cluster/kubeconfig.ts";
import { poll } from "../../harness/dsl/poll.ts";
import { drillTestOn } from "../../harness/vitest/fixtures.ts";
import type { HelmdrillProvided } from "../../harness/vitest/drill.ts";

const MESSAGE = "storefront is up";

export function componentFacts(
  title: string,
  provided: () => HelmdrillProvided,
  options: { timeout?: number } = {},
): void {
  const test = drillTestOn(provided);
  const provider = () => provided().config.cluster as "k3s" | "kind";
  const chart = () => path.join(provided().config.fixturesDir, "storefront");

  describe(title, options, () => {
    test("has every packaged component Ready for a chart, and the provider's default StorageClass", async ({
      drill,
    }) => {
      const kc = kubeConfigFromYaml(drill.provided.kubeconfig);
      for (const name of enabledComponents(provided().config.disabled))
        expect(await componentNotReady(kc, name), name).toBeUndefined();
      const classes = await kc.makeApiClient(StorageV1Api).listStorageClass();
      const defaults = classes.items.filter(
        (c) => c.metadata?.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true",
      );
      expect(defaults.map((c) => [c.metadata?.name, c.provisioner, c.volumeBindingMode, c.reclaimPolicy])).toEqual([
        [defaultStorageClass(provider()), "rancher.io/local-path", "WaitForFirstConsumer", "Delete"],
      ]);
    });

    const versions = Object.keys(inject("helmdrill").tools.helm);
    test.for(versions)(
      "helm %s: install --wait of a DNS-tested, stateful, load-balanced chart, then helm test",
      async (version, { drill }) => {
        const helm = drill.runners({ driver: "helm", helm: version });
        const install = await helm.helm(["install", "shop", chart(), "--wait", "--timeout", "180s"]);
        expect(install.exitCode, `${install.stdout}\n${install.stderr}`).toBe(0);

        const claim = await drill.kube.core.readNamespacedPersistentVolumeClaim({
          namespace: drill.namespace,
          name: "data-shop-storefront-cache-0",
        });
        expect([claim.status?.phase, claim.spec?.storageClassName]).toEqual(["Bound", defaultStorageClass(provider())]);

        const svc = await drill.kube.core.readNamespacedService({
          namespace: drill.namespace,
          name: "shop-storefront",
        });
        const address = svc.status?.loadBalancer?.ingress?.[0]?.ip;
        expect(address, JSON.stringify(svc.status)).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        // From the host to the address MetalLB announced on the node's Docker network: bounded in count and time.
        const page = await poll(
          async () => (await fetch(`http://${address}:80/index.html`, { signal: AbortSignal.timeout(3_000) })).text(),
          (text) => (text === MESSAGE ? undefined : `answered ${JSON.stringify(text.slice(0, 80))}`),
          { timeoutMs: 30_000, intervalMs: 1_000 },
        );
        expect(page.ok, `${page.lastProblem} ${page.lastError ?? ""}`).toBe(true);

        const pods = await drill.kube.core.listNamespacedPod({
          namespace: drill.namespace,
          labelSelector: "app.kubernetes.io/component=web",
        });
        const sidecar = pods.items[0]?.status?.containerStatuses?.find((c) => c.name === "reloader");
        expect(sidecar?.ready, JSON.stringify(sidecar?.state)).toBe(true);

        const tested = await helm.helm(["test", "shop", "--logs"]);
        expect(tested.exitCode, `${tested.stdout}\n${tested.stderr}`).toBe(0);
        expect(tested.stdout).toContain(`shop-storefront.${drill.namespace}.svc.cluster.local: ${MESSAGE}`);
        expect(tested.stdout).toMatch(/Phase:\s+Succeeded/);
      },
    );

    test("shows an HPA's current CPU from the metrics API", async ({ drill }) => {
      const helm = drill.runners({ driver: "helm", helm: versions.at(-1)! });
      const install = await helm.helm([
        "install",
        "hpa",
        chart(),
        "--set",
        "cache.enabled=false,web.service.type=ClusterIP",
        "--wait",
        "--timeout",
        "120s",
      ]);
      expect(install.exitCode, install.stderr).toBe(0);
      const hpa = await poll(
        () =>
          kubeConfigFromYaml(drill.provided.kubeconfig)
            .makeApiClient(AutoscalingV2Api)
            .readNamespacedHorizontalPodAutoscaler({ namespace: drill.namespace, name: "hpa-storefront" }),
        (h) => {
          const cpu = h.status?.currentMetrics?.find((m) => m.resource?.name === "cpu")?.resource?.current;
          return cpu?.averageUtilization !== undefined
            ? undefined
            : `current metrics ${JSON.stringify(h.status?.currentMetrics ?? null)}, conditions ${JSON.stringify(h.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason}`))}`;
        },
        { timeoutMs: 120_000, intervalMs: 2_000 },
      );
      expect(hpa.ok, hpa.lastProblem).toBe(true);
    });
  });
}
