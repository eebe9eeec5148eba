import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { tempPathFor, withCacheLock } from "../cache.ts";
import { HelmdrillError } from "../errors.ts";
import { run, succeeded, tail } from "../exec.ts";
import { formatDuration, info, phase } from "../log.ts";
import { isPinned, onDemandPin, pinnedVersions, type GoToolPin, type ToolName } from "../pins.ts";
import { goBuildInModule } from "./build.ts";
import { toolPath } from "./index.ts";
import { lockBuild, readLock, updateLock, type BuiltTool, type LockChange } from "./lock.ts";

/**
 * Helm and helmfile versions that pins.json does not pin: any version the Go module proxy serves,
 * built on first use with the pinned Go-module builds' recipe (pins.ts `onDemandPin`), cached by
 * version exactly where a pinned build goes (<cache>/tools/<tool>/<version>/<tool>), and checked
 * against the project's helmdrill.lock (tools/lock.ts) on every run. A version that cannot be had
 * — not served, the proxy not answering, the build failing — is one error, exit 2, with the reason.
 */

/** What the build of an unpinned version knew, kept beside its binary (build.json). */
interface BuildRecord {
  module: string;
  moduleVersion: string;
  sum?: string;
  toolchain: string;
  sha256: string;
  builtAt: string;
  durationMs: number;
}

const RECORD = "build.json";

export interface OnDemandSelection {
  cacheDir: string;
  /** Where helmdrill.lock lives: the project's root (else the working directory). */
  root: string;
  helm: readonly string[];
  helmfile: readonly string[];
}

export interface OnDemandResult {
  tool: ToolName;
  version: string;
  how: "built" | "cached";
  /** How long the build took (built only). */
  durationMs?: number;
  change: LockChange;
  toolchain: string;
  sha256: string;
}

/**
 * Builds (with `build`) the selection's unpinned versions that are not cached yet, and checks
 * every unpinned one against helmdrill.lock, recording what the lock does not have. Without
 * `build` (`--no-provision`) a missing one is an error saying how to get it.
 */
export async function ensureOnDemandTools(
  selection: OnDemandSelection,
  options: { build: boolean; progress?: (line: string) => void },
): Promise<OnDemandResult[]> {
  const wanted = (["helm", "helmfile"] as const).flatMap((tool) =>
    selection[tool].filter((v) => !isPinned(tool, v)).map((version) => ({ tool, version })),
  );
  if (wanted.length === 0) return [];
  const say = options.progress ?? info;
  // A malformed lock is bad input before anything is built.
  const { file } = readLock(selection.root);
  const results: OnDemandResult[] = [];
  for (const { tool, version } of wanted) {
    const pin = onDemandPin(tool, version);
    const dest = toolPath(selection.cacheDir, tool, version);
    let durationMs: number | undefined;
    if (!existsSync(dest)) {
      if (!options.build)
        throw new HelmdrillError(
          `${tool} ${version} is not built here`,
          `it is not pinned: helmdrill builds it from ${pin.module}@${pin.version} on first use — run once without --no-provision`,
        );
      const t0 = performance.now();
      await phase(`${tool} ${version} (on demand)`, (p) => {
        p(`not pinned: built from ${pin.module}@${pin.version} on first use, then cached by version`);
        return buildOnDemand(selection.cacheDir, tool, version, pin, p);
      });
      durationMs = Math.round(performance.now() - t0);
    }
    const built = await describeBuild(tool, version, pin, dest);
    // Checked against the lock as it is now, and written at once: another run may have recorded a
    // build meanwhile, and a later version that cannot be had must not lose this one's entry.
    const recorded = await updateLock(selection.root, (lock) => lockBuild(lock, built, file));
    const how = durationMs === undefined ? "cached" : "built";
    const where = path.basename(file);
    const lockSays: Record<LockChange, string> = {
      unchanged: `matches ${where}`,
      "new entry": `recorded in ${file}`,
      "new toolchain": `sha256 for ${built.toolchain} added to ${file}`,
      "sum added": `matches ${where} (its go.sum hash added)`,
    };
    say(
      how === "built"
        ? `${tool} ${version}: built in ${formatDuration(durationMs!)} with ${built.toolchain}, sha256 ${built.sha256.slice(0, 12)}…; ${lockSays[recorded.change]}`
        : `${tool} ${version} (not pinned): cached build, ${lockSays[recorded.change]}`,
    );
    results.push({
      tool,
      version,
      how,
      ...(durationMs === undefined ? {} : { durationMs }),
      change: recorded.change,
      toolchain: built.toolchain,
      sha256: built.sha256,
    });
  }
  return results;
}

/** `go list -m -versions <module>` through the configured proxy: what it serves, or why it did not say. */
export interface ServedVersions {
  module: string;
  /** The versions it lists (v-prefixed), oldest first. */
  versions?: string[];
  /** Why there is no list: the proxy did not answer, or knows no such module (`notFound`). */
  error?: string;
  notFound?: boolean;
}

export async function servedVersions(module: string, timeoutMs = 30_000): Promise<ServedVersions> {
  // Outside any module (a go.mod above the working directory would be consulted otherwise).
  const r = await run(["go", "list", "-m", "-versions", module], {
    cwd: os.tmpdir(),
    env: { GOWORK: "off" },
    timeoutMs,
  });
  if (succeeded(r)) {
    const [, ...versions] = r.stdout.trim().split(/\s+/);
    return { module, versions };
  }
  const error =
    r.spawnError ??
    (r.timedOut ? `no answer within ${Math.round(timeoutMs / 1000)} s` : tail(r.stderr || r.stdout, 3).trim());
  return { module, error, notFound: /\b(404|410)\b|not found|no matching versions/i.test(error) };
}

async function goproxy(): Promise<string> {
  const r = await run(["go", "env", "GOPROXY"], { timeoutMs: 30_000 });
  return succeeded(r) ? r.stdout.trim() : (process.env.GOPROXY ?? "?");
}

/** Why a version cannot be downloaded: not served (with what is), no such module, or no answer. */
export async function unavailableError(
  tool: ToolName,
  version: string,
  pin: Pick<GoToolPin, "module" | "version">,
  downloadError: string,
  served?: ServedVersions,
): Promise<HelmdrillError> {
  const listed = served ?? (await servedVersions(pin.module));
  const proxy = await goproxy();
  const cannot = `${tool} ${version} cannot be had`;
  const pinned = `pinned ${tool} versions: ${pinnedVersions(tool).join(", ")}`;
  if (listed.versions && !listed.versions.includes(pin.version))
    return new HelmdrillError(
      `${cannot}: ${pin.module} ${pin.version} is not served by the Go module proxy (GOPROXY=${proxy})`,
      `go list -m -versions ${pin.module}: ${listed.versions.join(" ") || "(none)"}\n  ${pinned}`,
    );
  if (listed.versions)
    return new HelmdrillError(`${cannot}: downloading ${pin.module}@${pin.version} failed`, downloadError);
  // No list, but the proxy did answer the download: it refused it (403 "not available", 404, 410).
  if (
    listed.notFound ||
    /\b(403|404|410)\b|not available|not found|unknown revision|invalid version/i.test(downloadError)
  )
    return new HelmdrillError(
      `${cannot}: ${pin.module} ${pin.version} is not served by the Go module proxy (GOPROXY=${proxy})`,
      `go mod download ${pin.module}@${pin.version}: ${downloadError}\n  go list -m -versions ${pin.module}: ${listed.error}\n  ${pinned}`,
    );
  return new HelmdrillError(
    `${cannot}: the Go module proxy did not answer (GOPROXY=${proxy})`,
    `go mod download ${pin.module}@${pin.version}: ${downloadError}\n  go list -m -versions ${pin.module}: ${listed.error}`,
  );
}

const goMissing = (pin: GoToolPin) =>
  new HelmdrillError(
    "the Go toolchain is not on PATH",
    `building ${pin.module}@${pin.version} needs go (https://go.dev/dl or your package manager)`,
  );

async function download(tool: ToolName, version: string, pin: GoToolPin): Promise<{ sum?: string }> {
  const r = await run(["go", "mod", "download", "-json", `${pin.module}@${pin.version}`], {
    cwd: os.tmpdir(),
    env: { GOWORK: "off" },
    timeoutMs: 1_200_000,
  });
  if (r.spawnError) throw goMissing(pin);
  let parsed: { Dir?: string; Sum?: string; Error?: string } = {};
  try {
    parsed = JSON.parse(r.stdout) as typeof parsed;
  } catch {
    // No JSON: the error is on stderr.
  }
  if (succeeded(r) && parsed.Dir) return parsed.Sum ? { sum: parsed.Sum } : {};
  const error = parsed.Error ?? (r.timedOut ? "timed out after 20 min" : tail(r.stderr || r.stdout, 5).trim());
  throw await unavailableError(tool, version, pin, error);
}

/** The last lines of a failed build's error: the compiler's own messages. */
function lastLines(error: unknown, lines = 15): string {
  const text =
    error instanceof HelmdrillError
      ? [error.message, error.hint].filter(Boolean).join("\n")
      : error instanceof Error
        ? error.message
        : String(error);
  return tail(text, lines);
}

async function buildOnDemand(
  cacheDir: string,
  tool: ToolName,
  version: string,
  pin: GoToolPin,
  progress: (m: string) => void,
): Promise<void> {
  const dest = toolPath(cacheDir, tool, version);
  const t0 = performance.now();
  // Outside the cache lock (Go's module cache has its own): a version that cannot be had is said
  // at once, not after another process's provisioning let go of the lock.
  progress(`go mod download ${pin.module}@${pin.version}`);
  const { sum } = await download(tool, version, pin);
  await withCacheLock(
    cacheDir,
    async () => {
      // Looked at again under the lock: another process may have built it meanwhile.
      if (existsSync(dest)) return progress("built meanwhile by another helmdrill process");
      const ldflags = (pin.ldflags ?? "-s -w").replaceAll("{version}", pin.version);
      try {
        // Its own `go mod download` line would repeat the one above.
        const said = (m: string) => (m.startsWith("go mod download") ? undefined : progress(m));
        await goBuildInModule(cacheDir, pin, dest, ldflags, said);
      } catch (error) {
        throw new HelmdrillError(
          `${tool} ${version} cannot be had: building ${pin.module}@${pin.version} failed`,
          lastLines(error),
        );
      }
      const record: BuildRecord = {
        module: pin.module,
        moduleVersion: pin.version,
        ...(sum ? { sum } : {}),
        toolchain: (await binaryToolchain(dest)) ?? hostToolchain(),
        sha256: sha256File(dest),
        builtAt: new Date().toISOString(),
        durationMs: Math.round(performance.now() - t0),
      };
      const file = path.join(path.dirname(dest), RECORD);
      const tmp = tempPathFor(file);
      try {
        writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
        renameSync(tmp, file);
      } finally {
        rmSync(tmp, { force: true });
      }
    },
    { progress },
  );
}

/** The facts the lock pins, of the cached binary as it is now (its sha256 is computed afresh). */
async function describeBuild(tool: ToolName, version: string, pin: GoToolPin, binary: string): Promise<BuiltTool> {
  const record = readRecord(binary);
  const known = record && record.module === pin.module && record.moduleVersion === pin.version ? record : undefined;
  return {
    tool,
    version,
    module: pin.module,
    moduleVersion: pin.version,
    ...(known?.sum ? { sum: known.sum } : {}),
    toolchain: known?.toolchain ?? (await binaryToolchain(binary)) ?? hostToolchain(),
    sha256: sha256File(binary),
    path: binary,
  };
}

function readRecord(binary: string): BuildRecord | undefined {
  try {
    return JSON.parse(readFileSync(path.join(path.dirname(binary), RECORD), "utf8")) as BuildRecord;
  } catch {
    return undefined;
  }
}

export function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** "go1.26.8 linux/amd64" from `go version -m <binary>` (a Go binary carries its build information). */
export function parseToolchain(goVersionM: string): string | undefined {
  const go = /^[^\n]*:\s+(go\S+)/.exec(goVersionM)?.[1];
  const goos = /^\s*build\s+GOOS=(\S+)/m.exec(goVersionM)?.[1];
  const goarch = /^\s*build\s+GOARCH=(\S+)/m.exec(goVersionM)?.[1];
  return go && goos && goarch ? `${go} ${goos}/${goarch}` : undefined;
}

async function binaryToolchain(binary: string): Promise<string | undefined> {
  const r = await run(["go", "version", "-m", binary], { timeoutMs: 60_000 });
  return succeeded(r) ? parseToolchain(r.stdout) : undefined;
}

/** When go cannot say: this host's platform, the toolchain unknown. */
function hostToolchain(): string {
  const goarch: Record<string, string> = { x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm" };
  return `go? ${process.platform}/${goarch[process.arch] ?? process.arch}`;
}
