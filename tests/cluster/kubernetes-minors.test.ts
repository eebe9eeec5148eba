/**
 * Kubernetes minors as an axis (issue #11): beside the run's own cluster, a k3s-compatible node
 * of every other pinned minor, started the way a run with `--kubernetes <minor>` starts it,
 * reports that minor's version and shows the same facts as the run's cluster
 * (tests/cluster/cluster-facts.ts), and leaves nothing behind.
 */
import { describe, expect, inject, it } from "vitest";
import { run } from "../../harness/exec.ts";
import { kubernetesPin, minorsFor } from "../../harness/pins.ts";
import { RUN_LABEL } from "../../harness/cluster/types.ts";
import { clusterBeside, clusterFacts } from "./cluster-facts.ts";

const base = inject("helmdrill");
// The run's own cluster covers its minor; every other pinned k3s minor gets one here.
const runMinor = base.cluster.kubernetes.split(".").slice(0, 2).join(".");
const others = minorsFor("k3s").filter((m) => m !== runMinor);

// Without this, a run whose minor is the only one pinned would produce no test here and pass
// without a word: the axis has to be there to be tested.
it("has a pinned k3s minor besides the run's own to start", () => {
  const why = `pinned k3s minors: ${minorsFor("k3s").join(", ")}; the run's cluster: Kubernetes ${base.cluster.kubernetes}`;
  expect(others.length, `no other minor to start (${why}): the Kubernetes axis goes untested`).toBeGreaterThan(0);
});

for (const minor of others) {
  describe(`Kubernetes ${minor}`, () => {
    const runId = `${base.config.runId}-k${minor.replace(".", "")}`;
    // Its own label (containers() finds this node alone); scratch files stay under the run's own root.
    const { cluster, provided } = clusterBeside(runId, {
      cluster: "k3s",
      clusters: ["k3s"],
      kubernetes: [minor],
      k3sImage: undefined,
    });
    // The role of each container of this cluster: its node, and the registry mirror beside it.
    const containers = async () =>
      (
        await run([
          "docker",
          "ps",
          "-a",
          "--filter",
          `label=${RUN_LABEL}=${runId}`,
          "--format",
          '{{.Label "io.helmdrill.role"}}',
        ])
      ).stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .sort();

    it(`runs a node whose API server reports ${kubernetesPin(minor).version}`, () => {
      expect(provided().cluster.kubernetes).toBe(kubernetesPin(minor).version.replace(/^v/, ""));
      expect(provided().cluster.label).toBe(`k3s ${minor}`);
      expect(provided().cluster.runsOn).toMatch(
        new RegExp(`, Kubernetes ${kubernetesPin(minor).version.replaceAll(".", "\\.")}$`),
      );
    });

    clusterFacts(`the Kubernetes ${minor} cluster`, provided, { timeout: 180_000 });

    it("leaves no node container (and no registry mirror) behind", { timeout: 300_000 }, async () => {
      expect(await containers()).toEqual(["k3s-node", "registry-mirror"]);
      await cluster().stop();
      expect(await containers()).toEqual([]);
    });
  });
}
