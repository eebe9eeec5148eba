/**
 * `npm run bench:suite [-- --scenario x --helm 4.1.4 …]`: the whole catalogue once on one
 * provisioned machine, and where its time goes. Prints figures; asserts nothing.
 *
 * - wall time, and the critical path: the longest single scenario-target run, which no
 *   scheduling on one cluster can beat; their ratio (the goal is ≤ 1.5);
 * - the sum of all runs (what a serial runner would take);
 * - time to the first scenario step (provisioning checks + cluster start);
 * - per run: time in commands (Helm waits the scenario must sit out) vs. checks/snapshots;
 * - peak memory of the node container and of the runner's process tree.
 */
import { mib, passThrough, runSuiteOnce, seconds } from "./lib.ts";

async function main() {
  const r = await runSuiteOnce(passThrough([]));
  if (r.runs.length === 0) {
    console.error(
      `bench:suite: the run wrote no run records (exit ${r.exitCode}). Output tail:\n${r.output.split("\n").slice(-20).join("\n")}`,
    );
    process.exit(2);
  }
  const durations = r.runs.map((x) => x.durationMs);
  const critical = Math.max(...durations);
  const longest = r.runs.find((x) => x.durationMs === critical)!;
  const sum = durations.reduce((a, b) => a + b, 0);
  const commandMs = (x: (typeof r.runs)[number]) =>
    x.steps.flatMap((s) => s.commands.filter((c) => !c.probe)).reduce((a, c) => a + c.durationMs, 0);
  const inCommands = r.runs.reduce((a, x) => a + commandMs(x), 0);
  console.log(
    `scenario runs:            ${r.runs.length} (${r.runs.filter((x) => x.status === "failed").length} failed), exit ${r.exitCode}`,
  );
  console.log(`wall time:                ${seconds(r.wallMs)}`);
  console.log(`critical path:            ${seconds(critical)} (${longest.scenario} · ${longest.targetLabel})`);
  console.log(`wall / critical path:     ${(r.wallMs / critical).toFixed(2)}×`);
  console.log(`sum of all runs (serial): ${seconds(sum)} (${(sum / r.wallMs).toFixed(1)} runs in flight on average)`);
  console.log(
    `to the first step:        ${r.firstStepMs ? seconds(r.firstStepMs) : "n/a"} (provisioning checks, lint, cluster start, vitest start)`,
  );
  console.log(
    `time in commands:         ${seconds(inCommands)} of ${seconds(sum)} (${((100 * inCommands) / sum).toFixed(0)} %; the rest is checks, snapshots, namespaces)`,
  );
  console.log(
    `peak memory:              node container(s) ${mib(r.peakNodeBytes)}, runner process tree ${mib(r.peakRunnerBytes)}`,
  );
  console.log(
    `left behind:              ${r.leakedContainers.length} container(s), scratch ${r.leakedScratch ? "present" : "gone"}`,
  );
  console.log("\nslowest runs:");
  for (const x of [...r.runs].sort((a, b) => b.durationMs - a.durationMs).slice(0, 8)) {
    console.log(
      `  ${seconds(x.durationMs).padStart(8)}  commands ${seconds(commandMs(x)).padStart(8)}  ${x.scenario} · ${x.targetLabel}`,
    );
  }
}

main().catch((error) => {
  console.error(`bench:suite: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
