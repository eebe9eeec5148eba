/**
 * HELMDRILL_KEEP=1 keeps what a failed test in tests/cluster/ used — its namespace and the
 * run's cluster — and prints how to reach and remove them; the printed command removes all.
 */
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RUN_LABEL } from "../../harness/cluster/types.ts";
import { scratchRootFor } from "../../harness/util/scratch.ts";
import { run } from "../../harness/exec.ts";
import { loadConfig } from "../../harness/config.ts";
import { PACKAGE_ROOT, pins } from "../../harness/pins.ts";
import { toolPath } from "../../harness/tools/index.ts";

describe("--keep for tests in tests/cluster", () => {
  it(
    "keeps the namespace and cluster of a failed test and says how to reach and remove them",
    { timeout: 300_000 },
    async () => {
      const runId = `keep${Date.now().toString(36)}`;
      const r = await run(
        ["npx", "vitest", "run", "--config", "tests/keep/vitest.config.ts", "--reporter", "default"],
        {
          cwd: PACKAGE_ROOT,
          env: { HELMDRILL_KEEP: "1", HELMDRILL_RUN_ID: runId, HELMDRILL_HELM: "4.1.4", HELMDRILL_HELMFILE: "1.8.0" },
          timeoutMs: 280_000,
        },
      );
      const out = `${r.stdout}\n${r.stderr}`;
      // The role of each container kept: the node, and the registry mirror beside it.
      const containers = (
        await run([
          "docker",
          "ps",
          "--filter",
          `label=${RUN_LABEL}=${runId}`,
          "--format",
          '{{.Label "io.helmdrill.role"}}',
        ])
      ).stdout
        .split("\n")
        .filter(Boolean)
        .sort();
      try {
        expect(r.exitCode, out.slice(-2000)).toBe(1);
        const ns = /kept namespace (hd-[a-z0-9-]+) for inspection — KUBECONFIG=(\S+) kubectl/.exec(out);
        expect(ns, out.slice(-2000)).not.toBeNull();
        expect(out).toMatch(/a test failed: the cluster stays up for inspection/);
        expect(out).toMatch(/remove it and its scratch files with: helmdrill clean {3}\(or: bash \S+reaper\.sh sweep /);
        expect(containers).toEqual(["k3s-node", "registry-mirror"]);
        // Reach it exactly as the message says: that kubeconfig, that namespace.
        const kubectl = toolPath(loadConfig().cacheDir, "kubectl", pins().kubectl.version);
        const cm = await run([
          kubectl,
          "--kubeconfig",
          ns![2]!,
          "-n",
          ns![1]!,
          "get",
          "configmap",
          "evidence",
          "-o",
          "jsonpath={.data.why}",
        ]);
        expect(cm.stdout).toBe("left for inspection");
      } finally {
        const sweep = /\(or: bash (\S+reaper\.sh sweep \S+ \S+)\)/.exec(out)?.[1];
        if (sweep) await run(["bash", ...sweep.split(" ")]);
      }
      expect((await run(["docker", "ps", "-aq", "--filter", `label=${RUN_LABEL}=${runId}`])).stdout.trim()).toBe("");
      expect(existsSync(scratchRootFor(runId))).toBe(false);
    },
  );
});
