/**
 * A dead cluster is not a Helm verdict (#21), on a real cluster: a k3s node started for this
 * test is `docker kill`ed while `atomic-upgrade-rollback`'s upgrade waits (as in the issue). The
 * upgrade ends at once — not at Helm's timeout, no check after it waits — and the run is recorded as
 * "cluster lost" at that step, failing with a ClusterLostError, not as a Helm behaviour failure.
 */
import { describe, expect, inject, type TaskMeta } from "vitest";
import { run } from "../../harness/exec.ts";
import { replayTarget } from "../../harness/vitest/replay.ts";
import { drillTestOn } from "../../harness/vitest/fixtures.ts";
import { ClusterLostError } from "../../harness/vitest/cluster-watch.ts";
import { defineScenario, fails, helm as helmAction, podsInclude, step, type Step } from "../../harness/index.ts";
import { DB_11_8, DB_PODS, RELEASE, chart, installV1 } from "../../scenarios/shared/todo-list.ts";
import { clusterBeside } from "./cluster-facts.ts";

// atomic-upgrade-rollback's first two steps, built here: importing a scenario file registers its own tests.
const atomicUpgrade = defineScenario({
  id: "cluster-lost",
  title: "atomic upgrade on a node that dies",
  summary: "",
  source: { file: "-", section: "-" },
  release: RELEASE,
  selector: "kiamol=ch12",
  steps: [
    installV1(),
    step("`helm upgrade --atomic --timeout 30s todo-list v2`: the new database never becomes ready")
      .does(helmAction("upgrade", "--atomic", "--timeout", "30s", RELEASE, chart("v2")))
      .whileRunning(podsInclude(DB_PODS, DB_11_8))
      .expect(fails(/UPGRADE FAILED/)),
  ],
});

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
      const error = await replayTarget(atomicUpgrade, { driver: "helm", helm }, killing, task, options).catch(
        (e: unknown) => e,
      );
      expect(await killed).toMatchObject({ exitCode: 0 });

      expect(error).toBeInstanceOf(ClusterLostError);
      const lost = task.meta.helmdrill!;
      expect(lost.clusterLost).toEqual({ step: 2, reason: "node container exited 137" });
      expect(lost.steps[0]!.status).toBe("matches");
      const upgrade = lost.steps[1]!;
      expect(upgrade.problem).toBe("the run was stopped while this step ran: cluster lost: node container exited 137");
      // Ended by the dead cluster (killed, or refused by the gone API server), not by Helm's own 30 s timeout;
      // the checks after the step (which waited out their timeouts in the issue) did not run.
      const [command] = upgrade.commands.filter((c) => !c.probe);
      expect(command!.exitCode, command!.stderr).not.toBe(0);
      expect(command!.stderr).not.toMatch(/context deadline exceeded/);
      expect(upgrade.checks.filter((c) => c.phase === "after")).toEqual([]);
      expect(upgrade.release).toBeUndefined();
    },
  );
});
