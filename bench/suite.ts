/**
 * `npm run bench:suite [-- --scenario x --helm 4.1.4 …]`: the whole catalogue once on one
 * provisioned machine, and where its time goes. Prints figures; asserts nothing.
 *
 * - wall time, runs per minute, and CPU seconds per run (the run's containers' cgroups plus every
 *   process helmdrill started; on 2 cores the catalogue is CPU-bound, so CPU per run is what to cut);
 * - the longest scenario-target run **alone** on an idle cluster (the same run re-run by itself
 *   afterwards: `--shard 1/n` balanced by this run's durations puts it alone in part 1), and
 *   catalogue wall / that — inside the contended catalogue the longest run stretches with the
 *   load, so wall / its in-catalogue time cannot show the gap (also printed, as before);
 * - the sum of all runs (what a serial runner would take);
 * - time to the first scenario step (provisioning checks + cluster start);
 * - per run: time in commands (Helm waits the scenario must sit out) vs. checks/snapshots;
 * - peak memory of the node container and of the runner's process tree.
 *
 * HELMDRILL_BENCH_ALONE=0 skips the re-run alone.
 */
import path from "node:path";
import type { ScenarioRun } from "../harness/dsl/records.ts";
import { mib, passThrough, runSuiteOnce, seconds, type SuiteRun } from "./lib.ts";

/** The flags of the catalogue run that say where it runs (kept for the re-run alone). */
const WHERE = ["--cluster", "--kubernetes", "--disable", "--config"];

/**
 * `helmdrill run` arguments selecting `longest` and as few siblings as the flags allow, and
 * how many runs of `all` that selection holds (helmfile's styles share one version flag).
 */
function aloneArgs(longest: ScenarioRun, all: readonly ScenarioRun[], passed: readonly string[]): string[] {
  const t = longest.target;
  const helm = [t.helm, t.helmTo].filter(Boolean) as string[];
  const flux = [t.flux, t.fluxTo].filter(Boolean) as string[];
  const where: string[] = [];
  for (let i = 0; i < passed.length; i++) {
    const [name] = passed[i]!.split("=");
    if (!WHERE.includes(name!)) continue;
    where.push(passed[i]!);
    if (!passed[i]!.includes("=") && passed[i + 1] !== undefined) where.push(passed[++i]!);
  }
  const args = [...where, "--scenario", longest.scenario, "--driver", t.driver, "--helm", helm.join(",")];
  if (t.helmfile) args.push("--helmfile", t.helmfile);
  if (flux.length) args.push("--flux", flux.join(","));
  const siblings = all.filter(
    (r) =>
      r.scenario === longest.scenario &&
      r.clusterLabel === longest.clusterLabel &&
      r.target.driver === t.driver &&
      [r.target.helm, r.target.helmTo].every((v) => v === undefined || helm.includes(v)) &&
      (r.target.helmfile === undefined || r.target.helmfile === t.helmfile) &&
      [r.target.flux, r.target.fluxTo].every((v) => v === undefined || flux.includes(v)),
  ).length;
  return siblings > 1 ? [...args, "--shard", `1/${siblings}`] : args;
}

const perRun = (total: number, r: SuiteRun) => (r.runs.length ? total / r.runs.length : NaN);
const cpuLine = (r: SuiteRun) => {
  const own = r.cpu.containers + r.cpu.helmdrill;
  return (
    `${own.toFixed(0)} CPU-s (containers ${r.cpu.containers.toFixed(0)} s + helmdrill's processes ${r.cpu.helmdrill.toFixed(0)} s)` +
    `, ${perRun(own, r).toFixed(1)} CPU-s per run` +
    (r.cpu.engine !== undefined ? `; Docker engine beside it ${r.cpu.engine.toFixed(0)} s` : "")
  );
};

async function main() {
  const passed = passThrough([]);
  const r = await runSuiteOnce(passed);
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
  console.log(`runs per minute:          ${(r.runs.length / (r.wallMs / 60_000)).toFixed(1)}`);
  console.log(`CPU:                      ${cpuLine(r)}`);
  console.log(`longest run in the suite: ${seconds(critical)} (${longest.scenario} · ${longest.targetLabel})`);
  console.log(`wall / that (contended):  ${(r.wallMs / critical).toFixed(2)}×`);
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
  console.log(`reports:                  ${path.relative(process.cwd(), r.reports)}`);
  console.log("\nslowest runs:");
  for (const x of [...r.runs].sort((a, b) => b.durationMs - a.durationMs).slice(0, 8)) {
    console.log(
      `  ${seconds(x.durationMs).padStart(8)}  commands ${seconds(commandMs(x)).padStart(8)}  ${x.scenario} · ${x.targetLabel}`,
    );
  }
  if (process.env.HELMDRILL_BENCH_ALONE === "0") return;

  const args = aloneArgs(longest, r.runs, passed);
  const sharded = args.includes("--shard");
  console.log(
    `\nthe longest run alone:    helmdrill run ${args.join(" ")}${sharded ? ` --shard-durations <this run>` : ""}`,
  );
  const alone = await runSuiteOnce(sharded ? [...args, "--shard-durations", r.reports] : args);
  const same = alone.runs.filter((x) => x.targetLabel === longest.targetLabel && x.scenario === longest.scenario);
  if (alone.runs.length !== 1 || same.length !== 1) {
    console.log(
      `  could not run it alone: ${alone.runs.length} run(s) came back (${alone.runs.map((x) => x.targetLabel).join("; ") || "none"}), exit ${alone.exitCode}`,
    );
    return;
  }
  const solo = same[0]!;
  console.log(`  ${seconds(solo.durationMs)} alone (${solo.status}) vs ${seconds(critical)} inside the catalogue`);
  console.log(`  catalogue wall / longest run alone: ${(r.wallMs / solo.durationMs).toFixed(2)}×`);
  console.log(`  CPU alone: ${cpuLine(alone)}; its process wall ${seconds(alone.wallMs)} with cluster start`);
}

main().catch((error) => {
  console.error(`bench:suite: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
