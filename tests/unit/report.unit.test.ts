import { describe, expect, it } from "vitest";
import type { CheckRecord, CommandRecord, ScenarioRun, StepRecord, StepStatus } from "../../harness/dsl/scenario.ts";
import { targetLabel, type Target } from "../../harness/dsl/target.ts";
import type { ReleaseState } from "../../harness/probes/release.ts";
import type { ResourceSnapshot } from "../../harness/probes/resources.ts";
import { escapeHtml, renderMatrixHtml } from "../../harness/report/html.ts";
import { renderMatrixMarkdown, renderTranscript, trimLines, truncate } from "../../harness/report/markdown.ts";
import { shellQuote } from "../../harness/exec.ts";
import { buildMatrix, documentedText, STATUS_TEXT, type Matrix } from "../../harness/report/model.ts";
import { runsOn } from "../../harness/vitest/drill.ts";
import { CGROUP_V1_NOTE } from "../../harness/provision/privileges.ts";

// ------------------------------------------------------------------ fixtures (pure data, no cluster)

const H39: Target = { driver: "helm", helm: "3.9.0" };
const H312: Target = { driver: "helm", helm: "3.12.0" };
const HF: Target = { driver: "helmfile", helm: "3.12.0", helmfile: "0.106.3", style: "args" };
const [C39, C312, CHF] = [H39, H312, HF].map(targetLabel) as [string, string, string];

const UPGRADE = "failed-upgrade";
const INSTALL = "failed-install";
const DRIFT_312 = "Helm ≥3.12 reports `context deadline exceeded` instead of `timed out waiting for the condition`";
const XSS = "<script>alert('x')</script>";
const LONG_NOTE = `${"very long drift note ".repeat(20)}END`;

function check(ok: boolean, expected: string, observed: string, extra: Partial<CheckRecord> = {}): CheckRecord {
  return {
    ok,
    expected,
    observed,
    check: expected,
    category: "outcome",
    when: "every version",
    phase: "after",
    ...extra,
  };
}

function cmd(argv: string[], stdout = "", stderr = "", exitCode = 0, probe = false): CommandRecord {
  return { argv, stdout, stderr, exitCode, probe, durationMs: 1234 };
}

function release(revisions: [number, string, string][]): ReleaseState {
  const history = revisions.map(([revision, status, description]) => ({
    revision,
    status,
    description,
    chart: "local-chart-0.1.0",
    app_version: "1.0",
  }));
  return {
    release: "my-release",
    exists: history.length > 0,
    history,
    current: history.at(-1),
    storage: history.map((h) => ({
      revision: h.revision,
      status: h.status,
      applyMethod: "client-side (Helm 3: not recorded)" as const,
    })),
  };
}

const SA = {
  kind: "serviceaccount",
  name: "my-release-local-chart",
  status: "ServiceAccount",
  terminating: false,
  labels: {},
} as const;
const SVC = {
  kind: "service",
  name: "my-release-local-chart",
  status: "ClusterIP 10.43.0.12 80/TCP",
  terminating: true,
  labels: {},
} as const;
const SNAPSHOT: ResourceSnapshot = { serviceaccount: [SA], service: [SVC], deployment: [] };

function rec(index: number, status: StepStatus, extra: Partial<StepRecord> = {}): StepRecord {
  const titles = ["Install", "Upgrade with a bad image", "Validate cleanup"];
  return {
    index,
    title: titles[index - 1] ?? `Step ${index}`,
    commands: [],
    checks: [],
    status,
    drift: [],
    durationMs: 10,
    ...extra,
  };
}

function run(scenario: string, title: string, target: Target, steps: StepRecord[]): ScenarioRun {
  return {
    scenario,
    title,
    source: {
      file: "000_6791ce9c9c9433c6.txt",
      section: scenario === UPGRADE ? "Scenario 1: Failed Upgrade" : "Scenario 2: Failed Install",
    },
    target,
    targetLabel: targetLabel(target),
    namespace: `hd-${scenario}`,
    status: steps.some((s) => s.status === "failed") ? "failed" : "passed",
    steps,
    vars: {},
    startedAt: "2025-01-02T03:04:05.000Z",
    durationMs: 45_000,
  };
}

const documented2 = {
  outcome: "fails" as const,
  text: "Error: UPGRADE FAILED: timed out waiting for the condition",
  release: "my-release 2 FAILED",
};

/** helm 3.12: matches, differs, matches. helm 3.9: matches, failed, not-run. helmfile: matches, differs, (step 3 missing). */
function fixtureRuns(): ScenarioRun[] {
  return [
    run(UPGRADE, "Failed upgrade", H312, [
      rec(1, "matches", { documented: { outcome: "succeeds", release: "my-release 1 DEPLOYED" } }),
      rec(2, "differs", {
        documented: documented2,
        drift: [DRIFT_312],
        observedError: "Error: UPGRADE FAILED: context deadline exceeded\nsecond line",
        checks: [check(true, "fails with /context deadline exceeded/", "exit 1", { drift: DRIFT_312 })],
      }),
      rec(3, "matches", { documented: { outcome: "n/a", resources: "serviceaccount only" } }),
    ]),
    run(UPGRADE, "Failed upgrade", H39, [
      rec(1, "matches"),
      rec(2, "failed", {
        observedError: `Error: ${XSS} | piped`,
        problem: "the step's command could not run: boom",
        checks: [
          check(true, "release r2 failed", "r2 failed"),
          check(false, "fails with /UPGRADE FAILED/", `exit 0 | ${XSS}`),
        ],
      }),
      rec(3, "not-run"),
    ]),
    run(UPGRADE, "Failed upgrade", HF, [
      rec(1, "matches"),
      rec(2, "differs", {
        drift: [LONG_NOTE],
        observedError: "in ./helmfile.yaml: failed processing release my-release",
      }),
    ]),
    run(INSTALL, "Failed install", H312, [rec(1, "matches", { title: "Install with everything enabled" })]),
  ];
}

const fixtureMatrix = (): Matrix => buildMatrix(fixtureRuns(), "write-up (Helm 2.16.5)");

/** Markdown with its code spans removed (what is left is rendered as prose / HTML). */
const withoutCode = (md: string) => md.replace(/```[\s\S]*?```/g, "").replace(/(`+)[\s\S]*?\1/g, "");

/** Splits a Markdown table row on unescaped pipes. */
function mdCells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

// ------------------------------------------------------------------ model

describe("buildMatrix", () => {
  const m = fixtureMatrix();

  it("orders columns helm-first by numeric version, then helmfile", () => {
    expect(m.columns).toEqual(["helm 3.9.0", "helm 3.12.0", "helmfile 0.106.3 (--args) + helm 3.12.0"]);
    expect(m.baseline).toBe("write-up (Helm 2.16.5)");
  });

  it("has one row per scenario step, sorted by scenario then step", () => {
    expect(m.rows.map((r) => `${r.scenario}#${r.step}`)).toEqual([
      `${INSTALL}#1`,
      `${UPGRADE}#1`,
      `${UPGRADE}#2`,
      `${UPGRADE}#3`,
    ]);
    expect(m.rows[2]!.title).toBe("Upgrade with a bad image");
    expect(m.rows[2]!.source).toBe("000_6791ce9c9c9433c6.txt — Scenario 1: Failed Upgrade");
  });

  it("fills cells from each run and marks steps missing from a run as absent", () => {
    const step2 = m.rows.find((r) => r.scenario === UPGRADE && r.step === 2)!;
    expect(step2.cells[C312]).toMatchObject({ status: "differs", drift: [DRIFT_312] });
    expect(step2.cells[C312]!.observed).toContain("context deadline exceeded");
    expect(step2.cells[C39]!.status).toBe("failed");
    expect(step2.cells[C39]!.failures).toEqual([
      "the step's command could not run: boom",
      `expected fails with /UPGRADE FAILED/; observed exit 0 | ${XSS}`,
    ]);

    const step3 = m.rows.find((r) => r.scenario === UPGRADE && r.step === 3)!;
    expect(step3.cells[C39]!.status).toBe("not-run");
    expect(step3.cells[CHF]).toEqual({ status: "absent", drift: [], failures: [] });

    const install = m.rows.find((r) => r.scenario === INSTALL)!;
    expect(Object.fromEntries(Object.entries(install.cells).map(([k, v]) => [k, v.status]))).toEqual({
      [C312]: "matches",
      [C39]: "absent",
      [CHF]: "absent",
    });
  });

  it("counts every state per column, not-run included and absent excluded", () => {
    expect(m.totals[C39]).toEqual({ matches: 1, differs: 0, failed: 1, lost: 0, "not-run": 1 });
    expect(m.totals[C312]).toEqual({ matches: 3, differs: 1, failed: 0, lost: 0, "not-run": 0 });
    expect(m.totals[CHF]).toEqual({ matches: 1, differs: 1, failed: 0, lost: 0, "not-run": 0 });
    expect(m.runs).toHaveLength(4);
  });

  it("renders the documented baseline text", () => {
    expect(documentedText(rec(2, "matches", { documented: documented2 }).documented)).toBe(
      "fails; `Error: UPGRADE FAILED: timed out waiting for the condition`; my-release 2 FAILED",
    );
    expect(documentedText(rec(1, "matches").documented)).toBe("—");
    expect(m.rows.find((r) => r.scenario === UPGRADE && r.step === 3)!.documented).toBe("serviceaccount only");
  });
});

// ------------------------------------------------------------------ markdown matrix

describe("renderMatrixMarkdown", () => {
  const md = renderMatrixMarkdown(fixtureMatrix());
  const lines = md.split("\n");

  it("has a title and a legend of every state", () => {
    expect(lines[0]).toBe("# helmdrill conformance matrix");
    expect(md).toContain(`| ✅ matches | ${STATUS_TEXT.matches} |`);
    expect(md).toContain("| 🔶 differs |");
    expect(md).toContain("| ❌ failed |");
    expect(md).toContain("| ⏭ not run |");
    expect(md).toContain("| · absent |");
  });

  it("has a per-column totals table with not-run and absent counted", () => {
    expect(lines).toContain(
      "| Target | ✅ matches | 🔶 differs | ❌ failed | ⚠ cluster lost | ⏭ not run | · absent | Runs |",
    );
    expect(lines).toContain("| helm 3.9.0 | 1 | 0 | 1 | 0 | 1 | 1 | 1 (0 passed, 1 failed) |");
    expect(lines).toContain("| helm 3.12.0 | 3 | 1 | 0 | 0 | 0 | 0 | 2 (2 passed) |");
    expect(lines).toContain("| helmfile 0.106.3 (--args) + helm 3.12.0 | 1 | 1 | 0 | 0 | 0 | 2 | 1 (1 passed) |");
  });

  it("renders one table per scenario with the baseline column first", () => {
    expect(
      lines.filter((l) =>
        l.startsWith(
          "| Step | write-up (Helm 2.16.5) | helm 3.9.0 | helm 3.12.0 | helmfile 0.106.3 (--args) + helm 3.12.0 |",
        ),
      ),
    ).toHaveLength(2);
    expect(md.indexOf("## Failed install")).toBeGreaterThan(0);
    expect(md.indexOf("## Failed upgrade")).toBeGreaterThan(md.indexOf("## Failed install"));
  });

  it("renders each cell's state, observed first line and notes", () => {
    const row2 = lines.find((l) => l.startsWith("| 2. Upgrade with a bad image |"))!;
    const cells = mdCells(row2);
    expect(cells).toHaveLength(5);
    expect(cells[1]).toBe("fails; `Error: UPGRADE FAILED: timed out waiting for the condition`; my-release 2 FAILED");
    expect(cells[2]).toMatch(/^❌ failed<br>`Error: <script>/);
    expect(cells[3]).toBe("🔶 differs<br>`Error: UPGRADE FAILED: context deadline exceeded`<br>" + DRIFT_312);
    expect(cells[3]).not.toContain("second line");
    const row3 = mdCells(lines.find((l) => l.startsWith("| 3. Validate cleanup |"))!);
    expect(row3.slice(2)).toEqual(["⏭ not run", "✅ matches", "· absent"]);
    const install = mdCells(lines.find((l) => l.startsWith("| 1. Install with everything enabled |"))!);
    expect(install.slice(2)).toEqual(["· absent", "✅ matches", "· absent"]);
  });

  it("escapes pipes, HTML and newlines so every row keeps its column count", () => {
    expect(withoutCode(md)).not.toMatch(/(?<!\\)<\/?script>/); // no raw tag outside code spans
    const failedCell = mdCells(lines.find((l) => l.startsWith("| 2. Upgrade with a bad image |"))!)[2]!;
    expect(failedCell).toContain("\\|");
    expect(failedCell).toContain("observed exit 0 \\| \\<script>alert('x')\\</script>"); // in the failure prose, outside code
    expect(failedCell).toContain("`Error: <script>alert('x')</script> \\| piped`"); // in the code span
    for (const l of lines.filter((x) => /^\| \d+\. /.test(x))) expect(mdCells(l)).toHaveLength(5);
    expect(lines.filter((l) => l.includes("second line"))).toHaveLength(0);
  });

  it("truncates long notes to about 160 characters", () => {
    const cell = mdCells(lines.find((l) => l.startsWith("| 2. Upgrade with a bad image |"))!)[4]!;
    const note = cell.split("<br>").at(-1)!;
    expect(note.endsWith("…")).toBe(true);
    expect([...note].length).toBeLessThanOrEqual(160);
    expect(note).not.toContain("END");
  });
});

// ------------------------------------------------------------------ transcript

describe("renderTranscript", () => {
  const longOut = Array.from({ length: 200 }, (_, i) => `line ${i + 1}`).join("\n");
  const transcriptRun = run(UPGRADE, "Failed upgrade", H312, [
    rec(1, "matches", {
      explanation: "Installs `local-chart` with **only** the ServiceAccount <b>.",
      documented: { outcome: "succeeds", release: "my-release 1 DEPLOYED" },
      commands: [
        cmd(
          ["helm", "upgrade", "--install", "my-release", "./local-chart", "--set", "a=b c"],
          'Release "my-release" has been upgraded.\n',
        ),
        cmd(["helm", "history", "my-release", "-o", "json"], "[PROBE-OUTPUT]", "", 0, true),
      ],
      checks: [check(true, "succeeds", "exit 0")],
      release: release([[1, "deployed", "Install complete"]]),
      resources: { serviceaccount: [SA], service: [], deployment: [] },
    }),
    rec(2, "failed", {
      documented: documented2,
      action: "helm upgrade my-release ./local-chart",
      commands: [cmd(["helm", "upgrade", "my-release", "./local-chart"], longOut, `Error: UPGRADE FAILED: ${XSS}`, 1)],
      checks: [
        check(true, "fails with /context deadline exceeded/", "exit 1", {
          drift: DRIFT_312,
          phase: "during",
          when: "helm >=3.12.0 <4",
        }),
        check(false, "release r2 failed", `r2 ${XSS} | x`),
      ],
      release: release([
        [1, "deployed", "Install complete"],
        [2, "failed", 'Upgrade "my-release" failed: context deadline exceeded'],
      ]),
      resources: SNAPSHOT,
      diagnostics: "== diagnostics for namespace hd\n-- events\nWarning Failed Pod/x: ErrImagePull",
      problem: "something broke",
    }),
    rec(3, "not-run", { action: "kubectl get all" }),
  ]);
  const md = renderTranscript(transcriptRun);
  const lines = md.split("\n");

  it("starts with the scenario, target, source, namespace and overall status", () => {
    expect(lines[0]).toBe("# Failed upgrade — helm 3.12.0");
    expect(md).toContain("- **Source:** 000\\_6791ce9c9c9433c6.txt — Scenario 1: Failed Upgrade");
    expect(md).toContain("- **Namespace:** `hd-failed-upgrade`");
    expect(md).toContain("- **Status:** ❌ failed (1 matches, 1 failed, 1 not run)");
  });

  it("renders steps as numbered sections with prose and the documented outcome", () => {
    expect(lines).toContain("## 1. Install");
    expect(lines).toContain("## 2. Upgrade with a bad image");
    expect(lines).toContain("## 3. Validate cleanup");
    expect(md).toContain("Installs `local-chart` with **only** the ServiceAccount \\<b>.");
    expect(md).toContain(
      "The write-up saw: the command failed; it printed `Error: UPGRADE FAILED: timed out waiting for the condition`; release `my-release 2 FAILED`.",
    );
  });

  it("shows non-probe commands as console blocks, quoted like a shell", () => {
    expect(md).toContain(
      "```console\n$ helm upgrade --install my-release ./local-chart --set 'a=b c'\nRelease \"my-release\" has been upgraded.\n```",
    );
    expect(md).not.toContain("PROBE-OUTPUT");
    expect(md).not.toContain("$ helm history");
    expect(md).toContain("_exit 1 · 1.2 s_");
  });

  it("trims long output to about 60 lines", () => {
    const start = lines.indexOf("$ helm upgrade my-release ./local-chart");
    const end = lines.indexOf("```", start);
    const block = lines.slice(start, end);
    expect(block.length).toBeLessThanOrEqual(63);
    expect(block).toContain("line 1");
    expect(block).toContain("line 200");
    expect(block).not.toContain("line 100");
    expect(block.some((l) => /lines omitted/.test(l))).toBe(true);
    expect(block.at(-1)).toBe(`Error: UPGRADE FAILED: ${XSS}`); // output in code blocks stays verbatim
  });

  it("lists expectations as a checklist with drift notes, escaped", () => {
    expect(lines).toContain("- [x] succeeds — exit 0");
    expect(lines).toContain(
      "- [x] fails with /context deadline exceeded/ — exit 1 _(while the command ran; helm >=3.12.0 \\<4)_",
    );
    expect(lines).toContain(`  - 🔶 drift from the write-up: ${DRIFT_312}`);
    expect(lines).toContain("- [ ] release r2 failed — r2 \\<script>alert('x')\\</script> \\| x");
  });

  it("renders release history, resources and diagnostics", () => {
    expect(lines).toContain("| REVISION | STATUS | DESCRIPTION | APPLIED |");
    expect(lines).toContain(
      '| 2 | failed | Upgrade "my-release" failed: context deadline exceeded | client-side (Helm 3: not recorded) |',
    );
    expect(md).toContain("**Release `my-release`** — `helm ls`: revision 2, `FAILED`, chart `local-chart-0.1.0`");
    expect(md).toContain(
      "serviceaccount/my-release-local-chart  ServiceAccount\nservice/my-release-local-chart         ClusterIP 10.43.0.12 80/TCP (terminating)",
    );
    expect(md).toMatch(
      /<details>\n<summary>Diagnostics<\/summary>\n\n```text\n== diagnostics for namespace hd\n[\s\S]*ErrImagePull\n```\n\n<\/details>/,
    );
    expect(md).toContain("**Problem:** something broke");
  });

  it("says that a not-run step was not run, and nothing more", () => {
    const section = md.slice(md.indexOf("## 3. Validate cleanup"));
    expect(section).toContain("⏭ Not run: an earlier step failed");
    expect(section).toContain("`kubectl get all`");
    expect(section).not.toContain("REVISION");
    expect(section).not.toContain("```");
  });

  it("gives the reason of a target that cannot run here, in the transcript and the matrix cell", async () => {
    const { notRunScenario } = await import("../../harness/dsl/scenario.ts");
    const { defineScenario } = await import("../../harness/dsl/scenario.ts");
    const { step } = await import("../../harness/dsl/step.ts");
    const { succeeds, fails } = await import("../../harness/dsl/checks.ts");
    const { cellDetails } = await import("../../harness/report/markdown.ts");
    const APPLY: Target = { driver: "helmfile", helm: "4.1.4", helmfile: "1.8.0", style: "apply" };
    const spec = defineScenario({
      id: "apply-drill",
      title: "Apply drill",
      summary: "",
      source: { file: "x.txt", section: "s" },
      release: "r",
      drivers: ["helmfile"],
      steps: [step("Install").expect(succeeds()), step("Upgrade").expect(fails())],
    });
    const skipped = notRunScenario(spec, APPLY, "helm-diff 3.8.1 supports helm >=3.0.0 <4, not 4.1.4");
    expect(skipped.steps.map((s) => s.status)).toEqual(["not-run", "not-run"]);
    const transcript = renderTranscript(skipped);
    expect(transcript).toContain("⏭ Not run: helm-diff 3.8.1 supports helm >=3.0.0 \\<4, not 4.1.4.");
    expect(transcript).not.toContain("an earlier step failed");
    const matrix = buildMatrix([skipped], "write-up (Helm 2.16.5)");
    const cell = matrix.rows[0]!.cells[targetLabel(APPLY)]!;
    expect(cell.status).toBe("not-run");
    expect(cellDetails(cell).notes).toEqual(["not run: helm-diff 3.8.1 supports helm >=3.0.0 <4, not 4.1.4"]);
    expect(renderMatrixMarkdown(matrix)).toContain("not run: helm-diff 3.8.1 supports helm");
  });

  it("never says a step the write-up does not document matches the write-up", () => {
    const md = renderTranscript(
      run(UPGRADE, "Own steps", H312, [
        rec(1, "matches", { documented: { outcome: "succeeds" } }),
        rec(2, "matches"),
        rec(3, "differs", { drift: ["Helm 4 prints hook logs through its logger"] }),
      ]),
    );
    expect(md).toMatch(/## 1\. Install[\s\S]*\*\*Result:\*\* ✅ matches — matches the write-up \(/);
    expect(md).toMatch(
      /## 2\. Upgrade with a bad image\n\nThe write-up does not document this step\.\n\n\*\*Result:\*\* ✅ matches — matches the scenario's expectations \(not in the write-up\)/,
    );
    expect(md).toMatch(
      /## 3\. Validate cleanup[\s\S]*— differs from the scenario's first expectation \(expected drift; not in the write-up\)/,
    );
    expect(md.match(/matches the write-up/g)).toHaveLength(1);
  });

  it("reports a missing release as not found", () => {
    const gone = renderTranscript(
      run(UPGRADE, "Gone", H312, [rec(1, "matches", { release: release([]), resources: {} })]),
    );
    expect(gone).toContain("No release: `helm history my-release` reports it not found.");
    expect(gone).toContain("No resources found.");
  });
});

describe("markdown helpers", () => {
  it("shell-quotes only when needed", () => {
    expect(shellQuote("--cleanup-on-fail")).toBe("--cleanup-on-fail");
    expect(shellQuote("--cleanup-on-fail --atomic")).toBe("'--cleanup-on-fail --atomic'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("")).toBe("''");
  });
  it("trims and truncates", () => {
    expect(trimLines("a\nb\nc", 60)).toBe("a\nb\nc");
    expect(trimLines(Array.from({ length: 10 }, (_, i) => String(i)).join("\n"), 6).split("\n")).toEqual([
      "0",
      "1",
      "… 5 lines omitted …",
      "7",
      "8",
      "9",
    ]);
    expect(truncate("x".repeat(200))).toHaveLength(160);
    expect(truncate("short")).toBe("short");
  });
});

// ------------------------------------------------------------------ html

describe("renderMatrixHtml", () => {
  const m = fixtureMatrix();
  const html = renderMatrixHtml(m, { generatedAt: "2025-01-02 03:04 UTC", title: "Fixture <matrix>" });

  it("escapes text with escapeHtml", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });

  it("is one self-contained page", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain("<style>");
    expect(html).not.toMatch(/<link\b|<script\b|<img\b|@import|url\(/i);
    expect(html).toContain("<title>Fixture &lt;matrix&gt;</title>");
    expect(html).toContain("2025-01-02 03:04 UTC");
  });

  it("has one cell per step and column, with status, column and step attributes", () => {
    const cells = [
      ...html.matchAll(
        /<td class="cell cell-([a-z-]+)" data-status="([a-z-]+)" data-column="([^"]*)" data-step="([^"]*)"/g,
      ),
    ];
    expect(cells).toHaveLength(m.rows.length * m.columns.length);
    expect(cells).toHaveLength(12);
    const by = Object.fromEntries(cells.map((c) => [`${c[4]}|${c[3]}`, c[2]]));
    expect(by[`${UPGRADE}#2|${C39}`]).toBe("failed");
    expect(by[`${UPGRADE}#2|${C312}`]).toBe("differs");
    expect(by[`${UPGRADE}#3|${C39}`]).toBe("not-run");
    expect(by[`${UPGRADE}#3|${CHF}`]).toBe("absent");
    expect(by[`${INSTALL}#1|${C312}`]).toBe("matches");
    for (const c of cells) expect(c[1]).toBe(c[2]);
  });

  it("has one captioned matrix table per scenario and the baseline header", () => {
    expect(html.match(/<table class="matrix" style="min-width:(\d+)px">/g)).toHaveLength(2);
    expect(html).toContain(`<table class="matrix" style="min-width:${230 + 210 + 150 * 3}px">`);
    expect(html).toMatch(
      /<caption><span class="caption-title">Failed upgrade<\/span><span class="caption-meta"><code>failed-upgrade<\/code> · source: 000_6791ce9c9c9433c6.txt — Scenario 1: Failed Upgrade<\/span>/,
    );
    expect(html.match(/write-up \(Helm 2\.16\.5\)/g)).toHaveLength(3); // two table headers and the page subtitle;
    expect(html).toContain(
      '<td class="baseline"><span class="outcome outcome-fails">fails</span> <code>Error: UPGRADE FAILED: timed out waiting for the condition</code>; my-release 2 FAILED</td>',
    );
    expect(html).toContain(
      '<th scope="col" class="target"><span class="tool">helmfile 0.106.3 <span class="nw">(--args)</span></span> <span class="with">+ helm 3.12.0</span></th>',
    );
  });

  it("escapes observed error text and notes", () => {
    expect(html).not.toContain("<script>");
    expect(html).toContain(
      `<code class="observed">Error: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; | piped</code>`,
    );
    expect(html).toContain(`<li>expected fails with /UPGRADE FAILED/; observed exit 0 | &lt;script&gt;`);
    expect(html).toContain(`<li>the step&#39;s command could not run: boom</li>`);
  });

  it("shows per-column totals in the header", () => {
    const row = html.match(/<tr data-column="helm 3\.9\.0">([\s\S]*?)<\/tr>/)![1]!;
    const nums = [...row.matchAll(/data-status="([a-z-]+)">(\d+)</g)].map((x) => `${x[1]}=${x[2]}`);
    expect(nums).toEqual(["matches=1", "differs=0", "failed=1", "lost=0", "not-run=1", "absent=1"]);
  });

  it("renders an empty matrix without tables", () => {
    const empty = renderMatrixHtml(buildMatrix([], "write-up (Helm 2.16.5)"), { generatedAt: "now" });
    expect(empty).toContain("No runs were recorded.");
    expect(empty).not.toContain('class="matrix"');
  });
});

describe("what the runs ran on", () => {
  const ON = "k3s (helmdrill.local/k3s-compatible-node:v1.34.4-abc), Kubernetes v1.34.4";
  const onCluster = () => fixtureRuns().map((r) => ({ ...r, cluster: ON }));

  it("the matrix (Markdown, HTML, JSON) and every transcript name the cluster and its Kubernetes version", () => {
    const m = buildMatrix(onCluster(), "write-up (Helm 2.16.5)");
    expect(m.clusters).toEqual([ON]);
    expect(renderMatrixMarkdown(m)).toContain(`**Cluster:** ${ON}`);
    expect(renderMatrixHtml(m, { generatedAt: "now" })).toContain(`Cluster: ${ON}`);
    expect(renderTranscript(onCluster()[0]!)).toContain(`- **Cluster:** ${ON}`);
  });

  it("says nothing it does not know: runs without a cluster add no line", () => {
    const m = buildMatrix(fixtureRuns(), "write-up (Helm 2.16.5)");
    expect(m.clusters).toEqual([]);
    expect(renderMatrixMarkdown(m)).not.toContain("**Cluster:**");
    expect(renderTranscript(fixtureRuns()[0]!)).not.toContain("**Cluster:**");
  });

  it("is said without paths or credentials: provider, node image or context, server version", () => {
    expect(
      runsOn(
        { kind: "k3s", name: "0123456789ab", image: "helmdrill.local/k3s-compatible-node:v1.34.4-abc" },
        "v1.34.4",
      ),
    ).toBe(ON);
    expect(runsOn({ kind: "existing", name: "staging" }, "v1.33.2")).toBe(
      "existing cluster (context staging), Kubernetes v1.33.2",
    );
    expect(runsOn({ kind: "kind", name: "helmdrill-x" }, "v1.34.0")).toBe("kind helmdrill-x, Kubernetes v1.34.0");
    // What the node had to be told about its host, where anything.
    expect(
      runsOn(
        { kind: "kind", name: "helmdrill-x", image: "helmdrill.local/kind-node:v1.37.2-abc", host: CGROUP_V1_NOTE },
        "v1.37.2",
      ),
    ).toBe("kind (helmdrill.local/kind-node:v1.37.2-abc), Kubernetes v1.37.2, cgroup v1 (kubelet failCgroupV1: false)");
  });
});
