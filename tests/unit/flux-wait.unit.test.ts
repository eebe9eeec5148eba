import { rmSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fluxRelease } from "../../harness/dsl/flux.ts";
import type { ActionContext } from "../../harness/dsl/step.ts";
import type { CommandResult } from "../../harness/exec.ts";

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);
const ready = {
  metadata: { generation: 1 },
  status: {
    observedGeneration: 1,
    conditions: [{ type: "Ready", status: "True", reason: "InstallSucceeded", message: "ok", observedGeneration: 1 }],
  },
};

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A flux action's context over fakes: `reads` answers the n-th read of the HelmRelease. */
function context(reads: (n: number) => Promise<unknown>): ActionContext {
  let n = 0;
  const applied: CommandResult = {
    argv: [],
    exitCode: 0,
    stdout: "",
    stderr: "",
    durationMs: 5,
    startedAt: new Date(),
    timedOut: false,
  };
  return {
    namespace: "hd-flux",
    release: "web",
    vars: {},
    fixture: (p: string) => `/fixtures/${p}`,
    flux: { repository: async () => "http://127.0.0.1:1/", logs: () => "" },
    runners: {
      kubectl: async (args: string[]) => {
        scratch.push(path.dirname(args.at(-1)!));
        return applied;
      },
    },
    kube: { objects: { read: () => reads(++n) }, kinds: {} },
  } as unknown as ActionContext;
}

const action = (timeoutMs?: number) =>
  fluxRelease({ repository: "gitops", chart: "podinfo", version: "0.2.0", ...(timeoutMs ? { timeoutMs } : {}) });

// Defect 3 in dsl/flux.ts: the wait for helm-controller read the HelmRelease in a loop of its
// own — one transient API error aborted the action, and one read that never answered hung it.
describe("fluxRelease waits for helm-controller with read-only polls", () => {
  it("tolerates a transient read error (a reset connection) instead of aborting the action", async () => {
    const reset = Object.assign(new Error("request to https://127.0.0.1:6443/… failed, reason: read ECONNRESET"), {
      code: "ECONNRESET",
    });
    const r = await action().run(context((n) => (n === 1 || n === 3 ? Promise.reject(reset) : Promise.resolve(ready))));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Ready=True InstallSucceeded");
  });

  it("a read that never answers fails the action at its deadline, naming what it waited for", async () => {
    const r = await action(300).run(context(() => never()));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("Error: not reconciled in time");
    expect(r.stderr).toContain(
      "read(s) of the HelmRelease failed, last: probe failed: reading HelmRelease/web: no answer",
    );
  });
});
