/**
 * `npm run bench:soak -- --runs N [--scenario x --helm 4.1.4 …]`: the catalogue N times on
 * one provisioned machine, to find flakiness. After each run it prints the failures (scenario,
 * target, failing step, observed text) and what the run left behind; at the end a table of
 * passes/failures per scenario and target. Prints figures; asserts nothing.
 */
import path from "node:path";
import type { ScenarioRun } from "../harness/dsl/scenario.ts";
import { flag, passThrough, runSuiteOnce, seconds } from "./lib.ts";

function failureOf(run: ScenarioRun): string {
  const step = run.steps.find((s) => s.status === "failed");
  if (!step) return "failed (no failing step recorded)";
  const check = step.checks.find((c) => !c.ok);
  const observed = (step.problem ?? (check ? `expected ${check.expected}; observed ${check.observed}` : ""))
    .replace(/\s+/g, " ")
    .slice(0, 300);
  return `step ${step.index} "${step.title}": ${observed}`;
}

async function main() {
  const n = Number(flag("runs", "10"));
  const args = passThrough(["runs"]);
  const tally = new Map<string, { pass: number; fail: number; failures: string[] }>();
  let leaks = 0;
  const runLevel: string[] = [];
  for (let i = 1; i <= n; i++) {
    const r = await runSuiteOnce(args);
    const failed = r.runs.filter((x) => x.status === "failed");
    for (const x of r.runs) {
      const key = `${x.scenario} · ${x.targetLabel}`;
      const t = tally.get(key) ?? { pass: 0, fail: 0, failures: [] };
      if (x.status === "failed") {
        t.fail++;
        t.failures.push(`run ${i}: ${failureOf(x)}`);
      } else t.pass++;
      tally.set(key, t);
    }
    const left = r.leakedContainers.length + (r.leakedScratch ? 1 : 0);
    leaks += left;
    console.log(
      `run ${i}/${n}: ${r.runs.length - failed.length} passed, ${failed.length} failed in ${seconds(r.wallMs)} (exit ${r.exitCode}); left behind: ${r.leakedContainers.length} container(s), scratch ${r.leakedScratch ? "PRESENT" : "gone"}; reports ${path.relative(process.cwd(), r.reports)}`,
    );
    if (r.runs.length === 0 || (r.exitCode !== 0 && failed.length === 0)) {
      // The run failed outside any scenario (a test file that did not load, a crash): show why.
      runLevel.push(`run ${i}: exit ${r.exitCode}`);
      const lines = r.output.split("\n");
      const why = lines
        .filter((l) => /FAIL|Error|failed to run|helmdrill: /.test(l) && !/scenario runs|\] /.test(l))
        .slice(-8);
      console.log(
        `  the run failed outside its scenarios (${r.runs.length} run records); output:\n    ${[...why, "…", ...lines.slice(-6)].join("\n    ")}`,
      );
    }
    for (const x of failed) console.log(`  ✖ ${x.scenario} · ${x.targetLabel}: ${failureOf(x)}`);
  }
  console.log(`\nsoak: ${n} runs of the catalogue; per scenario and target:`);
  for (const [key, t] of [...tally].sort())
    console.log(
      `  ${t.fail ? "✖" : "✔"} ${String(t.pass).padStart(3)} passed ${String(t.fail).padStart(3)} failed  ${key}`,
    );
  const failures = [...tally.values()].flatMap((t) => t.failures);
  console.log(
    `\ntotal: ${[...tally.values()].reduce((a, t) => a + t.pass, 0)} passed, ${failures.length} failed; runs failing outside scenarios: ${runLevel.length}; leaks after runs: ${leaks}`,
  );
  for (const f of runLevel) console.log(`  ${f}`);
  for (const f of failures) console.log(`  ${f}`);
}

main().catch((error) => {
  console.error(`bench:soak: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
