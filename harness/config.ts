import { existsSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { HelmdrillError } from "./errors.ts";
import type { Driver } from "./driver.ts";
import { COMPONENTS, parseKubernetesList, parseVersionList, pins, type ComponentName } from "./pins.ts";
import { projectPinsSchema } from "./pins-schema.ts";
import { PROJECT_ENV, projectFromEnv, useProject, type ClusterKind, type Project } from "./project-env.ts";
import { describeIssues } from "./util/schema-issues.ts";

export { projectFromEnv, useProject };
export type { ClusterKind, Project };

/**
 * The one module that reads configuration. Everything else receives a `HelmdrillConfig`.
 * Sources, later wins: defaults from pins.json, then the project's helmdrill.config.ts,
 * then HELMDRILL_* environment variables, then explicit overrides (the CLI's flags).
 */

// ---------------------------------------------------------------------------------------------
// helmdrill.config.ts: a project's scenarios, charts, images, pins, targets and reports.

const versionList = z.array(z.string().min(1)).min(1);

export const projectSchema = z.strictObject({
  /** Scenario files (globs relative to the config file); each default-exports `defineScenario(…)`. */
  scenarios: z.array(z.string().min(1)).min(1),
  /** The charts and fixture files scenarios name with `fixture("…")` (default: fixtures/). */
  charts: z.string().min(1).optional(),
  /** Images preloaded into the cluster: local references, and images built from a context first. */
  images: z
    .strictObject({
      preload: z.array(z.string().min(1)).optional(),
      /**
       * `{ tag, context, dockerfile? }`: `context` relative to the config file; `dockerfile` relative
       * to the context, as docker compose resolves it (default: the context's Dockerfile).
       */
      build: z
        .array(
          z.strictObject({ tag: z.string().min(1), context: z.string().min(1), dockerfile: z.string().optional() }),
        )
        .optional(),
    })
    .optional(),
  /** Extra tool versions, in pins.json's schema, merged with the built-in pins. */
  pins: projectPinsSchema.optional(),
  /** Versions a run uses unless --helm/--helmfile say otherwise. */
  targets: z.strictObject({ helm: versionList.optional(), helmfile: versionList.optional() }).optional(),
  /** The label of the matrix's documented column, e.g. "production today: helm 3.17.3". */
  baseline: z.string().min(1).optional(),
  /** Where reports go (default: reports/). */
  reports: z.string().min(1).optional(),
  cluster: z.enum(["k3s", "kind", "existing"]).optional(),
  /** Kubernetes minors of the nodes helmdrill starts (default: the pinned default), e.g. ["1.33", "1.34"]. */
  kubernetes: versionList.optional(),
  /**
   * Packaged components to switch off, like k3s's --disable: coredns, local-storage, servicelb,
   * metrics-server, registry-mirror (or "all"), e.g. ["servicelb"] to reproduce a cluster without a load balancer.
   */
  disable: z.array(z.string().min(1)).optional(),
});

export type HelmdrillProjectConfig = z.input<typeof projectSchema>;

/** `export default defineConfig({ … })` in helmdrill.config.ts: typed, validated when loaded. */
export function defineConfig(config: HelmdrillProjectConfig): HelmdrillProjectConfig {
  return config;
}

export const CONFIG_FILE_NAMES = [
  "helmdrill.config.ts",
  "helmdrill.config.mts",
  "helmdrill.config.mjs",
  "helmdrill.config.js",
];

/** helmdrill.config.* in `from` or the nearest parent directory that has one. */
export function findConfigFile(from = process.cwd()): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const found = CONFIG_FILE_NAMES.map((n) => path.join(dir, n)).find((f) => existsSync(f));
    if (found) return found;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Validates a config object; every problem names its key path. */
export function parseProject(raw: unknown, file: string): Project {
  const parsed = projectSchema.safeParse(raw);
  const where = path.relative(process.cwd(), file) || file;
  if (!parsed.success) {
    const problems = describeIssues(parsed.error, "(the config)");
    throw new HelmdrillError(
      `invalid ${where}:\n  ${problems.join("\n  ")}`,
      'see defineConfig\'s type, or the README section "Use it on your own charts"',
    );
  }
  const c = parsed.data;
  const root = path.dirname(file);
  const abs = (p: string) => path.resolve(root, p);
  return {
    file,
    root,
    scenarios: c.scenarios,
    chartsDir: abs(c.charts ?? "fixtures"),
    images: {
      preload: c.images?.preload ?? [],
      build: (c.images?.build ?? []).map((b) => ({
        tag: b.tag,
        context: abs(b.context),
        ...(b.dockerfile ? { dockerfile: path.resolve(abs(b.context), b.dockerfile) } : {}),
      })),
    },
    pins: c.pins,
    targets: { helm: c.targets?.helm, helmfile: c.targets?.helmfile },
    baseline: c.baseline,
    reportsDir: abs(c.reports ?? "reports"),
    cluster: c.cluster,
    kubernetes: c.kubernetes,
    ...(c.disable ? { disable: parseDisabled(c.disable) } : {}),
  };
}

/**
 * Finds (or takes) the config file, loads it — TypeScript through tsx's loader — validates it
 * and makes it this process's project: workers and child processes inherit it.
 */
export async function loadProject(options: { configPath?: string; cwd?: string } = {}): Promise<Project> {
  const cwd = options.cwd ?? process.cwd();
  const file = options.configPath ? path.resolve(cwd, options.configPath) : findConfigFile(cwd);
  if (!file) {
    throw new HelmdrillError(
      `no helmdrill.config.ts in ${cwd} or any directory above it`,
      "create one with `helmdrill init`, or name one with --config <file>",
    );
  }
  if (!existsSync(file) || !statSync(file).isFile()) throw new HelmdrillError(`config file ${file} does not exist`);
  const raw = await importUserModule(file, "config file");
  if (raw === undefined)
    throw new HelmdrillError(
      `${file} has no default export`,
      'write: export default defineConfig({ scenarios: ["scenarios/*.ts"] })',
    );
  return useProject(parseProject(raw, file));
}

let scopedImport: ((specifier: string, parent: string) => Promise<unknown>) | undefined;

/** Where CommonJS interop nests the default export, unwrap it once more. */
function defaultExport(mod: unknown): unknown {
  const value = (mod as { default?: unknown }).default;
  return value && typeof value === "object" && Object.keys(value).length === 1 && "default" in value
    ? (value as { default: unknown }).default
    : value;
}

/**
 * Imports a project's own module (the config, a scenario file): TypeScript or JavaScript, ES
 * module or CommonJS. Where the host already loads TypeScript (vitest's workers, a source
 * checkout run through tsx) a plain import shares its module instances; otherwise one tsx
 * loader scoped to helmdrill's user modules loads them all, once each.
 */
export async function importUserModule(file: string, what: string): Promise<unknown> {
  const url = pathToFileURL(file).href;
  try {
    try {
      return defaultExport(await import(url));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "ERR_UNKNOWN_FILE_EXTENSION" && code !== "ERR_REQUIRE_CYCLE_MODULE") throw error;
    }
    if (!scopedImport) {
      const { register } = await import("tsx/esm/api");
      scopedImport = register({ namespace: "helmdrill-project" }).import;
    }
    return defaultExport(await scopedImport(url, import.meta.url));
  } catch (error) {
    throw new HelmdrillError(
      `could not load ${what} ${file}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
    );
  }
}

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
  /** The cluster of this vitest run: the first of `clusters`. */
  cluster: ClusterKind;
  /** `--cluster k3s,kind`: `helmdrill run` runs the selection once per cluster (and Kubernetes minor). */
  clusters: ClusterKind[];
  /** `--kubernetes 1.33,1.34`: pinned minors of the nodes helmdrill starts; a vitest run uses the first. */
  kubernetes: string[];
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
}

/** The CLI's flags; a list is either split already or comma-separated text. */
export interface ConfigOverrides {
  helm?: string | readonly string[];
  helmfile?: string | readonly string[];
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

/**
 * `--disable a,b` / `disable: [...]`: k3s's --disable names, plus `registry-mirror`; `traefik`
 * is accepted and means nothing (no ingress controller is shipped, as the testcontainers k3s
 * module disables it too). Anything else is one clear error naming the known names.
 */
export function parseDisabled(input: string | readonly string[] | undefined): ComponentName[] {
  const items = (typeof input === "string" ? input.split(",") : (input ?? [])).map((s) => s.trim()).filter(Boolean);
  const out = new Set<ComponentName>();
  for (const item of items) {
    if (item === "traefik") continue;
    if (item === "all") COMPONENTS.forEach((c) => out.add(c));
    else if ((COMPONENTS as readonly string[]).includes(item)) out.add(item as ComponentName);
    else
      throw new HelmdrillError(
        `unknown component "${item}" to disable`,
        `components: ${COMPONENTS.join(", ")} (or all)`,
      );
  }
  return COMPONENTS.filter((c) => out.has(c));
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
    cluster: clusters[0]!,
    clusters,
    kubernetes: parseKubernetesList(overrides.kubernetes ?? env.HELMDRILL_KUBERNETES ?? project?.kubernetes),
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
    HELMDRILL_CLUSTER: config.clusters.join(","),
    HELMDRILL_KUBERNETES: config.kubernetes.join(","),
    HELMDRILL_DISABLE: config.disabled.join(","),
    HELMDRILL_KEEP: config.keep ? "1" : "0",
    HELMDRILL_SCENARIOS: config.scenarios.join(","),
    HELMDRILL_DRIVERS: config.drivers.join(","),
    HELMDRILL_RUN_ID: config.runId,
    HELMDRILL_PROGRESS: config.progress ? "1" : "0",
    HELMDRILL_STRICT: config.strict ? "1" : "0",
  };
  if (config.project) env[PROJECT_ENV] = JSON.stringify(config.project);
  if (config.existing.kubeconfig) env.HELMDRILL_KUBECONFIG = config.existing.kubeconfig;
  if (config.existing.context) env.HELMDRILL_CONTEXT = config.existing.context;
  if (config.existing.optIn) env.HELMDRILL_ALLOW_EXISTING_CLUSTER = "1";
  if (config.k3sImage) env.HELMDRILL_K3S_IMAGE = config.k3sImage;
  return env;
}
