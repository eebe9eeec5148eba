import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { succeeds } from "../../harness/dsl/checks.ts";
import { executeScenario, type RunEnvironment } from "../../harness/dsl/scenario.ts";
import { helm, step } from "../../harness/dsl/step.ts";
import type { Kube } from "../../harness/probes/resources.ts";
import { bindRunners } from "../../harness/tools/runners.ts";

// A stand-in `helm` for this unit test of the step runner's logic: `upgrade` hangs like a
// helm --wait that never ends, everything else answers "not found" at once.
const dir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-unit-"));
const fakeHelm = path.join(dir, "helm");
writeFileSync(
  fakeHelm,
  '#!/bin/sh\ncase "$1" in upgrade) exec sleep 20;; *) echo "Error: release: not found" >&2; exit 1;; esac\n',
);
chmodSync(fakeHelm, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** No API server in a unit test: every call rejects, which the step runner must survive. */
const noCluster = new Proxy({}, { get: () => () => Promise.reject(new Error("no cluster in this unit test")) });
const kube = { core: noCluster, apps: noCluster, batch: noCluster } as unknown as Kube;

function environment(): RunEnvironment {
  const commandLog: RunEnvironment["commandLog"] = [];
  const runners = bindRunners({
    helm: fakeHelm,
    kubectl: "/bin/false",
    kubeconfigPath: "/dev/null",
    namespace: "unit",
    helmHome: dir,
    cwd: dir,
    onCommand: (result, o) => commandLog.push({ result, probe: Boolean(o.probe) }),
  });
  return {
    namespace: "unit",
    runners,
    kube,
    fixture: (r) => r,
    allocateNodePort: async () => 30000,
    commandLog,
    snapshotTimeoutMs: 0,
  };
}

describe("Step.withTimeout", () => {
  it(
    "bounds the step's command: a hanging command is killed and the step fails saying so",
    { timeout: 30_000 },
    async () => {
      const spec = {
        id: "hang",
        title: "hang",
        summary: "",
        source: { file: "x", section: "y" },
        release: "r",
        steps: [
          step("upgrade that hangs")
            .does(helm("upgrade", "r", "chart", "--wait"))
            .withTimeout(1_000)
            .expect(succeeds()),
        ],
      };
      const run = await executeScenario(spec, { driver: "helm", helm: "3.17.3" }, environment());
      const s = run.steps[0]!;
      expect(s.status).toBe("failed");
      expect(s.checks[0]!.observed).toMatch(/killed by helmdrill's timeout after \d+ ms/);
      const upgrade = s.commands.find((c) => !c.probe)!;
      // The stand-in sleeps 20 s: a command that ran its course was not killed.
      expect(upgrade.durationMs).toBeLessThan(10_000);
    },
  );
});
