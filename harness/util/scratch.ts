import { appendFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { HelmdrillError } from "../errors.ts";

/**
 * The run's scratch root, `/tmp/helmdrill-<runId>/`, and the private directories every room
 * makes in it (kubeconfigs, Helm homes, chart repositories, build contexts). A module at the
 * bottom: tools, sources, provisioning and the cluster providers all use it; the reaper
 * (util/reaper.ts) removes the root when the run ends.
 */
export function scratchRootFor(runId: string): string {
  return path.join(os.tmpdir(), `helmdrill-${runId}`);
}

let root: string | undefined;

/**
 * Creates `dir` as a private directory, or accepts the one there only if it is private and ours.
 * Created exclusively — mkdir without `recursive` fails when anything already has the name, as
 * mkdtemp's does — with mode 0700. One already there is used only when it is a directory (not a
 * symlink) owned by this user and closed to group and others: one this run made (a vitest
 * worker, the next leg), never one another user of a shared /tmp made first for the run's admin
 * kubeconfigs to be written into.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      mkdirSync(path.dirname(dir), { recursive: true });
      return ensurePrivateDir(dir);
    }
    if (code !== "EEXIST") throw error;
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  const refuse = (why: string) =>
    new HelmdrillError(
      `refusing the scratch directory ${dir}: ${why}`,
      "another user may have made it for this run's kubeconfigs: " +
        "remove it if it is yours, or pick another run id (HELMDRILL_RUN_ID)",
    );
  if (st.isSymbolicLink()) throw refuse("it is a symlink");
  if (!st.isDirectory()) throw refuse("it is not a directory");
  if (uid !== undefined && st.uid !== uid) throw refuse(`it belongs to uid ${st.uid}, not to this user (uid ${uid})`);
  const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
  if ((st.mode & 0o077) !== 0) throw refuse(`other users may use it (mode ${mode})`);
}

/** Makes `root` the parent of every scratch dir this process creates (main process and workers). */
export function useScratchRoot(dir: string): void {
  ensurePrivateDir(dir);
  root = dir;
}

/** A fresh private directory inside the run's scratch root (or the OS temp dir outside a run). */
export function scratchDir(label: string): string {
  if (root) ensurePrivateDir(root);
  return mkdtempSync(path.join(root ?? os.tmpdir(), `helmdrill-${label}-`));
}

/**
 * A kind cluster this process is about to create: the run's sweep (Ctrl-C, a crashed run)
 * deletes its node containers. Outside a run there is nothing to register with.
 */
export function registerKindCluster(name: string): void {
  if (root && existsSync(root)) appendFileSync(path.join(root, "kind-clusters"), `${name}\n`);
}
