/**
 * Issue #2's and #11's acceptance, on any cluster helmdrill starts: the node is Ready, real
 * workloads reach the states the scenarios rely on, the API server enforces NodePort
 * allocation, and `helm install --wait` works with every provisioned Helm. The run's own
 * cluster (k3s by default) and a kind cluster started for the purpose both show them.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject } from "vitest";
import { poll } from "../../harness/dsl/poll.ts";
import { podStatus } from "../../harness/probes/resources.ts";
import { drillTestOn } from "../../harness/vitest/fixtures.ts";
import { providedFor, type HelmdrillProvided } from "../../harness/vitest/drill.ts";
import { providerFor, type StartedCluster } from "../../harness/cluster/index.ts";
import type { HelmdrillConfig } from "../../harness/config.ts";
import { allocateNodePort } from "../../harness/cluster/nodeports.ts";
import { pins } from "../../harness/pins.ts";
import { hostNote } from "../../harness/provision/privileges.ts";

const BUSYBOX = pins().images.busybox;

/**
 * A cluster beside the run's own, for the enclosing describe (or file): started before its
 * tests under its own run id (its container label or kind cluster name, so a test finds its node
 * alone), with the run's tools and scratch root; stopped after them (stop is idempotent).
 */
export function clusterBeside(
  runId: string,
  overrides: Partial<HelmdrillConfig>,
): { cluster: () => StartedCluster; provided: () => HelmdrillProvided } {
  const base = inject("helmdrill");
  let cluster: StartedCluster | undefined;
  let provided: HelmdrillProvided | undefined;
  beforeAll(async () => {
    const config = { ...base.config, ...overrides };
    cluster = await (await providerFor({ ...config, runId })).start();
    provided = await providedFor(config, base.tools, cluster);
  }, 600_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 300_000);
  return { cluster: () => cluster!, provided: () => provided! };
}
const labels = (app: string) => ({ app });
/** A one-replica Deployment of one container, as the scenarios' charts would render it. */
const deployment = (name: string, container: Record<string, unknown>) => ({
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: labels(name) },
    template: {
      metadata: { labels: labels(name) },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", ...container }] },
    },
  },
});
/** busybox httpd serving `text` at / on 8080, Ready once it answers. */
const httpServer = (name: string, text: string) =>
  deployment(name, {
    image: BUSYBOX,
    command: ["sh", "-c", `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 8080 -h /www`],
    readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 },
  });
/** A Job of one busybox container running `script`. */
const job = (name: string, script: string, backoffLimit: number) => ({
  metadata: { name },
  spec: {
    backoffLimit,
    template: {
      spec: {
        restartPolicy: "Never",
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "c", image: BUSYBOX, command: ["sh", "-c", script] }],
      },
    },
  },
});

export function clusterFacts(
  title: string,
  provided: () => HelmdrillProvided,
  options: { timeout?: number } = {},
): void {
  const test = drillTestOn(provided);
  describe(title, options, () => {
    test("has a Ready node", async ({ drill }) => {
      const nodes = await drill.kube.core.listNode();
      expect(nodes.items.length).toBeGreaterThan(0);
      const ready = nodes.items.flatMap((n) => n.status?.conditions ?? []).filter((c) => c.type === "Ready");
      expect(ready.map((c) => c.status)).toContain("True");
    });

    test("runs the busybox HTTP server until its Deployment is Available", async ({ drill }) => {
      await drill.kube.apps.createNamespacedDeployment({
        namespace: drill.namespace,
        body: httpServer("web", "ok"),
      });
      const r = await poll(
        () => drill.kube.apps.readNamespacedDeployment({ name: "web", namespace: drill.namespace }),
        (d) =>
          d.status?.conditions?.some((c) => c.type === "Available" && c.status === "True")
            ? undefined
            : `conditions ${JSON.stringify(d.status?.conditions)}`,
        { timeoutMs: 90_000 },
      );
      expect(r.ok, r.lastProblem).toBe(true);
    });

    test("routes a pod's request to another pod through its Service's ClusterIP (kube-proxy + CNI)", async ({
      drill,
    }) => {
      await drill.kube.apps.createNamespacedDeployment({
        namespace: drill.namespace,
        body: httpServer("echo", "routed"),
      });
      const svc = await drill.kube.core.createNamespacedService({
        namespace: drill.namespace,
        body: {
          metadata: { name: "echo" },
          spec: { selector: labels("echo"), ports: [{ port: 80, targetPort: 8080 }] },
        },
      });
      await drill.kube.batch.createNamespacedJob({
        namespace: drill.namespace,
        body: job("client", `test "$(wget -qO- http://${svc.spec?.clusterIP}:80/)" = routed`, 20),
      });
      const r = await poll(
        () => drill.kube.batch.readNamespacedJob({ name: "client", namespace: drill.namespace }),
        (j) =>
          j.status?.succeeded
            ? undefined
            : `job status ${JSON.stringify({ failed: j.status?.failed, conditions: j.status?.conditions })}`,
        { timeoutMs: 90_000 },
      );
      expect(r.ok, r.lastProblem).toBe(true);
    });

    test("fails a Job whose container exits 1 with BackoffLimitExceeded", async ({ drill }) => {
      await drill.kube.batch.createNamespacedJob({ namespace: drill.namespace, body: job("exit-one", "exit 1", 0) });
      const r = await poll(
        () => drill.kube.batch.readNamespacedJob({ name: "exit-one", namespace: drill.namespace }),
        (j) => {
          const failed = j.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
          return failed?.reason === "BackoffLimitExceeded"
            ? undefined
            : `conditions ${JSON.stringify(j.status?.conditions ?? [])}`;
        },
        { timeoutMs: 90_000 },
      );
      expect(r.ok, r.lastProblem).toBe(true);
    });

    test("keeps a Deployment with an unpullable image unavailable in ErrImagePull/ImagePullBackOff", async ({
      drill,
    }) => {
      await drill.kube.apps.createNamespacedDeployment({
        namespace: drill.namespace,
        body: deployment("bad", { image: pins().images.unpullable }),
      });
      const r = await poll(
        () => drill.kube.core.listNamespacedPod({ namespace: drill.namespace, labelSelector: "app=bad" }),
        (pods) =>
          pods.items.some((p) => /ErrImagePull|ImagePullBackOff/.test(podStatus(p)))
            ? undefined
            : `pods: ${pods.items.map(podStatus).join(", ")}`,
        { timeoutMs: 90_000 },
      );
      expect(r.ok, r.lastProblem).toBe(true);
      const d = await drill.kube.apps.readNamespacedDeployment({ name: "bad", namespace: drill.namespace });
      expect(d.status?.availableReplicas ?? 0).toBe(0);
    });

    test("rejects a second Service asking for an allocated NodePort", async ({ drill }) => {
      const port = await allocateNodePort(drill.kube.core, drill.namespace);
      const service = (name: string) => ({
        metadata: { name },
        spec: { type: "NodePort", selector: labels("x"), ports: [{ port: 80, nodePort: port }] },
      });
      await drill.kube.core.createNamespacedService({ namespace: drill.namespace, body: service("first") });
      const second = await drill.kube.core
        .createNamespacedService({ namespace: drill.namespace, body: service("second") })
        .then(
          () => "created",
          (e: Error) => e.message,
        );
      expect(second).toMatch(/provided port is already allocated/);
    });

    // The tools are the run's whatever the cluster: the Helm versions are known when tests are collected.
    const versions = Object.keys(inject("helmdrill").tools.helm);
    test.for(versions)("helm %s install --wait of a tiny chart succeeds", async (version, { drill }) => {
      const helm = drill.runners({ driver: "helm", helm: version });
      const r = await helm.helm([
        "install",
        "tiny",
        path.join(provided().config.fixturesDir, "local-chart"),
        "--set",
        "serviceEnabled=true",
        "--wait",
        "--timeout",
        "60s",
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
      const v = await helm.helm(["version", "--short"]);
      expect(v.stdout).toContain(`v${version}`);
    });
  });
}

/**
 * The end of a cluster's report line on this host, as a RegExp source: on a cgroup v1 host
 * ", cgroup v1 (kubelet failCgroupV1: false)" — what the kubelet was told —, elsewhere nothing.
 */
export async function hostNotePattern(): Promise<string> {
  const note = await hostNote();
  return note ? `, ${note.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}` : "";
}
