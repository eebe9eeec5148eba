/**
 * `helmdrill merge`: shard parts written by hand (shard.json, runs.json and matrix.json as a shard
 * writes them, a JUnit file, Allure results, vitest's counts) merged back into the reports one
 * unsharded run writes — runs in plan order whatever order a part holds them in — and the parts
 * that do not belong together refused with one message (exit 2).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { mergeShards } from "../../harness/cli/merge.ts";
import type { CoverageFinding } from "../../harness/dsl/coverage.ts";
import type { ScenarioRun, StepStatus } from "../../harness/dsl/records.ts";
import {
  assignShards,
  planRuns,
  shardDirName,
  shardManifest,
  type PlannedRun,
  type ShardManifest,
} from "../../harness/dsl/shard.ts";
import { HelmdrillError } from "../../harness/errors.ts";
import { buildMatrix, type Matrix } from "../../harness/report/model.ts";
import { writeReports } from "../../harness/report/reporter.ts";
import { checkShardParts, mergeShardParts, readShardPart, shardDirs } from "../../harness/report/shards.ts";

const root = mkdtempSync(path.join(os.tmpdir(), "helmdrill-merge-unit-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(root, "case-"));
});

const HELM = { drivers: [], helmVersions: ["3.17.3", "4.3.1"], helmfileVersions: [] };
const SCENARIOS = [
  { spec: { id: "nodeport-conflict" }, file: "/p/scenarios/nodeport-conflict.ts" },
  { spec: { id: "atomic-flag-spellings" }, file: "/p/scenarios/atomic-flag-spellings.ts" },
];
const BASELINE = "write-up (Helm 2.16.5 / Helmfile 0.106.3)";

/** The record of a planned run: helm 4 differs at step 2 of nodeport-conflict; atomic-flag-spellings on 3.17.3 failed when `failing`. */
function record(r: PlannedRun, failing = false): ScenarioRun {
  const helm = r.target.replace("helm ", "");
  const failed = failing && r.scenario === "atomic-flag-spellings" && helm === "3.17.3";
  const step = (index: number, status: StepStatus, observedError?: string) => ({
    index,
    title: `step ${index}`,
    commands: [],
    checks: [],
    status,
    drift: status === "differs" ? ["Helm 4 words it otherwise"] : [],
    ...(observedError ? { observedError } : {}),
    durationMs: 1000,
  });
  const [cluster, minor] = r.leg.split("-");
  return {
    scenario: r.scenario,
    title: r.scenario,
    source: { file: "000.txt", section: "Scenario" },
    target: { driver: "helm", helm },
    targetLabel: r.target,
    cluster: `${cluster} (node), Kubernetes v${minor}.4`,
    clusterLabel: `${cluster} ${minor}`,
    namespace: `hd-${r.scenario}-${helm}`,
    status: failed ? "failed" : "passed",
    steps: [
      step(1, "matches"),
      r.scenario === "nodeport-conflict" && helm.startsWith("4")
        ? step(2, "differs", "Error: INSTALLATION FAILED: server-side apply failed")
        : step(2, failed ? "failed" : "matches", failed ? "Error: boom" : undefined),
    ],
    vars: {},
    startedAt: "2026-01-01T00:00:00.000Z",
    durationMs: 30_000,
  };
}

const COVERAGE: CoverageFinding[] = [
  { scenario: "nodeport-conflict", step: 2, stepTitle: "step 2", kind: "unreached", text: "helm <3" },
];

interface Options {
  total?: number;
  legs?: { cluster: "k3s" | "kind"; kubernetes: string }[];
  failing?: boolean;
  /** Write a part's runs in reverse: merge orders by the plan, not by the file. */
  reversed?: boolean;
  /** The manifest as written, changed. */
  edit?: (m: ShardManifest) => ShardManifest;
  /** Leave the result out: the shard did not finish. */
  unfinished?: boolean;
  /** Leave these run keys' records out. */
  drop?: string[];
}

/** The parts of one split, each as `helmdrill run --shard i/n` leaves it; returns their directories. */
function writeParts(base: string, o: Options = {}): { dirs: string[]; plan: PlannedRun[] } {
  const legs = o.legs ?? [{ cluster: "k3s", kubernetes: "1.34" }];
  const total = o.total ?? 2;
  const plan = planRuns(legs, SCENARIOS, HELM);
  const shards = assignShards(plan, total);
  const legSlugs = [...new Set(plan.map((r) => r.leg))];
  const about = {
    helmdrill: "0.1.0",
    selection: {
      scenarios: ["atomic-flag-spellings", "nodeport-conflict"],
      drivers: [],
      helm: HELM.helmVersions,
      helmfile: [],
      legs: legSlugs,
      strict: false,
    },
    balancedBy: "run count (round-robin)",
  };
  const dirs: string[] = [];
  for (let index = 1; index <= total; index++) {
    const dir = path.join(base, shardDirName({ index, total }));
    let manifest = shardManifest({ index, total }, plan, shards, about);
    manifest = o.edit?.(manifest) ?? manifest;
    const own = plan.filter((_, i) => shards[i] === index && !o.drop?.includes(plan[i]!.key));
    const write = (legDir: string, runs: PlannedRun[]) => {
      const records = runs.map((r) => record(r, o.failing));
      writeReports(
        { runs: o.reversed ? records.reverse() : records, coverage: runs.length ? COVERAGE : [] },
        legDir,
        BASELINE,
      );
      writeFileSync(
        path.join(legDir, "junit.xml"),
        `<?xml version="1.0" encoding="UTF-8" ?>\n<testsuites name="vitest tests" tests="${runs.length}" failures="0" errors="0" time="1">\n` +
          `  <testsuite name="scenarios/x.ts" tests="${runs.length}" failures="0" errors="0" skipped="0" time="1">\n` +
          runs
            .map((r) => `    <testcase classname="scenarios/x.ts" name="${r.target} (${index})" time="1"></testcase>\n`)
            .join("") +
          `  </testsuite>\n</testsuites>\n`,
      );
      mkdirSync(path.join(legDir, "allure-results"), { recursive: true });
      writeFileSync(path.join(legDir, "allure-results", `shard-${index}-${path.basename(legDir)}-result.json`), "{}");
      const failed = runs.filter((r) => record(r, o.failing).status === "failed").length;
      writeFileSync(
        path.join(legDir, "vitest-results.json"),
        JSON.stringify({
          numPassedTests: runs.length - failed,
          numFailedTests: failed,
          numPendingTests: 0,
          numTodoTests: 0,
          numTotalTests: runs.length,
          success: failed === 0,
          testResults: [],
        }),
      );
    };
    if (legSlugs.length > 1)
      for (const leg of legSlugs)
        write(
          path.join(dir, "clusters", leg),
          own.filter((r) => r.leg === leg),
        );
    else write(dir, own);
    const failed = own.some((r) => record(r, o.failing).status === "failed");
    const result = { verdict: failed ? ("failed" as const) : ("passed" as const), durationMs: 60_000, summary: [] };
    writeFileSync(path.join(dir, "shard.json"), JSON.stringify(o.unfinished ? manifest : { ...manifest, result }));
    dirs.push(dir);
  }
  return { dirs, plan };
}

const json = <T>(file: string) => JSON.parse(readFileSync(file, "utf8")) as T;
const badInput = async (fn: () => Promise<unknown> | unknown): Promise<string> => {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HelmdrillError);
    expect((e as HelmdrillError).exitCode).toBe(2);
    return (e as HelmdrillError).describe();
  }
  throw new Error("no error thrown");
};

describe("helmdrill merge", () => {
  it("writes the matrix an unsharded run writes: runs in plan order, whatever order a part holds them in", async () => {
    const { dirs, plan } = writeParts(path.join(work, "shards"), { reversed: true });
    const out = path.join(work, "reports");
    const result = await mergeShards(dirs, { out });
    expect(result.exitCode).toBe(0);
    expect(result.problems).toEqual([]);
    expect(result.summary).toBe(
      `helmdrill merge: 2 shards, 4 scenario runs (0 failed); tests: 4 passed, 0 failed → ${out} (exit 0)`,
    );
    const unsharded = plan.map((r) => record(r));
    const matrix = json<Matrix>(path.join(out, "conformance", "matrix.json"));
    const expected = buildMatrix(unsharded, BASELINE, ["atomic-flag-spellings", "nodeport-conflict"]);
    expect(matrix.columns).toEqual(expected.columns);
    expect(matrix.rows).toEqual(expected.rows);
    expect(matrix.runs).toEqual(expected.runs);
    expect(matrix.coverage).toEqual(COVERAGE);
    const runs = json<ScenarioRun[]>(path.join(out, "conformance", "runs.json"));
    expect(runs.map((r) => `${r.scenario} · ${r.targetLabel}`)).toEqual([
      "atomic-flag-spellings · helm 3.17.3",
      "atomic-flag-spellings · helm 4.3.1",
      "nodeport-conflict · helm 3.17.3",
      "nodeport-conflict · helm 4.3.1",
    ]);
    expect(readdirSync(path.join(out, "transcripts", "nodeport-conflict")).sort()).toEqual(["h3173.md", "h431.md"]);
    // One JUnit file with every shard's cases, one Allure directory with every shard's results.
    const junit = readFileSync(path.join(out, "junit.xml"), "utf8");
    expect(junit.match(/<testcase /g)).toHaveLength(4);
    expect(junit).toMatch(/<testsuites[^>]* tests="4"/);
    expect(readdirSync(path.join(out, "allure-results")).sort()).toEqual([
      "shard-1-shard-1-of-2-result.json",
      "shard-2-shard-2-of-2-result.json",
    ]);
    expect(json<{ numPassedTests: number; success: boolean }>(path.join(out, "vitest-results.json"))).toMatchObject({
      numPassedTests: 4,
      numFailedTests: 0,
      success: true,
    });
  });

  it("exits 1 when a merged run failed", async () => {
    const { dirs } = writeParts(path.join(work, "shards"), { failing: true });
    const result = await mergeShards(dirs, { out: path.join(work, "reports") });
    expect(result.exitCode).toBe(1);
    expect(result.summary).toMatch(/4 scenario runs \(1 failed\); tests: 3 passed, 1 failed → .* \(exit 1\)$/);
  });

  it("exits 1 when a shard did not finish or left planned runs without a record, and says which", async () => {
    const { dirs, plan } = writeParts(path.join(work, "shards"), {
      unfinished: true,
      drop: ["k3s-1.34 · nodeport-conflict · helm 4.3.1"],
    });
    const result = await mergeShards(dirs, { out: path.join(work, "reports") });
    expect(result.exitCode).toBe(1);
    expect(result.problems).toEqual([
      `shard 1/2 (${dirs[0]}) did not finish: its shard.json has no result`,
      `shard 2/2 (${dirs[1]}) did not finish: its shard.json has no result`,
      "1 planned run(s) have no record in their shard's part: k3s-1.34 · nodeport-conflict · helm 4.3.1",
    ]);
    expect(json<unknown[]>(path.join(work, "reports", "conformance", "runs.json"))).toHaveLength(plan.length - 1);
  });

  it("takes a directory holding the parts, and an empty part of a shard that got no run", async () => {
    writeParts(path.join(work, "shards"), { total: 5 });
    expect(shardDirs([path.join(work, "shards")]).map((d) => path.basename(d))).toEqual([
      "shard-1-of-5",
      "shard-2-of-5",
      "shard-3-of-5",
      "shard-4-of-5",
      "shard-5-of-5",
    ]);
    expect(readShardPart(path.join(work, "shards", "shard-5-of-5")).runs.size).toBe(0);
    const result = await mergeShards([path.join(work, "shards")], { out: path.join(work, "reports") });
    expect(result.exitCode).toBe(0);
    expect(json<unknown[]>(path.join(work, "reports", "conformance", "runs.json"))).toHaveLength(4);
  });

  it("reads a part over several clusters from clusters/<leg>/, and writes each cluster's reports too", async () => {
    const legs = [
      { cluster: "k3s" as const, kubernetes: "1.34" },
      { cluster: "kind" as const, kubernetes: "1.34" },
    ];
    const { dirs, plan } = writeParts(path.join(work, "shards"), { legs, total: 3 });
    const out = path.join(work, "reports");
    const result = await mergeShards(dirs, { out });
    expect(result.exitCode).toBe(0);
    const matrix = json<Matrix>(path.join(out, "conformance", "matrix.json"));
    const expected = buildMatrix(
      plan.map((r) => record(r)),
      BASELINE,
      ["atomic-flag-spellings", "nodeport-conflict"],
    );
    expect(matrix.columns).toEqual([
      "helm 3.17.3 · k3s 1.34",
      "helm 3.17.3 · kind 1.34",
      "helm 4.3.1 · k3s 1.34",
      "helm 4.3.1 · kind 1.34",
    ]);
    expect(matrix.rows).toEqual(expected.rows);
    expect(matrix.runs).toEqual(expected.runs);
    for (const leg of ["k3s-1.34", "kind-1.34"]) {
      const own = json<ScenarioRun[]>(path.join(out, "clusters", leg, "conformance", "runs.json"));
      expect(own.map((r) => r.clusterLabel)).toEqual([leg.replace("-", " ")].flatMap((l) => [l, l, l, l]));
      expect(readFileSync(path.join(out, "clusters", leg, "junit.xml"), "utf8").match(/<testcase /g)).toHaveLength(4);
    }
  });
});

describe("parts that do not belong together are refused (exit 2)", () => {
  const parts = (dirs: string[]) => dirs.map(readShardPart);

  it("a shard given twice, a shard missing", async () => {
    const { dirs } = writeParts(path.join(work, "a"), { total: 3 });
    const { dirs: again } = writeParts(path.join(work, "b"), { total: 3 });
    expect(await badInput(() => checkShardParts(parts([dirs[0]!, dirs[1]!, again[1]!])))).toBe(
      `shard 2/3 is given twice: ${dirs[1]} and ${again[1]}\n  → merge the parts of one selection run as \`helmdrill run --shard i/n\` on every i, with the same pins, options and --shard-durations`,
    );
    expect(await badInput(() => checkShardParts(parts([dirs[0]!, dirs[2]!])))).toBe(
      `shard 2/3 missing: 2 of 3 given (${dirs[0]}, ${dirs[2]})\n  → every part is needed for the whole matrix; a shard that did not finish still leaves its shard.json`,
    );
  });

  it("parts of different splits", async () => {
    const { dirs: two } = writeParts(path.join(work, "two"), { total: 2 });
    const { dirs: three } = writeParts(path.join(work, "three"), { total: 3 });
    expect(await badInput(() => checkShardParts(parts([two[0]!, three[1]!, three[2]!])))).toMatch(
      /^the parts come from different splits: shard 1\/2 \(.*two\/shard-1-of-2\), shard 2\/3 .*\n  → merge the parts of one split: all 1\/n … n\/n$/,
    );
  });

  it("parts of different selections or plans, or split differently", async () => {
    const { dirs } = writeParts(path.join(work, "a"));
    const { dirs: otherHelm } = writeParts(path.join(work, "b"), {
      edit: (m) => ({ ...m, selection: { ...m.selection, helm: ["4.3.1"] } }),
    });
    expect(await badInput(() => checkShardParts(parts([dirs[0]!, otherHelm[1]!])))).toMatch(
      /^shard 2\/2 \(.*\) ran another selection than shard 1\/2 \(.*\): helm \["3\.17\.3","4\.3\.1"\] \/ \["4\.3\.1"\]\n  → /,
    );
    const { dirs: otherPlan } = writeParts(path.join(work, "c"), {
      edit: (m) => ({ ...m, helmdrill: "0.2.0", plan: m.plan.slice(1) }),
    });
    expect(await badInput(() => checkShardParts(parts([dirs[0]!, otherPlan[1]!])))).toMatch(
      /planned other runs than shard 1\/2 .*\(run 1: k3s-1\.34 · atomic-flag-spellings · helm 3\.17\.3 \/ k3s-1\.34 · atomic-flag-spellings · helm 4\.3\.1\); helmdrill 0\.1\.0 \/ 0\.2\.0\n/,
    );
    const { dirs: otherSplit } = writeParts(path.join(work, "d"), {
      edit: (m) => ({
        ...m,
        balancedBy: "the durations in last-night",
        plan: m.plan.map((r) => ({ ...r, shard: r.shard === 1 ? 2 : 1 })),
      }),
    });
    expect(await badInput(() => checkShardParts(parts([dirs[0]!, otherSplit[1]!])))).toMatch(
      /split the runs differently \(k3s-1\.34 · atomic-flag-spellings · helm 3\.17\.3: shard 1 \/ 2; balanced by run count \(round-robin\) \/ the durations in last-night\)/,
    );
  });

  it("a directory that is no part, a manifest that is none, --out inside a part", async () => {
    mkdirSync(path.join(work, "empty"));
    expect(await badInput(() => shardDirs([path.join(work, "empty")]))).toMatch(
      /empty is no shard's part: no shard\.json in it, nor a shard-<i>-of-<n>\/ below it\n  → give the directories/,
    );
    expect(await badInput(() => shardDirs([path.join(work, "nowhere")]))).toMatch(/nowhere does not exist/);
    mkdirSync(path.join(work, "broken"));
    writeFileSync(path.join(work, "broken", "shard.json"), '{"index": 1}');
    expect(await badInput(() => mergeShards([path.join(work, "broken")], { out: path.join(work, "out") }))).toMatch(
      /broken\/shard\.json is not a helmdrill shard\.json: /,
    );
    const { dirs } = writeParts(path.join(work, "shards"));
    expect(await badInput(() => mergeShards(dirs, { out: path.join(dirs[1]!, "merged") }))).toMatch(
      /^--out .*shard-2-of-2\/merged is inside the part .*shard-2-of-2\n/,
    );
    expect(existsSync(path.join(work, "out"))).toBe(false);
  });

  it("the merged order comes from the plan, the parts' only from their keys", () => {
    const { dirs, plan } = writeParts(path.join(work, "shards"), { reversed: true });
    const merged = mergeShardParts(parts(dirs));
    expect(merged.collected.runs.map((r) => `${r.scenario} · ${r.targetLabel}`)).toEqual(
      plan.map((r) => `${r.scenario} · ${r.target}`),
    );
    expect(merged.missing).toEqual([]);
  });
});
