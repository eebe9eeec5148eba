/**
 * A dead cluster is not a Helm verdict (#21), on a real cluster: a k3s node started for this
 * test is `docker kill`ed while `atomic-upgrade-rollback`'s upgrade waits (as in the issue). The
 * upgrade is stopped at once — killed, not left to Helm's timeout — and the run is recorded as
 * "cluster lost" at that step, failing with a ClusterLostError, not as a Helm behaviour failure.
 */
import { describe, expect, inject, type TaskMeta } from "vitest";
import { run } from "../../harness/exec.ts";
import { replayTarget } from "../../harness/vitest/replay.ts";
import { drillTestOn } from "../../harness/vitest/fixtures.ts";
import { ClusterLostError } from "../../harness/vitest/cluster-watch.ts";
import type { Step } from "../../harness/dsl/step.ts";
import atomicUpgradeRollback from "../../scenarios/atomic-upgrade-rollback.ts";
import { clusterBeside } from "./cluster-facts.ts";

const base = inject("helmdrill");
const beside = clusterBeside(`${base.config.runId}-lost`, { cluster: "k3s", clusters: ["k3s"] });
const test = drillTestOn(beside.provided);

describe("a cluster whose node is killed mid-run", () => {
  test(
    "the running step is stopped at once and the run is 'cluster lost' at that step",
    { timeout: 10 * 60_000 },
    async ({ drill }) => {
      const [node] = beside.provided().cluster.containers ?? [];
      expect(node).toBeTruthy();
      const helm = base.config.helmVersions.at(-1)!;
      // 8 s into step 2 (`helm upgrade --atomic --timeout 30s`, waiting for a pod that never gets ready):
      // docker kill.
      let killed: Promise<unknown> | undefined;
      const killDuringUpgrade = async (_: Step, index: number) => {
        if (index === 2)
          killed = new Promise((r) => setTimeout(r, 8_000)).then(() =>
            run(["docker", "kill", node!], { timeoutMs: 60_000 }),
          );
      };
      const killing = {
        ...drill,
        environment: (t: Parameters<typeof drill.environment>[0], hooks: Parameters<typeof drill.environment>[1]) => ({
          ...drill.environment(t, hooks),
          beforeStep: killDuringUpgrade,
        }),
      };
      const task = { meta: {} as TaskMeta };
      const options = { coverage: [], cluster: { runsOn: "k3s (killed)", label: "k3s" }, progress: false };
      const error = await replayTarget(atomicUpgradeRollback, { driver: "helm", helm }, killing, task, options).catch(
        (e: unknown) => e,
      );
      expect(await killed).toMatchObject({ exitCode: 0 });

      expect(error).toBeInstanceOf(ClusterLostError);
      const lost = task.meta.helmdrill!;
      expect(lost.clusterLost).toEqual({ step: 2, reason: "node container exited 137" });
      expect(lost.steps[0]!.status).toBe("matches");
      const upgrade = lost.steps[1]!;
      expect(upgrade.problem).toBe("the run was stopped while this step ran: cluster lost: node container exited 137");
      // Helm was killed (SIGTERM, 143) by the loss, not ended by its own 30 s timeout.
      expect(upgrade.commands.filter((c) => !c.probe).map((c) => c.exitCode)).toEqual([143]);
    },
  );
});
