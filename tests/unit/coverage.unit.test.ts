import { describe, expect, it } from "vitest";
import { expectationCoverage } from "../../harness/dsl/coverage.ts";
import { fails, release, succeeds } from "../../harness/dsl/checks.ts";
import type { ScenarioSpec } from "../../harness/dsl/scenario.ts";
import { helm, step } from "../../harness/dsl/step.ts";
import { helmfileSupportsHelm, pinnedVersions } from "../../harness/pins.ts";
import { renderMatrixMarkdown } from "../../harness/report/markdown.ts";
import { buildMatrix } from "../../harness/report/model.ts";
import { loadProject } from "../../harness/config.ts";
import { loadCatalogue } from "../../harness/dsl/catalogue.ts";

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

describe("expectations the pinned versions do not reach", () => {
  it("reports the helmfile versions between <1.0.0 and >=1.7.0 that no outcome expectation covers", () => {
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
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ step: 1, kind: "gap" });
    expect(findings[0]!.text).toMatch(/^no outcome expectation for helmfile 1\.0\.0 \(--args\) \+ helm 3\.17\.3/);
    // The pinned versions themselves are covered: a run of them would never show this.
    expect(findings[0]!.text).not.toMatch(/helmfile (0\.167\.1|1\.8\.0) /);
  });

  it("reports an expectation keyed to a range no pinned version falls in", () => {
    const s = spec([
      step("install")
        .does(helm("version"))
        .expect(succeeds(), release({ status: "deployed" }).when({ helm: ">=5" })),
    ]);
    const findings = expectationCoverage(s, pinned);
    expect(findings.filter((f) => f.kind === "unreached").map((f) => f.text)).toEqual([
      "release deployed [helm >=5] applies to no pinned target",
    ]);
  });

  it("reports nothing for unkeyed or fully covering expectations", () => {
    const s = spec([
      step("install")
        .does(helm("version"))
        .expect(succeeds().when({ helm: "<4" }), succeeds().when({ helm: ">=4" }), release({ status: "deployed" })),
    ]);
    expect(expectationCoverage(s, pinned)).toEqual([]);
  });

  it("every keyed expectation in the built-in catalogue is reached by some pinned version", async () => {
    const catalogue = await loadCatalogue(await loadProject());
    expect(catalogue.length).toBeGreaterThanOrEqual(10);
    const all = { helmVersions: pinnedVersions("helm"), helmfileVersions: pinnedVersions("helmfile") };
    const unreached = catalogue
      .flatMap((e) => expectationCoverage(e.spec, all, helmfileSupportsHelm))
      .filter((f) => f.kind === "unreached");
    expect(unreached).toEqual([]);
  });

  it("is listed in the matrix, not dropped", () => {
    const matrix = buildMatrix([], "Helm 2.16.5");
    matrix.columns.push("helm 3.17.3");
    matrix.coverage = expectationCoverage(
      spec([
        step("sync")
          .does(helm("version"))
          .expect(
            fails().when({ helmfile: "<1.0.0" }),
            fails().when({ helmfile: ">=1.7.0" }),
            succeeds().when({ driver: "helm" }),
          ),
      ]),
      pinned,
    );
    expect(renderMatrixMarkdown(matrix)).toMatch(
      /## Expectations outside the pinned versions[\s\S]*`demo` step 1 \(sync\): gap — no outcome expectation for helmfile 1\.0\.0/,
    );
  });
});
