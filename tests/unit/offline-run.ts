/**
 * What the step runner's unit tests share: a stand-in `helm` script in a private directory
 * (removed after the file's tests) and a run environment with no API server behind it (every
 * client call rejects, which the runner must survive). No cluster, no real Helm: these tests
 * exercise the runner's own logic only.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import type { RunEnvironment } from "../../harness/dsl/scenario.ts";
import type { Kube } from "../../harness/probes/resources.ts";
import { bindRunners } from "../../harness/tools/runners.ts";

/** `#!/bin/sh` + `case "$1" in <cases> esac`: one line per subcommand, e.g. `upgrade) exec sleep 20;;`. */
export function fakeHelm(prefix: string, cases: readonly string[]): { dir: string; helm: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const helm = path.join(dir, "helm");
  writeFileSync(helm, ["#!/bin/sh", 'case "$1" in', ...cases.map((c) => `  ${c}`), "esac", ""].join("\n"));
  chmodSync(helm, 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, helm };
}

/** No API server in a unit test: every call rejects. */
const noCluster = new Proxy({}, { get: () => () => Promise.reject(new Error("no cluster in this unit test")) });
export const offlineKube = { core: noCluster, apps: noCluster, batch: noCluster } as unknown as Kube;

/** A run environment whose helm is `helm`, kubectl `/bin/false`, the cluster none; `extra` overrides. */
export function offlineEnvironment(
  fake: { dir: string; helm: string },
  extra: Partial<RunEnvironment> = {},
): RunEnvironment {
  const commandLog: RunEnvironment["commandLog"] = [];
  const runners = bindRunners({
    helm: fake.helm,
    kubectl: "/bin/false",
    kubeconfigPath: "/dev/null",
    namespace: "unit",
    helmHome: fake.dir,
    cwd: fake.dir,
    onCommand: (result, o) => commandLog.push({ result, probe: Boolean(o.probe) }),
  });
  return {
    namespace: "unit",
    runners,
    kube: offlineKube,
    fixture: (r) => r,
    allocateNodePort: async () => 30000,
    commandLog,
    snapshotTimeoutMs: 0,
    ...extra,
  };
}
