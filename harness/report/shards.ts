import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { HelmdrillError } from "../errors.ts";
import type { CoverageFinding } from "../dsl/coverage.ts";
import type { ScenarioRun } from "../dsl/records.ts";
import { parseShardManifest, runDurations, runKey, type PlannedRun, type ShardManifest } from "../dsl/shard.ts";
import type { Matrix } from "./model.ts";
import type { CollectedRuns } from "./reporter.ts";

/**
 * The shards' parts of one run, read back and put together: `helmdrill run --shard i/n` writes
 * each into `<reports>/shard-<i>-of-<n>/` (its reports as any run writes them, plus shard.json:
 * the whole plan and its own runs); `helmdrill merge` checks the parts belong together and
 * orders their runs by the plan — the order one unsharded run reports them in.
 */

export const MANIFEST = "shard.json";
const SHARD_DIR = /^shard-\d+-of-\d+$/;
const MERGE_HINT =
  "give the directories `helmdrill run --shard i/n` wrote (shard-<i>-of-<n>/), or directories holding them";

/** A report's runs.json: a file, or a reports directory (conformance/runs.json, or runs.json in it). */
export function loadRunRecords(arg: string, what = "--shard-durations"): { file: string; runs: ScenarioRun[] } {
  const hint = `${what} takes a previous run's reports directory or its conformance/runs.json`;
  if (!existsSync(arg)) throw new HelmdrillError(`${what} ${arg} does not exist`, hint);
  let file = arg;
  if (statSync(arg).isDirectory()) {
    const found = [path.join("conformance", "runs.json"), "runs.json"]
      .map((rel) => path.join(arg, rel))
      .find((f) => existsSync(f));
    if (!found) throw new HelmdrillError(`${what} ${arg} holds no conformance/runs.json (nor runs.json)`, hint);
    file = found;
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new HelmdrillError(`${what} ${file} is not a helmdrill runs.json: ${(error as Error).message}`, hint);
  }
  const isRun = (r: unknown) => {
    const run = r as Partial<ScenarioRun> | null;
    return (
      typeof run === "object" &&
      run !== null &&
      typeof run.scenario === "string" &&
      typeof run.targetLabel === "string" &&
      typeof run.durationMs === "number"
    );
  };
  if (!Array.isArray(data) || !data.every(isRun))
    throw new HelmdrillError(
      `${what} ${file} is not a helmdrill runs.json: not a list of run records (scenario, targetLabel, durationMs)`,
      hint,
    );
  return { file, runs: data as ScenarioRun[] };
}

/** A previous run's time per run key: what `run --shard --shard-durations` balances by. */
export function loadRunDurations(arg: string): { file: string; durations: Map<string, number> } {
  const { file, runs } = loadRunRecords(arg);
  return { file, durations: runDurations(runs) };
}

/** The shard directories named: each argument is one (it holds shard.json) or holds shard-<i>-of-<n>/ ones. */
export function shardDirs(args: readonly string[]): string[] {
  if (args.length === 0) throw new HelmdrillError("no shard directory given", MERGE_HINT);
  return args.flatMap((arg) => {
    if (!existsSync(arg)) throw new HelmdrillError(`${arg} does not exist`, MERGE_HINT);
    if (!statSync(arg).isDirectory()) throw new HelmdrillError(`${arg} is not a directory`, MERGE_HINT);
    if (existsSync(path.join(arg, MANIFEST))) return [arg];
    const inside = readdirSync(arg)
      .filter((d) => SHARD_DIR.test(d) && existsSync(path.join(arg, d, MANIFEST)))
      .sort()
      .map((d) => path.join(arg, d));
    if (inside.length === 0)
      throw new HelmdrillError(
        `${arg} is no shard's part: no ${MANIFEST} in it, nor a shard-<i>-of-<n>/ below it`,
        MERGE_HINT,
      );
    return inside;
  });
}

/** vitest's JSON results, the counts of them. */
export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/** One shard's part, read back. */
export interface ShardPart {
  dir: string;
  manifest: ShardManifest;
  /** Its run records by run key. */
  runs: Map<string, ScenarioRun>;
  /** Records whose run is not the shard's own (none in a part `run --shard` wrote). */
  strays: string[];
  /** Expectation coverage per scenario, as its matrix.json holds it. */
  coverage: Map<string, CoverageFinding[]>;
  /** The matrix's baseline label. */
  baseline?: string;
  /** Its tests as vitest counted them (vitest-results.json), when written. */
  tests?: TestCounts;
  /** The directories of its legs' reports (one: the part itself, unless the selection spans several clusters). */
  legDirs: { leg: string; dir: string }[];
}

const readJson = <T>(file: string): T | undefined => {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (error) {
    throw new HelmdrillError(`${file} cannot be read: ${(error as Error).message}`, MERGE_HINT);
  }
};

/**
 * A shard's part: shard.json, then its run records — `conformance/runs.json`, or, when the
 * selection spans several clusters, each leg's `clusters/<leg>/conformance/runs.json` (a leg
 * none of whose runs fell to the shard has none) — keyed by leg, scenario and target.
 */
export function readShardPart(dir: string): ShardPart {
  const manifestFile = path.join(dir, MANIFEST);
  const manifest = parseShardManifest(readFileSync(manifestFile, "utf8"), manifestFile);
  const legs = manifest.selection.legs;
  const legDirs =
    legs.length > 1 ? legs.map((leg) => ({ leg, dir: path.join(dir, "clusters", leg) })) : [{ leg: legs[0]!, dir }];
  const own = new Set(manifest.runs);
  const part: ShardPart = { dir, manifest, runs: new Map(), strays: [], coverage: new Map(), legDirs };
  for (const { leg, dir: legDir } of legDirs) {
    const runs = readJson<ScenarioRun[]>(path.join(legDir, "conformance", "runs.json")) ?? [];
    for (const run of runs) {
      const key = runKey(leg, run.scenario, run.targetLabel);
      if (own.has(key)) part.runs.set(key, run);
      else part.strays.push(key);
    }
    const matrix = readJson<Matrix>(path.join(legDir, "conformance", "matrix.json"));
    part.baseline ??= matrix?.baseline;
    const found = new Map<string, CoverageFinding[]>();
    for (const f of matrix?.coverage ?? []) found.set(f.scenario, [...(found.get(f.scenario) ?? []), f]);
    // Every leg computes the same findings for a scenario: the first leg's are kept.
    for (const [scenario, findings] of found) if (!part.coverage.has(scenario)) part.coverage.set(scenario, findings);
    const results = readJson<Record<string, number>>(path.join(legDir, "vitest-results.json"));
    if (results) {
      const t = (part.tests ??= { passed: 0, failed: 0, skipped: 0 });
      t.passed += results.numPassedTests ?? 0;
      t.failed += results.numFailedTests ?? 0;
      t.skipped += (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
    }
  }
  part.baseline ??= readJson<Matrix>(path.join(dir, "conformance", "matrix.json"))?.baseline;
  return part;
}

const name = (p: ShardPart) => `shard ${p.manifest.index}/${p.manifest.total} (${p.dir})`;

/**
 * The parts belong together, or bad input naming why: one split (the same n), each shard once
 * and none missing, the same selection, and the same plan — the same runs in the same order,
 * each in the same shard (a shard given other --shard-durations balanced differently).
 */
export function checkShardParts(parts: readonly ShardPart[]): void {
  const hint =
    "merge the parts of one selection run as `helmdrill run --shard i/n` on every i, with the same pins, options and --shard-durations";
  const first = parts[0];
  if (!first) throw new HelmdrillError("no shard directory given", MERGE_HINT);
  const totals = [...new Set(parts.map((p) => p.manifest.total))];
  if (totals.length > 1)
    throw new HelmdrillError(
      `the parts come from different splits: ${parts.map(name).join(", ")}`,
      "merge the parts of one split: all 1/n … n/n",
    );
  const seen = new Map<number, ShardPart>();
  for (const p of parts) {
    const twice = seen.get(p.manifest.index);
    if (twice)
      throw new HelmdrillError(
        `shard ${p.manifest.index}/${p.manifest.total} is given twice: ${twice.dir} and ${p.dir}`,
        hint,
      );
    seen.set(p.manifest.index, p);
  }
  const total = first.manifest.total;
  const missing = Array.from({ length: total }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length)
    throw new HelmdrillError(
      `shard${missing.length > 1 ? "s" : ""} ${missing.map((i) => `${i}/${total}`).join(", ")} missing: ${parts.length} of ${total} given (${parts.map((p) => p.dir).join(", ")})`,
      "every part is needed for the whole matrix; a shard that did not finish still leaves its shard.json",
    );
  for (const p of parts.slice(1)) {
    const a = first.manifest;
    const b = p.manifest;
    if (JSON.stringify(a.selection) !== JSON.stringify(b.selection))
      throw new HelmdrillError(
        `${name(p)} ran another selection than ${name(first)}: ${selectionDifference(a.selection, b.selection)}`,
        hint,
      );
    const keys = (m: ShardManifest) => m.plan.map((r) => r.key);
    if (JSON.stringify(keys(a)) !== JSON.stringify(keys(b))) {
      const i = keys(a).findIndex((k, j) => k !== keys(b)[j]);
      throw new HelmdrillError(
        `${name(p)} planned other runs than ${name(first)} (run ${i + 1}: ${a.plan[i]?.key ?? "none"} / ${b.plan[i]?.key ?? "none"})` +
          (a.helmdrill !== b.helmdrill ? `; helmdrill ${a.helmdrill} / ${b.helmdrill}` : ""),
        hint,
      );
    }
    const moved = a.plan.findIndex((r, j) => r.shard !== b.plan[j]!.shard);
    if (moved >= 0)
      throw new HelmdrillError(
        `${name(p)} and ${name(first)} split the runs differently (${a.plan[moved]!.key}: shard ${a.plan[moved]!.shard} / ${b.plan[moved]!.shard}; balanced by ${a.balancedBy} / ${b.balancedBy})`,
        hint,
      );
  }
}

function selectionDifference(a: ShardManifest["selection"], b: ShardManifest["selection"]): string {
  const keys = Object.keys(a) as (keyof typeof a)[];
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k} ${JSON.stringify(a[k])} / ${JSON.stringify(b[k])}`)
    .join("; ");
}

export interface MergedShards {
  /** Every run in plan order (the order one unsharded run reports them), and the coverage. */
  collected: CollectedRuns;
  /** The leg of each of those runs. */
  planLegs: string[];
  /** Planned runs with no record in their shard's part (the shard did not finish). */
  missing: PlannedRun[];
  baseline?: string;
}

/** The parts' runs in plan order; the coverage per scenario in the order the scenarios first run. */
export function mergeShardParts(parts: readonly ShardPart[]): MergedShards {
  const byIndex = new Map(parts.map((p) => [p.manifest.index, p]));
  const plan = parts[0]?.manifest.plan ?? [];
  const runs: ScenarioRun[] = [];
  const planLegs: string[] = [];
  const missing: PlannedRun[] = [];
  for (const planned of plan) {
    const run = byIndex.get(planned.shard)?.runs.get(planned.key);
    if (run) {
      runs.push(run);
      planLegs.push(planned.leg);
    } else missing.push({ key: planned.key, leg: planned.leg, scenario: planned.scenario, target: planned.target });
  }
  const coverage: CoverageFinding[] = [];
  for (const scenario of new Set(runs.map((r) => r.scenario))) {
    const found = parts.find((p) => p.coverage.has(scenario));
    coverage.push(...(found?.coverage.get(scenario) ?? []));
  }
  return { collected: { runs, coverage }, planLegs, missing, baseline: parts.find((p) => p.baseline)?.baseline };
}
