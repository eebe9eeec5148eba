import { realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Whether the module at `moduleUrl` (its `import.meta.url`) is the program Node was asked to run
 * (`argv1`, i.e. `tsx harness/cli/main.ts` or `node dist/…/main.js`). Compared as real paths: a
 * URL escapes what a path does not (a space is %20) and Node runs a symlinked script from its
 * target, so comparing `import.meta.url` with `file://${argv[1]}` says "no" exactly where a
 * checkout lives under a path with a space or is reached through a symlink — and the program
 * then does nothing and exits 0.
 */
export function isEntryPoint(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  if (!argv1 || !moduleUrl.startsWith("file:")) return false;
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const module = real(fileURLToPath(moduleUrl));
  const script = real(path.resolve(argv1));
  // `node dir/main` (no extension) names the same module as dir/main.js.
  return module === script || module.replace(/\.[cm]?[jt]s$/, "") === script;
}
