import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { HelmdrillError } from "./errors.ts";
import type { Driver } from "./driver.ts";
import semver from "semver";
import {
  minorsFor,
  parseFluxList,
  parseKubernetesList,
  parseVersionList,
  pinnedKubernetesMinors,
  pins,
  type ComponentName,
} from "./pins.ts";
import { parseDisabled } from "./project.ts";
import { PROJECT_ENV, projectFromEnv, useProject, type ClusterKind, type Project } from "./project-env.ts";
import { parseShardManifest, requestedShard, type PlannedShard, type Shard } from "./dsl/shard.ts";

export { projectFromEnv, useProject };
export type { ClusterKind, Project };
// Project loading lives in project.ts; re-exported so every importer of config.ts keeps working.
export {
  CONFIG_FILE_NAMES,
  defineConfig,
  findConfigFile,
  importUserModule,
  loadProject,
  parseDisabled,
  parseProject,
  projectSchema,
  type HelmdrillProjectConfig,
} from "./project.ts";

/**
 * The one module that reads configuration. Everything else receives a `HelmdrillConfig`.
 * Sources, later wins: defaults from pins.json, then the project's helmdrill.config.ts
 * (loaded by project.ts), then HELMDRILL_* environment variables, then explicit overrides
 * (the CLI's flags).
 */

// ---------------------------------------------------------------------------------------------
// The run's configuration.

export interface HelmdrillConfig {
  /** The project's helmdrill.config.ts, when one is loaded. */
  project?: Project;
  /** Where relative paths in commands resolve: the config file's directory, else the working directory. */
  root: string;
  cacheDir: string;
  reportsDir: string;
  /** Where the fixture charts live (HELMDRILL_FIXTURES; default fixtures/). */
  fixturesDir: string;
  helmVersions: string[];
  helmfileVersions: string[];
  /** `--flux 1.4,1.6`: the flux targets (pins.json `flux.targets`) flux scenarios run on; default: `flux.defaults`. */
  fluxTargets: string[];
  /** The cluster of this vitest run: the first of `clusters`. */
  cluster: ClusterKind;
  /** `--cluster k3s,kind`: `helmdrill run` runs the selection once per cluster (and Kubernetes minor). */
  clusters: ClusterKind[];
  /** `--kubernetes 1.34,1.37`: pinned minors of the nodes helmdrill starts; a vitest run uses the first. */
  kubernetes: string[];
  /**
   * HELMDRILL_MINORS: the pinned minors helmdrill's own provider tests (tests/cluster/kind.test.ts,
   * kubernetes-minors.test.ts) and `npm run provision` cover — by default the pinned default and the
   * oldest pinned minor (`default`), every pinned minor with `all`, or a list (`1.35,1.36`).
   */
  minorsUnderTest: string[];
  /** Packaged components switched off (`--disable`, `disable:`); none by default. */
  disabled: ComponentName[];
  /** Only for cluster=existing: both must be named and the opt-in given. */
  existing: { kubeconfig?: string; context?: string; optIn: boolean };
  /** Override of the node image for the k3s provider. */
  k3sImage?: string;
  keep: boolean;
  /** Scenario ids to run; empty means all. */
  scenarios: string[];
  /** Drivers to run (helm, helmfile, flux); empty means every driver a scenario names. */
  drivers: Driver[];
  /** Per-run label value put on every container/namespace helmdrill creates. */
  runId: string;
  /** Live step lines from every scenario run (HELMDRILL_PROGRESS; `helmdrill run` turns it on). */
  progress: boolean;
  /**
   * `--strict` / HELMDRILL_STRICT=1 (what CI runs): a target, driver or test that cannot run here
   * fails instead of being skipped, and an expectation no pinned version reaches fails.
   */
  strict: boolean;
  /**
   * `helmdrill run --shard i/n` (or CI_NODE_INDEX/CI_NODE_TOTAL): this run is one part of the
   * selection's runs. Once planned, vitest's workers read its runs from its shard.json
   * (HELMDRILL_SHARD_MANIFEST) and register only those.
   */
  shard?: Shard | PlannedShard;
}

/** The CLI's flags; a list is either split already or comma-separated text. */
export interface ConfigOverrides {
  helm?: string | readonly string[];
  helmfile?: string | readonly string[];
  flux?: string | readonly string[];
  cluster?: string | readonly string[];
  kubernetes?: string | readonly string[];
  disable?: string | readonly string[];
  kubeconfig?: string;
  context?: string;
  allowExistingCluster?: boolean;
  k3sImage?: string;
  keep?: boolean;
  scenarios?: string[];
  drivers?: string[];
  reportsDir?: string;
  progress?: boolean;
  strict?: boolean;
  shard?: Shard;
}

const DRIVERS: readonly Driver[] = ["helm", "helmfile", "flux"];

/** `--driver helm,flux` / HELMDRILL_DRIVERS: each must be a driver helmdrill has. */
export function parseDrivers(raw: readonly string[]): Driver[] {
  const unknown = raw.filter((d) => !DRIVERS.includes(d as Driver));
  if (unknown.length)
    throw new HelmdrillError(
      `unknown driver${unknown.length > 1 ? "s" : ""} ${unknown.map((d) => `"${d}"`).join(", ")}`,
      `use any of: ${DRIVERS.join(", ")}`,
    );
  return [...new Set(raw)] as Driver[];
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());

export function parseClusterKind(raw: string | undefined): ClusterKind {
  const value = (raw ?? pins().defaults.cluster).trim();
  if (value === "k3s" || value === "kind" || value === "existing") return value;
  throw new HelmdrillError(`unknown cluster provider "${value}"`, "use one of: k3s (default), kind, existing");
}

/** `--cluster k3s,kind`: providers in the order given; `existing` only alone. */
export function parseClusterKinds(raw: string | readonly string[] | undefined): ClusterKind[] {
  const items = typeof raw === "string" || raw === undefined ? (raw ?? pins().defaults.cluster).split(",") : raw;
  const kinds = [
    ...new Set(
      items
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => parseClusterKind(s)),
    ),
  ];
  if (kinds.length === 0) return [parseClusterKind(undefined)];
  if (kinds.length > 1 && kinds.includes("existing"))
    throw new HelmdrillError(
      "--cluster existing cannot be combined with other clusters",
      "run the existing cluster on its own: --cluster existing --context NAME --allow-existing-cluster",
    );
  return kinds;
}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): HelmdrillConfig {
  const cacheDir =
    env.HELMDRILL_CACHE ?? path.join(env.XDG_CACHE_HOME ?? path.join(env.HOME ?? os.homedir(), ".cache"), "helmdrill");
  const scenarios =
    overrides.scenarios ??
    (env.HELMDRILL_SCENARIOS ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  const project = projectFromEnv(env);
  const root = project?.root ?? process.cwd();
  const clusters = parseClusterKinds(overrides.cluster ?? env.HELMDRILL_CLUSTER ?? project?.cluster);
  return {
    project,
    root,
    cacheDir,
    reportsDir: path.resolve(
      overrides.reportsDir ?? env.HELMDRILL_REPORTS ?? project?.reportsDir ?? path.join(root, "reports"),
    ),
    fixturesDir: path.resolve(env.HELMDRILL_FIXTURES ?? project?.chartsDir ?? path.join(root, "fixtures")),
    helmVersions: parseVersionList("helm", overrides.helm ?? env.HELMDRILL_HELM ?? project?.targets.helm),
    helmfileVersions: parseVersionList(
      "helmfile",
      overrides.helmfile ?? env.HELMDRILL_HELMFILE ?? project?.targets.helmfile,
    ),
    fluxTargets: parseFluxList(overrides.flux ?? env.HELMDRILL_FLUX ?? project?.targets.flux),
    cluster: clusters[0]!,
    clusters,
    kubernetes: parseKubernetesList(overrides.kubernetes ?? env.HELMDRILL_KUBERNETES ?? project?.kubernetes),
    minorsUnderTest: parseMinorsUnderTest(env.HELMDRILL_MINORS),
    disabled: parseDisabled(overrides.disable ?? env.HELMDRILL_DISABLE ?? project?.disable),
    existing: {
      kubeconfig: overrides.kubeconfig ?? env.HELMDRILL_KUBECONFIG,
      context: overrides.context ?? env.HELMDRILL_CONTEXT,
      optIn: overrides.allowExistingCluster ?? truthy(env.HELMDRILL_ALLOW_EXISTING_CLUSTER),
    },
    k3sImage: overrides.k3sImage ?? env.HELMDRILL_K3S_IMAGE,
    keep: overrides.keep ?? truthy(env.HELMDRILL_KEEP),
    scenarios,
    drivers: parseDrivers(
      overrides.drivers ??
        (env.HELMDRILL_DRIVERS ?? "")
          .split(",")
          .map((d) => d.trim())
          .filter(Boolean),
    ),
    runId: env.HELMDRILL_RUN_ID ?? `${Date.now().toString(36)}${process.pid.toString(36)}`,
    progress: overrides.progress ?? truthy(env.HELMDRILL_PROGRESS),
    strict: overrides.strict ?? truthy(env.HELMDRILL_STRICT),
    shard: overrides.shard ?? plannedShard(env.HELMDRILL_SHARD_MANIFEST),
  };
}

/**
 * HELMDRILL_MINORS → the minors helmdrill's own provider tests start and `npm run provision` builds:
 * unset or `default` → the pinned default and the oldest pinned minor (CI's time budget: each
 * further minor is a cold node build per provider and two more clusters per run); `all` → every
 * pinned minor; a list → those (pinned minors only, as `--kubernetes`).
 */
export function parseMinorsUnderTest(raw: string | undefined): string[] {
  const value = (raw ?? "").trim();
  if (value === "" || value === "default") {
    const pinned = pinnedKubernetesMinors();
    return [...new Set([pins().cluster.kubernetes.default, pinned[0]!])].sort((a, b) =>
      semver.compare(`${a}.0`, `${b}.0`),
    );
  }
  return parseKubernetesList(value).sort((a, b) => semver.compare(`${a}.0`, `${b}.0`));
}

/**
 * Which of the minors under test a provider's tests start (`start`), and which of them that
 * provider has no node pinned for (`missing`: a test says so — skipped, failed under --strict —
 * never silently left out).
 */
export function minorsToStart(
  cluster: "k3s" | "kind",
  config: Pick<HelmdrillConfig, "minorsUnderTest">,
): { start: string[]; missing: string[] } {
  const has = minorsFor(cluster);
  return {
    start: config.minorsUnderTest.filter((m) => has.includes(m)),
    missing: config.minorsUnderTest.filter((m) => !has.includes(m)),
  };
}

/** `run --shard i/n`, else GitLab's CI_NODE_INDEX/CI_NODE_TOTAL (only `run` shards: other commands never read them). */
export function shardOption(option: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  return requestedShard(option, env);
}

/** The planned shard a `helmdrill run --shard` hands its vitest workers: its manifest, read. */
function plannedShard(manifest: string | undefined): PlannedShard | undefined {
  if (!manifest) return undefined;
  let text: string;
  try {
    text = readFileSync(manifest, "utf8");
  } catch (error) {
    throw new HelmdrillError(`HELMDRILL_SHARD_MANIFEST names ${manifest}, which cannot be read: ${String(error)}`);
  }
  const { index, total, runs, scenarioTests } = parseShardManifest(text, manifest);
  return { index, total, manifest, runs, scenarioTests };
}

/** Environment variables that carry a config to a child process (vitest workers, the CLI's run). */
export function configToEnv(config: HelmdrillConfig): Record<string, string> {
  const env: Record<string, string> = {
    HELMDRILL_CACHE: config.cacheDir,
    HELMDRILL_REPORTS: config.reportsDir,
    HELMDRILL_FIXTURES: config.fixturesDir,
    HELMDRILL_HELM: config.helmVersions.join(","),
    HELMDRILL_HELMFILE: config.helmfileVersions.join(","),
    HELMDRILL_FLUX: config.fluxTargets.join(","),
    HELMDRILL_CLUSTER: config.clusters.join(","),
    HELMDRILL_KUBERNETES: config.kubernetes.join(","),
    HELMDRILL_MINORS: config.minorsUnderTest.join(","),
    HELMDRILL_DISABLE: config.disabled.join(","),
    HELMDRILL_KEEP: config.keep ? "1" : "0",
    HELMDRILL_SCENARIOS: config.scenarios.join(","),
    HELMDRILL_DRIVERS: config.drivers.join(","),
    HELMDRILL_RUN_ID: config.runId,
    HELMDRILL_PROGRESS: config.progress ? "1" : "0",
    HELMDRILL_STRICT: config.strict ? "1" : "0",
    // Empty unless planned: a run that is no shard never inherits an earlier one's.
    HELMDRILL_SHARD_MANIFEST: config.shard && "manifest" in config.shard ? config.shard.manifest : "",
  };
  if (config.project) env[PROJECT_ENV] = JSON.stringify(config.project);
  if (config.existing.kubeconfig) env.HELMDRILL_KUBECONFIG = config.existing.kubeconfig;
  if (config.existing.context) env.HELMDRILL_CONTEXT = config.existing.context;
  if (config.existing.optIn) env.HELMDRILL_ALLOW_EXISTING_CLUSTER = "1";
  if (config.k3sImage) env.HELMDRILL_K3S_IMAGE = config.k3sImage;
  return env;
}
