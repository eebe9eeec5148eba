import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { configToEnv, type HelmdrillConfig } from "../config.ts";
import { info } from "../log.ts";
import { PROJECT_ROOT } from "../pins.ts";
import { provision } from "../provision/index.ts";
import { ExistingClusterProvider } from "../cluster/existing.ts";
import { runReaper } from "../cluster/reaper.ts";
import { resolveTools } from "../tools/index.ts";
import { summaryLine } from "../report/ci-summary.ts";
import { checkDocker, checkScenarioNames, lintFixtures } from "./preflight.ts";

/**
 * `helmdrill run`: preflight (names, versions, Docker, opt-in, fixtures), provisioning
 * (idempotent), then the catalogue through vitest's Node API on one cluster. Returns the
 * exit code: 0 when every scenario matched its expectations, 1 otherwise.
 */
export async function runSuite(config: HelmdrillConfig, options: { provision: boolean }): Promise<number> {
  checkScenarioNames(config.scenarios);
  if (config.cluster === "existing") {
    // Refuse (and fail fast on an unreachable API server) before anything is started.
    const started = await new ExistingClusterProvider(config.existing).start((m) => info(m));
    await started.stop();
  }
  // From here on the run owns things (builds, a cluster, temp kubeconfigs): Ctrl-C, SIGTERM or
  // a crash removes them.
  const reaper = runReaper(config.runId);
  // Provisioning comes first: on a fresh machine it is what installs and starts the engine.
  if (options.provision) await provision({ skipNodeImage: config.cluster !== "k3s", noDocker: config.cluster === "existing" });
  await checkDocker(config);
  const tools = resolveTools(config.cacheDir, config.helmVersions, config.helmfileVersions);
  await lintFixtures(Object.values(tools.helm).at(-1)!, config.fixturesDir);

  Object.assign(process.env, configToEnv({ ...config, progress: true }));
  const filters = config.scenarios.length > 0 ? config.scenarios.map((s) => `scenarios/${s}.test.ts`) : ["scenarios/"];
  info(`running ${config.scenarios.length || "all"} scenario(s) on helm ${config.helmVersions.join(", ")}, helmfile ${config.helmfileVersions.join(", ")}, cluster ${config.cluster}`);
  const { startVitest } = await import("vitest/node");
  const results = path.join(config.reportsDir, "vitest-results.json");
  const vitest = await startVitest("test", filters, { project: ["cluster"], watch: false, root: PROJECT_ROOT });
  await vitest?.close();
  const failed = !vitest || (process.exitCode ?? 0) !== 0;
  if (existsSync(results)) console.log(summaryLine(JSON.parse(readFileSync(results, "utf8"))));
  const r = config.reportsDir;
  console.log(`reports: ${r}/conformance/matrix.md (and .html), transcripts in ${r}/transcripts/, JUnit in ${r}/junit.xml, Allure results in ${r}/allure-results/`);
  process.exitCode = 0;
  reaper.release();
  return failed ? 1 : 0;
}
