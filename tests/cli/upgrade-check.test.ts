/**
 * `helmdrill upgrade-check` as a real process on a real cluster: the example's inventory chart
 * upgraded from 1.0.0 — served by a chart repository the harness runs on the loopback — to the
 * 2.0.0 directory, on Helm 3 and Helm 4 and the Helm 3 → 4 migration. Chart sources (a
 * repository version, a .tgz, a git ref) resolve offline; bad input exits 2 before a cluster.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUN_LABEL } from "../../harness/cluster/types.ts";
import { loadConfig } from "../../harness/config.ts";
import { run, runChecked, type CommandResult } from "../../harness/exec.ts";
import { PACKAGE_ROOT } from "../../harness/pins.ts";
import type { Matrix } from "../../harness/report/model.ts";
import { resolveChart, type SourceContext } from "../../harness/sources/chart-source.ts";
import { serveChartRepository, type ChartRepository } from "../../harness/sources/chart-repo.ts";
import { toolPath } from "../../harness/tools/index.ts";
import { useScratchRoot } from "../../harness/util/scratch.ts";

const CLI = path.join(PACKAGE_ROOT, "bin", "helmdrill.mjs");
const INVENTORY = path.join(PACKAGE_ROOT, "examples", "platform-chart", "charts", "inventory");
const HELM = toolPath(loadConfig().cacheDir, "helm", "3.17.3");
const output = (r: CommandResult) => `${r.stdout}\n${r.stderr}`.slice(-4000);
const containersOf = async (runId: string) =>
  (await run(["docker", "ps", "-aq", "--filter", `label=${RUN_LABEL}=${runId}`])).stdout.trim();
const helmdrill = (args: string[], env: Record<string, string> = {}, timeoutMs = 120_000) =>
  run(["node", CLI, ...args], { env, timeoutMs });

describe("helmdrill upgrade-check", () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "hd-upgrade-check-"));
  let repo: ChartRepository;
  const ctx = (): SourceContext => ({
    helm: HELM,
    env: {
      HELM_CONFIG_HOME: path.join(scratch, "hc"),
      HELM_CACHE_HOME: path.join(scratch, "hk"),
      HELM_DATA_HOME: path.join(scratch, "hd"),
    },
    repo: repo.url,
  });

  beforeAll(async () => {
    // Scratch of the in-process chart sources (pulled charts, git exports, the repository) goes with the test's.
    useScratchRoot(path.join(scratch, "scratch"));
    repo = await serveChartRepository({ helm: HELM, charts: [path.join(INVENTORY, "1.0.0")] });
  }, 120_000);
  afterAll(async () => {
    await repo?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("the harness's own chart repository serves the previous version: index.yaml over HTTP on the loopback", async () => {
    expect(repo.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(repo.entries.map((e) => `${e.name} ${e.version}`)).toEqual(["inventory 1.0.0"]);
    const index = await fetch(`${repo.url}/index.yaml`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain(`${repo.url}/inventory-1.0.0.tgz`);
    expect((await fetch(`${repo.url}/../etc/passwd`)).status).toBe(404);
  });

  it("resolves the previous version from the repository, a .tgz and a git ref of the chart's repository", async () => {
    const next = await resolveChart(path.join(INVENTORY, "2.0.0"), ctx());
    expect(next).toMatchObject({ name: "inventory", version: "2.0.0", dir: path.join(INVENTORY, "2.0.0") });

    const fromRepo = await resolveChart("1.0.0", ctx(), next);
    expect(fromRepo).toMatchObject({ name: "inventory", version: "1.0.0", origin: `inventory 1.0.0 from ${repo.url}` });
    expect(fromRepo.path).toMatch(/inventory-1\.0\.0\.tgz$/);
    const tgz = await resolveChart(fromRepo.path, ctx());
    expect(tgz).toMatchObject({ name: "inventory", version: "1.0.0" });

    // A chart repository in git: 1.0.0 committed, then the chart bumped to 2.0.0 in the work tree.
    const git = path.join(scratch, "git");
    cpSync(path.join(INVENTORY, "1.0.0"), path.join(git, "charts", "inventory"), { recursive: true });
    const g = (...args: string[]) => runChecked(["git", "-C", git, ...args], { what: `git ${args[0]}` });
    await runChecked(["git", "init", "-q", git], { what: "git init" });
    await g("add", ".");
    await g("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "inventory 1.0.0");
    await g("tag", "v1");
    rmSync(path.join(git, "charts", "inventory"), { recursive: true });
    cpSync(path.join(INVENTORY, "2.0.0"), path.join(git, "charts", "inventory"), { recursive: true });
    const bumped = await resolveChart(path.join(git, "charts", "inventory"), ctx());
    expect(bumped.version).toBe("2.0.0");
    const fromGit = await resolveChart("git:v1", ctx(), bumped);
    expect(fromGit).toMatchObject({ name: "inventory", version: "1.0.0", origin: "git v1:charts/inventory" });
    expect(existsSync(path.join(fromGit.path, "crds", "backups.yaml"))).toBe(true);
    // Nothing was left in the user's repository: no worktree record, no stray branch.
    expect((await g("worktree", "list")).stdout.trim().split("\n")).toHaveLength(1);
  });

  // A hang guard, not a speed target: six CLI processes share the machine with the cluster suite.
  it("bad input exits 2 with one message, before any cluster starts", { timeout: 10 * 60_000 }, async () => {
    const runId = `ucbad${Date.now().toString(36)}`;
    const env = { HELMDRILL_RUN_ID: runId };
    const cases: [string[], RegExp][] = [
      [
        [path.join(INVENTORY, "2.0.0"), "--from", path.join(INVENTORY, "2.0.0")],
        /is the same chart version \(2\.0\.0\)[\s\S]*an upgrade onto itself tests nothing/,
      ],
      [
        [path.join(INVENTORY, "2.0.0"), "--from", "1.0.0"],
        /names a chart in a repository, but no --repo was given|chart 1\.0\.0 not found/,
      ],
      [
        [path.join(INVENTORY, "2.0.0"), "--from", "1.9.9", "--repo", repo.url],
        /could not fetch inventory 1\.9\.9 from http:\/\/127\.0\.0\.1/,
      ],
      [[path.join(scratch, "no-such-chart"), "--from", "1.0.0", "--repo", repo.url], /chart .*no-such-chart not found/],
      [[path.join(INVENTORY, "2.0.0"), "--from", "git:no-such-ref"], /git ref "no-such-ref" does not name a commit/],
      [
        [
          path.join(INVENTORY, "2.0.0"),
          "--from",
          "1.0.0",
          "--repo",
          repo.url,
          "--values",
          path.join(scratch, "missing.yaml"),
        ],
        /values file .*missing\.yaml not found/,
      ],
    ];
    const results = await Promise.all(
      cases.map(([args]) => helmdrill(["upgrade-check", ...args, "--helm", "3.17.3", "--no-provision"], env, 300_000)),
    );
    for (const [i, [, message]] of cases.entries()) {
      const r = results[i]!;
      expect(r.exitCode, output(r)).toBe(2);
      expect(r.stderr).toMatch(/^helmdrill: /m);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
    }
    expect(await containersOf(runId)).toBe("");
  });

  it(
    "inventory 1.0.0 (from the served repository) → 2.0.0 on Helm 3, Helm 4 and the migration: every step succeeds, and the report says how each Helm applied and what became of kubectl's change",
    { timeout: 25 * 60_000 },
    async () => {
      const reports = path.join(scratch, "reports");
      const runId = `uc${Date.now().toString(36)}`;
      const r = await helmdrill(
        [
          "upgrade-check",
          path.join(INVENTORY, "2.0.0"),
          "--from",
          "1.0.0",
          "--repo",
          repo.url,
          "--helm",
          "3.17.3,4.1.4",
          "--reports",
          reports,
          "--no-provision",
        ],
        { HELMDRILL_RUN_ID: runId },
        20 * 60_000,
      );
      writeFileSync(path.join(scratch, "upgrade-check.log"), output(r));
      expect(r.exitCode, output(r)).toBe(0);
      expect(r.stderr + r.stdout).toMatch(
        /inventory 1\.0\.0 from http:\/\/127\.0\.0\.1:\d+ → .*2\.0\.0.* \(major version bump 1 → 2: run like any other upgrade\); 1 values case\(s\), 2 scenario\(s\)/,
      );
      expect(r.stdout).toMatch(/\b6 passed, 0 failed\b/);

      const matrix = JSON.parse(readFileSync(path.join(reports, "conformance", "matrix.json"), "utf8")) as Matrix;
      expect(matrix.columns).toEqual(["helm 3.17.3", "helm 4.1.4", "helm 3.17.3 → 4.1.4"]);
      expect(matrix.runs.filter((run) => run.status !== "passed")).toEqual([]);
      // The cluster it ran on, as the API server reports its version.
      expect(matrix.clusters).toEqual([expect.stringMatching(/^k3s \(\S+\), Kubernetes v1\.\d+\.\d+/)]);
      const rows = (scenario: string) => matrix.rows.filter((row) => row.scenario === scenario);
      const upgrade = rows("upgrade-inventory-default");
      expect(upgrade[0]!.scenarioTitle).toContain("inventory 1.0.0 → 2.0.0 (major version bump 1 → 2)");
      // 1.0.0 has no tests, 2.0.0 has one: install, upgrade, helm test, rollback, upgrade again.
      expect(upgrade.map((row) => row.title.split(" ")[0])).toEqual(["Install", "Upgrade", "`helm", "Roll", "Upgrade"]);
      const notes = (row: Matrix["rows"][number], column: string) => row.cells[column]!.findings ?? [];
      const applied = (row: Matrix["rows"][number], column: string) => row.cells[column]!.applied;
      // Helm 3 records no apply method; Helm 4 applies a new release server-side; a release Helm 3 installed stays client-side under Helm 4.
      expect(applied(upgrade[1]!, "helm 3.17.3")).toBeUndefined();
      expect(applied(upgrade[1]!, "helm 4.1.4")).toBe("r2 server-side apply");
      expect(applied(upgrade[1]!, "helm 3.17.3 → 4.1.4")).toBe("r2 client-side apply");

      const drill = rows("field-ownership-inventory-default");
      expect(drill).toHaveLength(4);
      const findings = Object.fromEntries(matrix.columns.map((c) => [c, [notes(drill[2]!, c), notes(drill[3]!, c)]]));
      expect(findings).toEqual({
        "helm 3.17.3": [["overwritten: spec.replicas 2"], ["no --force-conflicts in this Helm"]],
        "helm 4.1.4": [
          [
            expect.stringMatching(
              /^conflict: .*Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps\/v1: \.spec\.replicas/,
            ),
          ],
          ["overwritten: spec.replicas 2"],
        ],
        "helm 3.17.3 → 4.1.4": [
          ["overwritten: spec.replicas 2"],
          ["refused: the release applies client-side (installed by Helm 3)"],
        ],
      });
      expect(await containersOf(runId)).toBe("");
    },
  );
});
