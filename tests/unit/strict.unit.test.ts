/**
 * `--strict` (HELMDRILL_STRICT=1, what CI runs): what cannot run fails instead of being skipped,
 * and an expectation outside the pinned versions fails. The decisions, the setting, and the
 * built-in catalogue passing them.
 */
import { describe, expect, it } from "vitest";
import { configToEnv, loadConfig, loadProject } from "../../harness/config.ts";
import { loadCatalogue } from "../../harness/dsl/catalogue.ts";
import { fails, release, succeeds } from "../../harness/dsl/checks.ts";
import { expectationCoverage, strictCoverageFailures } from "../../harness/dsl/coverage.ts";
import type { ScenarioSpec } from "../../harness/dsl/scenario.ts";
import { helm, step } from "../../harness/dsl/step.ts";
import { helmfileSupportsHelm, pinnedKubernetesVersions, pinnedVersions } from "../../harness/pins.ts";
import { cannotRunVerdict } from "../../harness/vitest/strict.ts";

describe("what cannot run here", () => {
  it("is skipped, under --strict failed; what can run runs either way", () => {
    expect(cannotRunVerdict(false, "flux controllers not built")).toBe("skip");
    expect(cannotRunVerdict(true, "flux controllers not built")).toBe("fail");
    expect(cannotRunVerdict(true, undefined)).toBe("run");
    expect(cannotRunVerdict(false, undefined)).toBe("run");
  });

  it("--strict comes from the flag or HELMDRILL_STRICT, and travels to the workers", () => {
    expect(loadConfig({}, { HOME: "/h" }).strict).toBe(false);
    expect(loadConfig({}, { HOME: "/h", HELMDRILL_STRICT: "1" }).strict).toBe(true);
    expect(loadConfig({ strict: true }, { HOME: "/h" }).strict).toBe(true);
    expect(loadConfig({ strict: false }, { HOME: "/h", HELMDRILL_STRICT: "1" }).strict).toBe(false);
    const env = configToEnv(loadConfig({ strict: true }, { HOME: "/h" }));
    expect(env.HELMDRILL_STRICT).toBe("1");
    expect(loadConfig({}, { HOME: "/h", ...env }).strict).toBe(true);
  });
});

const spec = (steps: ScenarioSpec["steps"]): ScenarioSpec => ({
  id: "demo",
  title: "Demo",
  summary: "",
  source: { file: "x.txt", section: "s" },
  release: "r",
  drivers: ["helm", "helmfile"],
  steps,
});
const pinned = { helmVersions: ["3.17.3", "4.1.4"], helmfileVersions: ["0.167.1", "1.8.0"] };

describe("coverage under --strict", () => {
  it("an expectation no pinned version reaches fails (and so does the gap it leaves the pinned targets in)", () => {
    const findings = expectationCoverage(
      spec([
        step("i")
          .does(helm("version"))
          .expect(succeeds(), release({ status: "deployed" }).when({ helm: ">=5" })),
      ]),
      pinned,
    );
    expect(strictCoverageFailures(findings).map((f) => f.kind)).toEqual(["unreached", "gap"]);
  });

  it("a gap only between unpinned versions is reported, not failed", () => {
    const s = spec([
      step("sync")
        .does(helm("version"))
        .expect(
          fails("old").when({ helmfile: "<1.0.0" }),
          fails("new").when({ helmfile: ">=1.7.0" }),
          succeeds().when({ driver: "helm" }),
        ),
    ]);
    const findings = expectationCoverage(s, pinned);
    expect(findings.map((f) => f.kind)).toEqual(["gap"]);
    expect(strictCoverageFailures(findings)).toEqual([]);
  });

  it("a gap a pinned target falls in fails, naming it", () => {
    const s = spec([
      step("upgrade")
        .does(helm("version"))
        .expect(fails("old").when({ helm: "<4" }), fails("new").when({ helm: ">=4.2.0" })),
    ]);
    const failing = strictCoverageFailures(
      expectationCoverage(s, { ...pinned, helmVersions: ["3.17.3", "4.1.4", "4.3.1"] }),
    );
    expect(failing).toHaveLength(1);
    expect(failing[0]!.pinned).toContain("helm 4.1.4");
  });

  it("the built-in catalogue passes: nothing outside the pinned versions that --strict fails on", async () => {
    const catalogue = await loadCatalogue(await loadProject());
    expect(catalogue.length).toBeGreaterThanOrEqual(10);
    const all = {
      helmVersions: pinnedVersions("helm"),
      helmfileVersions: pinnedVersions("helmfile"),
      kubernetesVersions: pinnedKubernetesVersions(),
    };
    const findings = catalogue.flatMap((e) => expectationCoverage(e.spec, all, helmfileSupportsHelm));
    // Gaps there are (between unpinned versions): the check below is not vacuous.
    expect(findings.length).toBeGreaterThan(0);
    expect(strictCoverageFailures(findings)).toEqual([]);
  });
});
