/**
 * What the suite benches share: run `helmdrill run` as a real process (its own process group,
 * its own run id and reports dir), sample the memory of the node container(s) and of the
 * runner's process tree while it runs, and read back the run records it wrote.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RUN_LABEL } from "../harness/cluster/types.ts";
import { scratchRootFor } from "../harness/util/scratch.ts";
import type { ScenarioRun } from "../harness/dsl/scenario.ts";
import { run } from "../harness/exec.ts";
import { PACKAGE_ROOT } from "../harness/pins.ts";

export interface SuiteRun {
  runId: string;
  exitCode: number | null;
  wallMs: number;
  runs: ScenarioRun[];
  peakNodeBytes: number;
  peakRunnerBytes: number;
  /** Containers with the run's label and its scratch root, looked at after it exited. */
  leakedContainers: string[];
  leakedScratch: boolean;
  /** Milliseconds from start to the first scenario step (provisioning checks + cluster start). */
  firstStepMs?: number;
  output: string;
}

/** RSS of every process in the group (the CLI, vitest, its workers, helm/helmfile children). */
async function groupRss(pgid: number): Promise<number> {
  const ps = await run(["ps", "-o", "rss=", "-g", String(pgid)]);
  return ps.stdout.split("\n").reduce((sum, l) => sum + (Number(l.trim()) || 0) * 1024, 0);
}

async function nodeMemory(runId: string): Promise<number> {
  const ids = (await run(["docker", "ps", "-q", "--no-trunc", "--filter", `label=${RUN_LABEL}=${runId}`])).stdout
    .split("\n")
    .filter(Boolean);
  let total = 0;
  for (const id of ids) {
    for (const f of [
      `/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`,
      `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.current`,
      `/sys/fs/cgroup/docker/${id}/memory.current`,
    ]) {
      if (existsSync(f)) {
        total += Number(readFileSync(f, "utf8").trim());
        break;
      }
    }
  }
  return total;
}

/** `helmdrill <command> --no-provision --reports <tmp> …args` (command: `run`, or `upgrade-check`). */
export async function runSuiteOnce(
  args: string[],
  env: Record<string, string> = {},
  command = "run",
): Promise<SuiteRun> {
  const runId = `bench${Date.now().toString(36)}`;
  const reports = mkdtempSync(path.join(os.tmpdir(), "helmdrill-bench-reports-"));
  const t0 = performance.now();
  const child = spawn(
    "node",
    [path.join(PACKAGE_ROOT, "bin", "helmdrill.mjs"), command, "--no-provision", "--reports", reports, ...args],
    {
      cwd: PACKAGE_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HELMDRILL_RUN_ID: runId, ...env },
    },
  );
  let output = "";
  let firstStepMs: number | undefined;
  const onData = (d: Buffer) => {
    output += d.toString();
    if (firstStepMs === undefined && /helmdrill: \[[^\]]+\] 1\. /.test(output)) firstStepMs = performance.now() - t0;
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  let peakNodeBytes = 0;
  let peakRunnerBytes = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peakNodeBytes = Math.max(peakNodeBytes, await nodeMemory(runId));
      peakRunnerBytes = Math.max(peakRunnerBytes, await groupRss(child.pid!));
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  const exitCode = await new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const wallMs = performance.now() - t0;
  done = true;
  await sampler;
  await new Promise((r) => setTimeout(r, 2000));
  const runsFile = path.join(reports, "conformance", "runs.json");
  const runs = existsSync(runsFile) ? (JSON.parse(readFileSync(runsFile, "utf8")) as ScenarioRun[]) : [];
  const leakedContainers = (await run(["docker", "ps", "-aq", "--filter", `label=${RUN_LABEL}=${runId}`])).stdout
    .split("\n")
    .filter(Boolean);
  return {
    runId,
    exitCode,
    wallMs,
    runs,
    peakNodeBytes,
    peakRunnerBytes,
    leakedContainers,
    leakedScratch: existsSync(scratchRootFor(runId)),
    firstStepMs,
    output,
  };
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

/** `--runs 10` style flags after `npm run bench:x --`. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** Arguments after the bench's own flags are passed to `helmdrill run` (e.g. --helm 4.1.4). */
export function passThrough(own: string[]): string[] {
  const out: string[] = [];
  for (let i = 2; i < process.argv.length; i++) {
    if (own.includes(process.argv[i]!.replace(/^--/, ""))) i++;
    else out.push(process.argv[i]!);
  }
  return out;
}
