/**
 * `helmdrill compare`: what changed between two recorded matrices — verdicts, texts, runs added
 * or gone, slower runs — and the exit code a CI job alerts on. Matrices are built here with the
 * model's types, the way matrix.json holds them.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compareRuns } from "../../harness/cli/compare.ts";
import {
  compareMatrices,
  comparisonExitCode,
  hasChanges,
  loadMatrix,
  parseSlowerPercent,
  parseVersionMap,
  renameVersions,
} from "../../harness/report/compare.ts";
import {
  renderComparisonHtml,
  renderComparisonHtmlSection,
  renderComparisonMarkdown,
} from "../../harness/report/compare-render.ts";
import type { CellStatus, Matrix, MatrixCell } from "../../harness/report/model.ts";
import { described } from "./bad-input.ts";

type CellSpec = CellStatus | Partial<MatrixCell>;

/** One scenario run: its target (column), duration and its steps' cells in order. */
interface RunSpec {
  scenario?: string;
  target: string;
  durationMs?: number;
  status?: string;
  cells: CellSpec[];
}

const H3 = "helm 3.17.3";
const H4 = "helm 4.1.4";

/** A matrix.json as buildMatrix writes it: rows per scenario step, a cell per column, "absent" filled in. */
function matrix(runs: RunSpec[]): Matrix {
  const columns = [...new Set(runs.map((r) => r.target))];
  const rows = new Map<string, Matrix["rows"][number]>();
  for (const run of runs) {
    const scenario = run.scenario ?? "failed-upgrade";
    run.cells.forEach((spec, i) => {
      const key = `${scenario}#${i + 1}`;
      const row = rows.get(key) ?? {
        scenario,
        scenarioTitle: scenario,
        source: "000.txt — Scenario 1",
        step: i + 1,
        title: `step ${i + 1}`,
        documented: "—",
        cells: {},
      };
      rows.set(key, row);
      const cell = typeof spec === "string" ? { status: spec } : spec;
      row.cells[run.target] = { status: "matches", drift: [], failures: [], ...cell };
    });
  }
  for (const row of rows.values())
    for (const c of columns) row.cells[c] ??= { status: "absent", drift: [], failures: [] };
  return {
    baseline: "write-up",
    columns,
    rows: [...rows.values()],
    totals: {},
    runs: runs.map((r) => ({
      scenario: r.scenario ?? "failed-upgrade",
      target: r.target,
      status: r.status ?? (r.cells.includes("failed") ? "failed" : "passed"),
      durationMs: r.durationMs ?? 30_000,
    })),
    clusters: ["k3s v1.34.4+k3s1"],
  };
}

const compare = (before: RunSpec[], after: RunSpec[], slowerPercent?: number) =>
  compareMatrices({ matrix: matrix(before) }, { matrix: matrix(after) }, { slowerPercent });

describe("compareMatrices", () => {
  it("two equal runs: no change, exit 0 even with --fail-on-change", () => {
    const runs: RunSpec[] = [
      { target: H3, cells: ["matches", { status: "differs", observed: "Error: timed out", drift: ["Helm 3"] }] },
      { target: H4, cells: ["matches", "failed", "not-run"] },
    ];
    const c = compare(runs, runs);
    expect(hasChanges(c)).toBe(false);
    expect([comparisonExitCode(c), comparisonExitCode(c, true)]).toEqual([0, 0]);
    expect(renderComparisonMarkdown(c, { previous: "a", current: "b" })).toContain("No change: the same 2 runs");
  });

  it("matches → failed is a new failure (exit 1); failed → matches a change (1 only with --fail-on-change)", () => {
    const c = compare(
      [
        { target: H3, cells: ["matches", "matches"] },
        { target: H4, cells: ["failed", "matches"] },
      ],
      [
        { target: H3, cells: ["matches", { status: "failed", observed: "Error: UPGRADE FAILED: boom\nmore" }] },
        { target: H4, cells: ["matches", "matches"] },
      ],
    );
    expect(c.newFailures).toEqual([
      {
        scenario: "failed-upgrade",
        step: 2,
        title: "step 2",
        column: H3,
        from: "matches",
        to: "failed",
        after: "Error: UPGRADE FAILED: boom",
      },
    ]);
    expect(c.verdicts.map((v) => `${v.column}#${v.step} ${v.from}→${v.to}`)).toEqual([
      `${H4}#1 failed→matches`,
      `${H3}#2 matches→failed`,
    ]);
    expect(comparisonExitCode(c)).toBe(1);

    const recovered = compare([{ target: H4, cells: ["failed"] }], [{ target: H4, cells: ["matches"] }]);
    expect(recovered.newFailures).toEqual([]);
    expect(recovered.verdicts).toHaveLength(1);
    expect([comparisonExitCode(recovered), comparisonExitCode(recovered, true)]).toEqual([0, 1]);
  });

  it("matches → differs → failed and back: every step is a verdict change, only → failed a new failure", () => {
    const states: CellStatus[] = ["matches", "differs", "failed", "differs", "matches"];
    const found = states.slice(1).map((to, i) => {
      const c = compare([{ target: H3, cells: [states[i]!] }], [{ target: H3, cells: [to] }]);
      return `${c.verdicts[0]?.from}→${c.verdicts[0]?.to} new:${c.newFailures.length}`;
    });
    expect(found).toEqual([
      "matches→differs new:0",
      "differs→failed new:1",
      "failed→differs new:0",
      "differs→matches new:0",
    ]);
  });

  it("a lost cluster is a verdict change, not a new failure", () => {
    const c = compare([{ target: H3, cells: ["matches"] }], [{ target: H3, status: "lost", cells: ["lost"] }]);
    expect(c.verdicts.map((v) => v.to)).toEqual(["lost"]);
    expect(comparisonExitCode(c)).toBe(0);
  });

  it("a changed error text or drift text under the same verdict is a text change", () => {
    const before = { status: "differs", observed: "Error: timed out waiting", drift: ["Helm 3 keeps it"] } as const;
    const c = compare(
      [{ target: H3, cells: [{ ...before, drift: [...before.drift] }, "matches"] }],
      [
        {
          target: H3,
          cells: [{ status: "differs", observed: "Error: context deadline exceeded", drift: ["Helm 3.18 keeps it"] }],
        },
      ],
    );
    expect(c.texts.map((t) => [t.field, t.before, t.after])).toEqual([
      ["observed", "Error: timed out waiting", "Error: context deadline exceeded"],
      ["drift", "Helm 3 keeps it", "Helm 3.18 keeps it"],
    ]);
    // Step 2 is gone from the run both sides ran: a verdict change to absent.
    expect(c.verdicts.map((v) => `${v.step} ${v.from}→${v.to}`)).toEqual(["2 matches→absent"]);
    expect(c.newFailures).toEqual([]);
    expect(comparisonExitCode(c)).toBe(0);
    expect(comparisonExitCode(c, true)).toBe(1);
  });

  it("what differs between any two runs is not a change: the namespace, later lines, the run's own values", () => {
    const observed = (ns: string, port: number) =>
      `Error: Service "web" in namespace ${ns}: provided port is already allocated: ${port}\nat ${Date.now()}`;
    const before = matrix([
      { target: H3, cells: [{ status: "differs", observed: observed("hd-nodeport-h3173-a1b2c3", 31001) }] },
    ]);
    const after = matrix([
      { target: H3, cells: [{ status: "differs", observed: observed("hd-nodeport-h3173-d4e5f6", 32002) }] },
    ]);
    const key = `failed-upgrade#${H3}`;
    const withVars = compareMatrices(
      { matrix: before, vars: new Map([[key, { port: 31001 }]]) },
      { matrix: after, vars: new Map([[key, { port: 32002 }]]) },
    );
    expect(hasChanges(withVars)).toBe(false);
    // Without the runs' values the port is a change: the comparison is not blind to texts.
    const withoutVars = compareMatrices({ matrix: before }, { matrix: after });
    expect(withoutVars.texts.map((t) => t.after)).toEqual([
      'Error: Service "web" in namespace <namespace>: provided port is already allocated: 32002',
    ]);
  });

  it("runs added and gone; a new run's failed cells are new failures", () => {
    const c = compare(
      [
        { target: H3, cells: ["matches"] },
        { target: "helm 3.16.0", cells: ["matches"] },
      ],
      [
        { target: H3, cells: ["matches"] },
        { target: H4, cells: ["matches", "failed", "not-run"] },
        { scenario: "nodeport-conflict", target: H3, cells: ["matches"] },
      ],
    );
    expect(c.added.map((r) => `${r.scenario} ${r.target} ${r.status}`)).toEqual([
      `failed-upgrade ${H4} failed`,
      `nodeport-conflict ${H3} passed`,
    ]);
    expect(c.gone.map((r) => r.target)).toEqual(["helm 3.16.0"]);
    expect(c.verdicts).toEqual([]);
    expect(c.newFailures.map((v) => `${v.column}#${v.step} ${v.from}→${v.to}`)).toEqual([`${H4}#2 absent→failed`]);
    expect(comparisonExitCode(c)).toBe(1);
    const passingNewRun = compare([], [{ target: H4, cells: ["matches"] }]);
    expect([comparisonExitCode(passingNewRun), comparisonExitCode(passingNewRun, true)]).toEqual([0, 1]);
  });

  it("a run is slower when it took more than the threshold longer; lost runs are not timed", () => {
    const runs = (h3: number, h4: number, status = "passed"): RunSpec[] => [
      { target: H3, durationMs: h3, cells: ["matches"] },
      { target: H4, durationMs: h4, status, cells: ["matches"] },
    ];
    const c = compare(runs(100_000, 100_000), runs(150_000, 150_001));
    expect(c.slower).toEqual([{ scenario: "failed-upgrade", target: H4, beforeMs: 100_000, afterMs: 150_001 }]);
    expect(comparisonExitCode(c)).toBe(0);
    expect(comparisonExitCode(c, true)).toBe(1);
    expect(compare(runs(100_000, 100_000), runs(150_000, 150_001), 100).slower).toEqual([]);
    expect(compare(runs(100_000, 100_000), runs(150_000, 300_000, "lost"), 10).slower.map((r) => r.target)).toEqual([
      H3,
    ]);
  });
});

describe("the comparison's Markdown and HTML", () => {
  const c = compare(
    [
      { target: H3, durationMs: 10_000, cells: ["matches", { status: "differs", observed: "a | b", drift: ["x"] }] },
      { target: "helm 3.16.0", cells: ["matches"] },
    ],
    [
      { target: H3, durationMs: 30_000, cells: ["failed", { status: "differs", observed: "a <b> | c", drift: ["x"] }] },
      { target: H4, cells: ["differs"] },
    ],
  );
  const labels = { previous: "night-1/conformance/matrix.json", current: "reports/conformance/matrix.json" };

  it("Markdown: the headline, then one section per kind of change, with table cells escaped", () => {
    const md = renderComparisonMarkdown(c, labels);
    expect(md).toContain(
      "**1 new failure · 1 text changed · 1 run added · 1 run gone · 1 run slower by more than 50 %**",
    );
    expect(md.match(/^### .+$/gm)).toEqual([
      "### ❌ New failures: cells that were not failed and now are (1)",
      "### Texts changed under the same verdict (1)",
      "### Runs added (1)",
      "### Runs gone (1)",
      "### Runs slower by more than 50 % (1)",
    ]);
    expect(md).toContain("| `failed-upgrade` | 1 · step 1 | helm 3.17.3 | ✅ matches | ❌ failed | — | — |");
    expect(md).toContain("| error observed | `a \\| b` | `a <b> \\| c` |");
    expect(md).toContain("| `failed-upgrade` | helm 3.17.3 | 10.0 s | 30.0 s | +200 % |");
  });

  it("HTML: the same sections, every text escaped; a page of its own around the section", () => {
    const section = renderComparisonHtmlSection(c, labels);
    expect(section).toContain('data-new-failures="1"');
    expect(section.match(/<h3 id="([a-z-]+)"/g)).toEqual([
      '<h3 id="new-failures"',
      '<h3 id="texts"',
      '<h3 id="added"',
      '<h3 id="gone"',
      '<h3 id="slower"',
    ]);
    expect(section).toContain("<code>a &lt;b&gt; | c</code>");
    expect(section).not.toContain("<b>");
    const page = renderComparisonHtml(c, labels);
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain(section);
  });
});

describe("reading the runs to compare", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "helmdrill-compare-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (rel: string, content: unknown) => {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
    return file;
  };
  const message = described;

  it("a reports directory (conformance/matrix.json), a directory holding matrix.json, or the file", () => {
    const m = matrix([{ target: H3, cells: ["matches"] }]);
    const file = write("reports/conformance/matrix.json", m);
    write("artifact/matrix.json", m);
    expect(loadMatrix(path.join(root, "reports")).file).toBe(file);
    expect(loadMatrix(path.join(root, "artifact")).file).toBe(path.join(root, "artifact", "matrix.json"));
    expect(loadMatrix(file).matrix.runs).toEqual(m.runs);
  });

  it("runs.json beside the matrix gives each run's own values, when it holds the same runs", () => {
    const m = matrix([{ target: H3, cells: ["matches"] }]);
    const file = write("with-runs/matrix.json", m);
    write("with-runs/runs.json", [{ scenario: "failed-upgrade", targetLabel: H3, vars: { port: 31001 } }]);
    expect([...loadMatrix(file).vars]).toEqual([[`failed-upgrade#${H3}`, { port: 31001 }]]);
    write("with-runs/runs.json", [{ scenario: "other", vars: { port: 31001 } }]);
    expect(loadMatrix(file).vars.size).toBe(0);
  });

  it("two checkouts in different places compare equal: each run's project root is named {project}", () => {
    const observed = (root: string) => `in ${root}/fixtures/helmfile/helmfile.yaml.gotmpl: failed processing release r`;
    const run = (dir: string, root: string) => {
      const m = matrix([{ target: H3, cells: [{ status: "matches", observed: observed(root) }] }]);
      write(`${dir}/runs.json`, [{ scenario: "failed-upgrade", targetLabel: H3, root }]);
      return loadMatrix(write(`${dir}/matrix.json`, m));
    };
    const c = compareMatrices(run("ci", "/builds/team/charts"), run("laptop", "/home/me/charts"));
    expect(c.texts).toEqual([]);
    // A path outside the project root is still a change.
    const moved = compareMatrices(run("ci2", "/builds/team/charts"), {
      ...run("laptop2", "/home/me/charts"),
      vars: new Map(),
    });
    expect(moved.texts.map((t) => t.after)).toEqual([observed("/home/me/charts")]);
  });

  it("bad input: one message naming the path and what to give instead", () => {
    const hint = /→ give a reports directory .* or a matrix\.json file/;
    expect(message(() => loadMatrix(path.join(root, "nope")))).toMatch(
      new RegExp(`nope does not exist\\n\\s+${hint.source}`),
    );
    mkdirSync(path.join(root, "empty"));
    expect(message(() => loadMatrix(path.join(root, "empty")))).toMatch(/empty holds no matrix\.json/);
    expect(message(() => loadMatrix(write("broken/matrix.json", "{ not json")))).toMatch(
      /broken\/matrix\.json is not a helmdrill matrix\.json: .*JSON/,
    );
    const vitestJson = write("vitest/matrix.json", { numPassedTests: 3, testResults: [] });
    expect(message(() => loadMatrix(vitestJson))).toMatch(
      /vitest\/matrix\.json is not a helmdrill matrix\.json:\n\s+columns: expected array, received undefined/,
    );
    const badState = matrix([{ target: H3, cells: ["matches"] }]);
    (badState.rows[0]!.cells[H3] as { status: string }).status = "great";
    expect(message(() => loadMatrix(write("state/matrix.json", badState)))).toMatch(
      /rows\[0\]\.cells\["helm 3\.17\.3"\]\.status/,
    );
  });

  it("--slower takes a percentage ≥ 0", () => {
    expect([parseSlowerPercent(undefined), parseSlowerPercent("25"), parseSlowerPercent("12.5%")]).toEqual([
      50, 25, 12.5,
    ]);
    for (const bad of ["", "fast", "-5"])
      expect(message(() => parseSlowerPercent(bad))).toMatch(/--slower takes a percentage/);
  });

  it("compareRuns: Markdown, the HTML page when asked, and the exit code with its reason", () => {
    const before = write("night-1/conformance/matrix.json", matrix([{ target: H3, cells: ["matches"] }]));
    const after = write("night-2/conformance/matrix.json", matrix([{ target: H3, cells: ["failed"] }]));
    const html = path.join(root, "out", "sub", "compare.html");
    const r = compareRuns(path.join(root, "night-1"), path.join(root, "night-2"), { html });
    expect(r.exitCode).toBe(1);
    expect(r.summary).toBe("helmdrill compare: 1 new failure (exit 1: new failures)");
    expect(r.markdown).toContain(`Previous: \`${before}\` (1 run) · now: \`${after}\` (1 run)`);
    expect(readFileSync(html, "utf8")).toContain('data-new-failures="1"');
    const back = compareRuns(after, before, { failOnChange: true });
    expect([back.exitCode, back.summary]).toEqual([
      1,
      "helmdrill compare: 1 verdict changed (exit 1: --fail-on-change and something changed)",
    ]);
    expect(compareRuns(before, before).summary).toBe("helmdrill compare: no change (exit 0: no new failure)");
  });
});

describe("--as: comparing one version with its successor", () => {
  const OLD = "helm 3.18.0";
  const NEW = "helm 3.21.4";
  const loaded = (runs: RunSpec[]) => ({ file: "before/matrix.json", matrix: matrix(runs), vars: new Map() });

  it("reads the previous run's columns as the new version's, so cells compare one by one", () => {
    const before = renameVersions(
      loaded([
        { target: OLD, cells: ["matches", { status: "differs", observed: "Error: old text" }] },
        { target: "helmfile 1.8.0 (apply) + helm 3.18.0", cells: ["matches"] },
        { target: "helm 3.18.0 → 4.3.1", cells: ["matches"] },
      ]),
      parseVersionMap("3.18.0=3.21.4, 4.3.1=4.3.2"),
    );
    expect(before.matrix.columns).toEqual([NEW, "helmfile 1.8.0 (apply) + helm 3.21.4", "helm 3.21.4 → 4.3.2"]);
    const c = compareMatrices(before, {
      matrix: matrix([
        { target: NEW, cells: ["failed", { status: "differs", observed: "Error: new text" }] },
        { target: "helmfile 1.8.0 (apply) + helm 3.21.4", cells: ["matches"] },
        { target: "helm 3.21.4 → 4.3.2", cells: ["matches"] },
      ]),
    });
    expect(c.added).toEqual([]);
    expect(c.gone).toEqual([]);
    expect(c.verdicts.map((v) => [v.column, v.step, v.from, v.to])).toEqual([[NEW, 1, "matches", "failed"]]);
    expect(c.texts.map((t) => [t.column, t.before, t.after])).toEqual([[NEW, "Error: old text", "Error: new text"]]);
  });

  it("renames whole versions only, in one pass (no chaining, 13.18.0 untouched)", () => {
    const before = renameVersions(
      loaded([
        { target: "helm 3.18.0 → 3.21.4", cells: ["matches"] },
        { target: "helm 13.18.0", cells: ["matches"] },
      ]),
      parseVersionMap(["3.18.0=3.21.4", "3.21.4=3.22.0"]),
    );
    expect(before.matrix.columns).toEqual(["helm 3.21.4 → 3.22.0", "helm 13.18.0"]);
    expect(before.matrix.runs.map((r) => r.target)).toEqual(before.matrix.columns);
  });

  it("is bad input when a pair is malformed, named twice, or two columns would become one", () => {
    for (const bad of ["3.18.0", "3.18=3.21.4", "a=b", "3.18.0=3.21.4=4.0.0"])
      expect(described(() => parseVersionMap(bad))).toMatch(/--as takes old=new version pairs/);
    expect(described(() => parseVersionMap("3.18.0=3.21.4,3.18.0=3.21.3"))).toMatch(/names 3\.18\.0 twice/);
    expect(described(() => parseVersionMap("3.17.3=3.21.4,3.18.0=3.21.4"))).toMatch(/two versions onto 3\.21\.4/);
    expect(
      described(() =>
        renameVersions(
          loaded([
            { target: OLD, cells: ["matches"] },
            { target: NEW, cells: ["matches"] },
          ]),
          parseVersionMap("3.18.0=3.21.4"),
        ),
      ),
    ).toMatch(/makes two columns of before\/matrix\.json one: helm 3\.21\.4/);
  });
});
