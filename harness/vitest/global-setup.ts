import { existsSync, mkdirSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { startCluster, type StartedCluster } from "../cluster/index.ts";
import { runReaper } from "../util/reaper.ts";
import { loadConfig, type HelmdrillConfig } from "../config.ts";
import { describeError } from "../errors.ts";
import { info } from "../log.ts";
import { resolveTools, type ResolvedTools } from "../tools/index.ts";
import { helmDiffForRun } from "../tools/helm-diff.ts";
import { providedFor, type HelmdrillProvided } from "./drill.ts";

declare module "vitest" {
  export interface ProvidedContext {
    helmdrill: HelmdrillProvided;
  }
}

/**
 * One cluster per run: started once here, handed to workers with `provide`, stopped at the
 * end — unless HELMDRILL_KEEP=1 and a test failed, in which case it stays up and we say how
 * to reach and remove it. Ctrl-C / SIGTERM (and a crash, through the reaper's watchdog)
 * remove the run's containers, namespaces and scratch directory.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let config: HelmdrillConfig;
  let tools: ResolvedTools;
  let cluster: StartedCluster;
  let provided: HelmdrillProvided;
  config = loadConfig();
  const reaper = runReaper(config.runId);
  try {
    tools = resolveTools(config.cacheDir, config.helmVersions, config.helmfileVersions);
    // Both settle before anything is judged: with Promise.all a rejection of one let the sweep
    // below run while startCluster was still going, and the container it then started outlived the run.
    const [started, helmDiff] = await Promise.allSettled([
      startCluster(config, (m) => info(`cluster: ${m}`)),
      helmDiffForRun(config.cacheDir, tools.helm),
    ]);
    if (started.status === "rejected") throw started.reason;
    if (helmDiff.status === "rejected") throw helmDiff.reason;
    cluster = started.value;
    tools.helmDiff = helmDiff.value;
    if (cluster.kind === "existing") reaper.registerExistingCluster(tools.kubectl, cluster.kubeconfigPath);
    provided = await providedFor(config, tools, cluster);
  } catch (error) {
    // Everything started has settled: the sweep removes it all (the cluster too, when it came up).
    reaper.sweepNow();
    // One clear sentence instead of a stack trace from deep inside a provider.
    throw new Error(`helmdrill could not start its cluster: ${describeError(error)}`);
  }
  info(`cluster ready: ${cluster.describe()}`);
  for (const [helm, reason] of Object.entries(tools.helmDiff?.unusable ?? {}))
    info(`helm-diff on helm ${helm}: not usable — ${reason}`);
  mkdirSync(config.reportsDir, { recursive: true });
  project.provide("helmdrill", provided);
  return async () => {
    if (config.keep && existsSync(provided.keepMarker)) {
      info(
        `HELMDRILL_KEEP=1 and a test failed: the cluster stays up for inspection.\n  ${cluster.describe()}\n` +
          `  remove it and its scratch files with: helmdrill clean   (or: bash ${reaper.sweepCommand()})`,
      );
      reaper.release();
      return;
    }
    await cluster.stop();
    reaper.release();
    info(`cluster ${cluster.name} removed`);
  };
}
