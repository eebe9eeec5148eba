import * as allure from "allure-js-commons";
import { realpathSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, inject, test, type TaskMeta } from "vitest";
import { renderSnapshot } from "../probes/resources.ts";
import { describeRelease } from "../probes/release.ts";
import {
  abandonedScenario,
  executeScenario,
  notRunScenario,
  summarizeFailure,
  type ScenarioRun,
  type ScenarioSpec,
  type StepRecord,
} from "../dsl/scenario.ts";
import { targetLabel, type Target } from "../dsl/target.ts";
import { chosenDrivers, inShard, legSlug, ownsScenarioTests, runKey, scenarioTargets } from "../dsl/shard.ts";
import { describeError } from "../errors.ts";
import { stepProgress } from "../log.ts";
import { helmfileSupportsHelm, pinnedFluxTargets, pinnedKubernetesVersions, pinnedVersions } from "../pins.ts";
import { expectationCoverage, strictCoverageFailures, type CoverageFinding } from "../dsl/coverage.ts";
import type { Drill, HelmdrillProvided } from "./drill.ts";
import { drillTest } from "./fixtures.ts";
import { resolveFlux } from "../tools/flux.ts";
import { ClusterLostError, isClusterLostError, type ClusterLoss } from "./cluster-watch.ts";
import { cannotRunVerdict } from "./strict.ts";

declare module "vitest" {
  interface TaskMeta {
    helmdrill?: ScenarioRun;
    /** Expectations keyed to versions no pinned target reaches (see dsl/coverage.ts). */
    helmdrillCoverage?: CoverageFinding[];
  }
}

async function attachStep(record: StepRecord): Promise<void> {
  const commands = record.commands.filter((c) => !c.probe);
  for (const c of commands) {
    await allure.attachment(
      `$ ${c.argv.join(" ")}`,
      `exit ${c.exitCode} after ${c.durationMs} ms\n--- stdout\n${c.stdout}\n--- stderr\n${c.stderr}`,
      "text/plain",
    );
  }
  if (record.release)
    await allure.attachment(
      "release history",
      describeRelease(record.release) + "\n\n" + JSON.stringify(record.release.history, null, 2),
      "text/plain",
    );
  if (record.resources) await allure.attachment("resources", renderSnapshot(record.resources), "text/plain");
  const checks = record.checks.map(
    (c) =>
      `${c.ok ? "✔" : "✖"} [${c.phase}] ${c.expected}\n    observed: ${c.observed}${c.drift ? `\n    drift from the write-up: ${c.drift}` : ""}`,
  );
  await allure.attachment(
    "expectations",
    [`status: ${record.status}`, record.problem ?? "", ...checks].join("\n"),
    "text/plain",
  );
  if (record.diagnostics) await allure.attachment("diagnostics", record.diagnostics, "text/plain");
  for (const c of record.collected ?? []) await allure.attachment(`collected: ${c.label}`, c.output, "text/plain");
}

/**
 * A scenario whose behaviour did not match its expectations: the test fails with this (its name
 * says "assertion", so Allure marks the test failed; a ClusterLostError makes it broken instead).
 */
export class ScenarioAssertionError extends Error {
  override readonly name = "ScenarioAssertionError";
}

/** Each scenario step as an Allure step; a failed step fails the Allure step too (broken when the cluster was lost). */
async function allureStep(
  title: string,
  fn: () => Promise<StepRecord>,
  lost: () => ClusterLoss | undefined,
): Promise<StepRecord> {
  let record: StepRecord | undefined;
  let thrown: Error | undefined;
  try {
    await allure.step(title, async (ctx) => {
      record = await fn();
      if (record.status === "differs") await ctx.displayName(`${title} — differs from the write-up`);
      if (record.status !== "failed") return;
      const loss = lost();
      const problem =
        record.problem ??
        record.checks
          .filter((c) => !c.ok)
          .map((c) => c.expected)
          .join("; ");
      throw (thrown = loss ? new ClusterLostError(loss) : new ScenarioAssertionError(problem));
    });
  } catch (error) {
    if (error !== thrown || !record) throw error;
  }
  return record!;
}

/**
 * Whether `file` is the test file vitest is collecting in this worker (expect's `testPath`), rather
 * than a module that file imports. Unknown (no test file being collected) counts as collected.
 */
export function isCollectedFile(file: string, testPath = expect.getState().testPath): boolean {
  if (testPath === undefined) return true;
  // Vite's module id and vitest's file path can name one file through different symlinks.
  const real = (p: string) => {
    try {
      return realpathSync(path.resolve(p));
    } catch {
      return path.resolve(p);
    }
  };
  return real(testPath) === real(file);
}

/** A scenario test's time limit (per target). */
export const SCENARIO_TIMEOUT_MS = 15 * 60_000;

/**
 * Registers a scenario with vitest: one concurrent test per target, each in its own
 * namespace. Each step becomes an Allure step with the command, outputs, release history and
 * resources attached; the whole run record rides on the test's meta for the reporters.
 */
export function replay(spec: ScenarioSpec, file?: string): void {
  // Imported by another test file for its definition (executeScenario in a test): not registered there.
  if (file !== undefined && !isCollectedFile(file)) return;
  const { config } = inject("helmdrill");
  // --driver: only those drivers' targets run; a scenario none of them drives is skipped whole.
  const chosen = chosenDrivers(spec, config.drivers);
  const selected = (config.scenarios.length === 0 || config.scenarios.includes(spec.id)) && chosen.length > 0;
  describe.skipIf(!selected).concurrent(`${spec.id} — ${spec.title}`, () => {
    const { tools } = inject("helmdrill");
    const applyUnusable = tools.helmDiff ? (helm: string) => tools.helmDiff!.unusable[helm] : undefined;
    const coverage = expectationCoverage(
      spec,
      {
        helmVersions: pinnedVersions("helm"),
        helmfileVersions: pinnedVersions("helmfile"),
        fluxTargets: pinnedFluxTargets(),
        kubernetesVersions: pinnedKubernetesVersions(),
      },
      helmfileSupportsHelm,
    );
    const { cluster } = inject("helmdrill");
    // `run --shard`: only this shard's runs are registered (the others are other shards' tests,
    // not skipped ones here); the scenario's coverage test goes with its first planned run.
    const leg = legSlug({ cluster: config.cluster, kubernetes: config.kubernetes[0] ?? "" });
    if (config.strict && ownsScenarioTests(config.shard, leg, spec.id)) {
      // --strict: an expectation no pinned version reaches, or a gap a pinned target falls in, fails.
      test("every expectation is reached by a pinned version (--strict)", () => {
        const failing = strictCoverageFailures(coverage);
        if (failing.length === 0) return;
        const lines = failing.map((f) => `  step ${f.step} (${f.stepTitle}): ${f.kind} — ${f.text}`);
        const head = `--strict: ${failing.length} expectation(s) outside the pinned versions:`;
        throw new ScenarioAssertionError(`${head}\n${lines.join("\n")}`);
      });
    }
    const drivers = chosen.length > 0 ? chosen : (spec.drivers ?? ["helm"]);
    const fluxUnavailable = (flux: string) => resolveFlux(config.cacheDir, flux).unavailable;
    const byLabel = new Map<string, Target>();
    // Every target runs on this run's cluster: its Kubernetes version is what `kubernetes:` expectations are keyed by.
    for (const target of scenarioTargets(spec, drivers, config, { applyUnusable, fluxUnavailable }).map((t) => ({
      ...t,
      kubernetes: cluster.kubernetes,
    }))) {
      if (!inShard(config.shard, runKey(leg, spec.id, targetLabel(target)))) continue;
      byLabel.set(targetLabel(target), target);
      if (target.unavailable) {
        // Reported, never a silent gap: the matrix shows every step of this column as not run, with
        // the reason — skipped, or under --strict a failed test (and a failed run).
        test(targetLabel(target), ({ task, skip }) => {
          const verdict = cannotRunVerdict(config.strict, target.unavailable);
          const notRun = notRunScenario(spec, target, target.unavailable!);
          const status = verdict === "fail" ? ("failed" as const) : notRun.status;
          task.meta.helmdrill = { ...notRun, status, cluster: cluster.runsOn, clusterLabel: cluster.label };
          task.meta.helmdrillCoverage = coverage;
          if (verdict === "fail") {
            throw new Error(`--strict: ${targetLabel(target)} cannot run here: ${target.unavailable}`);
          }
          skip(target.unavailable);
        });
        continue;
      }
      // On a timeout vitest aborts the test's signal: the drill kills the scenario's commands, the
      // scenario stops, and the fixture's cleanup waits for this body before it touches the namespace.
      drillTest(targetLabel(target), { timeout: SCENARIO_TIMEOUT_MS }, ({ drill, task }) =>
        drill.hold(replayTarget(spec, target, drill, task, { coverage, cluster, progress: config.progress })),
      );
    }
    // A test whose drill could not be set up (the cluster already lost, no namespace) never ran its
    // body: it is recorded here, so the matrix shows it as failed or lost, not as absent.
    afterEach(({ task }) => {
      const target = byLabel.get(task.name);
      if (!target || task.meta.helmdrill || task.result?.state !== "fail") return;
      const run = unopenedRun(spec, target, task.result.errors?.[0]);
      task.meta.helmdrill = { ...run, cluster: cluster.runsOn, clusterLabel: cluster.label };
      task.meta.helmdrillCoverage = coverage;
    });
  });
}

/** The record of a run whose drill could not be set up: failed at its first step, or lost there. */
export function unopenedRun(
  spec: ScenarioSpec,
  target: Target,
  error: { name?: string; message?: string } | undefined,
): ScenarioRun {
  const message = (error?.message ?? "unknown error").split("\n")[0]!;
  const run = abandonedScenario(spec, target, "", [], `the test's namespace could not be set up: ${message}`);
  if (!isClusterLostError(error)) return run;
  return { ...run, clusterLost: { step: 1, reason: message.replace(/^cluster lost: /, "") } };
}

export interface ReplayOptions {
  coverage: CoverageFinding[];
  cluster: Pick<HelmdrillProvided["cluster"], "runsOn" | "label">;
  progress: boolean;
}

/**
 * One target's run of a scenario, recorded on the test's meta for the reporters whatever
 * happens: a run that ends in an error outside any step's record (Flux would not start, a
 * reporter hook threw) is recorded as failed with that error — never left out of the matrix
 * while JUnit says failed. A failed run throws its summary (the test fails).
 */
export async function replayTarget(
  spec: ScenarioSpec,
  target: Target,
  drill: Pick<Drill, "namespace" | "environment" | "startFlux" | "markFailed"> &
    Partial<Pick<Drill, "clusterLost" | "confirmClusterLost">>,
  task: { meta: TaskMeta },
  { coverage, cluster, progress }: ReplayOptions,
): Promise<void> {
  const startedAt = new Date().toISOString();
  const done: StepRecord[] = [];
  // When the run's first failure was recorded: a loss seen only after the cluster was healthy again is not its cause.
  let failedAt: number | undefined;
  const lost = () => drill.clusterLost?.();
  let run: ScenarioRun;
  let error: { cause: unknown; problem: string } | undefined;
  try {
    await describeForAllure(spec, target, cluster.runsOn);
    // A flux target runs with controllers of its own, watching only this namespace.
    if (target.driver === "flux") await drill.startFlux(target);
    const tag = `[${spec.id} · ${targetLabel(target)}]`;
    run = await executeScenario(
      spec,
      target,
      drill.environment(target, {
        wrapStep: (title, fn) => allureStep(title, () => stepProgress(progress, tag, title, fn), lost),
        afterStep: async (record) => {
          if (record.status === "failed") failedAt ??= Date.now();
          done.push(record);
          await attachStep(record);
        },
      }),
    );
  } catch (cause) {
    error = { cause, problem: `the run could not go on: ${describeError(cause)}` };
    run = abandonedScenario(spec, target, drill.namespace, done, error.problem, startedAt);
  }
  // A failed run on a cluster that died under it is "cluster lost", not a behaviour verdict.
  if (run.status === "failed" && drill.confirmClusterLost) {
    run = attributeFailure(run, await drill.confirmClusterLost(), failedAt ?? Date.now());
  }
  task.meta.helmdrill = { ...run, cluster: cluster.runsOn, clusterLabel: cluster.label };
  task.meta.helmdrillCoverage = coverage;
  if (run.status === "failed") {
    drill.markFailed();
    if (run.clusterLost) {
      const { reason, step } = run.clusterLost;
      throw new ClusterLostError({ reason: `${reason} at step ${step}` }, summarizeFailure(run));
    }
    // The harness could not go on (Flux would not start): an error, not a verdict on the behaviour.
    if (error) throw new Error(`${error.problem}\n${summarizeFailure(run)}`, { cause: error.cause });
    throw new ScenarioAssertionError(summarizeFailure(run));
  }
}

/**
 * A failed run's verdict once the cluster was looked at again: lost from its first failed step
 * on — unless the cluster was seen healthy after that step failed (the failure came first: the
 * behaviour verdict stands).
 */
export function attributeFailure(run: ScenarioRun, loss: ClusterLoss | undefined, failedAt: number): ScenarioRun {
  if (!loss || run.status !== "failed") return run;
  const first = run.steps.find((s) => s.status === "failed");
  if (!first || failedAt <= loss.lastHealthyAt) return run;
  return { ...run, clusterLost: { step: first.index, reason: loss.reason } };
}

async function describeForAllure(spec: ScenarioSpec, target: Target, runsOn: string): Promise<void> {
  await allure.epic("helmdrill conformance");
  await allure.feature(spec.id);
  await allure.story(targetLabel(target));
  await allure.parameter("helm", target.helm);
  if (target.helmfile) await allure.parameter("helmfile", `${target.helmfile} (${target.style})`);
  if (target.flux) await allure.parameter("flux", target.fluxTo ? `${target.flux} → ${target.fluxTo}` : target.flux);
  await allure.parameter("cluster", runsOn);
  await allure.description(`${spec.summary}\n\nReplays **${spec.source.section}** of \`${spec.source.file}\`.`);
}
