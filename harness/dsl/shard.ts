import { z } from "zod";
import type { Driver } from "../driver.ts";
import { HelmdrillError } from "../errors.ts";
import { helmfileSupportsHelm } from "../pins.ts";
import type { ClusterKind } from "../project-env.ts";
import { describeIssues } from "../util/schema-issues.ts";
import { targetLabel, targetsFor, type Migrations, type Target } from "./target.ts";

/**
 * `helmdrill run --shard i/n`: the selection's runs (scenario × target, on every cluster leg)
 * planned before vitest starts, in the order one unsharded run reports them, and split into n
 * balanced parts — by the previous run's durations when given (greedy longest-first), else
 * round-robin by count. Pure: every shard computes the same plan from the same inputs, on
 * whatever machine it runs; `helmdrill merge` refuses parts whose plans differ.
 *
 * A light module (no scenario runner, no config): config.ts reads a planned shard through it.
 */

/** One (cluster, Kubernetes minor) a run goes over: one vitest run, one cluster. */
export interface RunLeg {
  cluster: ClusterKind;
  kubernetes: string;
}

/** "k3s-1.34", "kind-1.34", "existing". */
export function legSlug(leg: RunLeg): string {
  return leg.cluster === "existing" ? "existing" : `${leg.cluster}-${leg.kubernetes}`;
}

/**
 * The leg of a recorded run, from the cluster label its record carries ("k3s 1.34" → "k3s-1.34";
 * an existing cluster's "existing 1.33" → "existing"): how a previous run's durations are keyed.
 */
export function legOfClusterLabel(label: string): string {
  return label.startsWith("existing") ? "existing" : label.trim().replace(/\s+/g, "-");
}

/** Which part of the runs this process runs: `index` of `total`, both counted from 1. */
export interface Shard {
  index: number;
  total: number;
}

/** A shard once planned: its manifest (shard.json) and what vitest's workers register. */
export interface PlannedShard extends Shard {
  manifest: string;
  /** The keys of its runs (runKey). */
  runs: string[];
  /** `leg · scenario` of the scenarios whose once-per-scenario test (--strict coverage) it registers. */
  scenarioTests: string[];
}

export const SHARD_HINT = "give i/n with 1 ≤ i ≤ n, e.g. --shard 2/4 (the 2nd of 4 parts)";

/** "2/4" → { index: 2, total: 4 }; anything else is bad input naming where it came from. */
export function parseShard(text: string, where = "--shard"): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const total = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(index) || !Number.isSafeInteger(total))
    throw new HelmdrillError(`${where} "${text}" is not i/n`, SHARD_HINT);
  if (total < 1 || index < 1 || index > total)
    throw new HelmdrillError(
      `${where} ${index}/${total}: ${total < 1 ? "there is no part of 0" : `there is no part ${index} of ${total}`}`,
      SHARD_HINT,
    );
  return { index, total };
}

/**
 * `--shard`, else GitLab's `parallel:` variables: CI_NODE_INDEX (1-based; set only in a parallel
 * job) of CI_NODE_TOTAL (1 in a job that is not parallel). Neither: no shard.
 */
export function requestedShard(option: string | undefined, env: Record<string, string | undefined>): Shard | undefined {
  if (option !== undefined) return parseShard(option, "--shard");
  const index = env.CI_NODE_INDEX?.trim();
  if (!index) return undefined;
  return parseShard(`${index}/${env.CI_NODE_TOTAL?.trim() ?? ""}`, "CI_NODE_INDEX/CI_NODE_TOTAL");
}

/** `shard-2-of-4`: the directory a shard writes its part into, inside the reports directory. */
export function shardDirName(shard: Shard): string {
  return `shard-${shard.index}-of-${shard.total}`;
}

/** A run's identity across shards and reports: leg, scenario id, target label. */
export function runKey(leg: string, scenario: string, target: string): string {
  return `${leg} · ${scenario} · ${target}`;
}

/** The key of a scenario's once-per-scenario tests on a leg. */
export function scenarioTestKey(leg: string, scenario: string): string {
  return `${leg} · ${scenario}`;
}

/** What of a scenario the plan reads. */
export interface PlannedScenario {
  spec: { id: string; drivers?: readonly Driver[]; migrations?: Migrations };
  /** Its file: runs are reported in file order (see report/reporter.ts collectRuns). */
  file: string;
}

/** The drivers of a scenario `--driver` selects (none: the scenario is not selected). */
export function chosenDrivers(spec: PlannedScenario["spec"], selected: readonly Driver[]): Driver[] {
  return (spec.drivers ?? ["helm"]).filter((d) => selected.length === 0 || selected.includes(d));
}

/**
 * A scenario's targets, as replay() registers them: what can run here is not asked (`apply`
 * targets exist whenever helm-diff was looked at — `applyUnusable` given —, flux ones always):
 * an unavailable target is registered too, as not run, so it is a run of the plan.
 */
export function scenarioTargets(
  spec: PlannedScenario["spec"],
  drivers: readonly Driver[],
  versions: { helmVersions: readonly string[]; helmfileVersions: readonly string[]; fluxTargets?: readonly string[] },
  availability: {
    applyUnusable?: (helm: string) => string | undefined;
    fluxUnavailable?: (flux: string) => string | undefined;
  } = {},
): Target[] {
  return targetsFor(
    drivers,
    versions,
    helmfileSupportsHelm,
    availability.applyUnusable,
    spec.migrations,
    availability.fluxUnavailable,
  );
}

export interface PlannedRun {
  key: string;
  leg: string;
  scenario: string;
  target: string;
}

/**
 * Every run of the selection in the order an unsharded run reports them: leg by leg (the order
 * given), scenario files by path (vitest's module order, compared as collectRuns compares it),
 * each scenario's targets in registration order. Which targets can run on this machine is not
 * asked: it does not change the runs (an unavailable one is a not-run run), and the plan must not
 * differ between machines. `scenarios` are the selected ones (each drives a selected driver).
 */
export function planRuns(
  legs: readonly RunLeg[],
  scenarios: readonly PlannedScenario[],
  selection: {
    drivers: readonly Driver[];
    helmVersions: readonly string[];
    helmfileVersions: readonly string[];
    fluxTargets?: readonly string[];
  },
): PlannedRun[] {
  const byFile = [...scenarios].sort((a, b) => a.file.localeCompare(b.file));
  const plan: PlannedRun[] = [];
  for (const leg of legs.map(legSlug)) {
    for (const { spec } of byFile) {
      const drivers = chosenDrivers(spec, selection.drivers);
      // replay() registers `apply` targets whenever helm-diff was checked (always, in a run).
      for (const target of scenarioTargets(spec, drivers, selection, { applyUnusable: () => undefined })) {
        const label = targetLabel(target);
        plan.push({ key: runKey(leg, spec.id, label), leg, scenario: spec.id, target: label });
      }
    }
  }
  return plan;
}

/**
 * The shard (1-based) of each planned run. With `durations` (ms by run key; a run not in it
 * counts the mean of those that are): greedy longest-processing-time — longest run first, each to
 * the least loaded shard. Ties go to the earlier run and the lower shard, so equal inputs give
 * equal plans. Without: round-robin in plan order (an even split by count).
 */
export function assignShards(
  plan: readonly Pick<PlannedRun, "key">[],
  total: number,
  durations?: ReadonlyMap<string, number>,
): number[] {
  if (!durations) return plan.map((_, i) => (i % total) + 1);
  const known = plan.map((r) => durations.get(r.key)).filter((d): d is number => d !== undefined);
  const mean = known.length ? Math.round(known.reduce((a, b) => a + b, 0) / known.length) : 1;
  const cost = plan.map((r) => durations.get(r.key) ?? mean);
  const order = plan.map((_, i) => i).sort((a, b) => cost[b]! - cost[a]! || a - b);
  const loads = new Array<number>(total).fill(0);
  const shards = new Array<number>(plan.length);
  for (const i of order) {
    let least = 0;
    for (let s = 1; s < total; s++) if (loads[s]! < loads[least]!) least = s;
    shards[i] = least + 1;
    loads[least]! += cost[i]!;
  }
  return shards;
}

/** A previous run's time per run key, from its run records (runs.json). */
export function runDurations(
  runs: readonly { scenario: string; targetLabel: string; clusterLabel?: string; durationMs: number }[],
): Map<string, number> {
  const durations = new Map<string, number>();
  for (const r of runs) {
    if (!r.clusterLabel || !Number.isFinite(r.durationMs)) continue;
    durations.set(runKey(legOfClusterLabel(r.clusterLabel), r.scenario, r.targetLabel), r.durationMs);
  }
  return durations;
}

/** What a selection was: the manifest records it, and merge refuses parts of different ones. */
export interface ShardSelection {
  scenarios: string[];
  drivers: string[];
  helm: string[];
  helmfile: string[];
  /** The flux targets (absent in a manifest written before there were several). */
  flux?: string[];
  legs: string[];
  strict: boolean;
}

/** The manifest a shard writes (shard.json) beside its part of the reports. */
export interface ShardManifest extends Shard {
  /** helmdrill's version. */
  helmdrill: string;
  selection: ShardSelection;
  /** "run count (round-robin)" or "durations of <file>". */
  balancedBy: string;
  /** Every run of the selection, in report order, with the shard it fell to. */
  plan: (PlannedRun & { shard: number })[];
  /** This shard's runs (keys), in plan order. */
  runs: string[];
  scenarioTests: string[];
  /** Written when the shard's run ended: its verdict (as `helmdrill run`'s exit code says) and wall time. */
  result?: { verdict: "passed" | "failed" | "lost"; durationMs: number; summary: string[] };
}

/** The plan split, seen from one shard: its manifest (without a result yet). */
export function shardManifest(
  shard: Shard,
  plan: readonly PlannedRun[],
  shards: readonly number[],
  about: Pick<ShardManifest, "helmdrill" | "selection" | "balancedBy">,
): ShardManifest {
  const planned = plan.map((r, i) => ({ ...r, shard: shards[i]! }));
  const scenarioTests: string[] = [];
  const seen = new Set<string>();
  for (const r of planned) {
    const key = scenarioTestKey(r.leg, r.scenario);
    if (seen.has(key)) continue;
    seen.add(key);
    // The scenario's first planned run decides where its once-per-scenario test is registered.
    if (r.shard === shard.index) scenarioTests.push(key);
  }
  return {
    ...about,
    index: shard.index,
    total: shard.total,
    plan: planned,
    runs: planned.filter((r) => r.shard === shard.index).map((r) => r.key),
    scenarioTests,
  };
}

const manifestSchema = z.object({
  helmdrill: z.string(),
  index: z.number().int().min(1),
  total: z.number().int().min(1),
  selection: z.object({
    scenarios: z.array(z.string()),
    drivers: z.array(z.string()),
    helm: z.array(z.string()),
    helmfile: z.array(z.string()),
    flux: z.array(z.string()).optional(),
    legs: z.array(z.string()),
    strict: z.boolean(),
  }),
  balancedBy: z.string(),
  plan: z.array(
    z.object({ key: z.string(), leg: z.string(), scenario: z.string(), target: z.string(), shard: z.number() }),
  ),
  runs: z.array(z.string()),
  scenarioTests: z.array(z.string()),
  result: z
    .object({
      verdict: z.enum(["passed", "failed", "lost"]),
      durationMs: z.number(),
      summary: z.array(z.string()),
    })
    .optional(),
});

/** A shard.json's text, checked; `file` names it in the message when it is not one. */
export function parseShardManifest(text: string, file: string): ShardManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new HelmdrillError(`${file} is not a helmdrill shard.json: ${(error as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success)
    throw new HelmdrillError(
      `${file} is not a helmdrill shard.json: ${describeIssues(parsed.error, "the file").slice(0, 3).join("; ")}`,
    );
  return parsed.data;
}

/** Whether a run is this process's: always, unless a planned shard leaves it to another. */
export function inShard(shard: Shard | PlannedShard | undefined, key: string): boolean {
  return !shard || !("runs" in shard) || shard.runs.includes(key);
}

/** Whether this process registers a scenario's once-per-scenario tests on a leg (see shardManifest). */
export function ownsScenarioTests(shard: Shard | PlannedShard | undefined, leg: string, scenario: string): boolean {
  return !shard || !("scenarioTests" in shard) || shard.scenarioTests.includes(scenarioTestKey(leg, scenario));
}
