import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startCluster, type StartedCluster } from "../cluster/index.ts";
import { loadConfig, type HelmdrillConfig } from "../config.ts";
import { describeError } from "../errors.ts";
import { info } from "../log.ts";
import { resolveTools, type ResolvedTools } from "../tools/index.ts";

/** What every worker receives through `inject("helmdrill")`. */
export interface HelmdrillProvided {
  config: HelmdrillConfig;
  tools: ResolvedTools;
  kubeconfig: string;
  kubeconfigPath: string;
  cluster: { kind: string; name: string; createdByHelmdrill: boolean; description: string };
  /** A worker touches this file when it keeps a failed scenario's namespace (HELMDRILL_KEEP=1). */
  keepMarker: string;
}

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
  const scratch = mkdtempSync(path.join(os.tmpdir(), "helmdrill-run-"));
  const keepMarker = path.join(scratch, "kept");
  mkdirSync(config.reportsDir, { recursive: true });
  project.provide("helmdrill", {
    config,
    tools,
    kubeconfig: cluster.kubeconfig,
    kubeconfigPath: cluster.kubeconfigPath,
    cluster: { kind: cluster.kind, name: cluster.name, createdByHelmdrill: cluster.createdByHelmdrill, description: cluster.describe() },
    keepMarker,
  });
  return async () => {
    if (config.keep && existsSync(keepMarker)) {
      info(`HELMDRILL_KEEP=1 and a scenario failed: the cluster stays up for inspection.\n  ${cluster.describe()}`);
      return;
    }
    await cluster.stop();
    rmSync(scratch, { recursive: true, force: true });
    info(`cluster ${cluster.name} removed`);
  };
}
