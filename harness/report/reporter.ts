import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Reporter, TestModule } from "vitest/node";
import type { ScenarioRun } from "../dsl/scenario.ts";
import { targetSlug } from "../dsl/target.ts";
import { loadConfig } from "../config.ts";
import { pins } from "../pins.ts";
import type { CoverageFinding } from "../dsl/coverage.ts";
import { renderMatrixHtml } from "./html.ts";
import { renderMatrixMarkdown, renderTranscript } from "./markdown.ts";
import { buildMatrix, runStatus } from "./model.ts";

export interface CollectedRuns {
  runs: ScenarioRun[];
  /** Expectation coverage per scenario that ran, as each scenario's tests computed it. */
  coverage: CoverageFinding[];
}

/**
 * Collects every scenario run from the tests' meta, in the order of the scenario files
 * (the catalogue's order: the project's globs, then names).
 */
export function collectRuns(modules: readonly TestModule[]): CollectedRuns {
  const runs: ScenarioRun[] = [];
  const coverage = new Map<string, CoverageFinding[]>();
  for (const m of [...modules].sort((a, b) => a.moduleId.localeCompare(b.moduleId))) {
    for (const t of m.children.allTests()) {
      const { helmdrill: run, helmdrillCoverage } = t.meta();
      if (!run) continue;
      runs.push(run);
      if (helmdrillCoverage) coverage.set(run.scenario, helmdrillCoverage);
    }
  }
  return { runs, coverage: [...coverage.values()].flat() };
}

/** The label of the matrix's documented column: the project's own, or the write-ups' Helm and Helmfile. */
export function baselineLabel(projectBaseline?: string): string {
  const p = pins();
  return projectBaseline ?? `write-up (Helm ${p.baseline.helm} / Helmfile ${p.baseline.helmfile})`;
}

export function writeReports(
  { runs, coverage }: CollectedRuns,
  reportsDir: string,
  baseline = baselineLabel(),
): string[] {
  const matrix = buildMatrix(runs, baseline, [...new Set(runs.map((r) => r.scenario))]);
  matrix.coverage = coverage;
  mkdirSync(reportsDir, { recursive: true });
  const written: string[] = [];
  const write = (rel: string, content: string) => {
    const file = path.join(reportsDir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    written.push(file);
  };
  write("conformance/matrix.md", renderMatrixMarkdown(matrix));
  write("conformance/matrix.html", renderMatrixHtml(matrix, { generatedAt: new Date().toISOString() }));
  write("conformance/matrix.json", JSON.stringify(matrix, null, 2));
  write("conformance/runs.json", JSON.stringify(runs, null, 2));
  // Transcripts describe this run only: drop those of earlier runs.
  rmSync(path.join(reportsDir, "transcripts"), { recursive: true, force: true });
  // Runs on several clusters: one transcript per target and cluster ("h3173-k3s-1-33.md").
  const multiCluster = new Set(runs.map((r) => r.clusterLabel)).size > 1;
  const clusterSlug = (r: ScenarioRun) =>
    multiCluster && r.clusterLabel ? `-${r.clusterLabel.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}` : "";
  for (const run of runs)
    write(`transcripts/${run.scenario}/${targetSlug(run.target)}${clusterSlug(run)}.md`, renderTranscript(run));
  return written;
}

export default class HelmdrillReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const found = collectRuns(modules);
    if (found.runs.length === 0) return;
    const { reportsDir, project, root } = loadConfig();
    const runs = found.runs.map((r) => ({ ...r, root: r.root ?? root }));
    const collected = { ...found, runs };
    writeReports(collected, reportsDir, baselineLabel(project?.baseline));
    const failed = runs.filter((r) => runStatus(r) === "failed").length;
    const lost = runs.filter((r) => runStatus(r) === "lost").length;
    process.stderr.write(
      `\nhelmdrill: ${runs.length} scenario runs (${failed} failed${lost ? `, ${lost} on a lost cluster` : ""}); ` +
        `reports in ${reportsDir}/conformance/matrix.{md,html}, transcripts in ${reportsDir}/transcripts/\n`,
    );
  }
}
