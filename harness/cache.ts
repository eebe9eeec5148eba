import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import lockfile from "proper-lockfile";

/**
 * The cache (<cache>/tools, dl, build, bin …) is shared by every helmdrill process on the machine:
 * two `helmdrill run`s at once, or one beside `npm test`. Whatever writes into it does so under
 * the cache lock, and writes each entry beside its final name under a name of its own (this
 * process, a random part) before renaming it into place whole.
 */

/** A temporary name beside `dest` that no other process (or call) uses: `<dest>.<pid>.<random>.tmp`. */
export function tempPathFor(dest: string): string {
  return `${dest}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
}

// The cache directories the current async call chain holds the lock of: a nested call (provision →
// installTools → goBuildInModule) runs inside its caller's lock instead of waiting for itself.
const held = new AsyncLocalStorage<ReadonlySet<string>>();

/** Where the lock lives: a directory proper-lockfile creates atomically (mkdir) and keeps fresh. */
export function cacheLockPath(cacheDir: string): string {
  return path.join(path.resolve(cacheDir), "provision.lock");
}

export interface CacheLockOptions {
  /** Said once when another process holds the lock and this one waits for it. */
  progress?: (message: string) => void;
  /**
   * How long a holder that stopped refreshing the lock (it crashed, was SIGKILLed) blocks others.
   * The holder refreshes it every `stale / 4` ms while it runs, however long a build takes.
   */
  staleMs?: number;
}

/**
 * Runs `fn` holding the cache's inter-process lock (proper-lockfile: an atomic mkdir whose mtime
 * the holder keeps fresh, taken over once stale). Waits as long as another process provisions
 * (a cold node image build takes tens of minutes); re-entrant within one async call chain.
 */
export async function withCacheLock<T>(
  cacheDir: string,
  fn: () => Promise<T>,
  options: CacheLockOptions = {},
): Promise<T> {
  const key = path.resolve(cacheDir);
  const outer = held.getStore();
  if (outer?.has(key)) return fn();
  mkdirSync(key, { recursive: true });
  const staleMs = options.staleMs ?? 120_000;
  const lockOptions = {
    lockfilePath: cacheLockPath(key),
    realpath: false,
    stale: staleMs,
    update: Math.max(1000, Math.floor(staleMs / 4)),
    // The default throws from a timer (a crash) when a refresh came late, e.g. on a loaded machine.
    // Entries are still renamed into place whole, so a lost lock costs at most a duplicate build.
    onCompromised: (error: Error) => {
      options.progress?.(`the cache lock ${cacheLockPath(key)} was lost (${error.message}); continuing`);
    },
  };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(key, { ...lockOptions, retries: 0 });
  } catch (error) {
    if ((error as { code?: string }).code !== "ELOCKED") throw error;
    options.progress?.(
      `waiting for another helmdrill process that is provisioning into ${key} (lock: ${cacheLockPath(key)})`,
    );
    release = await lockfile.lock(key, {
      ...lockOptions,
      retries: { forever: true, minTimeout: 200, maxTimeout: 2000, factor: 1.5 },
    });
  }
  try {
    return await held.run(new Set([...(outer ?? []), key]), fn);
  } finally {
    await release().catch(() => undefined);
  }
}
