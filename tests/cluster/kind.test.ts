/**
 * kind for real (issue #11): beside the run's own cluster, a kind cluster of every minor under
 * test (HELMDRILL_MINORS: by default the pinned default and the oldest pinned minor; `all`: every
 * pinned one) started through the real kind CLI — upstream kindest/node when present, else
 * helmdrill's offline build — shows the same facts as the run's cluster
 * (tests/cluster/cluster-facts.ts), and leaves nothing behind.
 */
import { describe, expect, inject, it } from "vitest";
import { kindClusterName } from "../../harness/cluster/index.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { poll } from "../../harness/dsl/poll.ts";
import { run } from "../../harness/exec.ts";
import { clusterBeside, clusterFacts, hostNotePattern } from "./cluster-facts.ts";
import { kubernetesPin, minorsFor, pins } from "../../harness/pins.ts";
import { componentFacts } from "./component-facts.ts";
import { minorsToStart } from "../../harness/config.ts";
import { skipUnlessStrict } from "../../harness/vitest/strict.ts";

const base = inject("helmdrill");
const { start, missing } = minorsToStart("kind", base.config);

it("has a kind minor under test to start", () => {
  expect(
    start.length,
    `no kind minor to start (under test: ${base.config.minorsUnderTest.join(", ")}; pinned kind minors: ${minorsFor("kind").join(", ")})`,
  ).toBeGreaterThan(0);
});

// A minor under test kind has no node pinned for: skipped with the reason, failed under --strict.
for (const minor of missing) {
  const reason = `no kind node is pinned for Kubernetes ${minor} (pinned kind minors: ${minorsFor("kind").join(", ")})`;
  if (skipUnlessStrict(`a kind node of Kubernetes ${minor}`, reason))
    it.skip(`kind, Kubernetes ${minor}: ${reason}`, () => {});
}

// Every minor under test kind has a node for, one cluster after the other.
for (const minor of start) {
  describe(`kind, Kubernetes ${minor}`, () => {
    const runId = `${base.config.runId}-kind${minor.replace(".", "")}`;
    // Its own cluster name (helmdrill-<run>-kind134); scratch files stay under the run's own root.
    const { cluster, provided } = clusterBeside(runId, { cluster: "kind", clusters: ["kind"], kubernetes: [minor] });
    const nodeContainers = async () =>
      (await run(["docker", "ps", "-aq", "--filter", `label=io.x-k8s.kind.cluster=${kindClusterName(runId)}`])).stdout
        .trim()
        .split("\n")
        .filter(Boolean);

    it(
      `runs the node image helmdrill picked, reporting ${kubernetesPin(minor).version}, with kind's kubeadm-built control plane, kube-proxy and CoreDNS all Ready`,
      { timeout: 180_000 },
      async () => {
        // On a cgroup v1 host the report line also says what the kubelet was told.
        const host = await hostNotePattern();
        expect(provided().cluster.runsOn).toMatch(
          new RegExp(
            `^kind \\((kindest/node|helmdrill\\.local/kind-node):[^)]+\\), Kubernetes v1\\.\\d+\\.\\d+${host}$`,
          ),
        );
        expect(provided().cluster.label).toBe(`kind ${minor}`);
        // The upstream kindest/node may carry another patch of the minor; helmdrill's build is the pinned one.
        expect(provided().cluster.kubernetes).toMatch(new RegExp(`^${minor.replace(".", "\\.")}\\.\\d+$`));
        if (provided().cluster.runsOn.includes("helmdrill.local/"))
          expect(provided().cluster.kubernetes).toBe(kubernetesPin(minor).version.replace(/^v/, ""));
        expect(await nodeContainers()).toHaveLength(1);
        // kubeadm's static pods at once; kube-proxy (DaemonSet) and CoreDNS (Deployment) once the controllers ran.
        const running = await poll(
          async () =>
            JSON.parse(
              (
                await run([
                  base.tools.kubectl,
                  "--kubeconfig",
                  cluster().kubeconfigPath,
                  "get",
                  "pods",
                  "-n",
                  "kube-system",
                  "-o",
                  "json",
                ])
              ).stdout || "{}",
            ) as { items?: V1Pod[] },
          (list) => {
            const ready = (p: V1Pod) =>
              p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
            const states = (list.items ?? []).map((p) => `${p.metadata?.name}=${ready(p) ? "Ready" : p.status?.phase}`);
            const missing = [
              "etcd-",
              "kube-apiserver-",
              "kube-controller-manager-",
              "kube-scheduler-",
              "kube-proxy-",
              "coredns-",
            ].filter((c) => !states.some((p) => p.startsWith(c) && p.endsWith("=Ready")));
            return missing.length === 0
              ? undefined
              : `not Ready yet: ${missing.join(", ")} (pods: ${states.join(", ")})`;
          },
          { timeoutMs: 120_000 },
        );
        expect(running.ok, running.lastProblem).toBe(true);
      },
    );

    clusterFacts(`the kind ${minor} cluster`, provided, { timeout: 180_000 });
    // What kind lacks offline (issue #20), on the default minor: storage as kind ships it, a load balancer, metrics, a mirror.
    if (minor === pins().cluster.kubernetes.default)
      componentFacts(`the kind ${minor} cluster's packaged components`, provided, { timeout: 300_000 });

    it("leaves no node container and no kind cluster behind", { timeout: 300_000 }, async () => {
      await cluster().stop();
      expect(await nodeContainers()).toEqual([]);
    });
  });
}
