/**
 * A dead cluster is not a Helm verdict: the watch's judgement (node container state, API server
 * reachability), the run that it stops, the verdict that marks the run "cluster lost" instead of
 * failed, and how the matrix, the transcripts and `helmdrill run`'s exit code show it. Fakes only:
 * a probe function instead of docker, a local HTTP server instead of an API server.
 */
import { existsSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeEach, describe, expect, it, vi, type TaskMeta } from "vitest";
import { succeeds } from "../../harness/dsl/checks.ts";
import type { RunEnvironment, ScenarioRun, ScenarioSpec, StepRecord } from "../../harness/dsl/scenario.ts";
import { helm, step, type Step } from "../../harness/dsl/step.ts";
import type { Target } from "../../harness/dsl/target.ts";
import { kubeConfigFromYaml } from "../../harness/cluster/kubeconfig.ts";
import { renderMatrixHtml } from "../../harness/report/html.ts";
import { renderMatrixMarkdown, renderTranscript } from "../../harness/report/markdown.ts";
import { buildMatrix } from "../../harness/report/model.ts";
import { combineVerdicts, EXIT_CODE, isLostTest, legVerdict } from "../../harness/report/verdict.ts";
import {
  ClusterLostError,
  ClusterWatch,
  containerObservation,
  LossJudge,
  readyz,
  type ClusterLoss,
  type Observation,
} from "../../harness/vitest/cluster-watch.ts";
import { nodeContainers } from "../../harness/vitest/drill.ts";
import { attributeFailure, replayTarget, unopenedRun } from "../../harness/vitest/replay.ts";
import { fakeHelm, offlineEnvironment } from "./offline-run.ts";

const ok: Observation = { ok: true };
const exited: Observation = { ok: false, problem: "node container exited 137", definitive: true };
const noAnswer: Observation = { ok: false, problem: "API server: no answer on /readyz within 5 s", definitive: false };

describe("the watch's judgement", () => {
  it("a node container that exited loses the cluster at once; the loss names the last healthy moment", () => {
    const judge = new LossJudge(60_000, 0);
    expect(judge.observe(ok, 1_000)).toBeUndefined();
    expect(judge.observe(exited, 5_000)).toEqual({
      reason: "node container exited 137",
      at: 5_000,
      lastHealthyAt: 1_000,
    });
  });

  it("an API server that does not answer loses it only when that lasts the grace period", () => {
    const judge = new LossJudge(60_000, 0);
    expect(judge.observe(noAnswer, 10_000)).toBeUndefined();
    expect(judge.observe(noAnswer, 69_999)).toBeUndefined();
    expect(judge.observe(noAnswer, 70_000)).toMatchObject({
      reason: `${noAnswer.problem} (for 60 s)`,
      lastHealthyAt: 0,
    });
  });

  it("a stall that recovers starts the grace period anew; a loss is final", () => {
    const judge = new LossJudge(60_000, 0);
    judge.observe(noAnswer, 10_000);
    judge.observe(ok, 50_000);
    expect(judge.observe(noAnswer, 80_000)).toBeUndefined();
    expect(judge.observe(noAnswer, 139_999)).toBeUndefined();
    expect(judge.observe(exited, 140_000)).toBeDefined();
    expect(judge.observe(ok, 150_000)?.reason).toBe("node container exited 137");
  });

  it("reads docker's container state", () => {
    expect(containerObservation("n", { Status: "running", Running: true })).toEqual({ ok: true });
    expect(containerObservation("n", { Status: "exited", Running: false, ExitCode: 137 })).toEqual(exited);
    expect(containerObservation("n", { Status: "exited", ExitCode: 137, OOMKilled: true })).toMatchObject({
      problem: "node container exited 137, out of memory",
      definitive: true,
    });
    expect(containerObservation("n", { Status: "running", Running: true, Paused: true })).toMatchObject({
      problem: "node container paused",
    });
    expect(containerObservation("abc123", undefined)).toEqual({
      ok: false,
      problem: "node container abc123 is gone",
      definitive: true,
    });
  });

  it("watches k3s's node container and kind's control-plane container, nothing of an existing cluster", () => {
    expect(nodeContainers({ kind: "k3s", name: "0123456789ab" })).toEqual(["0123456789ab"]);
    expect(nodeContainers({ kind: "kind", name: "helmdrill-x" })).toEqual(["helmdrill-x-control-plane"]);
    expect(nodeContainers({ kind: "existing", name: "prod" })).toEqual([]);
  });
});

describe("ClusterWatch", () => {
  it("tells every listener once when the cluster is lost, and a later listener at once", async () => {
    const seen: Observation[] = [ok, ok, exited];
    const watch = new ClusterWatch(async () => seen.shift() ?? exited, { intervalMs: 5 });
    const heard: ClusterLoss[] = [];
    const unsubscribe = watch.subscribe((l) => heard.push(l));
    await vi.waitUntil(() => heard.length > 0, { timeout: 5_000, interval: 5 });
    expect(heard.map((l) => l.reason)).toEqual(["node container exited 137"]);
    unsubscribe();
    const late: string[] = [];
    watch.subscribe((l) => late.push(l.reason));
    expect(late).toEqual(["node container exited 137"]);
  });

  it("confirm: a failure while the API server stalls, which then answers again, is not a loss", async () => {
    const seen: Observation[] = [noAnswer, noAnswer, ok];
    const watch = new ClusterWatch(async () => seen.shift() ?? ok, { intervalMs: 1, graceMs: 60_000 });
    await expect(watch.confirm()).resolves.toBeUndefined();
    expect(seen).toEqual([]);
  });

  it("confirm: a stall that outlasts the grace period is a loss", async () => {
    let now = 0;
    const watch = new ClusterWatch(async () => ((now += 30_000), noAnswer), {
      intervalMs: 1,
      graceMs: 60_000,
      now: () => now,
    });
    await expect(watch.confirm()).resolves.toMatchObject({ reason: `${noAnswer.problem} (for 60 s)` });
  });

  it("a probe that throws is a problem, not a crash", async () => {
    const watch = new ClusterWatch(() => Promise.reject(new Error("docker: not found")), { graceMs: 0 });
    await expect(watch.check()).resolves.toMatchObject({
      reason: expect.stringMatching(/^the cluster probe failed: Error: docker: not found/),
    });
  });
});

describe("readyz", () => {
  const servers: http.Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));
  const kubeconfigFor = (server: string) =>
    kubeConfigFromYaml(
      "apiVersion: v1\nkind: Config\n" +
        `clusters: [{name: c, cluster: {server: '${server}', insecure-skip-tls-verify: true}}]\n` +
        "users: [{name: u, user: {token: t}}]\n" +
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
  async function serve(status: number, body: string): Promise<{ url: string; auth: string[] }> {
    const auth: string[] = [];
    const server = http.createServer((req, res) => {
      auth.push(`${req.url} ${req.headers.authorization}`);
      res.writeHead(status).end(body);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, auth };
  }

  it("asks /readyz with the kubeconfig's credentials", async () => {
    const { url, auth } = await serve(200, "ok");
    await expect(readyz(kubeconfigFor(url))).resolves.toEqual({ ok: true });
    expect(auth).toEqual(["/readyz Bearer t"]);
  });

  it("names the failing checks of a 500", async () => {
    const { url } = await serve(500, "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n");
    await expect(readyz(kubeconfigFor(url))).resolves.toEqual({
      ok: false,
      problem: "API server /readyz answered 500: [-]etcd failed: reason withheld",
      definitive: false,
    });
  });

  it("a closed port: unreachable, a problem that is not yet a loss", async () => {
    const { url } = await serve(200, "ok");
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 10));
    const o = await readyz(kubeconfigFor(url));
    expect(o).toMatchObject({
      ok: false,
      definitive: false,
      problem: expect.stringMatching(/^API server unreachable: .*ECONNREFUSED/),
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The run: stopped at once, and marked lost.

const fake = fakeHelm("helmdrill-unit-lost-", [
  'upgrade) touch "$(dirname "$0")/started"; exec sleep 300;;',
  '*) echo "Error: release: not found" >&2; exit 1;;',
]);
const started = path.join(fake.dir, "started");
beforeEach(() => rmSync(started, { force: true }));

const h3: Target = { driver: "helm", helm: "3.17.3" };
const spec = (steps: Step[]): ScenarioSpec => ({
  id: "unit",
  title: "unit",
  summary: "",
  source: { file: "x", section: "y" },
  release: "r",
  steps,
});
const options = { coverage: [], cluster: { runsOn: "k3s (unit)", label: "k3s 1.34" }, progress: false };

const environment = (signal: AbortSignal): RunEnvironment => offlineEnvironment(fake, { signal });

describe("a cluster that dies while a step runs", () => {
  it("stops the step's command at once and marks the run lost from that step (ClusterLostError)", async () => {
    // The watch sees the node gone once helm started: as `docker kill` of the node mid-upgrade.
    const stop = new AbortController();
    const watch = new ClusterWatch(async () => (existsSync(started) ? exited : ok), { intervalMs: 10 });
    const unwatch = watch.subscribe((loss) => stop.abort(new ClusterLostError(loss)));
    const markFailed = vi.fn();
    const drill = {
      namespace: "unit",
      environment: (_: Target, hooks = {}) => ({ ...environment(stop.signal), ...hooks }),
      startFlux: () => Promise.reject(new Error("not a flux target")),
      markFailed,
      clusterLost: () => watch.lost,
      confirmClusterLost: () => watch.confirm(),
    };
    const task = { meta: {} as TaskMeta };
    const steps = [
      step("upgrade")
        .does(helm("upgrade", "r", "c", "--wait"))
        .expect(succeeds()),
      step("later").does(helm("install")).expect(succeeds()),
    ];
    const error = await replayTarget(spec(steps), h3, drill, task, options).catch((e: unknown) => e);
    unwatch();
    expect(error).toBeInstanceOf(ClusterLostError);
    expect((error as Error).message).toMatch(/^cluster lost: node container exited 137 at step 1\n/);
    const run = task.meta.helmdrill!;
    expect(run.clusterLost).toEqual({ step: 1, reason: "node container exited 137" });
    expect(run.steps[0]).toMatchObject({
      status: "failed",
      problem: "the run was stopped while this step ran: cluster lost: node container exited 137",
    });
    // The hung upgrade (sleep 300) was killed, not waited out.
    expect(run.steps[0]!.commands[0]).toMatchObject({ exitCode: 143 });
    expect(markFailed).toHaveBeenCalled();
  });

  it("a behaviour failure on a healthy cluster stays a ScenarioAssertionError", async () => {
    const drill = {
      namespace: "unit",
      environment: (_: Target, hooks = {}) => ({ ...environment(new AbortController().signal), ...hooks }),
      startFlux: () => Promise.reject(new Error("not a flux target")),
      markFailed: () => undefined,
      clusterLost: () => undefined,
      confirmClusterLost: async () => undefined,
    };
    const task = { meta: {} as TaskMeta };
    const error = await replayTarget(
      spec([step("history").does(helm("history", "r")).expect(succeeds())]),
      h3,
      drill,
      task,
      options,
    ).catch((e: unknown) => e);
    expect((error as Error).name).toBe("ScenarioAssertionError");
    expect(task.meta.helmdrill!.clusterLost).toBeUndefined();
  });
});

const failedRun = (steps: StepRecord["status"][]): ScenarioRun => ({
  scenario: "atomic-upgrade-rollback",
  title: "Atomic upgrade",
  source: { file: "002.txt", section: "atomic" },
  target: h3,
  targetLabel: "helm 3.17.3",
  namespace: "hd-x",
  status: steps.includes("failed") ? "failed" : "passed",
  steps: steps.map((status, i) => ({
    index: i + 1,
    title: `step ${i + 1}`,
    commands: [],
    checks: [],
    status,
    drift: [],
    durationMs: 1,
    ...(status === "failed"
      ? {
          problem: "UPGRADE FAILED: an error occurred while finding last successful release",
          observedError: "Error: UPGRADE FAILED",
        }
      : {}),
  })),
  vars: {},
  startedAt: "2026-01-01T00:00:00Z",
  durationMs: 5,
});

describe("the verdict", () => {
  const loss: ClusterLoss = { reason: "node container exited 137", at: 2_000, lastHealthyAt: 1_000 };

  it("a run that failed after the cluster was last seen healthy is lost from its first failed step", () => {
    const run = attributeFailure(failedRun(["matches", "failed", "not-run"]), loss, 1_500);
    expect(run.clusterLost).toEqual({ step: 2, reason: "node container exited 137" });
  });

  it("a failure the cluster was seen healthy after stays a behaviour failure; a passed run is left alone", () => {
    expect(attributeFailure(failedRun(["failed", "not-run"]), loss, 900).clusterLost).toBeUndefined();
    expect(attributeFailure(failedRun(["matches", "matches"]), loss, 1_500).clusterLost).toBeUndefined();
    expect(attributeFailure(failedRun(["failed"]), undefined, 1_500).clusterLost).toBeUndefined();
  });

  it("a test whose drill could not be set up on a lost cluster is lost at step 1, any other failed", () => {
    const s = spec([
      step("a").does(helm("install")).expect(succeeds()),
      step("b").does(helm("upgrade")).expect(succeeds()),
    ]);
    const lost = unopenedRun(s, h3, {
      name: "ClusterLostError",
      message: "cluster lost: node container exited 137\nmore",
    });
    expect(lost).toMatchObject({ status: "failed", clusterLost: { step: 1, reason: "node container exited 137" } });
    const other = unopenedRun(s, h3, { name: "Error", message: "namespaces is forbidden" });
    expect(other.clusterLost).toBeUndefined();
    expect(other.steps.map((x) => [x.status, x.problem])).toEqual([
      ["failed", "the test's namespace could not be set up: namespaces is forbidden"],
      ["not-run", undefined],
    ]);
  });

  it("helmdrill run's exit code: 3 when the only failures are lost runs, 1 when a behaviour failed too", () => {
    expect(isLostTest({ helmdrill: { clusterLost: { step: 2, reason: "x" } } }, [])).toBe(true);
    expect(isLostTest({ helmdrill: {} }, [{ name: "ClusterLostError" }])).toBe(false);
    expect(isLostTest({}, [{ name: "ClusterLostError" }])).toBe(true);
    expect(isLostTest({}, [{ name: "ClusterLostError" }, { name: "Error" }])).toBe(false);
    const lost = { failed: true, lost: true };
    const failed = { failed: true, lost: false };
    const passed = { failed: false, lost: false };
    expect(legVerdict(1, [passed, lost], 0)).toBe("lost");
    expect(legVerdict(1, [lost, failed], 0)).toBe("failed");
    expect(legVerdict(1, [lost], 1)).toBe("failed");
    expect(legVerdict(1, [passed], 0)).toBe("failed");
    expect(legVerdict(0, [passed], 0)).toBe("passed");
    expect(combineVerdicts(["passed", "lost"])).toBe("lost");
    expect(combineVerdicts(["lost", "failed"])).toBe("failed");
    expect([EXIT_CODE.passed, EXIT_CODE.failed, EXIT_CODE.lost]).toEqual([0, 1, 3]);
  });
});

describe("the reports of a lost run", () => {
  const lost: ScenarioRun = {
    ...failedRun(["matches", "failed", "not-run"]),
    clusterLost: { step: 2, reason: "node container exited 137" },
  };
  const healthy: ScenarioRun = {
    ...failedRun(["matches", "matches", "matches"]),
    target: { driver: "helm", helm: "4.3.1" },
    targetLabel: "helm 4.3.1",
  };

  it("matrix: its cells from the lost step on are 'cluster lost', not failed; its run is counted apart", () => {
    const matrix = buildMatrix([lost, healthy], "write-up");
    expect(matrix.rows.map((r) => r.cells["helm 3.17.3"]!.status)).toEqual(["matches", "lost", "lost"]);
    expect(matrix.rows[1]!.cells["helm 3.17.3"]!.failures[0]).toBe("cluster lost: node container exited 137 at step 2");
    expect(matrix.totals["helm 3.17.3"]).toMatchObject({ matches: 1, lost: 2, failed: 0 });
    expect(matrix.runs.map((r) => r.status)).toEqual(["lost", "passed"]);
    const md = renderMatrixMarkdown(matrix);
    expect(md).toContain("⚠ cluster lost<br>node container exited 137 at step 2");
    expect(md).not.toContain("❌ failed<br>");
    expect(md).toContain("| helm 3.17.3 | 1 | 0 | 0 | 2 | 0 | 0 | 1 (0 passed, 1 cluster lost) |");
    const html = renderMatrixHtml(matrix, { generatedAt: "t" });
    expect(html.match(/class="cell cell-lost"/g)).toHaveLength(2);
  });

  it("transcript: the run's status and the lost step say so; the later step was not run because of it", () => {
    const md = renderTranscript(lost);
    expect(md).toContain(
      "- **Status:** ⚠ cluster lost: node container exited 137 at step 2 (1 matches, 2 cluster lost)",
    );
    expect(md).toMatch(/## 2\. step 2\n[\s\S]*\*\*Result:\*\* ⚠ cluster lost — the cluster died under the run/);
    expect(md).toContain("⚠ Not run: the cluster was lost at step 2 (node container exited 137).");
  });
});
