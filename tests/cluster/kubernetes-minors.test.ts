/**
 * Kubernetes minors as an axis (issue #11): beside the run's own cluster, a k3s-compatible node
 * of every other minor under test (HELMDRILL_MINORS: by default the pinned default and the
 * oldest pinned minor; `all`: every pinned one), started the way a run with `--kubernetes <minor>`
 * starts it, reports that minor's version and shows the same facts as the run's cluster
 * (tests/cluster/cluster-facts.ts), and leaves nothing behind.
 */
import { describe, expect, inject, it } from "vitest";
import { run } from "../../harness/exec.ts";
import { kubernetesPin, minorsFor } from "../../harness/pins.ts";
import { minorsToStart } from "../../harness/config.ts";
import { RUN_LABEL } from "../../harness/cluster/types.ts";
import { skipUnlessStrict } from "../../harness/vitest/strict.ts";
import { clusterBeside, clusterFacts, hostNotePattern } from "./cluster-facts.ts";

const base = inject("helmdrill");
// The run's own cluster covers its minor; every other k3s minor under test gets one here.
const runMinor = base.cluster.kubernetes.split(".").slice(0, 2).join(".");
const { start, missing } = minorsToStart("k3s", base.config);
const others = start.filter((m) => m !== runMinor);

// Without this, a run whose minor is the only one under test would produce no test here and pass
// without a word: the axis has to be there to be tested.
it("has a k3s minor under test besides the run's own to start", () => {
  const why = `k3s minors under test: ${start.join(", ")} (HELMDRILL_MINORS=${base.config.minorsUnderTest.join(",")}; pinned: ${minorsFor("k3s").join(", ")}); the run's cluster: Kubernetes ${base.cluster.kubernetes}`;
  expect(others.length, `no other minor to start (${why}): the Kubernetes axis goes untested`).toBeGreaterThan(0);
});

// A minor under test the k3s-compatible node is not pinned for: skipped with the reason, failed under --strict.
for (const minor of missing) {
  const reason = `no k3s node is pinned for Kubernetes ${minor} (pinned k3s minors: ${minorsFor("k3s").join(", ")})`;
  if (skipUnlessStrict(`a k3s node of Kubernetes ${minor}`, reason))
    it.skip(`Kubernetes ${minor}: ${reason}`, () => {});
}

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

    it(`runs a node whose API server reports ${kubernetesPin(minor).version}`, async () => {
      expect(provided().cluster.kubernetes).toBe(kubernetesPin(minor).version.replace(/^v/, ""));
      expect(provided().cluster.label).toBe(`k3s ${minor}`);
      // On a cgroup v1 host the report line also says what the kubelet was told.
      const host = await hostNotePattern();
      expect(provided().cluster.runsOn).toMatch(
        new RegExp(`, Kubernetes ${kubernetesPin(minor).version.replaceAll(".", "\\.")}${host}$`),
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
