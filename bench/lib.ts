/**
 * What the suite benches share: run `helmdrill run` as a real process (its own process group,
 * its own run id and reports dir), sample the memory and CPU time of the node container(s) and
 * the memory of the runner's process tree while it runs, count the CPU time of every process
 * it started, and read back the run records it wrote.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { kindClusterName, RUN_LABEL } from "../harness/cluster/index.ts";
import { scratchRootFor } from "../harness/util/scratch.ts";
import type { ScenarioRun } from "../harness/dsl/scenario.ts";
import { run } from "../harness/exec.ts";
import { PACKAGE_ROOT } from "../harness/pins.ts";

export interface SuiteRun {
  runId: string;
  /** The reports directory it wrote (a temporary one). */
  reports: string;
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
  /**
   * CPU seconds: `containers` — the run's containers' cgroups (node: API server, controllers,
   * kubelet, pods; registry mirror), last sample before each was removed; `helmdrill` — the CLI
   * and every process under it (vitest workers, helm, helmfile, kubectl, docker clients), user +
   * system, as its shell's `times` reports them; `engine` — dockerd and containerd meanwhile
   * (shared with anything else the machine runs), undefined where they cannot be read.
   */
  cpu: { containers: number; helmdrill: number; engine?: number };
  output: string;
}

const CPU_TICKS = 100; // USER_HZ: /proc/<pid>/stat counts in 1/100 s on Linux

/** The cgroup CPU time (ns) of a container, cgroup v1 or v2; undefined when its cgroup is gone. */
function containerCpuNs(id: string): number | undefined {
  for (const f of [
    `/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`,
    `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`,
  ]) {
    if (existsSync(f)) return Number(readFileSync(f, "utf8").trim());
  }
  for (const f of [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, `/sys/fs/cgroup/docker/${id}/cpu.stat`]) {
    if (existsSync(f)) {
      const usec = /^usage_usec (\d+)$/m.exec(readFileSync(f, "utf8"))?.[1];
      return usec === undefined ? undefined : Number(usec) * 1000;
    }
  }
  return undefined;
}

/** User + system seconds of the Docker engine's own processes (dockerd, containerd) so far. */
function engineCpuSeconds(): number | undefined {
  let ticks = 0;
  let found = false;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const name = /\(([^)]*)\)/.exec(stat)?.[1];
      if (name !== "dockerd" && name !== "containerd") continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of stat)
      found = true;
    } catch {
      // gone between readdir and read
    }
  }
  return found ? ticks / CPU_TICKS : undefined;
}

/** `times`' second line ("0m12.345s 0m1.230s"): the shell's children's user and system time. */
export function parseTimes(text: string): number {
  const line = text.trim().split("\n")[1] ?? "";
  const parts = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return parts.length === 2 ? parts[0]! + parts[1]! : NaN;
}

/** The run records a run wrote: its reports' own, or a shard's part (`--shard i/n`). */
function readRunRecords(reports: string): ScenarioRun[] {
  const dirs = [
    reports,
    ...readdirSync(reports)
      .filter((d) => /^shard-\d+-of-\d+$/.test(d))
      .map((d) => path.join(reports, d)),
  ];
  return dirs.flatMap((d) => {
    const f = path.join(d, "conformance", "runs.json");
    return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as ScenarioRun[]) : [];
  });
}

/** RSS of every process in the group (the CLI, vitest, its workers, helm/helmfile children). */
async function groupRss(pgid: number): Promise<number> {
  const ps = await run(["ps", "-o", "rss=", "-g", String(pgid)]);
  return ps.stdout.split("\n").reduce((sum, l) => sum + (Number(l.trim()) || 0) * 1024, 0);
}

/**
 * The full ids of the run's containers (running; with `includeStopped`, every one): those helmdrill labels with the run (k3s node, registry mirror) and the
 * kind cluster's nodes, which kind creates and labels with the cluster's name.
 */
async function runContainers(runId: string, includeStopped = false): Promise<string[]> {
  const ids = new Set<string>();
  for (const label of [`${RUN_LABEL}=${runId}`, `io.x-k8s.kind.cluster=${kindClusterName(runId)}`]) {
    const r = await run([
      "docker",
      "ps",
      ...(includeStopped ? ["-a"] : []),
      "-q",
      "--no-trunc",
      "--filter",
      `label=${label}`,
    ]);
    for (const id of r.stdout.split("\n").filter(Boolean)) ids.add(id);
  }
  return [...ids];
}

function nodeMemory(ids: readonly string[]): number {
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
  // Kept for reading afterwards (matrix, transcripts), beside the project's other reports, not in /tmp.
  const reports = path.join(PACKAGE_ROOT, "reports", "bench", runId);
  mkdirSync(reports, { recursive: true });
  const timesFile = path.join(reports, ".bench-times");
  const engineBefore = engineCpuSeconds();
  const t0 = performance.now();
  // bash runs the CLI and, once it exited, writes `times`: the CPU time of every process under it.
  const child = spawn(
    "bash",
    [
      "-c",
      'node "$@"; rc=$?; times > "$HELMDRILL_BENCH_TIMES"; exit $rc',
      "bench",
      path.join(PACKAGE_ROOT, "bin", "helmdrill.mjs"),
      command,
      "--no-provision",
      "--reports",
      reports,
      ...args,
    ],
    {
      cwd: PACKAGE_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HELMDRILL_RUN_ID: runId, HELMDRILL_BENCH_TIMES: timesFile, ...env },
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
  const containerCpu = new Map<string, number>();
  let done = false;
  // The cgroup files every second; the run's containers (which come and go rarely) every fifth: a
  // `docker ps` per second was the busiest process of the whole bench (2586 of them in one catalogue).
  const sampler = (async () => {
    let ids: string[] = [];
    for (let tick = 0; !done; tick++) {
      if (tick % 5 === 0) ids = await runContainers(runId);
      for (const id of ids) {
        const ns = containerCpuNs(id);
        if (ns !== undefined) containerCpu.set(id, ns);
      }
      peakNodeBytes = Math.max(peakNodeBytes, nodeMemory(ids));
      peakRunnerBytes = Math.max(peakRunnerBytes, await groupRss(child.pid!));
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  const exitCode = await new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const wallMs = performance.now() - t0;
  done = true;
  await sampler;
  await new Promise((r) => setTimeout(r, 2000));
  const engineAfter = engineCpuSeconds();
  const runs = readRunRecords(reports);
  const cpu = {
    containers: [...containerCpu.values()].reduce((a, ns) => a + ns / 1e9, 0),
    helmdrill: existsSync(timesFile) ? parseTimes(readFileSync(timesFile, "utf8")) : NaN,
    engine: engineBefore !== undefined && engineAfter !== undefined ? engineAfter - engineBefore : undefined,
  };
  const leakedContainers = await runContainers(runId, true);
  return {
    runId,
    reports,
    exitCode,
    wallMs,
    runs,
    peakNodeBytes,
    peakRunnerBytes,
    leakedContainers,
    leakedScratch: existsSync(scratchRootFor(runId)),
    firstStepMs,
    cpu,
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
