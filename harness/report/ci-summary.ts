import { existsSync, readFileSync } from "node:fs";

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
}

export function summaryLine(results: VitestJson): string {
  const skipped = results.numPendingTests + results.numTodoTests;
  return `${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`;
}

const file = process.argv[2] ?? "reports/vitest-results.json";
if (import.meta.url === `file://${process.argv[1]}`) {
  if (!existsSync(file)) {
    console.log("0 passed, 1 failed");
    console.error(`helmdrill: ${file} was not written (vitest did not finish)`);
    process.exit(1);
  }
  const results = JSON.parse(readFileSync(file, "utf8")) as VitestJson;
  if (results.numFailedTestSuites) console.error(`helmdrill: ${results.numFailedTestSuites} test files failed to run`);
  console.log(summaryLine({ ...results, numFailedTests: results.numFailedTests + (results.numFailedTestSuites ?? 0) }));
}
