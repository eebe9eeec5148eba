import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { walkTarget } from "../../harness/cli/walk.ts";
import { loadConfig } from "../../harness/config.ts";
import type { ScenarioSpec } from "../../harness/dsl/scenario.ts";
import { describeConditions, helmReleaseManifests, reconcileVerdict } from "../../harness/dsl/flux.ts";
import { crdStates } from "../../harness/tools/flux.ts";
import { selects, targetLabel, targetSlug, targetsFor, validateSelector } from "../../harness/dsl/target.ts";
import { parseFluxList, pins } from "../../harness/pins.ts";
import { HelmdrillError } from "../../harness/errors.ts";

const PINNED = { helmVersions: ["3.17.3", "4.1.4"], helmfileVersions: ["1.8.0"] };

describe("the flux driver's targets", () => {
  it("are one column per flux target, oldest first, each keyed by the Helm library its helm-controller embeds", () => {
    const targets = targetsFor(["flux"], PINNED);
    expect(targets).toEqual([
      { driver: "flux", helm: pins().flux.targets["1.4"]!.helmLibrary, flux: "1.4" },
      { driver: "flux", helm: pins().flux.targets["1.6"]!.helmLibrary, flux: "1.6" },
    ]);
    const [v14, v16] = targets;
    expect(targets.map(targetLabel)).toEqual(["flux 1.4 (Helm 3 library)", "flux 1.6 (Helm 4 library)"]);
    expect(targets.map(targetSlug)).toEqual(["flux14", "flux16"]);
    expect(selects({ driver: "flux" }, v14!)).toBe(true);
    expect(selects({ helm: "<4" }, v14!)).toBe(true);
    expect(selects({ helm: ">=4" }, v16!)).toBe(true);
    // Keyed by flux target: a helm-controller minor, or a range of them.
    expect(selects({ flux: "1.4" }, v14!)).toBe(true);
    expect(selects({ flux: "1.4" }, v16!)).toBe(false);
    expect(selects({ flux: ">=1.6" }, v16!)).toBe(true);
    // A helm target is no flux target.
    expect(selects({ flux: "1.4" }, { driver: "helm", helm: "3.19.0" })).toBe(false);
  });

  it("follow the selection (--flux), oldest first whatever the order given", () => {
    expect(targetsFor(["flux"], { ...PINNED, fluxTargets: ["1.6"] }).map((t) => t.flux)).toEqual(["1.6"]);
    expect(targetsFor(["flux"], { ...PINNED, fluxTargets: ["1.6", "1.4"] }).map((t) => t.flux)).toEqual(["1.4", "1.6"]);
    expect(targetsFor(["helm"], { ...PINNED, fluxTargets: ["1.6"] }).some((t) => t.driver === "flux")).toBe(false);
  });

  it("are reported as not run, each with its own reason, where its controllers could not be built", () => {
    const why = (flux: string) => (flux === "1.6" ? "building source-controller 1.9.5 failed: …" : undefined);
    const flux = targetsFor(["helm", "flux"], PINNED, undefined, undefined, false, why).filter(
      (t) => t.driver === "flux",
    );
    expect(flux.map((t) => [t.flux, t.unavailable])).toEqual([
      ["1.4", undefined],
      ["1.6", "building source-controller 1.9.5 failed: …"],
    ]);
  });

  it('migrations: one target from each older flux target to each newer one; "only": nothing else', () => {
    const both = targetsFor(["flux"], PINNED, undefined, undefined, true);
    expect(both.map(targetLabel)).toEqual(["flux 1.4 (Helm 3 library)", "flux 1.6 (Helm 4 library)", "flux 1.4 → 1.6"]);
    const [migration] = targetsFor(["flux"], PINNED, undefined, undefined, "only");
    expect(migration).toEqual({
      driver: "flux",
      helm: pins().flux.targets["1.4"]!.helmLibrary,
      helmTo: pins().flux.targets["1.6"]!.helmLibrary,
      flux: "1.4",
      fluxTo: "1.6",
    });
    expect(targetSlug(migration!)).toBe("flux14-flux16");
    expect(selects({ flux: "1.4", fluxTo: "1.6" }, migration!)).toBe(true);
    expect(selects({ fluxTo: "1.4" }, migration!)).toBe(false);
    expect(selects({ helmTo: ">=4" }, migration!)).toBe(true);
    // Without fluxTo, `fluxTo` selects the target's own flux target (a switch is a restart).
    expect(selects({ fluxTo: "1.6" }, { driver: "flux", helm: "4.2.4", flux: "1.6" })).toBe(true);
    // Only one flux target selected: nothing to migrate between.
    expect(targetsFor(["flux"], { ...PINNED, fluxTargets: ["1.6"] }, undefined, undefined, "only")).toEqual([]);
    // Either end not built here: the migration is not run, with the reason.
    const why = (flux: string) => (flux === "1.6" ? "not built" : undefined);
    expect(targetsFor(["flux"], PINNED, undefined, undefined, "only", why)[0]!.unavailable).toBe("not built");
  });

  it("a selector naming a malformed flux range fails when the scenario is defined", () => {
    expect(() => validateSelector({ flux: "one-six" })).toThrow(/invalid semver range for flux: "one-six"/);
  });
});

describe("--flux", () => {
  it("takes pinned flux targets by minor, by helm-controller version, or all; the defaults when empty", () => {
    expect(parseFluxList(undefined)).toEqual(pins().flux.defaults);
    expect(parseFluxList("")).toEqual(pins().flux.defaults);
    expect(parseFluxList("1.6")).toEqual(["1.6"]);
    expect(parseFluxList("v1.6, 1.4,1.6")).toEqual(["1.6", "1.4"]);
    const v16 = pins().flux.targets["1.6"]!.helmController.version.replace(/^v/, "");
    expect(parseFluxList([v16])).toEqual(["1.6"]);
    expect(parseFluxList("all")).toEqual(["1.4", "1.6"]);
  });

  it("names the pinned targets when one is not pinned", () => {
    const error = (input: string) => {
      try {
        parseFluxList(input);
      } catch (e) {
        return e as HelmdrillError;
      }
      throw new Error(`parseFluxList accepted ${input}`);
    };
    expect(error("1.5").message).toBe("flux target 1.5 is not pinned");
    expect(error("1.5").hint).toMatch(
      /^pinned flux targets: 1\.4 \(helm-controller 1\.4\.0, Helm library 3\.19\.0\), 1\.6 \(/,
    );
    expect(error("1.6.0").message).toBe("flux target 1.6.0 is not pinned");
    expect(error("latest").exitCode).toBe(2);
  });
});

describe("when helm-controller has reconciled a generation", () => {
  const hr = (observedGeneration: number, ...conditions: [string, string, string?, string?][]) => ({
    metadata: { generation: 2 },
    status: {
      observedGeneration,
      conditions: conditions.map(([type, status, reason, message]) => ({ type, status, reason, message })),
    },
  });
  it("Ready or Stalled set for this generation, otherwise still running", () => {
    expect(reconcileVerdict(hr(2, ["Ready", "True", "UpgradeSucceeded"]), 2)).toBe("ready");
    // Ready from the previous generation is not this generation's outcome.
    expect(reconcileVerdict(hr(1, ["Ready", "True", "InstallSucceeded"]), 2)).toBeUndefined();
    expect(reconcileVerdict(hr(2, ["Ready", "Unknown", "Progressing"]), 2)).toBeUndefined();
    expect(reconcileVerdict(hr(2, ["Ready", "False", "UpgradeFailed"]), 2)).toBeUndefined();
    expect(
      reconcileVerdict(hr(2, ["Ready", "False", "UpgradeFailed"], ["Stalled", "True", "RetriesExceeded"]), 2),
    ).toBe("stalled");
    expect(reconcileVerdict(undefined, 1)).toBeUndefined();
  });
  it("ignores the previous generation's Stalled or Ready while the controller has not picked the new spec up", () => {
    const stamped = (conditions: [string, string, number][], observedGeneration = 1) => ({
      metadata: { generation: 2 },
      status: {
        observedGeneration,
        conditions: conditions.map(([type, status, g]) => ({ type, status, observedGeneration: g })),
      },
    });
    // Seen in CI: a step read generation 1's give-up right after applying generation 2.
    expect(
      reconcileVerdict(
        stamped([
          ["Ready", "False", 1],
          ["Stalled", "True", 1],
        ]),
        2,
      ),
    ).toBeUndefined();
    expect(reconcileVerdict(stamped([["Ready", "True", 1]], 2), 2)).toBeUndefined();
    expect(
      reconcileVerdict(
        stamped([
          ["Ready", "False", 2],
          ["Stalled", "True", 2],
        ]),
        2,
      ),
    ).toBe("stalled");
    expect(reconcileVerdict(stamped([["Ready", "True", 2]], 2), 2)).toBe("ready");
  });
  it("takes Stalled as this generation's outcome only if it turned True after the apply", () => {
    const applied = new Date("2026-12-02T03:10:20.400Z");
    const stalled = (lastTransitionTime: string) => ({
      metadata: { generation: 3 },
      status: {
        observedGeneration: 2,
        conditions: [
          { type: "Stalled", status: "True", reason: "RetriesExceeded", observedGeneration: 3, lastTransitionTime },
        ],
      },
    });
    // Seen in CI: the previous give-up, already stamped with the new generation, 8 s before the install succeeded.
    expect(reconcileVerdict(stalled("2026-12-02T03:09:58Z"), 3, applied)).toBeUndefined();
    // Whole seconds: a Stalled set in the apply's own second counts.
    expect(reconcileVerdict(stalled("2026-12-02T03:10:20Z"), 3, applied)).toBe("stalled");
    expect(reconcileVerdict(stalled("2026-12-02T03:10:41Z"), 3, applied)).toBe("stalled");
  });
  it("describes the conditions as the controller wrote them", () => {
    expect(
      describeConditions(
        hr(2, ["Ready", "False", "InstallFailed", "context deadline exceeded"], ["Released", "False", "InstallFailed"]),
      ),
    ).toBe("Ready=False InstallFailed: context deadline exceeded\nReleased=False InstallFailed:");
  });
});

describe("the objects a flux step applies", () => {
  it("a HelmRepository on the served URL and a HelmRelease naming the release, chart, version and values", () => {
    const [repo, release] = helmReleaseManifests({
      repository: "gitops",
      chart: "podinfo",
      version: "0.2.1",
      values: { build: "x" },
      spec: { timeout: "1m" },
      release: "podinfo-dev",
      namespace: "ns",
      url: "http://127.0.0.1:1",
    }) as any[];
    expect(repo).toMatchObject({
      kind: "HelmRepository",
      metadata: { name: "podinfo-dev-charts", namespace: "ns" },
      spec: { url: "http://127.0.0.1:1" },
    });
    expect(release).toMatchObject({
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      metadata: { name: "podinfo-dev", namespace: "ns" },
      spec: {
        releaseName: "podinfo-dev",
        timeout: "1m",
        values: { build: "x" },
        chart: {
          spec: {
            chart: "podinfo",
            version: "0.2.1",
            sourceRef: { kind: "HelmRepository", name: "podinfo-dev-charts" },
          },
        },
      },
    });
  });
});

describe("--driver", () => {
  it("takes helmdrill's drivers and names any other", async () => {
    const { parseDrivers } = await import("../../harness/config.ts");
    expect(parseDrivers(["flux", "helm", "flux"])).toEqual(["flux", "helm"]);
    expect(() => parseDrivers(["helm", "argo"])).toThrow(/unknown driver "argo"/);
  });
});

describe("the Flux CRDs' Established state", () => {
  it("counts a CRD whose conditions are still null as not established, and names it", () => {
    const states = crdStates({
      kind: "List",
      items: [
        { metadata: { name: "helmreleases.helm.toolkit.fluxcd.io" }, status: { conditions: null } },
        {
          metadata: { name: "helmrepositories.source.toolkit.fluxcd.io" },
          status: {
            conditions: [
              { type: "NamesAccepted", status: "True", reason: "NoConflicts" },
              { type: "Established", status: "True", reason: "InitialNamesAccepted" },
            ],
          },
        },
        {
          metadata: { name: "helmcharts.source.toolkit.fluxcd.io" },
          status: { conditions: [{ type: "Established", status: "False", reason: "Installing" }] },
        },
      ],
    });
    expect(states.map((s) => [s.name, s.established])).toEqual([
      ["helmreleases.helm.toolkit.fluxcd.io", false],
      ["helmrepositories.source.toolkit.fluxcd.io", true],
      ["helmcharts.source.toolkit.fluxcd.io", false],
    ]);
    expect(states[0]!.conditions).toEqual([]);
    expect(states[2]!.conditions).toEqual(["Established=False(Installing)"]);
  });

  it("reads a single object as well as kubectl's List", () => {
    expect(
      crdStates({
        kind: "CustomResourceDefinition",
        metadata: { name: "a.b" },
        status: { conditions: [{ type: "Established", status: "True" }] },
      }),
    ).toEqual([{ name: "a.b", established: true, conditions: ["Established=True"] }]);
  });
});

describe("the walkthrough's flux target", () => {
  // An empty cache: no controller is built, so the target picked is named in the refusal.
  const cache = mkdtempSync(path.join(os.tmpdir(), "hd-walk-flux-"));
  const config = (flux?: string) => loadConfig({ flux }, { HELMDRILL_CACHE: cache });
  const refusal = (spec: Partial<ScenarioSpec>, flux?: string, option?: string) => {
    try {
      walkTarget({ id: "demo", drivers: ["flux"], ...spec } as ScenarioSpec, config(flux), {
        driver: "flux",
        flux: option,
        pause: false,
      });
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("walkTarget picked a target that cannot run");
  };
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it("is the newest selected flux target, or the one --flux names", () => {
    expect(refusal({})).toMatch(/^flux cannot run here: \S+ \S+ \(flux 1\.6\) is not provisioned/);
    expect(refusal({}, "1.4", "1.4")).toMatch(/\(flux 1\.4\) is not provisioned/);
  });

  it("for a migration walkthrough, the switch to the newest selected target; one target alone cannot migrate", () => {
    expect(refusal({ migrations: "only" })).toMatch(/^flux cannot run here: .*\(flux 1\.(4|6)\) is not provisioned/);
    expect(refusal({ migrations: "only" }, "1.6")).toBe(
      "scenario demo switches flux targets: none of 1.6 leads to flux 1.6",
    );
  });
});
