/**
 * The flux driver on the real cluster: helm-controller and source-controller (built from their
 * Go modules) run for one namespace, reconcile a HelmRelease from the chart repository helmdrill
 * serves, and a failing reconcile surfaces the controller's own message as the step's outcome.
 * Nothing of the controllers outlives the drill.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";
import { fails, history, resources, succeeds } from "../../harness/dsl/checks.ts";
import { fluxCondition, fluxRelease } from "../../harness/dsl/flux.ts";
import { defineScenario, executeScenario, summarizeFailure } from "../../harness/dsl/scenario.ts";
import { step, type Step } from "../../harness/dsl/step.ts";
import { targetsFor } from "../../harness/dsl/target.ts";
import { openDrill } from "../../harness/vitest/drill.ts";
import { resolveFlux } from "../../harness/tools/flux.ts";
import { skipUnlessStrict } from "../../harness/vitest/strict.ts";

const provided = inject("helmdrill");
const flux = resolveFlux(provided.config.cacheDir);
const [target] = targetsFor(["flux"], provided.config, undefined, undefined, false, flux.unavailable);
const values = (image: string) => ({
  image: { repository: image.split(":")[0], tag: image.split(":")[1] },
  build: "drill",
  replicaCount: 1,
});

const fluxScenario = (release: string, ...steps: Step[]) =>
  defineScenario({
    id: release,
    title: release,
    summary: "",
    source: { file: "-", section: "-" },
    release,
    drivers: ["flux"],
    steps,
  });

/** Processes whose environment names this namespace as the controllers' RUNTIME_NAMESPACE. */
function controllersOf(namespace: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/environ`, "latin1").split("\0").includes(`RUNTIME_NAMESPACE=${namespace}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

// Skipped where the controllers are not built — under --strict (CI) a failed test instead.
describe.skipIf(skipUnlessStrict("the flux driver", flux.unavailable))("the flux driver", () => {
  it(
    "reconciles a HelmRelease, then a failing one reports the controller's message; no controller outlives the drill",
    { timeout: 10 * 60_000 },
    async () => {
      const drill = await openDrill(provided, "flux-driver");
      let namespace = drill.namespace;
      try {
        await drill.startFlux();
        expect(controllersOf(namespace)).toHaveLength(2);
        const scenario = fluxScenario(
          "drill",
          step("install from the served repository")
            .does(
              fluxRelease({
                repository: "gitops",
                chart: "podinfo",
                version: "0.2.0",
                values: values("helmdrill.local/busybox:1.35.0"),
              }),
            )
            .expect(
              succeeds(),
              history(["deployed", "Install complete"]),
              resources({ deployment: ["drill"] }),
              fluxCondition("Ready", "True", "InstallSucceeded"),
            ),
          step("an upgrade to an image that cannot be pulled, with a 20 s timeout and no remediation")
            .does(
              fluxRelease({
                repository: "gitops",
                chart: "podinfo",
                version: "0.2.1",
                values: values("registry.invalid/helmdrill/bad-image:0.1.0"),
                spec: { timeout: "20s", upgrade: { remediation: { retries: 0 } } },
              }),
            )
            .expect(
              fails(
                /Released UpgradeFailed: Helm upgrade failed for release .*\/drill with chart podinfo@0\.2\.1: .*context deadline exceeded/,
              ),
              // Helm's history as the controller leaves it: the previous revision stays deployed beside the failed one.
              history("deployed", ["failed", /context deadline exceeded/]),
              fluxCondition("Released", "False", "UpgradeFailed", /context deadline exceeded/),
              fluxCondition("Stalled", "True", "RetriesExceeded", /Failed to upgrade after 1 attempt/),
            ),
        );
        const run = await executeScenario(scenario, target!, drill.environment(target!));
        expect(run.status, summarizeFailure(run)).toBe("passed");
        // The controller's message is the step's observed error, as the matrix cell shows it.
        expect(run.steps[1]!.observedError).toMatch(
          /^Error: Released UpgradeFailed: Helm upgrade failed for release .*\/drill with chart podinfo@0\.2\.1: .*context deadline exceeded/,
        );
        expect(run.steps[1]!.observedError).toMatch(/Stalled RetriesExceeded: Failed to upgrade after 1 attempt\(s\)/);
      } finally {
        await drill.close();
      }
      expect(controllersOf(namespace)).toEqual([]);
    },
  );

  it(
    "a HelmRelease that never reconciles in the step's time fails the step with the last observed conditions",
    { timeout: 5 * 60_000 },
    async () => {
      const drill = await openDrill(provided, "flux-never");
      try {
        await drill.startFlux();
        // A chart version the served repository does not have: the controller can never fetch it.
        const scenario = fluxScenario(
          "never",
          step("a version that does not exist")
            .does(fluxRelease({ repository: "gitops", chart: "podinfo", version: "9.9.9", timeoutMs: 20_000 }))
            .expect(succeeds()),
        );
        const run = await executeScenario(scenario, target!, drill.environment(target!));
        expect(run.status).toBe("failed");
        expect(run.steps[0]!.observedError).toMatch(
          /^Error: not reconciled in time; last conditions: .*Ready=(False|Unknown)/,
        );
        // The HelmRelease only knows its source is not ready (the HelmChart holds the fetch error).
        expect(run.steps[0]!.observedError).toMatch(/Ready SourceNotReady: HelmChart '\S+' is not ready/);
      } finally {
        await drill.close();
      }
    },
  );

  it("controllers that cannot start: one error naming the component and its last log lines, and no process left", async () => {
    const drill = await openDrill(provided, "flux-broken");
    try {
      const { startFlux } = await import("../../harness/tools/flux.ts");
      // helm-controller's binary in source-controller's place: it exits at once on source-controller's flags.
      const broken = { ...flux, binaries: { ...flux.binaries!, sourceController: flux.binaries!.helmController } };
      const error = await startFlux({
        flux: broken,
        kubectl: provided.tools.kubectl,
        kubeconfigPath: provided.kubeconfigPath,
        namespace: drill.namespace,
        runId: provided.config.runId,
      }).then(
        () => undefined,
        (e: Error & { hint?: string }) => e,
      );
      expect(error?.message).toMatch(/^flux source-controller could not start \(exited with \d+\)(: .*)?$/);
      expect(error?.hint).toMatch(/its last log lines:\n[\s\S]*storage-path/);
      expect(controllersOf(drill.namespace)).toEqual([]);
    } finally {
      await drill.close();
    }
  });
});
