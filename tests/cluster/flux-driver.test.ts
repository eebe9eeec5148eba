/**
 * The flux driver on the real cluster, for each selected flux target (1.4: Helm 3 library, 1.6:
 * Helm 4 library): helm-controller and source-controller (built from their Go modules) run for
 * one namespace, reconcile a HelmRelease from the chart repository helmdrill serves, and a
 * failing reconcile surfaces the controller's own message as the step's outcome; `switchFlux()`
 * replaces the running controllers by another target's. Nothing of the controllers outlives the
 * drill.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";
import { appliedWith, fails, history, resources, succeeds } from "../../harness/dsl/checks.ts";
import { fluxCondition, fluxRelease, switchFlux } from "../../harness/dsl/flux.ts";
import { defineScenario, executeScenario, summarizeFailure } from "../../harness/dsl/scenario.ts";
import { step, type Step } from "../../harness/dsl/step.ts";
import { targetsFor } from "../../harness/dsl/target.ts";
import { openDrill } from "../../harness/vitest/drill.ts";
import { resolveFlux } from "../../harness/tools/flux.ts";
import { skipUnlessStrict } from "../../harness/vitest/strict.ts";

const provided = inject("helmdrill");
const unavailable = (t: string) => resolveFlux(provided.config.cacheDir, t).unavailable;
const targets = targetsFor(["flux"], provided.config, undefined, undefined, false, unavailable);
const [migration] = targetsFor(["flux"], provided.config, undefined, undefined, "only", unavailable);
/**
 * How each flux target's Helm library words an upgrade whose Deployment never gets ready: 1.6's
 * kstatus poll (every 5 s) ends in its rate limiter refusing a poll past the deadline, or a poll later
 * in the timeout (see scenarios/shared/flux-wait.ts).
 */
const TIMED_OUT: Record<string, RegExp> = {
  "1.4": /context deadline exceeded/,
  "1.6":
    /client rate limiter Wait returned an error: rate: Wait\(n=1\) would exceed context deadline|timeout waiting for: \[Deployment\/\S+\/drill status: 'InProgress'\]/,
};
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
describe.each(targets)("the flux driver: flux $flux", (target) => {
  const flux = resolveFlux(provided.config.cacheDir, target.flux!);
  const timedOut = TIMED_OUT[target.flux!] ?? /./;
  describe.skipIf(skipUnlessStrict(`flux ${target.flux}`, flux.unavailable))(fluxLabelOf(target), () => {
    it(
      "reconciles a HelmRelease, then a failing one reports the controller's message; no controller outlives the drill",
      { timeout: 10 * 60_000 },
      async () => {
        const drill = await openDrill(provided, "flux-driver");
        let namespace = drill.namespace;
        try {
          await drill.startFlux(target);
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
                  /Released UpgradeFailed: Helm upgrade failed for release .*\/drill with chart podinfo@0\.2\.1: /,
                  timedOut,
                ),
                // Helm's history as the controller leaves it: the previous revision stays deployed beside the failed one.
                history("deployed", ["failed", timedOut]),
                fluxCondition("Released", "False", "UpgradeFailed", timedOut),
                fluxCondition("Stalled", "True", "RetriesExceeded", /Failed to upgrade after 1 attempt/),
              ),
          );
          const run = await executeScenario(scenario, target, drill.environment(target));
          expect(run.status, summarizeFailure(run)).toBe("passed");
          // The controller's message is the step's observed error, as the matrix cell shows it.
          expect(run.steps[1]!.observedError).toMatch(
            /^Error: Released UpgradeFailed: Helm upgrade failed for release .*\/drill with chart podinfo@0\.2\.1: /,
          );
          expect(run.steps[1]!.observedError).toMatch(timedOut);
          expect(run.steps[1]!.observedError).toMatch(
            /Stalled RetriesExceeded: Failed to upgrade after 1 attempt\(s\)/,
          );
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
          await drill.startFlux(target);
          // A chart version the served repository does not have: the controller can never fetch it.
          const scenario = fluxScenario(
            "never",
            step("a version that does not exist")
              .does(fluxRelease({ repository: "gitops", chart: "podinfo", version: "9.9.9", timeoutMs: 20_000 }))
              .expect(succeeds()),
          );
          const run = await executeScenario(scenario, target, drill.environment(target));
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
});

function fluxLabelOf(target: (typeof targets)[number]): string {
  return `helm-controller with the Helm ${target.helm} library`;
}

// Upgrading Flux under a release: the older target's controllers install it, the newer one's take over.
const switchUnavailable = migration ? migration.unavailable : "select two flux targets (--flux 1.4,1.6)";
describe.skipIf(skipUnlessStrict("switching flux targets", switchUnavailable))("switchFlux()", () => {
  it(
    "replaces the running controllers by the next target's, which reconcile the same HelmRelease",
    { timeout: 10 * 60_000 },
    async () => {
      const drill = await openDrill(provided, "flux-switch");
      const namespace = drill.namespace;
      try {
        await drill.startFlux(migration!);
        const before = controllersOf(namespace);
        expect(before).toHaveLength(2);
        const scenario = fluxScenario(
          "switch",
          step("the older target installs")
            .does(
              fluxRelease({
                repository: "gitops",
                chart: "podinfo",
                version: "0.2.0",
                values: values("helmdrill.local/busybox:1.35.0"),
              }),
            )
            .expect(succeeds(), history(["deployed", "Install complete"])),
          step("switch to the newer target: it handles a reconcile request of the same HelmRelease")
            .does(switchFlux())
            .expect(
              succeeds(/ stopped; helm-controller \S+ \+ source-controller \S+ running/),
              history(["deployed", "Install complete"]),
            ),
          step("the newer target upgrades it")
            .does(
              fluxRelease({
                repository: "gitops",
                chart: "podinfo",
                version: "0.2.1",
                values: values("helmdrill.local/busybox:1.35.0"),
              }),
            )
            .expect(succeeds(), history("superseded", ["deployed", "Upgrade complete"]), appliedWith(/./, /./)),
        );
        const run = await executeScenario(scenario, migration!, drill.environment(migration!));
        expect(run.status, summarizeFailure(run)).toBe("passed");
        const after = controllersOf(namespace);
        expect(after).toHaveLength(2);
        expect(after.filter((pid) => before.includes(pid))).toEqual([]);
      } finally {
        await drill.close();
      }
      expect(controllersOf(namespace)).toEqual([]);
    },
  );
});
