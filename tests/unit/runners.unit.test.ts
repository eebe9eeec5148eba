import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bindRunners } from "../../harness/tools/runners.ts";

describe("the tool runners' environment", () => {
  const home = mkdtempSync(path.join(os.tmpdir(), "helmdrill-runners-test-"));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  // /bin/sh in the tools' place: it shows the environment each tool is started with.
  const runners = bindRunners({
    helm: "/bin/sh",
    kubectl: "/bin/sh",
    helmfile: "/bin/sh",
    kubeconfigPath: "/dev/null",
    namespace: "ns",
    helmHome: home,
    cwd: home,
  });

  it("puts every tool's temporary files inside the private Helm home (removed with it)", async () => {
    for (const call of [runners.helm, runners.kubectl]) {
      const r = await call(["-c", "mktemp -d"]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout.trim().startsWith(path.join(home, "tmp") + path.sep)).toBe(true);
      expect(existsSync(r.stdout.trim())).toBe(true);
    }
  });

  it("points Helm at the private home and the run's kubeconfig, never the user's", async () => {
    const r = await runners.helm(["-c", 'echo "$KUBECONFIG $HELM_CONFIG_HOME $HELM_DATA_HOME $HELM_CACHE_HOME"']);
    expect(r.stdout.trim()).toBe(`/dev/null ${home}/config ${home}/data ${home}/cache`);
  });
});
