/**
 * `helmdrill run --shard i/n`: the plan of every run of a selection (in the order an unsharded
 * run reports them), its split — balanced by a previous run's durations, else round-robin —, the
 * shard's manifest, and where i/n comes from (--shard, GitLab's CI_NODE_*). Pure: no cluster.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestModule } from "vitest/node";
import { afterAll, describe, expect, it } from "vitest";
import { configToEnv, loadConfig, shardOption } from "../../harness/config.ts";
import { HelmdrillError } from "../../harness/errors.ts";
import type { ScenarioRun } from "../../harness/dsl/records.ts";
import {
  assignShards,
  inShard,
  legOfClusterLabel,
  ownsScenarioTests,
  parseShard,
  parseShardManifest,
  planRuns,
  requestedShard,
  runDurations,
  runKey,
  scenarioTargets,
  shardDirName,
  shardManifest,
  type PlannedRun,
  type PlannedScenario,
} from "../../harness/dsl/shard.ts";
import { targetLabel } from "../../harness/dsl/target.ts";
import { collectRuns } from "../../harness/report/reporter.ts";
import { described } from "./bad-input.ts";

const error = described;

const K3S = { cluster: "k3s", kubernetes: "1.34" } as const;
const KIND = { cluster: "kind", kubernetes: "1.34" } as const;
const HELM_ONLY = { drivers: [] as const, helmVersions: ["3.17.3", "4.3.1"], helmfileVersions: [] as string[] };
/** Scenario files given out of order: the plan orders them by path, as vitest's modules are reported. */
const SCENARIOS: PlannedScenario[] = [
  { spec: { id: "nodeport-conflict" }, file: "/p/scenarios/nodeport-conflict.ts" },
  { spec: { id: "atomic-flag-spellings" }, file: "/p/scenarios/atomic-flag-spellings.ts" },
  { spec: { id: "hook-output-logs" }, file: "/p/scenarios/hook-output-logs.ts" },
];

describe("i/n", () => {
  it("--shard i/n, 1-based", () => {
    expect(parseShard("1/2")).toEqual({ index: 1, total: 2 });
    expect(parseShard("4/4")).toEqual({ index: 4, total: 4 });
    expect(parseShard("1/1")).toEqual({ index: 1, total: 1 });
    expect(shardDirName({ index: 2, total: 4 })).toBe("shard-2-of-4");
  });

  it("anything else is bad input (exit 2) with one message and what to give", () => {
    expect(error(() => parseShard("0/2"))).toBe(
      "--shard 0/2: there is no part 0 of 2\n  → give i/n with 1 ≤ i ≤ n, e.g. --shard 2/4 (the 2nd of 4 parts)",
    );
    expect(error(() => parseShard("3/2"))).toMatch(/^--shard 3\/2: there is no part 3 of 2\n/);
    expect(error(() => parseShard("1/0"))).toMatch(/^--shard 1\/0: there is no part of 0\n/);
    for (const bad of ["x", "", "2", "1/2/3", "-1/2", "1.5/2", "2/ 3", " 1/2", "1/2x"])
      expect(
        error(() => parseShard(bad)),
        bad,
      ).toBe(`--shard "${bad}" is not i/n\n  → give i/n with 1 ≤ i ≤ n, e.g. --shard 2/4 (the 2nd of 4 parts)`);
    expect(new HelmdrillError("x").exitCode).toBe(2);
  });

  it("GitLab's parallel: CI_NODE_INDEX (1-based) of CI_NODE_TOTAL, when no --shard is given", () => {
    expect(requestedShard(undefined, { CI_NODE_INDEX: "3", CI_NODE_TOTAL: "4" })).toEqual({ index: 3, total: 4 });
    expect(requestedShard("1/2", { CI_NODE_INDEX: "3", CI_NODE_TOTAL: "4" })).toEqual({ index: 1, total: 2 });
    // A job that is not parallel: GitLab sets CI_NODE_TOTAL=1 and no CI_NODE_INDEX.
    expect(requestedShard(undefined, { CI_NODE_TOTAL: "1" })).toBeUndefined();
    expect(requestedShard(undefined, {})).toBeUndefined();
    expect(error(() => requestedShard(undefined, { CI_NODE_INDEX: "5", CI_NODE_TOTAL: "4" }))).toMatch(
      /^CI_NODE_INDEX\/CI_NODE_TOTAL 5\/4: there is no part 5 of 4\n/,
    );
    expect(error(() => requestedShard(undefined, { CI_NODE_INDEX: "0", CI_NODE_TOTAL: "4" }))).toMatch(
      /^CI_NODE_INDEX\/CI_NODE_TOTAL 0\/4: there is no part 0 of 4/,
    );
    expect(error(() => requestedShard(undefined, { CI_NODE_INDEX: "2" }))).toMatch(
      /^CI_NODE_INDEX\/CI_NODE_TOTAL "2\/" is not i\/n/,
    );
    expect(shardOption(undefined, { CI_NODE_INDEX: "2", CI_NODE_TOTAL: "2" })).toEqual({ index: 2, total: 2 });
  });

  it("only `run` reads CI_NODE_*: the configuration of every other command ignores them", () => {
    expect(loadConfig({}, { HOME: "/h", CI_NODE_INDEX: "x", CI_NODE_TOTAL: "4" }).shard).toBeUndefined();
  });
});

describe("the plan: every run of the selection, in report order", () => {
  it("leg by leg, scenario files by path, each scenario's targets in registration order", () => {
    const plan = planRuns([K3S, KIND], SCENARIOS, HELM_ONLY);
    expect(plan.map((r) => r.key)).toEqual([
      "k3s-1.34 · atomic-flag-spellings · helm 3.17.3",
      "k3s-1.34 · atomic-flag-spellings · helm 4.3.1",
      "k3s-1.34 · hook-output-logs · helm 3.17.3",
      "k3s-1.34 · hook-output-logs · helm 4.3.1",
      "k3s-1.34 · nodeport-conflict · helm 3.17.3",
      "k3s-1.34 · nodeport-conflict · helm 4.3.1",
      "kind-1.34 · atomic-flag-spellings · helm 3.17.3",
      "kind-1.34 · atomic-flag-spellings · helm 4.3.1",
      "kind-1.34 · hook-output-logs · helm 3.17.3",
      "kind-1.34 · hook-output-logs · helm 4.3.1",
      "kind-1.34 · nodeport-conflict · helm 3.17.3",
      "kind-1.34 · nodeport-conflict · helm 4.3.1",
    ]);
    expect(plan[0]).toEqual({
      key: "k3s-1.34 · atomic-flag-spellings · helm 3.17.3",
      leg: "k3s-1.34",
      scenario: "atomic-flag-spellings",
      target: "helm 3.17.3",
    });
    expect(new Set(plan.map((r) => r.key)).size).toBe(plan.length);
    expect(planRuns([{ cluster: "existing", kubernetes: "" }], SCENARIOS.slice(0, 1), HELM_ONLY)[0]!.key).toBe(
      "existing · nodeport-conflict · helm 3.17.3",
    );
  });

  it("is the order collectRuns reports an unsharded run in (vitest modules by id, then registration order)", () => {
    const plan = planRuns([K3S], SCENARIOS, HELM_ONLY);
    // vitest hands the modules over in any order; each module's tests in registration order.
    const modules = [...SCENARIOS].reverse().map((s) => ({
      moduleId: s.file,
      children: {
        allTests: () =>
          ["helm 3.17.3", "helm 4.3.1"].map((target) => ({
            meta: () => ({ helmdrill: { scenario: s.spec.id, targetLabel: target } as ScenarioRun }),
          })),
      },
    })) as unknown as TestModule[];
    const reported = collectRuns(modules).runs.map((r) => runKey("k3s-1.34", r.scenario, r.targetLabel));
    expect(plan.map((r) => r.key)).toEqual(reported);
  });

  it("--driver and a scenario's drivers decide its targets, as replay() registers them (apply and flux included)", () => {
    const versions = { helmVersions: ["3.17.3"], helmfileVersions: ["1.8.0"] };
    const spec = { id: "s", drivers: ["helm", "helmfile", "flux"] as const };
    const all = planRuns([K3S], [{ spec: { ...spec, drivers: [...spec.drivers] }, file: "/s.ts" }], {
      ...versions,
      drivers: [],
    });
    const registered = scenarioTargets(spec, ["helm", "helmfile", "flux"], versions, {
      applyUnusable: () => "helm-diff not built here",
      fluxUnavailable: () => "not built here",
    }).map(targetLabel);
    // What cannot run on this machine is still a run (not run, with the reason): the plan does not depend on the machine.
    expect(all.map((r) => r.target)).toEqual(registered);
    expect(all.map((r) => r.target)).toEqual([
      "helm 3.17.3",
      "helmfile 1.8.0 (--args) + helm 3.17.3",
      "helmfile 1.8.0 (helmDefaults) + helm 3.17.3",
      "helmfile 1.8.0 (apply) + helm 3.17.3",
      "flux 1.4 (Helm 3 library)",
      "flux 1.6 (Helm 4 library)",
    ]);
    const onlyFlux = planRuns([K3S], [{ spec: { ...spec, drivers: [...spec.drivers] }, file: "/s.ts" }], {
      ...versions,
      drivers: ["flux"],
    });
    expect(onlyFlux.map((r) => r.target)).toEqual(["flux 1.4 (Helm 3 library)", "flux 1.6 (Helm 4 library)"]);
    // --flux 1.6: only that flux target's runs are planned.
    const one = planRuns([K3S], [{ spec: { ...spec, drivers: [...spec.drivers] }, file: "/s.ts" }], {
      ...versions,
      fluxTargets: ["1.6"],
      drivers: ["flux"],
    });
    expect(one.map((r) => r.target)).toEqual(["flux 1.6 (Helm 4 library)"]);
    const migrations = planRuns([K3S], [{ spec: { id: "m", migrations: true }, file: "/m.ts" }], HELM_ONLY);
    expect(migrations.map((r) => r.target)).toEqual(["helm 3.17.3", "helm 4.3.1", "helm 3.17.3 → 4.3.1"]);
  });
});

/** Runs named by their cost: "a:30" is run a, 30 s. */
const runs = (...specs: string[]) => specs.map((s) => ({ key: s.split(":")[0]! }));
const durationsOf = (...specs: string[]) =>
  new Map(specs.filter((s) => s.includes(":")).map((s) => [s.split(":")[0]!, Number(s.split(":")[1]) * 1000]));
const loads = (plan: { key: string }[], shards: number[], durations: Map<string, number>, total: number) =>
  Array.from({ length: total }, (_, s) =>
    plan.reduce((sum, r, i) => sum + (shards[i] === s + 1 ? (durations.get(r.key) ?? 0) : 0), 0),
  );

describe("the split", () => {
  it("without durations: round-robin in plan order — every run in one shard, counts differ by one at most", () => {
    const plan = runs(..."abcdefg".split(""));
    expect(assignShards(plan, 3)).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(assignShards(plan, 1)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    // More shards than runs: the last ones are empty.
    expect(assignShards(runs("a", "b"), 4)).toEqual([1, 2]);
  });

  it("with durations: longest first, each to the least loaded shard", () => {
    const specs = ["a:10", "b:80", "c:15", "d:60", "e:20", "f:25", "g:5"];
    const plan = runs(...specs);
    const durations = durationsOf(...specs);
    const shards = assignShards(plan, 2, durations);
    // b 80 → 1; d 60 → 2; f 25 → 2 (85); e 20 → 1 (100); c 15 → 2 (100); a 10 → 1 (110); g 5 → 2 (105).
    expect(shards).toEqual([1, 1, 2, 2, 1, 2, 2]);
    expect(loads(plan, shards, durations, 2)).toEqual([110_000, 105_000]);
    // Round-robin on the same runs: 10 + 15 + 20 + 5 against 80 + 60 + 25.
    expect(loads(plan, assignShards(plan, 2), durations, 2)).toEqual([50_000, 165_000]);
  });

  it("a run the durations do not know counts the mean of those they do", () => {
    const plan = runs("a", "b", "c", "new");
    // mean of 90, 30, 30 = 50: new (50) goes where 30 + 30 are, not beside 90.
    expect(assignShards(plan, 2, durationsOf("a:90", "b:30", "c:30"))).toEqual([1, 2, 2, 2]);
    // None known: every run counts the same — round-robin.
    expect(assignShards(plan, 2, new Map())).toEqual([1, 2, 1, 2]);
  });

  it("is deterministic: equal inputs give equal splits, ties go to the earlier run and the lower shard", () => {
    const plan = runs("a", "b", "c", "d", "e");
    const one = durationsOf("a:10", "b:10", "c:10", "d:10", "e:10");
    const other = new Map([...one].reverse());
    expect(assignShards(plan, 2, one)).toEqual([1, 2, 1, 2, 1]);
    expect(assignShards(plan, 2, other)).toEqual(assignShards(plan, 2, one));
  });

  it("every run falls to exactly one shard, whatever n (a larger selection)", () => {
    const plan = Array.from({ length: 97 }, (_, i) => ({ key: `r${i}` }));
    const durations = new Map(plan.map((r, i) => [r.key, ((i * 7919) % 613) * 100]));
    for (const total of [1, 2, 3, 4, 7, 97, 120]) {
      for (const d of [undefined, durations]) {
        const shards = assignShards(plan, total, d);
        expect(shards).toHaveLength(plan.length);
        expect(shards.every((s) => Number.isInteger(s) && s >= 1 && s <= total)).toBe(true);
      }
    }
    // Balanced: no shard more than the longest run above the ideal.
    const shards = assignShards(plan, 4, durations);
    const l = loads(plan, shards, durations, 4);
    const ideal = [...durations.values()].reduce((a, b) => a + b, 0) / 4;
    expect(Math.max(...l) - ideal).toBeLessThanOrEqual(Math.max(...durations.values()));
  });

  it("a previous run's durations are keyed by the leg its cluster label names", () => {
    expect(legOfClusterLabel("k3s 1.34")).toBe("k3s-1.34");
    expect(legOfClusterLabel("existing 1.33")).toBe("existing");
    const record = (scenario: string, targetLabel: string, clusterLabel: string | undefined, durationMs: number) =>
      ({ scenario, targetLabel, clusterLabel, durationMs }) as ScenarioRun;
    expect([
      ...runDurations([
        record("a", "helm 3.17.3", "k3s 1.34", 1200),
        record("a", "helm 3.17.3", "kind 1.33", 3400),
        record("b", "helm 4.3.1", undefined, 99),
      ]),
    ]).toEqual([
      ["k3s-1.34 · a · helm 3.17.3", 1200],
      ["kind-1.33 · a · helm 3.17.3", 3400],
    ]);
  });
});

describe("a shard's manifest", () => {
  const plan: PlannedRun[] = planRuns([K3S, KIND], SCENARIOS, HELM_ONLY);
  const about = { helmdrill: "0.1.0", selection: selection(), balancedBy: "run count (round-robin)" };

  it("holds the whole plan with each run's shard, its own runs, and the scenarios whose coverage test it registers", () => {
    const shards = assignShards(plan, 3);
    const parts = [1, 2, 3].map((index) => shardManifest({ index, total: 3 }, plan, shards, about));
    for (const p of parts) expect(p.plan.map((r) => r.key)).toEqual(plan.map((r) => r.key));
    // Each run in exactly one part, in plan order.
    expect(parts.flatMap((p) => p.runs).sort()).toEqual(plan.map((r) => r.key).sort());
    expect(parts[1]!.runs).toEqual(plan.filter((_, i) => i % 3 === 1).map((r) => r.key));
    // The coverage test of (leg, scenario) goes with its first planned run: each pair exactly once.
    expect(parts.map((p) => p.scenarioTests)).toEqual([
      ["k3s-1.34 · atomic-flag-spellings", "kind-1.34 · atomic-flag-spellings"],
      ["k3s-1.34 · nodeport-conflict", "kind-1.34 · nodeport-conflict"],
      ["k3s-1.34 · hook-output-logs", "kind-1.34 · hook-output-logs"],
    ]);
  });

  it("of an empty shard (more shards than runs) is valid and holds nothing", () => {
    const small = plan.slice(0, 2);
    const empty = shardManifest({ index: 3, total: 3 }, small, assignShards(small, 3), about);
    expect(empty.runs).toEqual([]);
    expect(empty.scenarioTests).toEqual([]);
    const file = path.join(dir, "empty.json");
    expect(parseShardManifest(JSON.stringify(empty), file)).toEqual(empty);
  });

  it("is what vitest's workers register from: loaded through HELMDRILL_SHARD_MANIFEST", () => {
    const manifest = shardManifest({ index: 2, total: 2 }, plan, assignShards(plan, 2), about);
    const file = path.join(dir, "shard.json");
    writeFileSync(file, JSON.stringify(manifest));
    const base = loadConfig({}, { HOME: "/h" });
    const planned = { index: 2, total: 2, manifest: file, runs: manifest.runs, scenarioTests: manifest.scenarioTests };
    const env = configToEnv({ ...base, shard: planned });
    expect(env.HELMDRILL_SHARD_MANIFEST).toBe(file);
    const worker = loadConfig({}, { HOME: "/h", ...env }).shard;
    expect(worker).toEqual(planned);
    // A run that is no shard hands on none, and never an earlier one's.
    expect(configToEnv(base).HELMDRILL_SHARD_MANIFEST).toBe("");
    expect(loadConfig({}, { HOME: "/h", ...configToEnv(base) }).shard).toBeUndefined();

    const [mine, theirs] = [plan[1]!, plan[0]!];
    expect(inShard(worker, mine.key)).toBe(true);
    expect(inShard(worker, theirs.key)).toBe(false);
    expect(inShard(undefined, theirs.key)).toBe(true);
    // Requested but not yet planned (the CLI before it plans): everything.
    expect(inShard({ index: 2, total: 2 }, theirs.key)).toBe(true);
    expect(ownsScenarioTests(worker, "k3s-1.34", "atomic-flag-spellings")).toBe(false);
    expect(ownsScenarioTests(worker, "k3s-1.34", "hook-output-logs")).toBe(false);
    expect(ownsScenarioTests(undefined, "k3s-1.34", "atomic-flag-spellings")).toBe(true);
  });

  it("that is not one is named", () => {
    expect(error(() => parseShardManifest("{", "/r/shard.json"))).toMatch(
      /^\/r\/shard\.json is not a helmdrill shard\.json: /,
    );
    expect(error(() => parseShardManifest(JSON.stringify({ index: 1 }), "/r/shard.json"))).toMatch(
      /^\/r\/shard\.json is not a helmdrill shard\.json: helmdrill: expected string/,
    );
    expect(
      error(() => loadConfig({}, { HOME: "/h", HELMDRILL_SHARD_MANIFEST: path.join(dir, "nowhere.json") })),
    ).toMatch(/^HELMDRILL_SHARD_MANIFEST names .*nowhere\.json, which cannot be read/);
  });
});

const dir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-shard-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function selection() {
  return {
    scenarios: ["atomic-flag-spellings", "hook-output-logs", "nodeport-conflict"],
    drivers: [],
    helm: ["3.17.3", "4.3.1"],
    helmfile: [],
    legs: ["k3s-1.34", "kind-1.34"],
    strict: false,
  };
}
