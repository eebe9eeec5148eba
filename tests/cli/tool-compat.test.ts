/**
 * The pairings pins.json excludes must really be impossible: helmfile 0.167.1 (which says it
 * supports Helm <4) cannot even determine a Helm 4 version. And every pinned tool reports
 * the version it is pinned as (every one npm test provisions).
 */
import { describe, expect, it } from "vitest";
import path from "node:path";
import { loadConfig } from "../../harness/config.ts";
import { run } from "../../harness/exec.ts";
import { helmfileSupportsHelm, PACKAGE_ROOT, pins } from "../../harness/pins.ts";
import { toolPath } from "../../harness/tools/index.ts";

const { cacheDir } = loadConfig();
// What npm test's provisioning installs: every npm-packed pin and the defaults (another pinned
// version built from its Go module is built when a run asks for it).
const helmVersions = Object.entries(pins().helm)
  .filter(([v, pin]) => pin.source === "npm" || pins().defaults.helm.includes(v))
  .map(([v]) => v);
const helmfileVersions = Object.keys(pins().helmfile).filter((k) => !k.startsWith("$"));

describe("pinned tool pairings", () => {
  it.each(helmVersions)("helm %s reports its pinned version", async (v) => {
    const r = await run([toolPath(cacheDir, "helm", v), "version", "--short"]);
    // Release binaries add "+g<commit>"; a build from the Go module proxy has no commit to add.
    expect(r.stdout.trim()).toMatch(new RegExp(`^v${v.replaceAll(".", "\\.")}(\\+g[0-9a-f]+)?$`));
  });

  const excluded = helmfileVersions.flatMap((hf) =>
    helmVersions.filter((h) => !helmfileSupportsHelm(hf, h)).map((h) => [hf, h] as const),
  );
  it("excludes at least the helmfile 0.x + Helm 4 pairing", () => {
    expect(excluded).toContainEqual(["0.167.1", "4.1.4"]);
  });

  it.each(excluded)("helmfile %s cannot drive helm %s (so it is not run)", async (hf, h) => {
    const r = await run(
      [
        toolPath(cacheDir, "helmfile", hf),
        "--helm-binary",
        toolPath(cacheDir, "helm", h),
        "-f",
        path.join(PACKAGE_ROOT, "fixtures", "helmfile", "helmfile.yaml.gotmpl"),
        "sync",
      ],
      { env: { HELMDRILL_NAMESPACE: "unused", KUBECONFIG: "/nonexistent" }, timeoutMs: 60_000 },
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/error determining helm version/);
  });
});
