import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import semver from "semver";
import YAML from "yaml";
import { scratchDir } from "../util/scratch.ts";
import { run, succeeded, tail } from "../exec.ts";
import { pins } from "../pins.ts";
import { withCacheLock } from "../cache.ts";
import { goBuildInModule } from "./build.ts";

/**
 * The helm-diff plugin that `helmfile apply` and `helmfile diff` need: built from the Go
 * module proxy at the pinned version, laid out as a Helm plugin directory in the cache
 * (<cache>/tools/helm-diff/<version>/plugin: plugin.yaml + bin/diff), and linked into the
 * private Helm home of every run whose Helm version loads it.
 */
export interface HelmDiffPlugin {
  version: string;
  /** The plugin directory, when provisioned. */
  pluginDir?: string;
  /** Why it cannot be used at all (build failed, not provisioned). */
  unavailable?: string;
}

export function helmDiffVersion(): string {
  return pins().defaults.helmDiff;
}

function paths(cacheDir: string, version = helmDiffVersion()) {
  const root = path.join(cacheDir, "tools", "helm-diff", version);
  return { root, plugin: path.join(root, "plugin"), failed: path.join(root, "FAILED") };
}

/** helm-diff's own manifest minus its install hooks (which download a release binary). */
export function pluginYaml(version: string): string {
  const manifest = {
    name: "diff",
    version,
    usage: "Preview helm upgrade changes as a diff",
    description: "Preview helm upgrade changes as a diff (built by helmdrill provision)",
    useTunnel: true,
    command: "$HELM_PLUGIN_DIR/bin/diff",
  };
  // Quoted strings: a version such as 3.10 stays a string for Helm's YAML reader.
  return YAML.stringify(manifest, { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN" });
}

export type HelmDiffInstall =
  { outcome: "cached" | "installed"; detail: string } | { outcome: "failed"; detail: string };

/**
 * Idempotent. A failed build does not stop provisioning: it is recorded (FAILED beside the
 * plugin) and reported with the plugin version and the build's message; runs then report
 * the targets that need the plugin as not run, with that reason.
 */
export async function installHelmDiff(cacheDir: string, progress: (m: string) => void): Promise<HelmDiffInstall> {
  const version = helmDiffVersion();
  const p = paths(cacheDir, version);
  if (existsSync(path.join(p.plugin, "bin", "diff"))) return { outcome: "cached", detail: `helm-diff ${version}` };
  return withCacheLock(cacheDir, () => installLocked(cacheDir, version, progress), { progress });
}

async function installLocked(
  cacheDir: string,
  version: string,
  progress: (m: string) => void,
): Promise<HelmDiffInstall> {
  const pin = pins().helmDiff[version];
  const p = paths(cacheDir, version);
  // Looked at again under the lock: another process may have built it meanwhile.
  if (existsSync(path.join(p.plugin, "bin", "diff"))) return { outcome: "cached", detail: `helm-diff ${version}` };
  if (!pin) return fail(p.failed, `helm-diff ${version} is not pinned in pins.json (helmDiff)`);
  const work = scratchDir("helm-diff");
  try {
    const stage = path.join(work, "plugin");
    mkdirSync(path.join(stage, "bin"), { recursive: true });
    await goBuildInModule(cacheDir, pin, path.join(stage, "bin", "diff"), pin.ldflags ?? "-s -w", progress);
    writeFileSync(path.join(stage, "plugin.yaml"), pluginYaml(version));
    mkdirSync(p.root, { recursive: true });
    rmSync(p.plugin, { recursive: true, force: true });
    renameSync(stage, p.plugin);
    rmSync(p.failed, { force: true });
    return { outcome: "installed", detail: `helm-diff ${version} (${pin.module}@${pin.version})` };
  } catch (error) {
    const message =
      error instanceof Error
        ? `${error.message}${"hint" in error && error.hint ? `\n${String(error.hint)}` : ""}`
        : String(error);
    return fail(p.failed, `building helm-diff ${version} (${pin.module}@${pin.version}) failed: ${tail(message, 12)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function fail(marker: string, detail: string): HelmDiffInstall {
  mkdirSync(path.dirname(marker), { recursive: true });
  writeFileSync(marker, `${detail}\n`);
  return { outcome: "failed", detail };
}

export function resolveHelmDiff(cacheDir: string): HelmDiffPlugin {
  const version = helmDiffVersion();
  const p = paths(cacheDir, version);
  if (existsSync(path.join(p.plugin, "bin", "diff"))) return { version, pluginDir: p.plugin };
  if (existsSync(p.failed)) return { version, unavailable: readFileSync(p.failed, "utf8").trim() };
  return { version, unavailable: `helm-diff ${version} is not provisioned (run \`npm run provision\`)` };
}

/** Links the plugin into a private Helm home ($HELM_DATA_HOME/plugins/diff). */
export function linkHelmDiff(helmHome: string, plugin: HelmDiffPlugin): void {
  if (!plugin.pluginDir) return;
  const dir = path.join(helmHome, "data", "plugins");
  mkdirSync(dir, { recursive: true });
  if (!existsSync(path.join(dir, "diff"))) symlinkSync(plugin.pluginDir, path.join(dir, "diff"));
}

/**
 * Why this Helm version cannot use the plugin, or undefined when it can: outside the pinned
 * supportsHelm range, or Helm refuses to load it (Helm's own message, as printed).
 */
export async function helmDiffUnusable(
  helmBinary: string,
  helmVersion: string,
  plugin: HelmDiffPlugin,
): Promise<string | undefined> {
  if (plugin.unavailable) return plugin.unavailable;
  const range = pins().helmDiff[plugin.version]?.supportsHelm;
  if (range && !semver.satisfies(helmVersion, range))
    return `helm-diff ${plugin.version} supports helm ${range}, not ${helmVersion}`;
  const home = scratchDir(`helm-diff-check-${helmVersion}`);
  try {
    linkHelmDiff(home, plugin);
    const r = await run([helmBinary, "diff", "version"], {
      env: {
        HELM_DATA_HOME: path.join(home, "data"),
        HELM_CONFIG_HOME: path.join(home, "config"),
        HELM_CACHE_HOME: path.join(home, "cache"),
      },
      timeoutMs: 60_000,
    });
    if (!succeeded(r))
      return `helm ${helmVersion} does not load helm-diff ${plugin.version}: ${tail(r.stderr || r.stdout, 3).trim()}`;
    return undefined;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** The plugin as one run sees it: where it is, and which Helm versions cannot use it and why. */
export interface HelmDiffForRun extends HelmDiffPlugin {
  unusable: Record<string, string>;
}

/** Checks every Helm version of the run once (in parallel): the plugin loads, or the reason. */
export async function helmDiffForRun(cacheDir: string, helm: Record<string, string>): Promise<HelmDiffForRun> {
  const plugin = resolveHelmDiff(cacheDir);
  const reasons = await Promise.all(
    Object.entries(helm).map(
      async ([version, binary]) => [version, await helmDiffUnusable(binary, version, plugin)] as const,
    ),
  );
  return { ...plugin, unusable: Object.fromEntries(reasons.filter((r): r is [string, string] => r[1] !== undefined)) };
}
