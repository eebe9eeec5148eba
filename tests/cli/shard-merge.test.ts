/**
 * `helmdrill run --shard i/n` and `helmdrill merge` as a CI job runs them, on real clusters: a
 * small selection (two short helm-only scenarios on two Helm versions: 4 runs) once unsharded, then
 * as 2 shards one after the other — balanced by the unsharded run's durations — and merged. The
 * merged matrix must be the unsharded one cell by cell (verdict, observed text, drift, history of
 * every step), its runs in the same order, its test counts the same. Wall times are printed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RUN_LABEL } from "../../harness/cluster/types.ts";
import type { ScenarioRun } from "../../harness/dsl/records.ts";
import type { ShardManifest } from "../../harness/dsl/shard.ts";
import { run, type CommandResult } from "../../harness/exec.ts";
import { PACKAGE_ROOT, pins } from "../../harness/pins.ts";
import { comparableText, type Matrix } from "../../harness/report/model.ts";

const CLI = path.join(PACKAGE_ROOT, "bin", "helmdrill.mjs");
const SELECTION = [
  "--scenario",
  "nodeport-conflict,atomic-flag-spellings",
  "--driver",
  "helm",
  "--helm",
  // An npm-packed pin and the newest default: both installed by npm test's provisioning.
  `3.17.3,${pins().defaults.helm.at(-1)!}`,
];
const root = mkdtempSync(path.join(os.tmpdir(), "helmdrill-shard-merge-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const output = (r: CommandResult) => `${r.stdout}\n${r.stderr}`.slice(-4000);
const json = <T>(file: string) => JSON.parse(readFileSync(file, "utf8")) as T;
const containersOf = async (runId: string) =>
  (await run(["docker", "ps", "-aq", "--filter", `label=${RUN_LABEL}=${runId}`])).stdout.trim();

/** `helmdrill <args>` from the repository (its catalogue), timed; no container of its run is left. */
async function helmdrill(args: string[], label: string): Promise<CommandResult & { wallMs: number }> {
  const runId = `shm${label.replace(/[^a-z0-9]/g, "")}${Date.now().toString(36)}`;
  const started = Date.now();
  const r = await run(["node", CLI, ...args], {
    cwd: PACKAGE_ROOT,
    env: { HELMDRILL_RUN_ID: runId },
    timeoutMs: 900_000,
  });
  const wallMs = Date.now() - started;
  process.stderr.write(`shard-merge: ${label}: exit ${r.exitCode} in ${(wallMs / 1000).toFixed(1)} s\n`);
  expect(await containersOf(runId)).toBe("");
  return { ...r, wallMs };
}

/** What of a text is compared between two runs: its namespace and its own values (a NodePort) named, not compared. */
function normalized(text: string | undefined, run: ScenarioRun | undefined): string {
  let t = text ?? "";
  if (run?.namespace) t = t.split(run.namespace).join("<namespace>");
  return comparableText(t.replace(/\n/g, " "), run?.vars);
}

/** Every cell as compared: scenario, step, column → verdict, observed text, drift, findings and the release history after it. */
function cells(dir: string): Record<string, unknown> {
  const matrix = json<Matrix>(path.join(dir, "conformance", "matrix.json"));
  const runs = json<ScenarioRun[]>(path.join(dir, "conformance", "runs.json"));
  const runOf = (scenario: string, column: string) =>
    runs.find((r) => r.scenario === scenario && r.targetLabel === column);
  const out: Record<string, unknown> = {};
  for (const row of matrix.rows) {
    for (const column of matrix.columns) {
      const cell = row.cells[column]!;
      const r = runOf(row.scenario, column);
      const step = r?.steps.find((s) => s.index === row.step);
      out[`${row.scenario} #${row.step} · ${column}`] = {
        status: cell.status,
        observed: normalized(cell.observed, r),
        drift: cell.drift,
        failures: cell.failures.map((f) => normalized(f, r)),
        findings: cell.findings ?? [],
        history: (step?.release?.history ?? []).map(
          (h) => `r${h.revision} ${h.status} ${h.chart} ${normalized(h.description, r)}`,
        ),
      };
    }
  }
  return out;
}

const testCounts = (file: string) => {
  const r = json<{ numPassedTests: number; numFailedTests: number; numPendingTests: number }>(file);
  return { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests };
};

describe("helmdrill run --shard and helmdrill merge", () => {
  it(
    "2 shards one after the other, merged, give the unsharded run's matrix cell by cell",
    { timeout: 45 * 60_000 },
    async () => {
      const unsharded = path.join(root, "unsharded");
      const one = await helmdrill(["run", ...SELECTION, "--strict", "--reports", unsharded], "unsharded");
      expect([0, 1], output(one)).toContain(one.exitCode);

      const shards = path.join(root, "shards");
      const parts: { exitCode: number; wallMs: number }[] = [];
      for (const i of [1, 2]) {
        const args = ["run", ...SELECTION, "--strict", "--shard", `${i}/2`, "--shard-durations", unsharded];
        const r = await helmdrill([...args, "--reports", shards], `shard ${i}/2`);
        expect(r.stderr).toMatch(
          new RegExp(`shard ${i}/2: \\d of the selection's 4 runs \\(balanced by the durations in `),
        );
        parts.push(r);
      }
      const manifests = [1, 2].map((i) => json<ShardManifest>(path.join(shards, `shard-${i}-of-2`, "shard.json")));
      // One plan, every run in exactly one part, each part's verdict and wall time recorded.
      expect(manifests[1]!.plan).toEqual(manifests[0]!.plan);
      expect([...manifests[0]!.runs, ...manifests[1]!.runs].sort()).toEqual(
        manifests[0]!.plan.map((r) => r.key).sort(),
      );
      expect(manifests.every((x) => x.runs.length > 0)).toBe(true);
      for (const [i, m] of manifests.entries())
        expect(m.result?.verdict).toBe(parts[i]!.exitCode === 0 ? "passed" : "failed");
      // A shard registers its own runs only: no skipped placeholders.
      for (const i of [1, 2]) {
        const counts = testCounts(path.join(shards, `shard-${i}-of-2`, "vitest-results.json"));
        expect(counts.skipped).toBe(0);
        const runs = json<ScenarioRun[]>(path.join(shards, `shard-${i}-of-2`, "conformance", "runs.json"));
        const leg = `k3s-${pins().cluster.kubernetes.default}`;
        expect(runs.map((r) => `${leg} · ${r.scenario} · ${r.targetLabel}`)).toEqual(manifests[i - 1]!.runs);
      }

      const merged = path.join(root, "merged");
      const started = Date.now();
      const m = await run(
        ["node", CLI, "merge", path.join(shards, "shard-1-of-2"), path.join(shards, "shard-2-of-2"), "--out", merged],
        {
          cwd: PACKAGE_ROOT,
          timeoutMs: 120_000,
        },
      );
      const mergeMs = Date.now() - started;
      expect(m.exitCode, output(m)).toBe(one.exitCode);
      expect(m.stdout).toMatch(/^helmdrill merge: 2 shards, 4 scenario runs \(\d failed\); tests: \d+ passed/m);

      // The same matrix, cell by cell; the same runs in the same order; the same tests.
      expect(cells(merged)).toEqual(cells(unsharded));
      const order = (dir: string) =>
        json<ScenarioRun[]>(path.join(dir, "conformance", "runs.json")).map((r) => `${r.scenario} · ${r.targetLabel}`);
      expect(order(merged)).toEqual(order(unsharded));
      expect(order(unsharded)).toHaveLength(4);
      const matrixOf = (dir: string) => json<Matrix>(path.join(dir, "conformance", "matrix.json"));
      expect(matrixOf(merged).columns).toEqual(matrixOf(unsharded).columns);
      expect(matrixOf(merged).totals).toEqual(matrixOf(unsharded).totals);
      expect(matrixOf(merged).coverage).toEqual(matrixOf(unsharded).coverage);
      expect(testCounts(path.join(merged, "vitest-results.json"))).toEqual(
        testCounts(path.join(unsharded, "vitest-results.json")),
      );
      const testcases = (dir: string) => readFileSync(path.join(dir, "junit.xml"), "utf8").match(/<testcase /g)?.length;
      expect(testcases(merged)).toBe(testcases(unsharded));
      expect(existsSync(path.join(merged, "allure-results"))).toBe(true);
      expect(
        existsSync(
          path.join(
            merged,
            "transcripts",
            "nodeport-conflict",
            `h${pins().defaults.helm.at(-1)!.replaceAll(".", "")}.md`,
          ),
        ),
      ).toBe(true);

      const walls = parts.map((p) => p.wallMs / 1000);
      process.stderr.write(
        `shard-merge: unsharded ${(one.wallMs / 1000).toFixed(1)} s; shards ${walls.map((w) => `${w.toFixed(1)} s`).join(" + ")} = ` +
          `${walls.reduce((a, b) => a + b, 0).toFixed(1)} s (each shard's own run: ${manifests.map((x) => `${((x.result?.durationMs ?? 0) / 1000).toFixed(1)} s`).join(", ")}); merge ${(mergeMs / 1000).toFixed(1)} s\n`,
      );

      // More shards than runs: the 5th of 5 gets none — a clear note, an empty valid part, no cluster.
      const empty = await helmdrill(
        ["run", ...SELECTION, "--shard", "5/5", "--reports", shards, "--no-provision"],
        "shard 5/5",
      );
      expect(empty.exitCode, output(empty)).toBe(0);
      expect(empty.stderr).toMatch(/shard 5\/5 has no run: 4 runs over 5 shards — an empty part, nothing started/);
      expect(json<unknown[]>(path.join(shards, "shard-5-of-5", "conformance", "runs.json"))).toEqual([]);
      expect(json<ShardManifest>(path.join(shards, "shard-5-of-5", "shard.json"))).toMatchObject({
        runs: [],
        result: { verdict: "passed" },
      });
    },
  );
});
