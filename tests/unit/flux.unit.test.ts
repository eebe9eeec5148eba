import { describe, expect, it } from "vitest";
import { describeConditions, helmReleaseManifests, reconcileVerdict } from "../../harness/dsl/flux.ts";
import { crdStates } from "../../harness/tools/flux.ts";
import { selects, targetLabel, targetSlug, targetsFor } from "../../harness/dsl/target.ts";
import { pins } from "../../harness/pins.ts";

const PINNED = { helmVersions: ["3.17.3", "4.1.4"], helmfileVersions: ["1.8.0"] };

describe("the flux driver's target", () => {
  it("is one column per helm-controller version, keyed by the Helm library it embeds", () => {
    const [flux, ...rest] = targetsFor(["flux"], PINNED);
    expect(rest).toEqual([]);
    expect(flux).toEqual({ driver: "flux", helm: pins().flux.helmLibrary, flux: "1.4.0" });
    expect(targetLabel(flux!)).toBe("flux (helm-controller 1.4.0)");
    expect(targetSlug(flux!)).toBe("flux140");
    expect(selects({ driver: "flux" }, flux!)).toBe(true);
    expect(selects({ helm: "<4" }, flux!)).toBe(true);
  });

  it("is reported as not run, with the reason, where the controllers could not be built", () => {
    const [flux] = targetsFor(
      ["helm", "flux"],
      PINNED,
      undefined,
      undefined,
      false,
      "building source-controller 1.7.0 failed: …",
    ).filter((t) => t.driver === "flux");
    expect(flux!.unavailable).toBe("building source-controller 1.7.0 failed: …");
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
