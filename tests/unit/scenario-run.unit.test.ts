/**
 * The step runner's logic without a cluster: what a run records when an action throws, when a
 * step expects nothing, when the run is stopped mid-command (a test timeout), when `prepare` or
 * Flux fails, and how a step refuses a second `.does()` / `.finally()`.
 */
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { beforeEach, describe, expect, it, vi, type TaskMeta } from "vitest";
import { succeeds } from "../../harness/dsl/checks.ts";
import {
  defineScenario,
  executeScenario,
  NO_EXPECTATIONS,
  stepStatus,
  type RunEnvironment,
  type ScenarioSpec,
} from "../../harness/dsl/scenario.ts";
import { cancel, fromVar, helm, helmfile, step, type Action, type Step } from "../../harness/dsl/step.ts";
import type { Target } from "../../harness/dsl/target.ts";
import { HelmdrillError } from "../../harness/errors.ts";
import { replayTarget } from "../../harness/vitest/replay.ts";
import { fakeHelm, offlineEnvironment } from "./offline-run.ts";

// A stand-in `helm`: `upgrade` marks that it started, then hangs far beyond this file's 30 s test
// timeout (only a kill ends it in time); `install` succeeds; anything else answers "not found".
const fake = fakeHelm("helmdrill-unit-", [
  'upgrade) touch "$(dirname "$0")/started"; exec sleep 300;;',
  "install) echo installed;;",
  '*) echo "Error: release: not found" >&2; exit 1;;',
]);
const started = path.join(fake.dir, "started");
beforeEach(() => rmSync(started, { force: true }));
const h3: Target = { driver: "helm", helm: "3.17.3" };
const environment = (extra: Partial<RunEnvironment> = {}) => offlineEnvironment(fake, extra);

/** A spec as a scenario file would build it, without defineScenario's checks (the runner must not rely on them). */
const spec = (steps: Step[], extra: Partial<ScenarioSpec> = {}): ScenarioSpec => ({
  id: "unit",
  title: "unit",
  summary: "",
  source: { file: "x", section: "y" },
  release: "r",
  steps,
  ...extra,
});

const throwsAtOnce: Action = {
  label: "an action whose run throws before it returns a promise",
  run: () => {
    throw new Error("boom");
  },
};

describe("an action that throws", () => {
  it("synchronously: the step fails with the error and the run goes on recording", async () => {
    const run = await executeScenario(
      spec([
        step("throws").does(throwsAtOnce).expect(succeeds()),
        step("later").does(helm("install")).expect(succeeds()),
      ]),
      h3,
      environment(),
    );
    expect(run.status).toBe("failed");
    expect(run.steps.map((s) => s.status)).toEqual(["failed", "not-run"]);
    expect(run.steps[0]!.problem).toBe("the step's command could not run: boom");
  });

  it("through an argument (fromVar of a variable nobody set) or a target without helmfile", async () => {
    const steps = [
      step("needs a port")
        .does(helm("install", "r", fromVar("nodePort")))
        .expect(succeeds()),
    ];
    const r1 = await executeScenario(spec(steps), h3, environment());
    expect(r1.steps[0]!.problem).toBe(`the step's command could not run: scenario variable "nodePort" is not set`);
    const r2 = await executeScenario(spec([step("sync").does(helmfile("sync")).expect(succeeds())]), h3, environment());
    expect(r2.steps[0]!.problem).toBe("the step's command could not run: this target has no helmfile version");
  });

  it("in prepare: the first step fails saying so, the rest is not run", async () => {
    const prepare = async () => {
      throw new Error("no free NodePort in 30000-32767");
    };
    const run = await executeScenario(
      spec([step("a").does(helm("install")).expect(succeeds()), step("b").does(helm("install")).expect(succeeds())], {
        prepare,
      }),
      h3,
      environment(),
    );
    expect(run.status).toBe("failed");
    expect(run.steps.map((s) => [s.status, s.problem])).toEqual([
      ["failed", "the scenario's prepare failed: no free NodePort in 30000-32767"],
      ["not-run", undefined],
    ]);
  });
});

describe("a step with no expectations", () => {
  it("is refused when the scenario is defined, naming the step", () => {
    const define = () =>
      defineScenario(
        spec([
          step("install").does(helm("install")).expect(succeeds()),
          step("upgrade, unchecked").does(helm("upgrade")),
        ]),
      );
    expect(define).toThrow(HelmdrillError);
    expect(define).toThrow(/scenario unit, step 2 "upgrade, unchecked" has no expectations/);
  });

  it("never matches: it fails as having no expectations, and its command does not run", async () => {
    const run = await executeScenario(spec([step("unchecked").does(helm("install"))]), h3, environment());
    expect(run.steps[0]).toMatchObject({ status: "failed", problem: NO_EXPECTATIONS, checks: [] });
    expect(run.steps[0]!.commands.filter((c) => !c.probe)).toEqual([]);
    expect(stepStatus([])).toBe("failed");
  });
});

describe("a second .does() or .finally()", () => {
  it("is an error naming both actions instead of silently replacing the first", () => {
    expect(() => step("s").does(helm("install", "a")).does(helm("install", "b"))).toThrow(
      /step "s": \.does\(\) is called twice \(`helm install a`, then `helm install b`\)/,
    );
    expect(() => step("s").finally(helm("uninstall", "a")).finally(helm("uninstall", "b"))).toThrow(
      /\.finally\(\) is called twice/,
    );
    expect(() => step("s").does(helm("install")).finally(helm("uninstall"))).not.toThrow();
  });
});

/** Runs `inner` and stops the run (as vitest's timeout does) once the stand-in helm has started. */
function stopOnceStarted(stop: AbortController, inner: Action): Action {
  return {
    label: inner.label,
    run: async (ctx) => {
      const running = inner.run(ctx);
      await vi.waitUntil(() => existsSync(started), { timeout: 20_000, interval: 20 });
      stop.abort(new Error("Test timed out in 900000ms.\nIf this is a long-running test, pass a timeout value"));
      return running;
    },
  };
}

describe("a run stopped while a command runs (the test timed out)", () => {
  it("kills the command, fails the step saying why, checks nothing more and runs no later step", async () => {
    const stop = new AbortController();
    const steps = [
      step("hangs")
        .does(stopOnceStarted(stop, helm("upgrade", "r", "c", "--wait")))
        .expect(succeeds()),
      step("later").does(helm("install")).expect(succeeds()),
    ];
    const run = await executeScenario(spec(steps), h3, environment({ signal: stop.signal }));
    const [hung, later] = run.steps;
    expect(run.status).toBe("failed");
    expect(hung).toMatchObject({
      status: "failed",
      problem: "the run was stopped while this step ran: Test timed out in 900000ms.",
      checks: [],
    });
    expect(hung!.commands.map((c) => [c.argv[1], c.probe])).toEqual([["upgrade", false]]);
    expect(hung!.observedError).toBe(
      `cancelled with SIGTERM after ${(hung!.commands[0]!.durationMs / 1000).toFixed(1)} s (exit 143)`,
    );
    expect(later!.status).toBe("not-run");
  });

  it("also inside cancel(), whose own signal must not replace the run's", async () => {
    const stop = new AbortController();
    const action = cancel(stopOnceStarted(stop, helm("upgrade", "r", "c", "--wait")), { after: 600_000 });
    const run = await executeScenario(
      spec([step("hangs").does(action).expect(succeeds())]),
      h3,
      environment({ signal: stop.signal }),
    );
    expect(run.steps[0]!.problem).toMatch(/^the run was stopped while this step ran/);
    expect(run.steps[0]!.commands[0]!.exitCode).toBe(143);
  });

  it("a run already stopped runs nothing", async () => {
    const stop = new AbortController();
    stop.abort(new Error("the run was cancelled"));
    const run = await executeScenario(
      spec([step("a").does(helm("install")).expect(succeeds())]),
      h3,
      environment({ signal: stop.signal }),
    );
    expect(run.steps[0]).toMatchObject({
      status: "failed",
      problem: "the run was stopped before this step: the run was cancelled",
      commands: [],
    });
  });
});

describe("replayTarget: a run that rejects is recorded as failed", () => {
  it("Flux that would not start: the matrix gets a failed run with the error, JUnit the same error", async () => {
    const flux: Target = { driver: "flux", helm: "3.18.0", flux: "1.4.0" };
    const markFailed = vi.fn();
    const drill = {
      namespace: "unit",
      environment: (_: Target, hooks = {}) => ({ ...environment(), ...hooks }),
      startFlux: () => Promise.reject(new Error("helm-controller did not start: address already in use")),
      markFailed,
    };
    const task = { meta: {} as TaskMeta };
    const steps = [
      step("install").does(helm("install")).expect(succeeds()),
      step("upgrade").does(helm("upgrade")).expect(succeeds()),
    ];
    const options = { coverage: [], cluster: { runsOn: "k3s (unit)", label: "k3s 1.34" }, progress: false };
    await expect(replayTarget(spec(steps), flux, drill, task, options)).rejects.toThrow(/address already in use/);
    const run = task.meta.helmdrill!;
    expect(run).toMatchObject({ status: "failed", namespace: "unit", cluster: "k3s (unit)", clusterLabel: "k3s 1.34" });
    expect(run.steps.map((s) => [s.status, s.problem])).toEqual([
      ["failed", "the run could not go on: Error: helm-controller did not start: address already in use"],
      ["not-run", undefined],
    ]);
    expect(task.meta.helmdrillCoverage).toEqual([]);
    expect(markFailed).toHaveBeenCalled();
  });

  it("a step's reporting that throws keeps the steps already recorded", async () => {
    const task = { meta: {} as TaskMeta };
    let calls = 0;
    const drill = {
      namespace: "unit",
      environment: (_: Target, hooks: Partial<RunEnvironment> = {}) => ({
        ...environment(),
        ...hooks,
        afterStep: async (r: Parameters<NonNullable<RunEnvironment["afterStep"]>>[0]) => {
          await hooks.afterStep?.(r);
          if (++calls === 1) throw new Error("allure results directory is gone");
        },
      }),
      startFlux: () => Promise.reject(new Error("not a flux target")),
      markFailed: () => undefined,
    };
    const steps = [
      step("install").does(helm("install")).expect(succeeds()),
      step("again").does(helm("install")).expect(succeeds()),
    ];
    const options = { coverage: [], cluster: { runsOn: "k3s (unit)", label: "k3s 1.34" }, progress: false };
    await expect(replayTarget(spec(steps), h3, drill, task, options)).rejects.toThrow(
      /allure results directory is gone/,
    );
    const [first, second] = task.meta.helmdrill!.steps;
    // The first step's own record (no cluster here, so its snapshot failed), then the error.
    expect(first!.commands.filter((c) => !c.probe).map((c) => c.argv[1])).toEqual(["install"]);
    expect(second).toMatchObject({
      status: "failed",
      problem: "the run could not go on: Error: allure results directory is gone",
    });
  });
});
