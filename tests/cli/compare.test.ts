/**
 * `helmdrill compare` as a CI job runs it: Markdown on stdout, the exit code it alerts on
 * (1 only for new failures unless --fail-on-change), 2 with one message for bad input.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../harness/exec.ts";
import { PACKAGE_ROOT } from "../../harness/pins.ts";
import type { CellStatus, Matrix } from "../../harness/report/model.ts";

const CLI = path.join(PACKAGE_ROOT, "bin", "helmdrill.mjs");
const root = mkdtempSync(path.join(os.tmpdir(), "helmdrill-compare-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
// Hang guards only: in CI this file shares two cores with the CLI project's cluster-starting tests,
// and one `compare` took over 60 s there (killed, exit 143) though it takes about a second alone.
const helmdrill = (...args: string[]) => run(["node", CLI, "compare", ...args], { cwd: root, timeoutMs: 240_000 });

/** A reports directory as `helmdrill run` leaves it: conformance/matrix.json with one run of one step. */
function reports(dir: string, status: CellStatus, durationMs = 20_000): string {
  const column = "helm 4.1.4";
  const matrix: Matrix = {
    baseline: "write-up",
    columns: [column],
    rows: [
      {
        scenario: "failed-upgrade",
        scenarioTitle: "A failed upgrade",
        source: "000.txt — Scenario 1",
        step: 1,
        title: "upgrade",
        documented: "—",
        cells: { [column]: { status, drift: [], failures: [] } },
      },
    ],
    totals: {},
    runs: [{ scenario: "failed-upgrade", target: column, status: "passed", durationMs }],
    clusters: [],
  };
  mkdirSync(path.join(root, dir, "conformance"), { recursive: true });
  writeFileSync(path.join(root, dir, "conformance", "matrix.json"), JSON.stringify(matrix));
  return dir;
}

function expectBadInput(r: Awaited<ReturnType<typeof helmdrill>>, message: RegExp) {
  expect(r.exitCode, r.stderr).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack trace
  expect(r.stdout).toBe("");
}

describe("helmdrill compare", { timeout: 10 * 60_000 }, () => {
  it("a new failure: Markdown on stdout, the HTML page, exit 1", async () => {
    const r = await helmdrill(reports("night-1", "matches"), reports("night-2", "failed"), "--html", "out/c.html");
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^## helmdrill: what changed since the previous run\n/);
    const row = "| `failed-upgrade` | 1 · upgrade | helm 4.1.4 | ✅ matches | ❌ failed | — | — |";
    expect(r.stdout).toContain(row);
    expect(r.stderr).toContain("helmdrill compare: 1 new failure (exit 1: new failures)");
    expect(readFileSync(path.join(root, "out", "c.html"), "utf8")).toContain('data-new-failures="1"');
  });

  it("a change that is no new failure: exit 0, and 1 with --fail-on-change", async () => {
    const [before, after] = [reports("slow-1", "matches", 10_000), reports("slow-2", "matches", 16_000)];
    const plain = await helmdrill(before, after);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout).toContain("### Runs slower by more than 50 % (1)");
    expect((await helmdrill(before, after, "--slower", "70")).stdout).toContain("No change");
    expect((await helmdrill(before, after, "--fail-on-change")).exitCode).toBe(1);
  });

  it("bad input exits 2 with one message: a missing argument, a missing file, a file that is no matrix", async () => {
    expectBadInput(await helmdrill(reports("only", "matches")), /error: missing required argument 'current'/);
    expectBadInput(await helmdrill("only", "nowhere"), /^helmdrill: nowhere does not exist\n\s+→ give a reports/);
    writeFileSync(path.join(root, "results.json"), JSON.stringify({ numPassedTests: 1 }));
    expectBadInput(
      await helmdrill("only", "results.json"),
      /helmdrill: results\.json is not a helmdrill matrix\.json:/,
    );
  });
});
