import os from "node:os";
import path from "node:path";
import { HelmdrillError } from "./errors.ts";
import { PROJECT_ROOT, parseVersionList, pins } from "./pins.ts";

/**
 * The one module that reads configuration. Everything else receives a `HelmdrillConfig`.
 * Sources, later wins: defaults from pins.json, then HELMDRILL_* environment variables,
 * then explicit overrides (the CLI's flags).
 */
export type ClusterKind = "k3s" | "kind" | "existing";

export interface HelmdrillConfig {
  cacheDir: string;
  reportsDir: string;
  /** Where the fixture charts live (HELMDRILL_FIXTURES; default fixtures/). */
  fixturesDir: string;
  helmVersions: string[];
  helmfileVersions: string[];
  cluster: ClusterKind;
  /** Only for cluster=existing: both must be named and the opt-in given. */
  existing: { kubeconfig?: string; context?: string; optIn: boolean };
  /** Override of the node image for the k3s provider. */
  k3sImage?: string;
  keep: boolean;
  /** Scenario ids to run; empty means all. */
  scenarios: string[];
  /** Per-run label value put on every container/namespace helmdrill creates. */
  runId: string;
  /** Live step lines from every scenario run (HELMDRILL_PROGRESS; `helmdrill run` turns it on). */
  progress: boolean;
}

export interface ConfigOverrides {
  helm?: string;
  helmfile?: string;
  cluster?: string;
  kubeconfig?: string;
  context?: string;
  allowExistingCluster?: boolean;
  k3sImage?: string;
  keep?: boolean;
  scenarios?: string[];
  reportsDir?: string;
  progress?: boolean;
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());

export function parseClusterKind(raw: string | undefined): ClusterKind {
  const value = (raw ?? pins().defaults.cluster).trim();
  if (value === "k3s" || value === "kind" || value === "existing") return value;
  throw new HelmdrillError(`unknown cluster provider "${value}"`, "use one of: k3s (default), kind, existing");
}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): HelmdrillConfig {
  const cacheDir = env.HELMDRILL_CACHE ?? path.join(env.XDG_CACHE_HOME ?? path.join(env.HOME ?? os.homedir(), ".cache"), "helmdrill");
  const scenarios =
    overrides.scenarios ??
    (env.HELMDRILL_SCENARIOS ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  return {
    cacheDir,
    reportsDir: path.resolve(overrides.reportsDir ?? env.HELMDRILL_REPORTS ?? path.join(PROJECT_ROOT, "reports")),
    fixturesDir: path.resolve(env.HELMDRILL_FIXTURES ?? path.join(PROJECT_ROOT, "fixtures")),
    helmVersions: parseVersionList("helm", overrides.helm ?? env.HELMDRILL_HELM),
    helmfileVersions: parseVersionList("helmfile", overrides.helmfile ?? env.HELMDRILL_HELMFILE),
    cluster: parseClusterKind(overrides.cluster ?? env.HELMDRILL_CLUSTER),
    existing: {
      kubeconfig: overrides.kubeconfig ?? env.HELMDRILL_KUBECONFIG,
      context: overrides.context ?? env.HELMDRILL_CONTEXT,
      optIn: overrides.allowExistingCluster ?? truthy(env.HELMDRILL_ALLOW_EXISTING_CLUSTER),
    },
    k3sImage: overrides.k3sImage ?? env.HELMDRILL_K3S_IMAGE,
    keep: overrides.keep ?? truthy(env.HELMDRILL_KEEP),
    scenarios,
    runId: env.HELMDRILL_RUN_ID ?? `${Date.now().toString(36)}${process.pid.toString(36)}`,
    progress: overrides.progress ?? truthy(env.HELMDRILL_PROGRESS),
  };
}

/** Environment variables that carry a config to a child process (vitest workers, the CLI's run). */
export function configToEnv(config: HelmdrillConfig): Record<string, string> {
  const env: Record<string, string> = {
    HELMDRILL_CACHE: config.cacheDir,
    HELMDRILL_REPORTS: config.reportsDir,
    HELMDRILL_FIXTURES: config.fixturesDir,
    HELMDRILL_HELM: config.helmVersions.join(","),
    HELMDRILL_HELMFILE: config.helmfileVersions.join(","),
    HELMDRILL_CLUSTER: config.cluster,
    HELMDRILL_KEEP: config.keep ? "1" : "0",
    HELMDRILL_SCENARIOS: config.scenarios.join(","),
    HELMDRILL_RUN_ID: config.runId,
    HELMDRILL_PROGRESS: config.progress ? "1" : "0",
  };
  if (config.existing.kubeconfig) env.HELMDRILL_KUBECONFIG = config.existing.kubeconfig;
  if (config.existing.context) env.HELMDRILL_CONTEXT = config.existing.context;
  if (config.existing.optIn) env.HELMDRILL_ALLOW_EXISTING_CLUSTER = "1";
  if (config.k3sImage) env.HELMDRILL_K3S_IMAGE = config.k3sImage;
  return env;
}
