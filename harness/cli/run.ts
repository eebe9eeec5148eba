import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { configToEnv, type HelmdrillConfig, type Project } from "../config.ts";
import { HelmdrillError } from "../errors.ts";
import { info } from "../log.ts";
import { provision } from "../provision/index.ts";
import { buildProjectImages } from "../provision/images.ts";
import { ExistingClusterProvider } from "../cluster/existing.ts";
import { runReaper } from "../cluster/reaper.ts";
import { checkScenarioNames, loadCatalogue } from "../dsl/catalogue.ts";
import { resolveTools } from "../tools/index.ts";
import { summaryLine } from "../report/ci-summary.ts";
import { clusterTestOptions, helmdrillReporters, RUN_OPTIONS, scenarioPlugin } from "../vitest/preset.ts";
import { checkDocker, lintFixtures } from "./preflight.ts";

/**
 * `helmdrill run`: preflight (config, scenario names, versions, Docker, opt-in, charts),
 * provisioning (idempotent), the project's images, then its scenarios through vitest's Node
 * API and helmdrill's preset on one cluster. Returns the exit code: 0 when every scenario
 * matched its expectations, 1 otherwise.
 */
export async function runSuite(config: HelmdrillConfig & { project: Project }, options: { provision: boolean }): Promise<number> {
  const catalogue = await loadCatalogue(config.project);
  checkScenarioNames(catalogue, config.scenarios);
  const drives = (e: (typeof catalogue)[number]) => config.drivers.length === 0 || (e.spec.drivers ?? ["helm"]).some((d) => config.drivers.includes(d));
  const selected = (config.scenarios.length > 0 ? catalogue.filter((e) => config.scenarios.includes(e.spec.id)) : catalogue).filter(drives);
  if (selected.length === 0) {
    throw new HelmdrillError(
      `no selected scenario runs through ${config.drivers.join(" or ")}`,
      `scenarios by driver: ${catalogue.map((e) => `${e.spec.id} (${(e.spec.drivers ?? ["helm"]).join("+")})`).join(", ")}`,
    );
  }
  if (config.cluster === "existing") {
    // Refuse (and fail fast on an unreachable API server) before anything is started.
    const started = await new ExistingClusterProvider(config.existing).start((m) => info(m));
    await started.stop();
  }
  // From here on the run owns things (builds, a cluster, temp kubeconfigs): Ctrl-C, SIGTERM or
  // a crash removes them.
  const reaper = runReaper(config.runId);
  // Provisioning comes first: on a fresh machine it is what installs and starts the engine.
  if (options.provision) await provision({ clusters: config.cluster === "existing" ? [] : [config.cluster], noDocker: config.cluster === "existing" });
  await checkDocker(config);
  if (config.cluster !== "existing") await buildProjectImages(config.project, (m) => info(`images: ${m}`));
  const tools = resolveTools(config.cacheDir, config.helmVersions, config.helmfileVersions);
  await lintFixtures(Object.values(tools.helm).at(-1)!, config.fixturesDir);

  Object.assign(process.env, configToEnv({ ...config, progress: true }));
  info(`running ${selected.length} scenario(s)${config.drivers.length ? ` through ${config.drivers.join(", ")}` : ""} on helm ${config.helmVersions.join(", ")}, helmfile ${config.helmfileVersions.join(", ")}, cluster ${config.cluster}`);
  const { startVitest } = await import("vitest/node");
  const results = path.join(config.reportsDir, "vitest-results.json");
  // The project's own vitest config (if any) is not read: a run is exactly helmdrill's preset.
  const vitest = await startVitest(
    "test",
    selected.map((e) => e.file),
    { ...clusterTestOptions(config.project), ...RUN_OPTIONS, config: false, watch: false, reporters: helmdrillReporters(config.reportsDir) },
    { plugins: [scenarioPlugin(config.project)] },
  );
  await vitest?.close();
  const failed = !vitest || (process.exitCode ?? 0) !== 0;
  if (existsSync(results)) console.log(summaryLine(JSON.parse(readFileSync(results, "utf8"))));
  const r = config.reportsDir;
  console.log(`reports: ${r}/conformance/matrix.md (and .html), transcripts in ${r}/transcripts/, JUnit in ${r}/junit.xml, Allure results in ${r}/allure-results/`);
  process.exitCode = 0;
  reaper.release();
  return failed ? 1 : 0;
}
