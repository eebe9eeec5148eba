/**
 * `npm test`'s first step (package.json `pretest`, before the provisioning of a run): the host
 * programs only helmdrill's own tests need, installed the way provisioning installs docker.io,
 * busybox-static and debootstrap — Debian packages, as root, `apt-get update` only when an
 * install fails. Where they are missing and cannot be installed (not root, no apt-get), one
 * message says what to install, and no test runs.
 *
 * Not part of `npm run provision` or `helmdrill run`: a team's project needs neither.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { describeError, HelmdrillError } from "../errors.ts";
import { phase } from "../log.ts";
import { ensureDebianPackages } from "./docker.ts";
import { isEntryPoint } from "../entry-point.ts";

export interface TestPrerequisite {
  /** The Debian package that provides it. */
  pkg: string;
  /** Is it there? (a path the test opens, or a command on PATH) */
  present(): boolean;
  /** The file `apt-get install <pkg>` puts in place: checked again after the install. */
  marker: string;
  /** Which test needs it, for the message. */
  neededBy: string;
}

/** A command on PATH (as the tests spawn it). */
export function onPath(command: string, pathEnv = process.env.PATH ?? ""): boolean {
  return pathEnv.split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, command)));
}

export const TEST_PREREQUISITES: readonly TestPrerequisite[] = [
  // The test opens this path (playwright-core with Debian's Chromium; no browser download).
  {
    pkg: "chromium",
    present: () => existsSync("/usr/bin/chromium"),
    marker: "/usr/bin/chromium",
    neededBy: "tests/unit/matrix-html.browser.test.ts",
  },
  { pkg: "tmux", present: () => onPath("tmux"), marker: "/usr/bin/tmux", neededBy: "tests/cluster/walk.tmux.test.ts" },
  {
    pkg: "shellcheck",
    present: () => onPath("shellcheck"),
    marker: "/usr/bin/shellcheck",
    neededBy: "tests/cli/ci-examples.test.ts (actionlint checks the workflows' run: scripts with it)",
  },
];

export interface Host {
  root: boolean;
  aptGet: boolean;
}

const thisHost = (): Host => ({
  root: process.getuid?.() === 0,
  aptGet: onPath("apt-get") && existsSync("/etc/debian_version"),
});

/** The error for a host that lacks some and cannot install them: what is missing, for which test, and how to get it. */
export function cannotInstall(missing: readonly TestPrerequisite[], host: Host): HelmdrillError {
  const why = !host.aptGet
    ? "this host has no apt-get (Debian's package manager)"
    : "installing Debian packages needs root";
  return new HelmdrillError(
    `npm test needs ${missing.map((p) => `${p.pkg} (${p.neededBy})`).join(" and ")}, and cannot install ${missing.length > 1 ? "them" : "it"}: ${why}`,
    host.aptGet
      ? `run as root, or install first: sudo apt-get install -y --no-install-recommends ${missing.map((p) => p.pkg).join(" ")}`
      : `install ${missing.map((p) => p.pkg).join(" and ")} with your package manager (the Chromium test opens /usr/bin/chromium)`,
  );
}

/** Installs what is missing (root on Debian), or throws the one clear error. Returns what it did. */
export async function ensureTestPrerequisites(
  progress: (m: string) => void,
  { host = thisHost(), wanted = TEST_PREREQUISITES }: { host?: Host; wanted?: readonly TestPrerequisite[] } = {},
): Promise<string> {
  const missing = wanted.filter((p) => !p.present());
  if (missing.length === 0) return `already installed: ${wanted.map((p) => p.pkg).join(", ")}`;
  if (!host.root || !host.aptGet) throw cannotInstall(missing, host);
  await ensureDebianPackages(Object.fromEntries(missing.map((p) => [p.pkg, p.marker])), progress);
  const still = missing.filter((p) => !p.present());
  if (still.length > 0)
    throw new HelmdrillError(
      `apt-get installed ${still.map((p) => p.pkg).join(", ")}, yet ${still.map((p) => p.marker).join(", ")} is not there`,
    );
  return `installed: ${missing.map((p) => p.pkg).join(", ")}`;
}

if (isEntryPoint(import.meta.url)) {
  phase("test prerequisites (chromium, tmux, shellcheck)", (p) => ensureTestPrerequisites(p)).then(
    (detail) => {
      process.stderr.write(`  ${detail}\n`);
      process.exit(0);
    },
    (error) => {
      process.stderr.write(`\nhelmdrill: ${describeError(error)}\n`);
      process.exit(error instanceof HelmdrillError ? error.exitCode : 1);
    },
  );
}
