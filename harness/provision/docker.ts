import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";
import { HelmdrillError } from "../errors.ts";
import { run, runChecked, succeeded } from "../exec.ts";
import { poll } from "../util/poll.ts";

/** Is a Docker engine answering right now (honours DOCKER_HOST)? */
export async function dockerReachable(): Promise<{ ok: boolean; version?: string; error?: string }> {
  const r = await run(["docker", "version", "--format", "{{.Server.Version}}"], { timeoutMs: 20_000 });
  if (succeeded(r)) return { ok: true, version: r.stdout.trim() };
  return { ok: false, error: r.spawnError ?? (r.stderr.trim() || r.stdout.trim()) };
}

export function missingDockerError(detail?: string): HelmdrillError {
  return new HelmdrillError(
    `no Docker engine is reachable${detail ? ` (${detail.split("\n")[0]})` : ""}`,
    "start Docker (or set DOCKER_HOST); on Debian as root, `npm run provision` installs docker.io and starts dockerd for you",
  );
}

/** Throws the clear "no Docker engine" error unless one answers. */
export async function requireDocker(): Promise<void> {
  const docker = await dockerReachable();
  if (!docker.ok) throw missingDockerError(docker.error);
}

const isRoot = () => process.getuid?.() === 0;
const isDebian = () => existsSync("/etc/debian_version");

async function aptInstall(packages: string[], progress: (m: string) => void): Promise<void> {
  progress(`apt-get install ${packages.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  // An install interrupted earlier leaves dpkg half-configured; finish it first (a no-op otherwise).
  await run(["dpkg", "--configure", "-a"], { env, timeoutMs: 600_000 });
  let r = await run(["apt-get", "install", "-y", "--no-install-recommends", ...packages], { env, timeoutMs: 900_000 });
  if (!succeeded(r)) {
    progress("apt-get update");
    await runChecked(["apt-get", "update"], { env, timeoutMs: 600_000 });
    r = await runChecked(["apt-get", "install", "-y", "--no-install-recommends", ...packages], {
      env,
      timeoutMs: 900_000,
    });
  }
}

/** Installs Debian packages whose marker binaries are missing (root on Debian only). */
export async function ensureDebianPackages(
  wanted: Record<string, string>,
  progress: (m: string) => void,
): Promise<void> {
  const missing = Object.entries(wanted)
    .filter(([, binary]) => !existsSync(binary))
    .map(([pkg]) => pkg);
  if (missing.length === 0) return;
  if (!isRoot() || !isDebian()) {
    throw new HelmdrillError(
      `missing host packages: ${missing.join(", ")}`,
      "install them with your package manager (helmdrill installs them itself only as root on Debian)",
    );
  }
  await aptInstall(missing, progress);
}

/**
 * Uses the running engine; otherwise, as root on Debian, installs docker.io and starts
 * dockerd in the background; otherwise stops with what the user must do. Idempotent.
 */
export async function ensureDocker(cacheDir: string, progress: (m: string) => void): Promise<string> {
  const first = await dockerReachable();
  if (first.ok) return `engine ${first.version} already running`;
  if (process.env.DOCKER_HOST) throw missingDockerError(`DOCKER_HOST=${process.env.DOCKER_HOST}: ${first.error}`);
  if (!isRoot() || !isDebian()) throw missingDockerError(first.error);

  if (!existsSync("/usr/sbin/dockerd") && !existsSync("/usr/bin/dockerd")) {
    await aptInstall(["docker.io"], progress);
  }
  const dockerd = existsSync("/usr/sbin/dockerd") ? "/usr/sbin/dockerd" : "/usr/bin/dockerd";
  mkdirSync(cacheDir, { recursive: true });
  const logFile = path.join(cacheDir, "dockerd.log");
  progress(`starting ${dockerd} (log: ${logFile})`);
  const out = openSync(logFile, "a");
  const child = spawn(dockerd, [], { detached: true, stdio: ["ignore", out, out] });
  child.unref();
  const started = await poll(dockerReachable, (r) => (r.ok ? undefined : (r.error ?? "no answer")), {
    timeoutMs: 90_000,
    intervalMs: 1000,
    what: "the started dockerd",
  });
  if (started.ok) return `started dockerd ${started.last?.version}`;
  throw missingDockerError(`dockerd did not answer within 90 s (${started.lastProblem}); see ${logFile}`);
}
