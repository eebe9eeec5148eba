import { existsSync, readFileSync } from "node:fs";
import { isEntryPoint } from "../entry-point.ts";

/**
 * Prints the closing line CI reads — `N passed, N failed, N skipped` — from vitest's JSON
 * results (reports/vitest-results.json). Exits 1 when the file is missing or unreadable.
 */
interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numTotalTests: number;
  numFailedTestSuites?: number;
  testResults?: { name: string; status: string; message?: string; assertionResults: { status: string }[] }[];
}

/**
 * Test files that failed without a failed test in them: they failed to load or their hooks
 * threw, so their tests never ran. vitest's numFailedTestSuites counts describe blocks too
 * (a file with one failing test inside a describe counts 2), so it cannot be added as is.
 */
export function filesFailedToRun(results: VitestJson): { name: string; message?: string }[] {
  return (results.testResults ?? []).filter(
    (f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed"),
  );
}

export function summaryLine(results: VitestJson): string {
  const skipped = results.numPendingTests + results.numTodoTests;
  return `${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`;
}

const file = process.argv[2] ?? "reports/vitest-results.json";
if (isEntryPoint(import.meta.url)) {
  if (!existsSync(file)) {
    console.log("0 passed, 1 failed");
    console.error(`helmdrill: ${file} was not written (vitest did not finish)`);
    process.exit(1);
  }
  const results = JSON.parse(readFileSync(file, "utf8")) as VitestJson;
  const broken = filesFailedToRun(results);
  for (const f of broken)
    console.error(`helmdrill: ${f.name} failed to run${f.message ? `: ${f.message.split("\n")[0]}` : ""}`);
  console.log(summaryLine({ ...results, numFailedTests: results.numFailedTests + broken.length }));
}
