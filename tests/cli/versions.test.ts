/**
 * `helmdrill versions` as a person runs it: from a directory with no project, on a cache of its
 * own (HELMDRILL_CACHE) whose size is known, with a helmdrill.lock in the working directory. It
 * names the pinned defaults, what is built (an on-demand build and its lock entry), the cache's
 * size, and exits 0 — also when the Go module proxy cannot be asked (GOPROXY=off).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../harness/exec.ts";
import { PACKAGE_ROOT, pins } from "../../harness/pins.ts";
import type { VersionsModel } from "../../harness/cli/versions.ts";
import { emptyLock, renderLock } from "../../harness/tools/lock.ts";

const CLI = path.join(PACKAGE_ROOT, "bin", "helmdrill.mjs");
const root = mkdtempSync(path.join(os.tmpdir(), "helmdrill-versions-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cache = path.join(root, "cache");
const cwd = path.join(root, "team");
// 3 MiB of payload: a built "helm 3.20.2" (a stand-in) in the cache, where a build goes.
mkdirSync(path.join(cache, "tools", "helm", "3.20.2"), { recursive: true });
writeFileSync(path.join(cache, "tools", "helm", "3.20.2", "helm"), Buffer.alloc(3 * 1024 * 1024));
mkdirSync(cwd, { recursive: true });
writeFileSync(
  path.join(cwd, "helmdrill.lock"),
  renderLock({
    ...emptyLock(),
    helm: {
      "3.20.2": { module: "helm.sh/helm/v3", version: "v3.20.2", sha256: { "go1.26.8 linux/amd64": "d".repeat(64) } },
    },
  }),
);

// No project: not even the one this test run's vitest config loaded (HELMDRILL_PROJECT, inherited).
const helmdrill = (args: string[], env: Record<string, string> = {}) =>
  run(["node", CLI, "versions", ...args], {
    cwd,
    env: { HELMDRILL_CACHE: cache, HELMDRILL_PROJECT: "", ...env },
    timeoutMs: 120_000,
  });

describe("helmdrill versions", () => {
  it("names the pinned defaults, the builds with the lock's entries, and the cache's size; exit 0", async () => {
    const r = await helmdrill([], { GOPROXY: "off" });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(new RegExp(`^cache  ${cache.replaceAll("/", "\\/")}  3\\.0 MiB$`, "m"));
    expect(out).toContain(`lock   ${path.join(cwd, "helmdrill.lock")}  (1 entry: helm 3.20.2)`);
    for (const v of pins().defaults.helm)
      expect(out).toMatch(new RegExp(`^  pinned .*\\b${v.replaceAll(".", "\\.")} \\(default\\)`, "m"));
    for (const v of pins().defaults.helmfile) expect(out).toContain(`${v} (default)`);
    expect(out).toMatch(/^Helm\n {2}pinned .*\n {2}built {6}3\.20\.2 \(on demand, in helmdrill\.lock\)$/m);
    expect(out).toContain(`kind CLI\n  pinned     ${pins().cluster.kind.cli.version.replace(/^v/, "")} (default)`);
    expect(out).toMatch(
      /^Flux targets\n {2}pinned {5}1\.4 \(helm-controller 1\.4\.0 \+ source-controller 1\.7\.0, Helm library 3\.19\.0, default\), 1\.6 \(/m,
    );
    expect(out).toMatch(/^Kubernetes nodes \(k3s\)$/m);
    expect(out).toMatch(/^Kubernetes nodes \(kind\)$/m);
    // The proxy could not be asked: said, not a failure.
    expect(out).toMatch(/^ {2}on demand {2}helm\.sh\/helm\/v3: the Go module proxy did not answer: .*GOPROXY=off/m);
  });

  it("--json: the same model as JSON", async () => {
    const r = await helmdrill(["--json"], { GOPROXY: "off" });
    expect(r.exitCode, r.stderr).toBe(0);
    const model = JSON.parse(r.stdout) as VersionsModel;
    expect(model.cache).toMatchObject({ dir: cache, size: "3.0 MiB" });
    expect(model.cache.bytes).toBeGreaterThanOrEqual(3 * 1024 * 1024);
    const helm = model.tools.find((t) => t.key === "helm")!;
    expect(helm.pinned.filter((p) => p.default).map((p) => p.version)).toEqual(
      [...pins().defaults.helm].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })),
    );
    expect(helm.built).toEqual([{ version: "3.20.2", pinned: false, detail: "on demand, in helmdrill.lock" }]);
    expect(model.lock).toMatchObject({ state: "present", entries: ["helm 3.20.2"] });
  });
});
