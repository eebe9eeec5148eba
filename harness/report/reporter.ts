import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Reporter, TestModule } from "vitest/node";
import type { ScenarioRun } from "../dsl/scenario.ts";
import { targetSlug } from "../dsl/target.ts";
import { loadConfig } from "../config.ts";
import { helmfileSupportsHelm, pinnedVersions, pins } from "../pins.ts";
import { expectationCoverage } from "../dsl/coverage.ts";
import { renderMatrixHtml } from "./html.ts";
import { renderMatrixMarkdown, renderTranscript } from "./markdown.ts";
import { buildMatrix } from "./model.ts";
import { catalogue } from "../../scenarios/index.ts";

/** Collects every scenario run from the tests' meta and writes the conformance reports. */
export function collectRuns(modules: readonly TestModule[]): ScenarioRun[] {
  const runs: ScenarioRun[] = [];
  for (const m of modules) {
    for (const t of m.children.allTests()) {
      const run = t.meta().helmdrill;
      if (run) runs.push(run);
    }
  }
  return runs;
}

export function writeReports(runs: ScenarioRun[], reportsDir: string): string[] {
  const p = pins();
  const baseline = `${p.baseline.helm} / Helmfile ${p.baseline.helmfile}`;
  const matrix = buildMatrix(runs, baseline, catalogue.map((s) => s.id));
  const ran = new Set(runs.map((r) => r.scenario));
  const pinned = { helmVersions: pinnedVersions("helm"), helmfileVersions: pinnedVersions("helmfile") };
  matrix.coverage = catalogue.filter((s) => ran.has(s.id)).flatMap((s) => expectationCoverage(s, pinned, helmfileSupportsHelm));
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
  for (const run of runs) write(`transcripts/${run.scenario}/${targetSlug(run.target)}.md`, renderTranscript(run));
  return written;
}

export default class HelmdrillReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const runs = collectRuns(modules);
    if (runs.length === 0) return;
    const { reportsDir } = loadConfig();
    writeReports(runs, reportsDir);
    const failed = runs.filter((r) => r.status === "failed").length;
    process.stderr.write(
      `\nhelmdrill: ${runs.length} scenario runs (${failed} failed); reports in ${reportsDir}/conformance/matrix.{md,html}, transcripts in ${reportsDir}/transcripts/\n`,
    );
  }
}
