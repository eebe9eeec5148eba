import readline from "node:readline";
import { startCluster, type StartedCluster } from "../cluster/index.ts";
import { runReaper } from "../util/reaper.ts";
import type { HelmdrillConfig } from "../config.ts";
import semver from "semver";
import { HelmdrillError } from "../errors.ts";
import { renderArgv } from "../exec.ts";
import { heartbeat } from "../log.ts";
import { helmfileHelmRange, helmfileSupportsHelm } from "../pins.ts";
import { executeScenario, type ScenarioSpec, type StepRecord } from "../dsl/scenario.ts";
import type { Step } from "../dsl/step.ts";
import { targetLabel, targetsFor, type Driver, type HelmfileStyle, type Target } from "../dsl/target.ts";
import { resolveFlux } from "../tools/flux.ts";
import { documentedText, STATE_ICON, stepResultText } from "../report/model.ts";
import { renderSnapshot } from "../probes/resources.ts";
import { resolveTools } from "../tools/index.ts";
import { ensureOnDemandTools } from "../tools/on-demand.ts";
import { helmDiffForRun } from "../tools/helm-diff.ts";
import { openDrill, providedFor, type Drill } from "../vitest/drill.ts";
import { checkDocker } from "./preflight.ts";

export interface WalkOptions {
  /** Named with --helm (else the newest pinned Helm that the chosen helmfile drives). */
  helm?: string;
  /** Named with --helmfile (else the newest pinned helmfile that drives the Helm version). */
  helmfile?: string;
  /** Named with --flux (else the newest selected flux target). */
  flux?: string;
  driver?: Driver;
  style?: HelmfileStyle;
  pause: boolean;
  out?: (text: string) => void;
}

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

export function walkTarget(spec: ScenarioSpec, config: HelmdrillConfig, options: WalkOptions): Target {
  const driver = options.driver ?? "helm";
  if (!(spec.drivers ?? ["helm"]).includes(driver)) {
    throw new HelmdrillError(
      `scenario ${spec.id} does not run through ${driver}`,
      `it runs through: ${(spec.drivers ?? ["helm"]).join(", ")}`,
    );
  }
  const newestFirst = (vs: string[]) => [...vs].sort(semver.rcompare);
  if (driver === "flux") {
    const name = options.flux ?? config.fluxTargets.at(-1)!;
    const migrating = spec.migrations === "only";
    const targets = targetsFor(
      ["flux"],
      { ...config, fluxTargets: migrating ? config.fluxTargets : [name] },
      undefined,
      undefined,
      spec.migrations,
      (t) => resolveFlux(config.cacheDir, t).unavailable,
    );
    const flux = migrating ? targets.find((t) => t.fluxTo === name) : targets[0];
    if (!flux)
      throw new HelmdrillError(
        `scenario ${spec.id} switches flux targets: none of ${config.fluxTargets.join(", ")} leads to flux ${name}`,
        "select both targets of the switch, e.g. --flux 1.4,1.6",
      );
    if (flux.unavailable) throw new HelmdrillError(`flux cannot run here: ${flux.unavailable}`);
    return flux;
  }
  if (driver === "helm") return { driver, helm: options.helm ?? newestFirst(config.helmVersions)[0]! };
  const helms = options.helm ? [options.helm] : newestFirst(config.helmVersions);
  const helmfiles = options.helmfile ? [options.helmfile] : newestFirst(config.helmfileVersions);
  for (const helm of helms) {
    const helmfile = helmfiles.find((hf) => helmfileSupportsHelm(hf, helm));
    if (helmfile) return { driver, helm, helmfile, style: options.style ?? "args" };
  }
  const ranges = helmfiles.map((hf) => `helmfile ${hf} drives helm ${helmfileHelmRange(hf) ?? "any"}`).join("; ");
  throw new HelmdrillError(
    `no helmfile among ${helmfiles.join(", ")} drives helm ${helms.join(", ")}`,
    `${ranges}; pick a pair with --helm and --helmfile`,
  );
}

/** Terminal rendering of one finished step: commands, expectations, release and resources. */
export function renderStepForTerminal(r: StepRecord): string {
  const lines: string[] = [];
  for (const c of r.commands.filter((c) => !c.probe)) {
    lines.push(`$ ${renderArgv(c.argv)}`);
    const output = `${c.stdout}${c.stderr}`.trimEnd().split("\n").filter(Boolean);
    lines.push(
      ...(output.length > 14
        ? [...output.slice(0, 4), `  … ${output.length - 12} lines …`, ...output.slice(-8)]
        : output
      ).map((l) => `  ${l}`),
    );
    lines.push(`  (exit ${c.exitCode}, ${(c.durationMs / 1000).toFixed(1)} s)`);
  }
  if (r.problem) lines.push(`! ${r.problem}`);
  lines.push("", bold("Expected vs observed:"));
  for (const c of r.checks) {
    lines.push(`  ${c.ok ? "✔" : "✖"} ${c.phase === "during" ? "(while it ran) " : ""}${c.expected}`);
    if (!c.ok || c.category === "outcome")
      lines.push(`      observed: ${c.observed.split("\n").join("\n                ")}`);
    if (c.drift) lines.push(`      differs from the write-up: ${c.drift}`);
  }
  if (r.release) {
    lines.push("", bold(`Release ${r.release.release}:`));
    if (!r.release.exists) lines.push("  (no release)");
    else {
      lines.push("  REVISION  STATUS       DESCRIPTION");
      for (const h of r.release.history)
        lines.push(
          `  ${String(h.revision).padEnd(8)}  ${h.status.padEnd(11)}  ${h.description.split("\n")[0]!.slice(0, 90)}`,
        );
    }
  }
  if (r.resources)
    lines.push(
      "",
      bold("Resources:"),
      ...renderSnapshot(r.resources)
        .split("\n")
        .map((l) => `  ${l}`),
    );
  lines.push("", `${STATE_ICON[r.status]} Step ${r.index}: ${stepResultText(r)}`);
  return lines.join("\n");
}

/**
 * `helmdrill walk NAME`: the training walkthrough. A fresh cluster, one namespace, and the
 * scenario step by step: the explanation, the command, live progress while it runs, then the
 * release and resource tables and expected-vs-observed; Enter moves on.
 */
export async function walk(config: HelmdrillConfig, spec: ScenarioSpec, options: WalkOptions): Promise<number> {
  const out = options.out ?? ((t: string) => process.stdout.write(`${t}\n`));
  const id = spec.id;
  const target = walkTarget(spec, config, options);
  await checkDocker(config);
  // An unpinned version: built on first use and checked against helmdrill.lock, as `run` does.
  await ensureOnDemandTools(
    {
      cacheDir: config.cacheDir,
      root: config.root,
      helm: target.driver === "flux" ? config.helmVersions : [target.helm],
      helmfile: target.helmfile ? [target.helmfile] : [],
    },
    { build: true },
  );
  // A flux target's `helm` is helm-controller's library; the pinned Helm versions read its history.
  const tools = resolveTools(
    config.cacheDir,
    target.driver === "flux" ? config.helmVersions : [target.helm],
    target.helmfile ? [target.helmfile] : [],
  );
  if (target.style === "apply") {
    tools.helmDiff = await helmDiffForRun(config.cacheDir, tools.helm);
    const reason = tools.helmDiff.unusable[target.helm];
    if (reason)
      throw new HelmdrillError(
        `helmfile apply cannot run on helm ${target.helm}: ${reason}`,
        "pick another --helm, or another --style",
      );
  }

  out(bold(`\n${spec.title}`));
  out(`${spec.summary}`);
  out(`Replays: ${spec.source.file} — ${spec.source.section}`);
  out(`Target: ${targetLabel(target)}\n`);
  out("Starting a cluster …");
  // Ctrl-C at any point (cluster start, a Helm wait, the Enter prompt) removes the cluster,
  // the namespace and the scratch files, and exits 130. Whatever was started is stopped in the
  // finally below, also when a later start (the namespace, Flux) throws.
  const reaper = runReaper(config.runId);
  let cluster: StartedCluster | undefined;
  let drill: (Drill & { close(): Promise<void> }) | undefined;
  let rl: readline.Interface | undefined;
  const lines: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  const nextLine = () =>
    new Promise<string>((resolve) => (lines.length ? resolve(lines.shift()!) : (waiting = resolve)));
  let quit = false;
  let stopTicker = () => {};
  const cleanUp = async () => {
    stopTicker();
    rl?.close();
    if (config.keep && cluster) {
      reaper.keep();
      const where = drill ? `the cluster and namespace ${drill.namespace} stay up` : "the cluster stays up";
      out(`--keep: ${where}. ${cluster.describe()}\n  remove them with: helmdrill clean`);
    } else if (cluster) {
      await drill?.close().catch((e: Error) => out(`cleanup: ${e.message}`));
      await cluster.stop();
    } else {
      // The cluster did not start: whatever its start left (a container) goes now, not at exit.
      reaper.sweepNow();
    }
    reaper.release();
  };
  try {
    cluster = await startCluster(config, (m) => out(`  ${m}`));
    rl = options.pause ? readline.createInterface({ input: process.stdin }) : undefined;
    rl?.on("line", (line) => (waiting ? (waiting(line), (waiting = undefined)) : lines.push(line)));
    const provided = await providedFor(config, tools, cluster);
    out(`Cluster: ${provided.cluster.runsOn}`);
    drill = await openDrill(provided, `walk-${id}`);
    const kubectl = `KUBECONFIG=${cluster.kubeconfigPath} kubectl -n ${drill.namespace} get all`;
    out(`Cluster ready. Namespace: ${drill.namespace}\n  ${kubectl}\n`);
    const total = spec.steps.length;
    if (target.driver === "flux") await drill.startFlux(target);
    const run = await executeScenario(spec, target, {
      ...drill.environment(target),
      beforeStep: async (step: Step, index: number) => {
        out(bold(`━━ Step ${index}/${total}: ${step.title}`));
        if (step.explanation) out(step.explanation);
        if (step.documented) out(`The write-up saw: ${documentedText(step.documented)}`);
        if (step.action) {
          out(`Running: ${step.action.label}`);
          stopTicker = heartbeat((elapsed) => out(`  … still running (${elapsed})`), 5000);
        }
      },
      afterStep: async (record: StepRecord) => {
        stopTicker();
        out(renderStepForTerminal(record));
        if (options.pause && record.index < total && !quit) {
          out(bold("\nPress Enter for the next step (q + Enter to stop)"));
          quit = (await nextLine()).trim().toLowerCase() === "q";
          if (quit) throw new HelmdrillError("walkthrough stopped by the trainee", undefined, 0);
        }
        out("");
      },
    });
    out(
      bold(
        `Scenario ${run.status === "passed" ? "passed" : "FAILED"}: ${run.steps.filter((s) => s.status === "matches").length} steps match the write-up, ${run.steps.filter((s) => s.status === "differs").length} differ as expected, ${run.steps.filter((s) => s.status === "failed").length} failed.`,
      ),
    );
    return run.status === "passed" ? 0 : 1;
  } catch (error) {
    if (error instanceof HelmdrillError && error.exitCode === 0) {
      out(error.message);
      return 0;
    }
    throw error;
  } finally {
    out("Cleaning up …");
    await cleanUp();
    out("Done.");
  }
}
