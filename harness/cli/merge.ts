import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { HelmdrillError } from "../errors.ts";
import { summaryLine } from "../report/ci-summary.ts";
import { runStatus } from "../report/model.ts";
import { baselineLabel, writeReports } from "../report/reporter.ts";
import { checkShardParts, mergeShardParts, readShardPart, shardDirs, type ShardPart } from "../report/shards.ts";
import { combineVerdicts, EXIT_CODE, type RunVerdict } from "../report/verdict.ts";
import { mergeLegResults } from "./run.ts";

export interface MergeResult {
  /** 0 every run passed (and every shard's run did); 1 one failed, or a shard left runs unrecorded; 3 only lost clusters. */
  exitCode: number;
  /** The one line of counts. */
  summary: string;
  /** What is wrong besides failed runs: shards that did not finish, runs without a record. */
  problems: string[];
}

/**
 * `helmdrill merge <dir>… --out <dir>`: the parts `helmdrill run --shard i/n` wrote, checked to
 * belong together (one split, every shard once, one selection and plan — else bad input, exit
 * 2), merged into the reports one unsharded run of the selection writes: the matrix (runs in the
 * plan's order, which is an unsharded run's), runs.json, transcripts, one JUnit file, one Allure
 * results directory, vitest's counts — and, over several clusters, each cluster's under clusters/.
 */
export async function mergeShards(
  args: readonly string[],
  o: { out: string; baseline?: string },
): Promise<MergeResult> {
  const parts = shardDirs(args).map(readShardPart);
  checkShardParts(parts);
  const out = path.resolve(o.out);
  for (const p of parts) {
    const dir = path.resolve(p.dir);
    if (out === dir || out.startsWith(`${dir}${path.sep}`))
      throw new HelmdrillError(`--out ${o.out} is inside the part ${p.dir}`, "merge into a directory of its own");
  }
  const merged = mergeShardParts(parts);
  const baseline = merged.baseline ?? baselineLabel(o.baseline);
  // The merge replaces every result of an earlier run there (the parts themselves may live there too).
  for (const stale of ["junit.xml", "vitest-results.json", "allure-results", "clusters"])
    rmSync(path.join(out, stale), { recursive: true, force: true });
  writeReports(merged.collected, out, baseline);
  const legs = parts[0]!.manifest.selection.legs;
  if (legs.length > 1) {
    for (const leg of legs) {
      const legOut = path.join(out, "clusters", leg);
      const legDirs = parts.flatMap((p) =>
        p.legDirs.filter((l) => l.leg === leg && existsSync(l.dir)).map((l) => l.dir),
      );
      if (legDirs.length === 0) continue;
      const runs = merged.collected.runs.filter((_, i) => merged.planLegs[i] === leg);
      writeReports({ runs, coverage: merged.collected.coverage }, legOut, baseline);
      await mergeLegResults(legOut, legDirs);
      mergeVitestResults(legDirs, legOut);
    }
  } else {
    mergeVitestResults(
      parts.map((p) => p.dir),
      out,
    );
  }
  await mergeLegResults(
    out,
    parts.map((p) => p.dir),
  );

  const problems = [
    ...parts.flatMap((p) =>
      p.manifest.result
        ? []
        : [`shard ${p.manifest.index}/${p.manifest.total} (${p.dir}) did not finish: its shard.json has no result`],
    ),
    ...(merged.missing.length
      ? [
          `${merged.missing.length} planned run(s) have no record in their shard's part: ${merged.missing
            .slice(0, 5)
            .map((r) => r.key)
            .join("; ")}${merged.missing.length > 5 ? "; …" : ""}`,
        ]
      : []),
  ];
  const runs = merged.collected.runs;
  const verdicts: RunVerdict[] = [
    ...parts.map((p) => p.manifest.result?.verdict ?? "failed"),
    ...runs.map(runStatus),
    ...(problems.length ? ["failed" as const] : []),
  ];
  const verdict = combineVerdicts(verdicts);
  const failed = runs.filter((r) => runStatus(r) === "failed").length;
  const lost = runs.filter((r) => runStatus(r) === "lost").length;
  const tests = sumTests(parts);
  const summary =
    `helmdrill merge: ${parts.length} shard${parts.length === 1 ? "" : "s"}, ${runs.length} scenario runs ` +
    `(${failed} failed${lost ? `, ${lost} on a lost cluster` : ""}${merged.missing.length ? `, ${merged.missing.length} not recorded` : ""})` +
    `${tests ? `; tests: ${tests}` : ""} → ${o.out} (exit ${EXIT_CODE[verdict]})`;
  return { exitCode: EXIT_CODE[verdict], summary, problems };
}

function sumTests(parts: readonly ShardPart[]): string | undefined {
  const counted = parts.filter((p) => p.tests);
  if (counted.length === 0) return undefined;
  const sum = (k: "passed" | "failed" | "skipped") => counted.reduce((n, p) => n + p.tests![k], 0);
  return summaryLine({
    numPassedTests: sum("passed"),
    numFailedTests: sum("failed"),
    numPendingTests: sum("skipped"),
    numTodoTests: 0,
    numTotalTests: sum("passed") + sum("failed") + sum("skipped"),
  });
}

/**
 * vitest's JSON results of several parts as one file: counts summed, test files side by side —
 * what `.ci/run`'s closing line (report/ci-summary.ts) reads.
 */
function mergeVitestResults(dirs: readonly string[], out: string): void {
  const results = dirs
    .map((d) => path.join(d, "vitest-results.json"))
    .filter((f) => existsSync(f))
    .map((f) => JSON.parse(readFileSync(f, "utf8")) as Record<string, unknown>);
  if (results.length === 0) return;
  const merged: Record<string, unknown> = {};
  for (const r of results) {
    for (const [key, value] of Object.entries(r)) {
      if (typeof value === "number" && key.startsWith("num")) merged[key] = ((merged[key] as number) ?? 0) + value;
      else if (key === "testResults" && Array.isArray(value))
        merged[key] = [...((merged[key] as unknown[]) ?? []), ...value];
      else if (key === "success") merged[key] = (merged[key] ?? true) && value === true;
      else if (key === "startTime" && typeof value === "number")
        merged[key] = Math.min((merged[key] as number) ?? value, value);
      else merged[key] ??= value;
    }
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, "vitest-results.json"), JSON.stringify(merged));
}
