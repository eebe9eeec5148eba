import { existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startCluster, type StartedCluster } from "../cluster/index.ts";
import { loadConfig, type HelmdrillConfig } from "../config.ts";
import { describeError } from "../errors.ts";
import { info } from "../log.ts";
import { resolveTools, type ResolvedTools } from "../tools/index.ts";
import { providedFor, type HelmdrillProvided } from "./drill.ts";

declare module "vitest" {
  export interface ProvidedContext {
    helmdrill: HelmdrillProvided;
  }
}

/**
 * One cluster per run: started once here, handed to workers with `provide`, stopped at the
 * end — unless HELMDRILL_KEEP=1 and a scenario failed, in which case it stays up and we say
 * how to reach it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let config: HelmdrillConfig;
  let tools: ResolvedTools;
  let cluster: StartedCluster;
  try {
    config = loadConfig();
    tools = resolveTools(config.cacheDir, config.helmVersions, config.helmfileVersions);
    cluster = await startCluster(config, (m) => info(`cluster: ${m}`));
  } catch (error) {
    // One clear sentence instead of a stack trace from deep inside a provider.
    throw new Error(`helmdrill could not start its cluster: ${describeError(error)}`);
  }
  info(`cluster ready: ${cluster.describe()}`);
  const provided = providedFor(config, tools, cluster);
  const scratch = path.dirname(provided.keepMarker);
  mkdirSync(config.reportsDir, { recursive: true });
  project.provide("helmdrill", provided);
  return async () => {
    if (config.keep && existsSync(provided.keepMarker)) {
      info(`HELMDRILL_KEEP=1 and a scenario failed: the cluster stays up for inspection.\n  ${cluster.describe()}`);
      return;
    }
    await cluster.stop();
    rmSync(scratch, { recursive: true, force: true });
    info(`cluster ${cluster.name} removed`);
  };
}
