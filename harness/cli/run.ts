import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { mergeFiles } from "junit-report-merger";
import { configToEnv, type HelmdrillConfig, type Project } from "../config.ts";
import { HelmdrillError } from "../errors.ts";
import { info } from "../log.ts";
import { provision } from "../provision/index.ts";
import { buildProjectImages } from "../provision/images.ts";
import { ExistingClusterProvider } from "../cluster/existing.ts";
import { runReaper } from "../util/reaper.ts";
import { checkScenarioNames, loadCatalogue, type CatalogueEntry } from "../dsl/catalogue.ts";
import {
  assignShards,
  legSlug,
  planRuns,
  shardDirName,
  shardManifest,
  type PlannedShard,
  type RunLeg,
  type Shard,
  type ShardManifest,
} from "../dsl/shard.ts";
import { resolveTools } from "../tools/index.ts";
import { ensureOnDemandTools } from "../tools/on-demand.ts";
import { summaryLine } from "../report/ci-summary.ts";
import { baselineLabel, writeReports, type CollectedRuns } from "../report/reporter.ts";
import type { Matrix } from "../report/model.ts";
import { combineVerdicts, EXIT_CODE, legVerdict, testFacts, type RunVerdict } from "../report/verdict.ts";
import type { ScenarioRun } from "../dsl/scenario.ts";
import { minorsFor, PACKAGE_ROOT } from "../pins.ts";
import { loadRunDurations, MANIFEST } from "../report/shards.ts";
import { clusterTestOptions, helmdrillReporters, RUN_OPTIONS, scenarioPlugin } from "../vitest/preset.ts";
import { checkDocker } from "./preflight.ts";
import { lintFixtures } from "../util/fixtures.ts";

export { legSlug, type RunLeg };

/**
 * `helmdrill run`: preflight (config, scenario names, versions, Docker, opt-in, charts),
 * provisioning (idempotent), the project's images, then its scenarios through vitest's Node
 * API and helmdrill's preset — once per selected cluster and Kubernetes minor (`--cluster
 * k3s,kind --kubernetes 1.34,1.37`), one after the other, each on a cluster of its own, and
 * then one matrix over all of them. Returns the exit code: 0 when every scenario matched its
 * expectations on every cluster; 1 when one did not (or a test could not run); 3 when the only
 * failures were runs whose cluster died under them (see report/verdict.ts).
 *
 * With `config.shard` (`--shard i/n`) it runs one part of the selection's runs (see dsl/shard.ts)
 * into `<reports>/shard-<i>-of-<n>/`, with its manifest (shard.json) for `helmdrill merge`; a leg
 * or a scenario file none of whose runs fell to the shard is not started.
 */
export async function runSuite(
  config: HelmdrillConfig & { project: Project },
  options: { provision: boolean; shardDurations?: string },
): Promise<number> {
  const startedAt = Date.now();
  if (options.shardDurations !== undefined && !config.shard)
    throw new HelmdrillError(
      "--shard-durations balances the parts of a sharded run: it needs --shard i/n (or CI_NODE_INDEX/CI_NODE_TOTAL)",
      "add --shard i/n, or leave --shard-durations out",
    );
  const catalogue = await loadCatalogue(config.project);
  checkScenarioNames(catalogue, config.scenarios);
  const drives = (e: (typeof catalogue)[number]) =>
    config.drivers.length === 0 || (e.spec.drivers ?? ["helm"]).some((d) => config.drivers.includes(d));
  const selected = (
    config.scenarios.length > 0 ? catalogue.filter((e) => config.scenarios.includes(e.spec.id)) : catalogue
  ).filter(drives);
  if (selected.length === 0) {
    throw new HelmdrillError(
      `no selected scenario runs through ${config.drivers.join(" or ")}`,
      `scenarios by driver: ${catalogue.map((e) => `${e.spec.id} (${(e.spec.drivers ?? ["helm"]).join("+")})`).join(", ")}`,
    );
  }
  const { legs, notes } = runLegs(config);
  for (const n of notes) info(n);
  const part = config.shard ? planShard(config, config.shard, legs, selected, options.shardDurations) : undefined;
  if (part) {
    // The shard's directory is its own: an earlier run's part must not mix into this one.
    rmSync(part.dir, { recursive: true, force: true });
    writeManifest(part.dir, part.manifest);
    config = { ...config, reportsDir: part.dir, shard: part.shard };
    const { index, total, runs, plan, balancedBy } = part.manifest;
    info(`shard ${index}/${total}: ${runs.length} of the selection's ${plan.length} runs (balanced by ${balancedBy})`);
    if (runs.length === 0) {
      info(
        `shard ${index}/${total} has no run: ${plan.length} runs over ${total} shards — an empty part, nothing started`,
      );
      writeReports({ runs: [], coverage: [] }, part.dir, baselineLabel(config.project.baseline));
      writeManifest(part.dir, {
        ...part.manifest,
        result: { verdict: "passed", durationMs: Date.now() - startedAt, summary: [] },
      });
      console.log(`reports: ${part.dir}/ (an empty part, for helmdrill merge)`);
      return EXIT_CODE.passed;
    }
  }
  const mine = (leg: RunLeg, e?: CatalogueEntry) =>
    !part ||
    part.manifest.plan.some(
      (r) => r.shard === part.shard.index && r.leg === legSlug(leg) && (!e || r.scenario === e.spec.id),
    );
  // A shard starts only the clusters its runs are on.
  const ownLegs = legs.filter((leg) => mine(leg));
  if (config.cluster === "existing" && ownLegs.length > 0) {
    // Refuse (and fail fast on an unreachable API server) before anything is started.
    const started = await new ExistingClusterProvider(config.existing).start((m) => info(m));
    await started.stop();
  }
  // From here on the run owns things (builds, a cluster, temp kubeconfigs): Ctrl-C, SIGTERM or
  // a crash removes them.
  const reaper = runReaper(config.runId);
  // Versions pins.json does not pin: built on first use (a version that cannot be had stops the run
  // here, before provisioning), and checked against the project's helmdrill.lock.
  await ensureOnDemandTools(
    { cacheDir: config.cacheDir, root: config.root, helm: config.helmVersions, helmfile: config.helmfileVersions },
    { build: options.provision },
  );
  // Provisioning comes first: on a fresh machine it is what installs and starts the engine.
  const started = ownLegs.filter((l) => l.cluster !== "existing") as { cluster: "k3s" | "kind"; kubernetes: string }[];
  if (options.provision) {
    await provision({
      clusters: [...new Set(started.map((l) => l.cluster))],
      kubernetes: [...new Set(started.map((l) => l.kubernetes))],
      noDocker: started.length === 0,
      tools: { helm: config.helmVersions, helmfile: config.helmfileVersions },
    });
  }
  for (const leg of ownLegs) await checkDocker({ ...config, cluster: leg.cluster, kubernetes: [leg.kubernetes] });
  if (started.length > 0) await buildProjectImages(config.project, (m) => info(`images: ${m}`));
  const tools = resolveTools(config.cacheDir, config.helmVersions, config.helmfileVersions);
  await lintFixtures(Object.values(tools.helm).at(-1)!, config.fixturesDir);

  const { startVitest } = await import("vitest/node");
  // Laid out by the whole selection's legs, so every shard's part is laid out as an unsharded run.
  const multi = legs.length > 1;
  const collected: CollectedRuns = { runs: [], coverage: [] };
  const summaries: string[] = [];
  const verdicts: RunVerdict[] = [];
  // A run over several clusters replaces the top-level results with its own (merged after the legs):
  // a CI job reading reports/junit.xml must never read an earlier run's.
  if (multi)
    for (const stale of ["junit.xml", "vitest-results.json", "allure-results"])
      rmSync(path.join(config.reportsDir, stale), { recursive: true, force: true });
  for (const leg of ownLegs) {
    const files = selected.filter((e) => mine(leg, e));
    // One vitest run per cluster: its own reports under reports/clusters/<cluster>/ when there are several.
    const legConfig = {
      ...config,
      cluster: leg.cluster,
      clusters: [leg.cluster],
      kubernetes: [leg.kubernetes],
      reportsDir: multi ? path.join(config.reportsDir, "clusters", legSlug(leg)) : config.reportsDir,
    };
    Object.assign(process.env, configToEnv({ ...legConfig, progress: true }));
    info(
      `running ${files.length} scenario(s)${config.drivers.length ? ` through ${config.drivers.join(", ")}` : ""} on helm ${config.helmVersions.join(", ")}, helmfile ${config.helmfileVersions.join(", ")}, flux ${config.fluxTargets.join(", ")}, ` +
        `cluster ${leg.cluster}${leg.cluster === "existing" ? "" : ` (Kubernetes ${leg.kubernetes})`}`,
    );
    const results = path.join(legConfig.reportsDir, "vitest-results.json");
    rmSync(results, { force: true });
    // The project's own vitest config (if any) is not read: a run is exactly helmdrill's preset.
    const vitest = await startVitest(
      "test",
      files.map((e) => e.file),
      {
        ...clusterTestOptions(config.project),
        ...RUN_OPTIONS,
        config: false,
        watch: false,
        reporters: helmdrillReporters(legConfig.reportsDir, multi ? legSlug(leg) : undefined),
      },
      { plugins: [scenarioPlugin(config.project)] },
    );
    // Read before close: a failure only on a lost cluster is not a behaviour failure.
    const facts = vitest ? testFacts(vitest.state.getTestModules()) : undefined;
    const unhandled = vitest ? vitest.state.getUnhandledErrors().length : 0;
    await vitest?.close();
    const exitCode = Number(process.exitCode ?? 0);
    verdicts.push(facts ? legVerdict(exitCode, facts.tests, facts.otherFailures + unhandled) : "failed");
    if (verdicts.at(-1) === "lost") {
      const exit = EXIT_CODE.lost;
      info(`${legSlug(leg)}: the cluster died under the run — its runs are marked "cluster lost" (exit ${exit})`);
    }
    process.exitCode = 0;
    if (existsSync(results))
      summaries.push(`${multi ? `${legSlug(leg)}: ` : ""}${summaryLine(JSON.parse(readFileSync(results, "utf8")))}`);
    const runsFile = path.join(legConfig.reportsDir, "conformance", "runs.json");
    if (multi && existsSync(runsFile)) {
      collected.runs.push(...(JSON.parse(readFileSync(runsFile, "utf8")) as ScenarioRun[]));
      const matrix = JSON.parse(
        readFileSync(path.join(legConfig.reportsDir, "conformance", "matrix.json"), "utf8"),
      ) as Matrix;
      if (collected.coverage.length === 0) collected.coverage = matrix.coverage ?? [];
    }
  }
  const r = config.reportsDir;
  if (multi) {
    // One matrix over every cluster: a column per target and cluster, and the steps that differed between clusters.
    writeReports(collected, r, baselineLabel(config.project.baseline));
    await mergeLegResults(
      r,
      ownLegs.map((leg) => path.join(r, "clusters", legSlug(leg))),
    );
    info(
      `${collected.runs.length} scenario runs on ${ownLegs.map(legSlug).join(", ")}; JUnit and Allure results of every cluster in ${r}/, each cluster's alone in ${r}/clusters/`,
    );
  }
  for (const line of summaries) console.log(line);
  console.log(
    `reports: ${r}/conformance/matrix.md (and .html), transcripts in ${r}/transcripts/, JUnit in ${r}/junit.xml, Allure results in ${r}/allure-results/`,
  );
  reaper.release();
  const verdict = combineVerdicts(verdicts);
  if (part) {
    const result = { verdict, durationMs: Date.now() - startedAt, summary: summaries };
    writeManifest(part.dir, { ...part.manifest, result });
    console.log(
      `shard ${part.shard.index}/${part.shard.total}: ${verdict} in ${Math.round(result.durationMs / 1000)} s — merge the parts with \`helmdrill merge\``,
    );
  }
  return EXIT_CODE[verdict];
}

const helmdrillVersion = (): string =>
  (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;

/**
 * `--shard i/n`: every run of the selection planned (dsl/shard.ts) and split, balanced by a
 * previous run's durations when `durationsFrom` names one; this shard's part and its manifest.
 */
export function planShard(
  config: Pick<
    HelmdrillConfig,
    "reportsDir" | "drivers" | "helmVersions" | "helmfileVersions" | "fluxTargets" | "strict"
  >,
  shard: Shard,
  legs: readonly RunLeg[],
  selected: readonly CatalogueEntry[],
  durationsFrom?: string,
): { dir: string; manifest: ShardManifest; shard: PlannedShard } {
  const plan = planRuns(legs, selected, config);
  const loaded = durationsFrom !== undefined ? loadRunDurations(durationsFrom) : undefined;
  const known = loaded ? plan.filter((r) => loaded.durations.has(r.key)).length : 0;
  const dir = path.join(config.reportsDir, shardDirName(shard));
  const manifest = shardManifest(shard, plan, assignShards(plan, shard.total, loaded?.durations), {
    helmdrill: helmdrillVersion(),
    selection: {
      scenarios: [...new Set(plan.map((r) => r.scenario))],
      drivers: config.drivers,
      helm: config.helmVersions,
      helmfile: config.helmfileVersions,
      flux: config.fluxTargets,
      legs: legs.map(legSlug),
      strict: config.strict,
    },
    balancedBy: loaded
      ? `the durations in ${durationsFrom} (${known} of ${plan.length} runs known; the others count their mean)`
      : "run count (round-robin)",
  });
  const file = path.join(dir, MANIFEST);
  return {
    dir,
    manifest,
    shard: { ...shard, manifest: file, runs: manifest.runs, scenarioTests: manifest.scenarioTests },
  };
}

function writeManifest(dir: string, manifest: ShardManifest): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * The legs' JUnit files merged into one (test cases keep their cluster in the class name; suites
 * of the same file merge, their counts summed), and their Allure results side by side in one
 * directory (each result carries its cluster as a parameter, so histories stay apart).
 */
export async function mergeLegResults(reportsDir: string, legDirs: string[]): Promise<void> {
  const junits = legDirs.map((d) => path.join(d, "junit.xml")).filter((f) => existsSync(f));
  if (junits.length) await mergeFiles(path.join(reportsDir, "junit.xml"), junits, { sumTime: true });
  for (const d of legDirs) {
    const allure = path.join(d, "allure-results");
    if (existsSync(allure)) cpSync(allure, path.join(reportsDir, "allure-results"), { recursive: true });
  }
}

/**
 * Every (cluster, Kubernetes minor) a run goes over, in the order given: each provider on
 * each selected minor it has a node for. A provider with a node for none of them is bad input;
 * a minor it lacks while others have it is said, not silently dropped.
 */
export function runLegs(
  config: Pick<HelmdrillConfig, "clusters" | "kubernetes">,
  nodesOf: (cluster: "k3s" | "kind") => string[] = minorsFor,
): { legs: RunLeg[]; notes: string[] } {
  const legs: RunLeg[] = [];
  const notes: string[] = [];
  for (const cluster of config.clusters) {
    if (cluster === "existing") {
      legs.push({ cluster, kubernetes: "" });
      continue;
    }
    const have = nodesOf(cluster);
    const minors = config.kubernetes.filter((m) => have.includes(m));
    if (minors.length === 0) {
      throw new HelmdrillError(
        `--cluster ${cluster} has no node for Kubernetes ${config.kubernetes.join(", ")}`,
        `pinned ${cluster} nodes: Kubernetes ${have.join(", ")}`,
      );
    }
    const missing = config.kubernetes.filter((m) => !have.includes(m));
    if (missing.length)
      notes.push(
        `${cluster}: no node pinned for Kubernetes ${missing.join(", ")} (pinned: ${have.join(", ")}); running ${cluster} on ${minors.join(", ")} only`,
      );
    for (const kubernetes of minors) legs.push({ cluster, kubernetes });
  }
  return { legs, notes };
}
