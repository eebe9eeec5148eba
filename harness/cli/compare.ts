import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  compareMatrices,
  comparisonExitCode,
  loadMatrix,
  parseSlowerPercent,
  parseVersionMap,
  renameVersions,
  type Comparison,
} from "../report/compare.ts";
import { comparisonHeadline, renderComparisonHtml, renderComparisonMarkdown } from "../report/compare-render.ts";

export interface CompareOptions {
  /** --slower: percent (default 50). */
  slower?: string;
  /** --html: also write the comparison as an HTML page there. */
  html?: string;
  /** --fail-on-change: exit 1 on any change, not only on new failures. */
  failOnChange?: boolean;
  /** --as old=new,…: read the previous run's versions as these (compare one version with its successor). */
  as?: string | string[];
}

export interface CompareResult {
  comparison: Comparison;
  markdown: string;
  /** One line for stderr: what the exit code means. */
  summary: string;
  exitCode: 0 | 1;
}

/**
 * `helmdrill compare <previous> <current>`: exit 1 on new failures (any change with
 * --fail-on-change), else 0; bad input throws HelmdrillError (exit 2).
 */
export function compareRuns(previousArg: string, currentArg: string, o: CompareOptions = {}): CompareResult {
  const slowerPercent = parseSlowerPercent(o.slower);
  const versions = parseVersionMap(o.as);
  const previous = renameVersions(loadMatrix(previousArg), versions);
  const current = loadMatrix(currentArg);
  const comparison = compareMatrices(previous, current, { slowerPercent });
  const renamed = [...versions].map(([from, to]) => `${from} as ${to}`).join(", ");
  const labels = { previous: renamed ? `${previous.file} (${renamed})` : previous.file, current: current.file };
  const markdown = renderComparisonMarkdown(comparison, labels);
  if (o.html) {
    mkdirSync(path.dirname(path.resolve(o.html)), { recursive: true });
    writeFileSync(o.html, renderComparisonHtml(comparison, labels));
  }
  const exitCode = comparisonExitCode(comparison, o.failOnChange);
  const headline = comparisonHeadline(comparison) ?? "no change";
  const why = comparison.newFailures.length
    ? "new failures"
    : exitCode
      ? "--fail-on-change and something changed"
      : "no new failure";
  return { comparison, markdown, summary: `helmdrill compare: ${headline} (exit ${exitCode}: ${why})`, exitCode };
}
