import { describe, expect, it } from "vitest";
import { walkTarget } from "../../harness/cli/walk.ts";
import { loadConfig } from "../../harness/config.ts";
import type { ScenarioSpec } from "../../harness/dsl/scenario.ts";
import { HelmdrillError } from "../../harness/errors.ts";
import { toolFor } from "../../harness/tools/index.ts";
import { pins } from "../../harness/pins.ts";
import semver from "semver";

const spec = { id: "demo", drivers: ["helm", "helmfile"] } as ScenarioSpec;
const config = (helm?: string, helmfile?: string) => loadConfig({ helm, helmfile }, {});
// The pinned defaults, whatever they are today: the newest Helm, and the newest Helm 3.
const defaults = [...pins().defaults.helm].sort(semver.compare);
const NEWEST = defaults.at(-1)!;
const NEWEST_HELM3 = defaults.filter((v) => semver.major(v) === 3).at(-1)!;

describe("the walkthrough's target", () => {
  it("pairs the newest Helm with the newest helmfile that drives it", () => {
    expect(walkTarget(spec, config(), { driver: "helmfile", pause: false })).toMatchObject({
      helm: NEWEST,
      helmfile: "1.8.0",
    });
  });

  it("never pairs Helm 4 with helmfile 0.167.1 (it panics): an older Helm is taken instead", () => {
    expect(walkTarget(spec, config(undefined, "0.167.1"), { driver: "helmfile", pause: false })).toMatchObject({
      helm: NEWEST_HELM3,
      helmfile: "0.167.1",
    });
  });

  it("honours --helm and --helmfile, and refuses a pair helmfile does not drive", () => {
    expect(
      walkTarget(spec, config("3.17.3", "0.167.1"), {
        driver: "helmfile",
        helm: "3.17.3",
        helmfile: "0.167.1",
        pause: false,
      }),
    ).toMatchObject({
      helm: "3.17.3",
      helmfile: "0.167.1",
    });
    const refuse = () =>
      walkTarget(spec, config("4.1.4", "0.167.1"), {
        driver: "helmfile",
        helm: "4.1.4",
        helmfile: "0.167.1",
        pause: false,
      });
    expect(refuse).toThrow(HelmdrillError);
    expect(refuse).toThrow(/no helmfile among 0\.167\.1 drives helm 4\.1\.4/);
  });

  it("takes the newest pinned Helm for the helm driver", () => {
    expect(walkTarget(spec, config(), { pause: false })).toEqual({ driver: "helm", helm: NEWEST });
  });
});

describe("a target's tool binary", () => {
  const tools = { kubectl: "/k", helm: { "3.17.3": "/h3", "4.1.4": "/h4" }, helmfile: { "1.8.0": "/hf" } };

  it("is the one resolved for its version, never a stand-in", () => {
    expect(toolFor(tools, "helm", "3.17.3")).toBe("/h3");
    expect(() => toolFor(tools, "helm", "3.18.0")).toThrow(/helm 3\.18\.0 was not resolved for this run/);
    expect(() => toolFor(tools, "helmfile", "0.167.1")).toThrow(HelmdrillError);
  });
});
