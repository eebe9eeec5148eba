import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import lockfile from "proper-lockfile";
import { z } from "zod";
import { tempPathFor } from "../cache.ts";
import { HelmdrillError } from "../errors.ts";
import { withoutComments } from "../pins-schema.ts";
import { describeIssues } from "../util/schema-issues.ts";

/**
 * helmdrill.lock: the one module that reads and writes it. It sits in the project's root (beside
 * helmdrill.config.ts, else the working directory) and is meant to be committed: for every Helm
 * and helmfile version the project ran that pins.json does not pin — built from the Go module
 * proxy on first use (tools/on-demand.ts) — the module it came from, the module's go.sum `h1:`
 * hash, and the sha256 of the binary per Go toolchain and platform that built it (a Go build is
 * reproducible for one toolchain, not across toolchains: a teammate on another Go release adds a
 * line instead of failing). Every later run checks the cached binary against it; a difference is
 * one error, exit 2. JSON with sorted keys, so a change is a small diff.
 */

export const LOCK_FILE = "helmdrill.lock";

const LOCK_COMMENT =
  "Written by helmdrill: the Helm and helmfile versions this project ran that pins.json does not pin, built from the Go module proxy. Commit it: every run checks its cached builds against it. To re-lock a version, delete its entry.";

const lockedBuildSchema = z.strictObject({
  /** The Go module it is built from, and its version there (v-prefixed). */
  module: z.string().min(1),
  version: z.string().regex(/^v\d+\.\d+\.\d+/, "a module version such as v3.20.2"),
  /** The module's go.sum hash, as `go mod download -json` reports it. */
  sum: z
    .string()
    .regex(/^h1:[A-Za-z0-9+/=]+$/, "an h1: hash")
    .optional(),
  /** sha256 of the built binary, keyed by the toolchain that built it: "go1.26.8 linux/amd64". */
  sha256: z.record(z.string().min(1), z.string().regex(/^[0-9a-f]{64}$/, "a hex SHA-256")),
});

const lockSchema = z.strictObject({
  lockfileVersion: z.literal(1),
  helm: z.record(z.string(), lockedBuildSchema),
  helmfile: z.record(z.string(), lockedBuildSchema),
});

export type LockedBuild = z.infer<typeof lockedBuildSchema>;
export type Lock = z.infer<typeof lockSchema>;
export type LockedTool = "helm" | "helmfile";

export const emptyLock = (): Lock => ({ lockfileVersion: 1, helm: {}, helmfile: {} });

/** The lock's text validated: a hand-edited typo is one error naming its key path. */
export function parseLock(text: string, file: string): Lock {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new HelmdrillError(
      `${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      `fix it, or delete it: helmdrill writes it anew (and re-locks what it builds)`,
    );
  }
  const parsed = lockSchema.safeParse(withoutComments(raw));
  if (!parsed.success) {
    throw new HelmdrillError(
      `malformed ${file}:\n  ${describeIssues(parsed.error, "(the file)").join("\n  ")}`,
      "fix the entry, or delete it to re-lock that version on the next run",
    );
  }
  return parsed.data;
}

/** Every object's keys sorted, at every level: the same lock is always the same bytes. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
  );
}

export function renderLock(lock: Lock): string {
  return `${JSON.stringify(sortedKeys({ $comment: LOCK_COMMENT, ...lock }), null, 2)}\n`;
}

export const lockPath = (root: string): string => path.join(root, LOCK_FILE);

/** The project's lock (empty when there is none yet). */
export function readLock(root: string): { file: string; lock: Lock; present: boolean } {
  const file = lockPath(root);
  if (!existsSync(file)) return { file, lock: emptyLock(), present: false };
  return { file, lock: parseLock(readFileSync(file, "utf8"), file), present: true };
}

/** Written beside and renamed into place whole: a reader never sees half a lock. */
export function writeLock(root: string, lock: Lock): string {
  const file = lockPath(root);
  const tmp = tempPathFor(file);
  try {
    writeFileSync(tmp, renderLock(lock));
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return file;
}

/**
 * Read, change and write the lock as one step, holding an inter-process lock on the file
 * (proper-lockfile: an atomic mkdir beside it). Two runs that build different versions at once
 * each add their entry: without it the second writer wrote back the lock it had read before the
 * first one's build was recorded, and that entry was lost (seen with `run --helm 3.20.2` beside
 * `upgrade-check --helm 3.19.5`).
 */
export async function updateLock<T extends { lock: Lock }>(root: string, change: (lock: Lock) => T): Promise<T> {
  const file = lockPath(root);
  const release = await lockfile.lock(file, {
    realpath: false,
    stale: 30_000,
    retries: { retries: 100, minTimeout: 50, maxTimeout: 500 },
  });
  try {
    const before = readLock(root).lock;
    const result = change(before);
    if (renderLock(result.lock) !== renderLock(before)) writeLock(root, result.lock);
    return result;
  } finally {
    await release();
  }
}

/** What a build on this machine is: the facts the lock pins. */
export interface BuiltTool {
  tool: LockedTool;
  /** The version as helmdrill names it: "3.20.2". */
  version: string;
  module: string;
  /** The module version: "v3.20.2". */
  moduleVersion: string;
  /** The module's h1: hash, when known (from the build's `go mod download -json`). */
  sum?: string;
  /** "go1.26.8 linux/amd64": the toolchain and platform the binary was built with. */
  toolchain: string;
  sha256: string;
  /** The cached binary (for messages). */
  path: string;
}

export type LockChange = "unchanged" | "new entry" | "new toolchain" | "sum added";

/**
 * Checks one build against the lock and returns the lock with it recorded: a version or a
 * toolchain the lock does not have yet is added; a module, module version, h1 hash or sha256
 * that differs from the lock's is one error (exit 2) saying which, and how to re-lock.
 */
export function lockBuild(lock: Lock, built: BuiltTool, file: string): { lock: Lock; change: LockChange } {
  const entry = lock[built.tool][built.version];
  const next = (e: LockedBuild): Lock => ({ ...lock, [built.tool]: { ...lock[built.tool], [built.version]: e } });
  if (!entry) {
    const e: LockedBuild = {
      module: built.module,
      version: built.moduleVersion,
      ...(built.sum ? { sum: built.sum } : {}),
      sha256: { [built.toolchain]: built.sha256 },
    };
    return { lock: next(e), change: "new entry" };
  }
  const differs = (what: string, locked: string, here: string) =>
    new HelmdrillError(
      `${built.tool} ${built.version} does not match ${file}: its ${what} is ${here}, the lock says ${locked}`,
      `the cached build is ${built.path}. If the lock is right, delete ${path.dirname(built.path)} and run again to rebuild it; ` +
        `if this build is the one you want (another recipe, a deliberate rebuild), delete the "${built.version}" entry under "${built.tool}" in ${file} to re-lock it`,
    );
  if (entry.module !== built.module) throw differs("module", entry.module, built.module);
  if (entry.version !== built.moduleVersion) throw differs("module version", entry.version, built.moduleVersion);
  if (entry.sum && built.sum && entry.sum !== built.sum) throw differs("module's go.sum hash", entry.sum, built.sum);
  const locked = entry.sha256[built.toolchain];
  if (locked !== undefined && locked !== built.sha256)
    throw differs(`sha256 (built with ${built.toolchain})`, locked, built.sha256);
  if (locked === undefined)
    return {
      lock: next({
        ...entry,
        ...(entry.sum || !built.sum ? {} : { sum: built.sum }),
        sha256: { ...entry.sha256, [built.toolchain]: built.sha256 },
      }),
      change: "new toolchain",
    };
  if (!entry.sum && built.sum) return { lock: next({ ...entry, sum: built.sum }), change: "sum added" };
  return { lock, change: "unchanged" };
}
