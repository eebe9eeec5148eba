import { existsSync } from "node:fs";
import path from "node:path";
import { HelmdrillError } from "../errors.ts";
import { run, tail } from "../exec.ts";
import type { GoToolPin } from "../pins-schema.ts";
import { goBuildInModule } from "./build.ts";

/**
 * actionlint, the GitHub Actions workflow linter: built from its Go module on first use into the
 * cache (bin/actionlint-<version>), like the other Go programs. helmdrill's own tests lint the
 * example workflows (examples/ci/) with it; no scenario run needs it, so provisioning skips it.
 */
export const ACTIONLINT_PIN: GoToolPin = {
  source: "go-module",
  module: "github.com/rhysd/actionlint",
  version: "v1.7.12",
  package: "./cmd/actionlint",
  // Built inside its module, the binary would call itself "(devel)": name the version.
  ldflags: "-s -w -X github.com/rhysd/actionlint.version={version}",
};

export function actionlintPath(cacheDir: string): string {
  return path.join(cacheDir, "bin", `actionlint-${ACTIONLINT_PIN.version}`);
}

/** The cached actionlint binary, built first when it is not there yet (minutes, once). */
export async function actionlintBinary(cacheDir: string, progress: (m: string) => void = () => {}): Promise<string> {
  const dest = actionlintPath(cacheDir);
  if (existsSync(dest)) return dest;
  const ldflags = ACTIONLINT_PIN.ldflags!.replaceAll("{version}", ACTIONLINT_PIN.version);
  await goBuildInModule(cacheDir, ACTIONLINT_PIN, dest, ldflags, progress);
  return dest;
}

/** One of actionlint's findings (its `-format '{{json .}}'` output). */
export interface ActionlintFinding {
  message: string;
  filepath: string;
  line: number;
  column: number;
  /** The rule: syntax-check, expression, shellcheck, action, … */
  kind: string;
}

export interface ActionlintOptions {
  /** shellcheck to check `run:` scripts with; undefined: `run:` scripts are not checked. */
  shellcheck?: string;
  cwd?: string;
}

/**
 * Lints workflow files; returns every finding (none: the files are clean). actionlint exits 1
 * when it found something, 2 and 3 when it could not lint at all — that throws.
 */
export async function actionlint(
  binary: string,
  files: string[],
  options: ActionlintOptions = {},
): Promise<ActionlintFinding[]> {
  const args = [
    binary,
    "-format",
    "{{json .}}",
    `-shellcheck=${options.shellcheck ?? ""}`,
    // Python `run:` scripts are none of ours: pyflakes stays off whether or not it is installed.
    "-pyflakes=",
    ...files,
  ];
  const r = await run(args, { cwd: options.cwd, timeoutMs: 120_000 });
  if (r.exitCode !== 0 && r.exitCode !== 1) {
    throw new HelmdrillError(
      `actionlint could not lint ${files.join(", ")} (exit ${r.exitCode})`,
      tail(r.spawnError ?? r.stderr, 20),
    );
  }
  const out = r.stdout.trim();
  return out ? (JSON.parse(out) as ActionlintFinding[]) : [];
}
