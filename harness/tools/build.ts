import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { tempPathFor, withCacheLock } from "../cache.ts";
import { HelmdrillError } from "../errors.ts";
import { run, runChecked } from "../exec.ts";
import type { GoToolPin } from "../pins.ts";

/**
 * Builds a Go program inside its downloaded module, so the module's own `replace`
 * directives apply (which `go install pkg@version` refuses). Under the cache lock; the module
 * copy and the binary are written under names of their own and renamed into place whole.
 */
export async function goBuildInModule(
  cacheDir: string,
  pin: GoToolPin,
  dest: string,
  ldflags: string,
  progress: (m: string) => void,
): Promise<string> {
  return withCacheLock(cacheDir, () => buildLocked(cacheDir, pin, dest, ldflags, progress), { progress });
}

async function buildLocked(
  cacheDir: string,
  pin: GoToolPin,
  dest: string,
  ldflags: string,
  progress: (m: string) => void,
) {
  const goVersion = await run(["go", "env", "GOVERSION"]);
  if (goVersion.exitCode !== 0) {
    throw new HelmdrillError(
      "the Go toolchain is not on PATH",
      `building ${pin.module}@${pin.version} needs go (https://go.dev/dl or your package manager)`,
    );
  }
  progress(`go mod download ${pin.module}@${pin.version}`);
  const dl = await runChecked(["go", "mod", "download", "-json", `${pin.module}@${pin.version}`], {
    timeoutMs: 1_200_000,
  });
  const { Dir } = JSON.parse(dl.stdout) as { Dir: string };
  // The whole module path names the copy: modules ending in /v3 (helm, helm-diff, distribution) never share one.
  const src = path.join(cacheDir, "build", `${pin.module.replaceAll("/", "_")}-${pin.version}`);
  if (!existsSync(path.join(src, "go.mod"))) {
    // Copied beside and renamed into place whole, so a half-copied module is never built.
    const tmp = tempPathFor(src);
    try {
      cpSync(Dir, tmp, { recursive: true });
      await runChecked(["chmod", "-R", "u+w", tmp]);
      for (const module of pin.dropReplace ?? []) {
        await runChecked(["go", "mod", "edit", `-dropreplace=${module}`], { cwd: tmp });
      }
      for (const [module, by] of Object.entries(pin.replace ?? {})) {
        await runChecked(["go", "mod", "edit", `-replace=${module}=${by}`], { cwd: tmp });
      }
      rmSync(src, { recursive: true, force: true });
      renameSync(tmp, src);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  progress(`go build ${pin.module}/${pin.package} (${goVersion.stdout.trim()}); a cold build takes minutes`);
  mkdirSync(path.dirname(dest), { recursive: true });
  const out = tempPathFor(dest);
  try {
    await runChecked(["go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, pin.package], {
      cwd: src,
      env: { CGO_ENABLED: "0", GOFLAGS: "-mod=mod" },
      timeoutMs: 3_600_000,
    });
    renameSync(out, dest);
  } finally {
    rmSync(out, { force: true });
  }
  return src;
}
