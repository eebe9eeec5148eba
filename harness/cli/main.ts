import { readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command, Option } from "commander";
import { findConfigFile, loadConfig, loadProject, shardOption, type ConfigOverrides } from "../config.ts";
import { COMPONENTS, pinnedKubernetesMinors, pins } from "../pins.ts";
import { checkScenarioNames, loadCatalogue } from "../dsl/catalogue.ts";
import { describeError, HelmdrillError } from "../errors.ts";
import { run } from "../exec.ts";
import { RUN_LABEL } from "../cluster/types.ts";
import { kindClusterName } from "../cluster/index.ts";
import { compareRuns } from "./compare.ts";
import { doctor } from "./doctor.ts";
import { init } from "./init.ts";
import { mergeShards } from "./merge.ts";
import { runSuite } from "./run.ts";
import { upgradeCheck } from "./upgrade-check.ts";
import { walk } from "./walk.ts";
import { versions } from "./versions.ts";
import { isEntryPoint } from "../entry-point.ts";

/**
 * The `helmdrill` command. Exit codes: 0 success; 1 a scenario (or doctor check) failed;
 * 2 bad input or an environment problem (unknown scenario or version, missing Docker,
 * unreachable cluster, existing cluster without opt-in, malformed chart) — always with one
 * clear message, never a bare stack trace; 3 (`run`) the cluster died under the run (its node
 * container exited, its API server stopped answering) and nothing else failed — an
 * infrastructure fault, not a Helm behaviour.
 */
/**
 * A comma-separated option value as a list: "a, b,c" → [a, b, c]; a repeated option adds to it.
 * Only split here: what each item may be is checked by loadConfig, with the project's pins loaded.
 */
export function commaList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

const clusterOptions = (cmd: Command) =>
  cmd
    .addOption(
      new Option(
        "--cluster <providers>",
        "cluster provider: k3s (default), kind or existing; `run` takes a list (k3s,kind) and runs the scenarios on each",
      ).argParser(commaList),
    )
    .option(
      "--kubernetes <minors>",
      `Kubernetes minor of the node helmdrill starts, pinned: ${pinnedKubernetesMinors().join(", ")} (default ${pins().cluster.kubernetes.default}); \`run\` takes a list (1.33,1.34) or "all"`,
      commaList,
    )
    .option(
      "--disable <components>",
      `packaged components to switch off, like k3s's --disable: ${COMPONENTS.join(", ")} or all`,
      commaList,
    )
    .option("--kubeconfig <file>", "kubeconfig for --cluster existing")
    .option("--context <name>", "context for --cluster existing")
    .option("--allow-existing-cluster", "opt in to installing and uninstalling releases on the named existing cluster")
    .option(
      "--helm <versions>",
      "comma-separated Helm versions: pinned, or any the Go module proxy serves (built on first use, locked in helmdrill.lock; default: the pinned defaults)",
      commaList,
    )
    .option(
      "--helmfile <versions>",
      "comma-separated Helmfile versions, pinned or built on first use like --helm's (default: the pinned defaults)",
      commaList,
    )
    .option("--keep", "keep the cluster and the namespace of a failed scenario for inspection")
    .option("--config <file>", "the project's helmdrill.config.ts (default: found from the working directory upwards)");

/** The project a command works on: its config file loaded and validated, then the run's configuration. */
async function configFor(o: Record<string, unknown>) {
  const project = await loadProject({ configPath: o.config as string | undefined });
  return { ...loadConfig(overrides(o)), project };
}

/**
 * upgrade-check and merge need no project, but use one when there is one: `--config`, else a config
 * found from the working directory upwards — its pins, targets, images and reports directory, as
 * every other command does.
 */
async function configIfAny(o: Record<string, unknown>) {
  const configPath = (o.config as string | undefined) ?? findConfigFile();
  return configPath ? configFor({ ...o, config: configPath }) : loadConfig(overrides(o));
}

/** Only `run` goes over several clusters or Kubernetes minors. */
function oneCluster<C extends { clusters: string[]; kubernetes: string[] }>(config: C, command: string): C {
  if (config.clusters.length > 1 || config.kubernetes.length > 1) {
    throw new HelmdrillError(
      `${command} runs on one cluster: --cluster ${config.clusters.join(",")} --kubernetes ${config.kubernetes.join(",")} names several`,
      "name one provider and one Kubernetes minor (`helmdrill run` takes lists)",
    );
  }
  return config;
}

/** The commander options as overrides; list options arrive split by commaList (walk's --driver is one value). */
export function overrides(o: Record<string, unknown>): ConfigOverrides {
  const list = (key: string) => {
    const value = o[key] as string | string[] | undefined;
    return typeof value === "string" ? commaList(value) : value;
  };
  return {
    helm: list("helm"),
    helmfile: list("helmfile"),
    cluster: list("cluster"),
    kubernetes: list("kubernetes"),
    disable: list("disable"),
    kubeconfig: o.kubeconfig as string | undefined,
    context: o.context as string | undefined,
    allowExistingCluster: o.allowExistingCluster as boolean | undefined,
    keep: o.keep as boolean | undefined,
    scenarios: list("scenario"),
    drivers: list("driver"),
    reportsDir: o.reports as string | undefined,
    strict: o.strict as boolean | undefined,
  };
}

export function program(): Command {
  const p = new Command("helmdrill")
    .description(
      "Replays documented Helm/Helmfile failure scenarios on a real cluster and reports, per version, where behaviour matches the write-ups.",
    )
    .showHelpAfterError();

  clusterOptions(
    p
      .command("run")
      .description("run the project's scenarios (helmdrill's own catalogue in this repository) and write reports"),
  )
    .option("--scenario <names...>", "only these scenarios (see `helmdrill list`)", commaList)
    .option(
      "--driver <drivers>",
      "only these drivers' columns, comma-separated: helm, helmfile, flux (default: every driver a scenario names)",
      commaList,
    )
    .option("--reports <dir>", "where to write reports (default: the config's reports, else reports/)")
    .option("--no-provision", "do not provision missing tools and images first")
    .option(
      "--strict",
      "fail, not skip, what cannot run here (a target, a driver), and an expectation no pinned version reaches (also HELMDRILL_STRICT=1; CI runs it)",
    )
    .option(
      "--shard <i/n>",
      "run part i of n of the selection's runs (scenario × target × cluster), into <reports>/shard-<i>-of-<n>/ for `helmdrill merge` (default: GitLab's CI_NODE_INDEX/CI_NODE_TOTAL when set)",
    )
    .option(
      "--shard-durations <report>",
      "balance the shards by each run's time in a previous run's reports directory (or its runs.json); every shard must get the same one",
    )
    .addHelpText(
      "after",
      "\nExit codes: 0 every scenario matched; 1 a scenario failed (or could not run); 2 bad input or environment;\n" +
        "3 the cluster died under the run (node container exited, API server gone) and nothing else failed.",
    )
    // A usage error is bad input (2), never the 1 of a failed scenario.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (o) => {
      const shard = shardOption(o.shard);
      process.exitCode = await runSuite(
        { ...(await configFor(o)), shard },
        { provision: o.provision !== false, shardDurations: o.shardDurations },
      );
    });

  p.command("merge")
    .argument(
      "<dirs...>",
      "the shards' parts: the shard-<i>-of-<n>/ directories `run --shard` wrote, or directories holding them",
    )
    .description(
      "merge the parts of a sharded run into one report, as one unsharded run writes it: the matrix, runs.json, transcripts, one JUnit file, one Allure results directory",
    )
    .option("--out <dir>", "where to write the merged reports (default: the config's reports, else reports/)")
    .option("--config <file>", "the project's helmdrill.config.ts (default: found from the working directory upwards)")
    .addHelpText(
      "after",
      "\nExit codes: 0 every merged run passed; 1 a run failed, a shard did not finish or left runs unrecorded;\n" +
        "2 bad input (parts of different splits or selections, a shard missing or given twice); 3 only lost clusters.",
    )
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (dirs: string[], o) => {
      const config = await configIfAny(o);
      const result = await mergeShards(dirs, { out: o.out ?? config.reportsDir, baseline: config.project?.baseline });
      for (const problem of result.problems) process.stderr.write(`helmdrill merge: ${problem}\n`);
      console.log(result.summary);
      process.exitCode = result.exitCode;
    });

  p.command("list")
    .description("print the project's scenarios")
    .option("--config <file>", "the project's helmdrill.config.ts")
    .action(async (o) => {
      const catalogue = (await loadCatalogue(await loadProject({ configPath: o.config }))).map((e) => e.spec);
      const width = Math.max(...catalogue.map((s) => s.id.length));
      for (const s of catalogue) {
        console.log(
          `${s.id.padEnd(width)}  ${s.title}  [${(s.drivers ?? ["helm"]).join("+")}; ${s.steps.length} steps]  ← ${s.source.file}: ${s.source.section}`,
        );
      }
    });

  clusterOptions(
    p
      .command("upgrade-check")
      .argument("<chart>", "the new chart: a directory, a .tgz, or <name>@<version> with --repo")
      .description(
        "upgrade a chart from its previous version on every Helm version and the Helm 3 → 4 migration: install, helm test, upgrade, helm test, roll back, upgrade again, and a field-ownership drill",
      ),
  )
    .requiredOption(
      "--from <previous>",
      "the version running today: a version in --repo, <name>@<version>, a .tgz, a directory, or git:<ref> of the chart's repository",
    )
    .option("--repo <url>", "chart repository for versions and <name>@<version>")
    .option("--values <file>", "a values file; each is its own case (repeatable)", (v: string, all: string[] = []) => [
      ...all,
      v,
    ])
    .option("--release <name>", "release name (default: the chart's name)")
    .option("--timeout <duration>", "helm --timeout for every install, upgrade, rollback and test", "5m")
    .option("--image <refs...>", "local images the chart runs, preloaded into the cluster")
    .option("--reports <dir>", "where to write reports (default: reports/)")
    .option("--no-provision", "do not provision missing tools and images first")
    .action(async (chart: string, o) => {
      const config = oneCluster(await configIfAny(o), "upgrade-check");
      process.exitCode = await upgradeCheck(
        config,
        {
          chart,
          from: o.from,
          repo: o.repo,
          values: o.values ?? [],
          release: o.release,
          timeout: o.timeout,
          images: o.image ?? [],
        },
        { provision: o.provision !== false },
      );
    });

  clusterOptions(
    p.command("doctor").description("check Docker, images, tool versions and cluster reachability"),
  ).action(async (o) => {
    const checks = await doctor(await configFor(o));
    for (const c of checks)
      console.log(`${c.ok ? "✔" : "✖"} ${c.name}: ${c.detail}${!c.ok && c.fix ? `\n    → ${c.fix}` : ""}`);
    const bad = checks.filter((c) => !c.ok).length;
    console.log(bad ? `${bad} problem(s) found` : "all checks passed");
    process.exitCode = bad ? 1 : 0;
  });

  clusterOptions(
    p
      .command("walk")
      .argument("<scenario>", "scenario id (see `helmdrill list`)")
      .description("training walkthrough: one scenario, step by step"),
  )
    .addOption(
      new Option("--driver <driver>", "drive the release with helm, helmfile, or Flux's helm-controller")
        .choices(["helm", "helmfile", "flux"])
        .default("helm"),
    )
    .addOption(
      new Option("--style <style>", "helmfile style: the write-up's --args, helmDefaults, or helmfile apply")
        .choices(["args", "defaults", "apply"])
        .default("args"),
    )
    .option("--no-pause", "do not wait for Enter between steps (demos)")
    .action(async (id: string, o) => {
      const config = oneCluster(await configFor(o), "walk");
      const catalogue = await loadCatalogue(config.project);
      checkScenarioNames(catalogue, [id]);
      const helm = o.helm?.length ? config.helmVersions.at(-1) : undefined;
      const helmfile = o.helmfile?.length ? config.helmfileVersions.at(-1) : undefined;
      process.exitCode = await walk(config, catalogue.find((e) => e.spec.id === id)!.spec, {
        helm,
        helmfile,
        driver: o.driver,
        style: o.style,
        pause: o.pause !== false,
      });
    });

  p.command("compare")
    .argument("<previous>", "the earlier run: its reports directory or its matrix.json")
    .argument("<current>", "the later run: its reports directory or its matrix.json")
    .description(
      "what changed between two runs: verdicts, error and drift texts, runs added or gone, slower runs (Markdown on stdout)",
    )
    .option("--slower <percent>", "name runs that took more than this many percent longer than before", "50")
    .option("--html <file>", "also write the comparison as an HTML page")
    .option("--fail-on-change", "exit 1 on any change, not only on new failures")
    .option(
      "--as <old=new>",
      "read the previous run's version old as new (comma-separated or repeated), e.g. --as 3.18.0=3.21.4: what changes when a team moves from one version to the next",
      commaList,
    )
    .addHelpText(
      "after",
      "\nExit codes: 0 no new failure; 1 new failures (a cell that was not failed and now is), or with\n" +
        "--fail-on-change any change; 2 bad input (a missing file, not a matrix.json, a bad option).",
    )
    // A usage error is bad input (2), never the 1 a CI job alerts on as new failures.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action((previous: string, current: string, o) => {
      const result = compareRuns(previous, current, o);
      process.stdout.write(result.markdown);
      process.stderr.write(`${result.summary}\n`);
      process.exitCode = result.exitCode;
    });

  p.command("init")
    .argument("[dir]", "the project directory (created if missing)", ".")
    .requiredOption(
      "--chart <path>",
      "the chart the example scenario drills (a chart directory; copied into the project's charts/ when outside it)",
    )
    .option("--release <name>", "release name in the example scenario (default: the chart's name)")
    .description(
      "scaffold helmdrill.config.ts and one example scenario for a chart; `helmdrill run` passes on it unchanged",
    )
    .action(async (dir: string, o) => {
      for (const line of await init(dir, { chart: o.chart, release: o.release })) console.log(line);
    });

  p.command("versions")
    .description(
      "what this machine can run, per tool: the pinned defaults, what is built and cached (and helmdrill.lock's entries), the versions built on demand (Helm, helmfile: what the Go module proxy serves), and the cache's size",
    )
    .option("--json", "the same as JSON")
    .option(
      "--config <file>",
      "the project's helmdrill.config.ts (its pins and helmdrill.lock; default: found from the working directory upwards)",
    )
    .action(async (o) => {
      process.stdout.write(await versions(await configIfAny(o), { json: Boolean(o.json) }));
    });

  p.command("clean")
    .description(
      "remove every container (k3s nodes, kind nodes of helmdrill-… clusters) and scratch directory helmdrill left behind (crashed runs, --keep) — including those of runs still in progress",
    )
    .action(async () => {
      const ids = (await run(["docker", "ps", "-aq", "--filter", `label=${RUN_LABEL}`])).stdout
        .trim()
        .split("\n")
        .filter(Boolean);
      // kind's node containers carry kind's label, naming the cluster: helmdrill's are helmdrill-<run>.
      const kindNodes = await run([
        "docker",
        "ps",
        "-a",
        "--filter",
        "label=io.x-k8s.kind.cluster",
        "--format",
        '{{.ID}} {{.Label "io.x-k8s.kind.cluster"}}',
      ]);
      for (const line of kindNodes.stdout.trim().split("\n")) {
        const [id, cluster] = line.split(" ");
        if (id && cluster?.startsWith(kindClusterName(""))) ids.push(id);
      }
      if (ids.length) await run(["docker", "rm", "-f", "-v", ...ids]);
      const dirs = readdirSync(os.tmpdir())
        .filter((d) => d.startsWith("helmdrill-"))
        .map((d) => path.join(os.tmpdir(), d));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      console.log(
        `removed ${ids.length} container(s) and ${dirs.length} scratch director${dirs.length === 1 ? "y" : "ies"} (temporary kubeconfigs, Helm homes)`,
      );
    });

  return p;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`helmdrill: ${describeError(error)}\n`);
    process.exitCode = error instanceof HelmdrillError ? error.exitCode : 2;
  }
}

if (isEntryPoint(import.meta.url)) {
  await main();
  // Fail-safe: nothing a subcommand started may keep the process alive after it finished.
  setTimeout(() => process.exit(), 500).unref();
}
