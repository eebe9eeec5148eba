import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { HelmdrillError } from "./errors.ts";
import { COMPONENTS, type ComponentName } from "./pins.ts";
import { projectPinsSchema } from "./pins-schema.ts";
import { useProject, type Project } from "./project-env.ts";
import { describeIssues } from "./util/schema-issues.ts";

/**
 * Project loading: the helmdrill.config.ts schema, finding and importing the file (and the
 * project's other modules), and validating it into a `Project`. The run's configuration, which
 * layers environment and flags over the project, is config.ts (it re-exports all of this).
 */

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
  /** Versions a run uses unless --helm/--helmfile/--flux say otherwise (`flux`: pinned flux targets, e.g. ["1.6"]). */
  targets: z
    .strictObject({ helm: versionList.optional(), helmfile: versionList.optional(), flux: versionList.optional() })
    .optional(),
  /** The label of the matrix's documented column, e.g. "production today: helm 3.17.3". */
  baseline: z.string().min(1).optional(),
  /** Where reports go (default: reports/). */
  reports: z.string().min(1).optional(),
  cluster: z.enum(["k3s", "kind", "existing"]).optional(),
  /** Kubernetes minors of the nodes helmdrill starts (default: the pinned default), e.g. ["1.34", "1.37"]. */
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
    targets: { helm: c.targets?.helm, helmfile: c.targets?.helmfile, flux: c.targets?.flux },
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
