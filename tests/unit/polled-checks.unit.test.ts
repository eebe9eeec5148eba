import { describe, expect, it } from "vitest";
import { jobFailed, logsShow, object, release, resources, type CheckContext } from "../../harness/dsl/checks.ts";
import type { CommandResult } from "../../harness/exec.ts";

/** A read that never answers: an API server that stopped responding mid-request. */
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** A check context over fakes: each probe call is counted; what a fake returns is the test's. */
function context(kube: Record<string, unknown>, extra: Partial<CheckContext> = {}) {
  const calls: string[] = [];
  const counted =
    (name: string, fn: (...a: unknown[]) => unknown) =>
    (...a: unknown[]) => {
      calls.push(name);
      return fn(...a);
    };
  const wrap = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "function" ? counted(k, v as never) : v]));
  const helmHistory: CommandResult = {
    argv: [],
    exitCode: 0,
    stdout: "[]",
    stderr: "",
    durationMs: 1,
    startedAt: new Date(),
    timedOut: false,
  };
  const ctx = {
    target: { driver: "helm", helm: "3.17.3" },
    namespace: "hd-test",
    release: "web",
    vars: {},
    runners: { namespace: "hd-test", helm: counted("helm", async () => helmHistory) },
    kube: Object.fromEntries(Object.entries(kube).map(([k, v]) => [k, wrap(v as Record<string, unknown>)])),
    ...extra,
  } as unknown as CheckContext;
  return { ctx, calls };
}

// Defect 14: release, job and logs checks ignored ctx.signal. Inside whileRunning or
// cancel({ when }) the signal says when the watched action ended; an action that already ended
// gets one last look, not 15, 60 or 30 s of polling.
describe("a polled check inside whileRunning / cancel({ when }) looks while the action runs", () => {
  const ended = () => AbortSignal.abort();

  it("release: one look once the action has ended", async () => {
    const { ctx, calls } = context(
      { core: { listNamespacedSecret: async () => ({ items: [] }) } },
      { signal: ended() },
    );
    const r = await release({ revision: 2, status: "deployed" }).verify(ctx);
    expect(r.ok).toBe(false);
    expect(calls.filter((c) => c === "helm")).toHaveLength(1);
    expect(r.observed).toContain("release not found (1 observation(s)");
  });

  it("job: one look once the action has ended", async () => {
    const { ctx, calls } = context({ batch: { listNamespacedJob: async () => ({ items: [] }) } }, { signal: ended() });
    const r = await jobFailed("db-check", "BackoffLimitExceeded").verify(ctx);
    expect(r).toMatchObject({ ok: false, observed: expect.stringContaining("job db-check not found") });
    expect(calls).toEqual(["listNamespacedJob"]);
  });

  it("logs: one look once the action has ended", async () => {
    const { ctx, calls } = context({ core: { listNamespacedPod: async () => ({ items: [] }) } }, { signal: ended() });
    const r = await logsShow("job-name=db-check", "OK TO UPGRADE").verify(ctx);
    expect(r.ok).toBe(false);
    expect(calls).toEqual(["listNamespacedPod"]);
  });

  it("holds as soon as what it waits for appears while the action runs", async () => {
    const running = new AbortController();
    const failedJob = { metadata: { name: "db-check" }, status: { conditions: [{ type: "Failed", status: "True" }] } };
    let looks = 0;
    const { ctx } = context(
      { batch: { listNamespacedJob: async () => ({ items: ++looks >= 2 ? [failedJob] : [] }) } },
      { signal: running.signal },
    );
    const r = await jobFailed("db-check").verify(ctx);
    running.abort();
    expect(r.ok).toBe(true);
    expect(looks).toBe(2);
  });
});

// Defect 3: every check's verify polled a read that had no time limit: one hung request hung
// the check, and with it the step, for good.
describe("a polled check whose read never answers fails at its deadline, naming what it waited for", () => {
  const kinds = {
    resolve: async () => ({
      name: "statefulset",
      group: "apps",
      version: "v1",
      apiVersion: "apps/v1",
      kind: "StatefulSet",
    }),
  };

  it("object(…).matches", async () => {
    const { ctx } = context({ objects: { read: never }, kinds });
    const r = await object("statefulset/db", { timeoutMs: 200 })
      .matches({ spec: { replicas: 3 } })
      .verify(ctx);
    expect(r.ok).toBe(false);
    expect(r.observed).toMatch(/nothing observed .*reading statefulset\/db: no answer within 0\.2 s/);
  });

  it("resources(…)", async () => {
    const { ctx } = context({ core: { listNamespacedService: never } });
    const r = await resources({ service: ["web"] }, { timeoutMs: 200 }).verify(ctx);
    expect(r.ok).toBe(false);
    expect(r.observed).toContain("service -l app.kubernetes.io/instance=web: no answer within 0.2 s");
  });
});

// Papercut: a chart labelled without app.kubernetes.io/instance needed { selector } on every resources().
describe("resources() lists by the scenario's selector unless it is given one", () => {
  const deployments = (seen: string[]) => ({
    apps: {
      listNamespacedDeployment: async (req: { labelSelector?: string }) => {
        seen.push(req.labelSelector ?? "");
        const spec = { replicas: 1, template: { spec: { containers: [{ name: "c", image: "busybox" }] } } };
        return { items: [{ metadata: { name: "web" }, status: { readyReplicas: 1 }, spec }] };
      },
    },
  });

  it("the scenario's selector by default, the check's own when named, the instance label without either", async () => {
    const seen: string[] = [];
    const { ctx } = context(deployments(seen), { selector: "app=todo" });
    expect((await resources({ deployment: ["web"] }).verify(ctx)).ok).toBe(true);
    expect((await resources({ deployment: ["web"] }, { selector: "tier=web" }).verify(ctx)).ok).toBe(true);
    const { ctx: bare } = context(deployments(seen));
    expect((await resources({ deployment: ["web"] }).verify(bare)).ok).toBe(true);
    expect(seen).toEqual(["app=todo", "tier=web", "app.kubernetes.io/instance=web"]);
  });
});
