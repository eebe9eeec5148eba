/**
 * `npm run bench:upgrade-check [-- --chart <new> --from <previous> --helm 4.1.4 …]`: one
 * `helmdrill upgrade-check` of a chart pair on every default target (each pinned Helm and each
 * Helm 3 → 4 migration), on one provisioned machine, and where its time goes. Prints figures;
 * asserts nothing.
 *
 * - wall time, and time to the first step (provisioning checks, lint, rendering, cluster start);
 * - per target: its upgrade-path and field-ownership runs, their sum, and its slowest step;
 * - the slowest steps overall, with the share spent in their commands (Helm's own waits);
 * - peak memory of the node container and of the runner's process tree.
 *
 * The default pair is the example project's inventory chart, 1.0.0 → 2.0.0 (both directories:
 * no chart repository, no network), as `tests/cli/upgrade-check.test.ts` runs it.
 */
import path from "node:path";
import type { ScenarioRun } from "../harness/dsl/scenario.ts";
import { PACKAGE_ROOT } from "../harness/pins.ts";
import { flag, mib, passThrough, runSuiteOnce, seconds } from "./lib.ts";

const INVENTORY = path.join(PACKAGE_ROOT, "examples", "platform-chart", "charts", "inventory");

type Step = ScenarioRun["steps"][number];
const commandMs = (s: Step) => s.commands.filter((c) => !c.probe).reduce((a, c) => a + c.durationMs, 0);
const slowest = (steps: Step[]) =>
  steps.reduce<Step | undefined>((a, s) => (!a || s.durationMs > a.durationMs ? s : a), undefined);
/** The upgrade-check's two scenarios, by their id: upgrade-<chart>-<case> and field-ownership-<chart>-<case>. */
const kindOf = (r: ScenarioRun) =>
  r.scenario.startsWith("field-ownership") ? "drill" : r.scenario.startsWith("upgrade-") ? "path" : r.scenario;

async function main() {
  const chart = flag("chart", path.join(INVENTORY, "2.0.0"));
  const from = flag("from", path.join(INVENTORY, "1.0.0"));
  const r = await runSuiteOnce([chart, "--from", from, ...passThrough(["chart", "from"])], {}, "upgrade-check");
  if (r.runs.length === 0) {
    // The cause (e.g. "helmdrill could not start its cluster: …") comes before vitest's stack lines.
    const lines = r.output.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
    const cause = lines.filter((l) => /helmdrill(:| could not)/.test(l) && /could not|failed|error/i.test(l));
    console.error(`bench:upgrade-check: the run wrote no run records (exit ${r.exitCode}).`);
    console.error(`${cause.slice(-5).join("\n")}\nOutput tail:\n${lines.slice(-20).join("\n")}`);
    process.exit(2);
  }
  const targets = [...new Set(r.runs.map((x) => x.targetLabel))];
  const sum = r.runs.reduce((a, x) => a + x.durationMs, 0);
  console.log(
    `upgrade-check:            ${path.relative(process.cwd(), from) || from} → ${path.relative(process.cwd(), chart) || chart}`,
  );
  console.log(
    `scenario runs:            ${r.runs.length} on ${targets.length} targets (${r.runs.filter((x) => x.status === "failed").length} failed), exit ${r.exitCode}`,
  );
  console.log(`wall time:                ${seconds(r.wallMs)}`);
  console.log(
    `to the first step:        ${r.firstStepMs ? seconds(r.firstStepMs) : "n/a"} (provisioning checks, lint, helm template, cluster start, vitest start)`,
  );
  console.log(`sum of all runs (serial): ${seconds(sum)} (${(sum / r.wallMs).toFixed(1)} runs in flight on average)`);
  console.log(
    `peak memory:              node container(s) ${mib(r.peakNodeBytes)}, runner process tree ${mib(r.peakRunnerBytes)}`,
  );
  console.log(
    `left behind:              ${r.leakedContainers.length} container(s), scratch ${r.leakedScratch ? "present" : "gone"}`,
  );
  console.log(`reports:                  ${path.relative(process.cwd(), r.reports)}`);

  console.log("\nper target (upgrade path + field-ownership drill = total; its slowest step):");
  const width = Math.max(...targets.map((t) => t.length));
  const byTotal = targets
    .map((t) => ({ t, runs: r.runs.filter((x) => x.targetLabel === t) }))
    .map((e) => ({ ...e, total: e.runs.reduce((a, x) => a + x.durationMs, 0) }))
    .sort((a, b) => b.total - a.total);
  for (const { t, runs, total } of byTotal) {
    const part = (k: string) => runs.filter((x) => kindOf(x) === k).reduce((a, x) => a + x.durationMs, 0);
    const top = slowest(runs.flatMap((x) => x.steps));
    const parts = `${seconds(part("path")).padStart(8)} + ${seconds(part("drill")).padStart(8)} = ${seconds(total).padStart(8)}`;
    console.log(
      `  ${t.padEnd(width)}  ${parts}   ${top ? `${seconds(top.durationMs)} ${top.index}. ${top.title}` : "no steps"}`,
    );
  }

  console.log("\nslowest steps (time in commands — Helm's own waits — in brackets):");
  const steps = r.runs.flatMap((x) => x.steps.map((s) => ({ run: x, s })));
  for (const { run, s } of steps.sort((a, b) => b.s.durationMs - a.s.durationMs).slice(0, 8)) {
    console.log(
      `  ${seconds(s.durationMs).padStart(8)}  (${seconds(commandMs(s)).padStart(7)})  ${run.targetLabel} · ${kindOf(run)} · ${s.index}. ${s.title}`,
    );
  }
}

main().catch((error) => {
  console.error(`bench:upgrade-check: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
