import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { HelmdrillConfig, Project } from "../config.ts";
import { runReaper } from "../util/reaper.ts";
import { scratchDir } from "../util/scratch.ts";
import {
  upgradeCheckScenarios,
  versionBump,
  type ChartVersionPlan,
  type UpgradeCheckPlan,
} from "../dsl/upgrade-check.ts";
import { HelmdrillError } from "../errors.ts";
import { run } from "../exec.ts";
import { info } from "../log.ts";
import { provision } from "../provision/index.ts";
import { resolveChart, type ResolvedChart, type SourceContext } from "../sources/chart-source.ts";
import { releaseSelectors, summarizeRendered } from "../sources/rendered.ts";
import { resolveTools, toolFor } from "../tools/index.ts";
import { ensureOnDemandTools } from "../tools/on-demand.ts";
import { lintCharts } from "../util/fixtures.ts";
import { runSuite } from "./run.ts";

/**
 * `helmdrill upgrade-check <chart> --from <previous>`: resolves both chart versions (directory,
 * .tgz, a version in a chart repository, a git ref), renders each per values case, writes the
 * upgrade-check scenarios into the run's scratch as a project of their own, and runs them like
 * `helmdrill run` (same reports, same exit codes) on every selected Helm version and on the
 * Helm 3 → Helm 4 migration targets.
 */
export interface UpgradeCheckOptions {
  chart: string;
  from: string;
  repo?: string;
  values: string[];
  release?: string;
  timeout: string;
  /** Local images the chart runs, preloaded into the cluster. */
  images: string[];
}

const UPGRADE_CHECK_MODULE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "dsl",
  `upgrade-check${path.extname(fileURLToPath(import.meta.url))}`,
);

async function render(
  helm: string,
  env: Record<string, string>,
  release: string,
  chart: ResolvedChart,
  values?: string,
): Promise<ChartVersionPlan> {
  const r = await run([helm, "template", release, chart.path, ...(values ? ["--values", values] : [])], {
    env,
    timeoutMs: 120_000,
  });
  if (r.exitCode !== 0)
    throw new HelmdrillError(
      `helm template of ${chart.origin}${values ? ` with ${values}` : ""} failed`,
      r.stderr.trim(),
    );
  return {
    path: chart.path,
    name: chart.name,
    version: chart.version,
    origin: chart.origin,
    rendered: summarizeRendered(r.stdout, releaseSelectors(release)),
  };
}

const caseOf = (values: string | undefined) =>
  values
    ? { caseLabel: `values ${path.basename(values)}`, caseId: path.basename(values).replace(/\.ya?ml$/, "") }
    : { caseLabel: "default values", caseId: "default" };

/** The scenario module for one scenario of one case: the plan as data, the scenario built by the harness. */
export function scenarioModule(plan: UpgradeCheckPlan, index: number, harnessModule = UPGRADE_CHECK_MODULE): string {
  return `// Written by \`helmdrill upgrade-check\` for this run.
import { upgradeCheckScenarios } from ${JSON.stringify(harnessModule)};

export default upgradeCheckScenarios(${JSON.stringify(plan, null, 2)})[${index}];
`;
}

export async function upgradeCheck(
  config: HelmdrillConfig,
  o: UpgradeCheckOptions,
  options: { provision: boolean },
): Promise<number> {
  for (const v of o.values) {
    if (!existsSync(v) || !statSync(v).isFile()) throw new HelmdrillError(`values file ${v} not found`);
  }
  if (!/^\d+(ms|s|m|h)(\d+(s|m))?$/.test(o.timeout))
    throw new HelmdrillError(`--timeout ${o.timeout} is not a duration helm takes`, "e.g. 5m, 90s, 1m30s");
  const reaper = runReaper(config.runId);
  // An unpinned --helm (e.g. 3.19.5): built on first use and checked against helmdrill.lock, as `run` does.
  await ensureOnDemandTools(
    { cacheDir: config.cacheDir, root: config.root, helm: config.helmVersions, helmfile: config.helmfileVersions },
    { build: options.provision },
  );
  if (options.provision)
    await provision({
      clusters: config.cluster === "existing" ? [] : [config.cluster],
      noDocker: config.cluster === "existing",
      tools: { helm: config.helmVersions, helmfile: config.helmfileVersions },
    });
  const tools = resolveTools(config.cacheDir, config.helmVersions, config.helmfileVersions);
  const helm = toolFor(tools, "helm", config.helmVersions[0]!);
  const home = scratchDir("helm-home");
  const env = {
    HELM_CONFIG_HOME: path.join(home, "config"),
    HELM_CACHE_HOME: path.join(home, "cache"),
    HELM_DATA_HOME: path.join(home, "data"),
  };
  const ctx: SourceContext = { helm, env, repo: o.repo };

  const next = await resolveChart(o.chart, ctx);
  const previous = await resolveChart(o.from, ctx, next);
  if (previous.name !== next.name)
    info(`upgrade-check: the previous chart is named ${previous.name}, the new one ${next.name} (a rename)`);
  if (previous.version === next.version) {
    throw new HelmdrillError(
      `--from ${o.from} is the same chart version (${next.version}) as ${o.chart}: an upgrade onto itself tests nothing`,
      "name the version that runs today (a version in --repo, a .tgz, a directory, or git:<ref>), or bump the chart's version",
    );
  }
  await lintCharts(helm, [previous.path, next.path], process.cwd());
  const release = o.release ?? next.name;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(release) || release.length > 53)
    throw new HelmdrillError(
      `"${release}" is not a valid release name`,
      "lower-case letters, digits and -, at most 53 characters; pass --release <name>",
    );

  const dir = scratchDir("upgrade-check");
  mkdirSync(path.join(dir, "scenarios"));
  const cases = o.values.length ? o.values.map((v) => path.resolve(v)) : [undefined];
  let count = 0;
  for (const [n, values] of cases.entries()) {
    const plan: UpgradeCheckPlan = {
      release,
      previous: await render(helm, env, release, previous, values),
      next: await render(helm, env, release, next, values),
      ...(values ? { values } : {}),
      ...caseOf(values),
      timeout: o.timeout,
    };
    const scenarios = upgradeCheckScenarios(plan);
    // Numbered: the reports list scenarios in file order — each case's upgrade path, then its drill.
    for (const [i, s] of scenarios.entries())
      writeFileSync(
        path.join(dir, "scenarios", `${String(n + 1).padStart(2, "0")}-${i + 1}-${s.id}.ts`),
        scenarioModule(plan, i),
      );
    count += scenarios.length;
  }
  const bump = versionBump(previous.version, next.version);
  info(
    `upgrade-check: ${previous.origin} → ${next.origin}${bump ? ` (${bump}: run like any other upgrade)` : ""}; ${cases.length} values case(s), ${count} scenario(s)`,
  );

  const project: Project = {
    file: path.join(dir, "helmdrill.config.ts"),
    root: dir,
    scenarios: ["scenarios/*.ts"],
    chartsDir: dir,
    // The project's (--config) images, pins and targets go with the run: its workers read them from here.
    images: {
      preload: [...(config.project?.images.preload ?? []), ...o.images],
      build: config.project?.images.build ?? [],
    },
    ...(config.project?.pins ? { pins: config.project.pins } : {}),
    targets: config.project?.targets ?? {},
    baseline: `what a clean upgrade does: every step succeeds`,
    reportsDir: config.reportsDir,
  };
  try {
    return await runSuite({ ...config, fixturesDir: path.join(dir, "scenarios"), project }, { provision: false });
  } finally {
    reaper.release();
  }
}
