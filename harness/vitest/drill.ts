import { randomBytes } from "node:crypto";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import semver from "semver";
import { kubeConfigFromYaml } from "../cluster/kubeconfig.ts";
import { allocateNodePort } from "../cluster/nodeports.ts";
import { RUN_LABEL } from "../cluster/types.ts";
import { scratchDir, scratchRootFor, useScratchRoot } from "../util/scratch.ts";
import { CleanupStack } from "../dsl/cleanup.ts";
import { poll } from "../util/poll.ts";
import type { RunEnvironment } from "../dsl/scenario.ts";
import type { Target } from "../dsl/target.ts";
import type { CommandResult } from "../exec.ts";
import { info } from "../log.ts";
import { HeldWork } from "./held-work.ts";
import { deleteNamespaceAndWait } from "../probes/namespace.ts";
import { deleteClusterScopedLeftovers, kubeClients, serverVersion, type Kube } from "../probes/resources.ts";
import { bindRunners, type ToolRunners } from "../tools/runners.ts";
import type { HelmdrillConfig } from "../config.ts";
import type { StartedCluster } from "../cluster/types.ts";
import { toolFor, toolPath, type ResolvedTools } from "../tools/index.ts";
import { pinnedVersions } from "../pins.ts";
import { linkHelmDiff } from "../tools/helm-diff.ts";
import { crdTarget, resolveFlux, startFlux, type FeatureGates } from "../tools/flux.ts";
import type { FluxSession } from "../dsl/flux.ts";
import { fixtureCharts } from "../util/fixtures.ts";
import { serveChartRepository, type ChartRepository } from "../sources/chart-repo.ts";
import { describeError } from "../errors.ts";
import { ClusterLostError, watchCluster, type ClusterLoss } from "./cluster-watch.ts";

/** What every worker receives through `inject("helmdrill")`. */
export interface HelmdrillProvided {
  config: HelmdrillConfig;
  tools: ResolvedTools;
  kubeconfig: string;
  kubeconfigPath: string;
  cluster: {
    kind: string;
    name: string;
    createdByHelmdrill: boolean;
    description: string;
    /** What the reports say the scenarios ran on: provider, node image, the API server's version. */
    runsOn: string;
    /** The API server's version without its "v" ("1.34.4"): what `kubernetes:` expectations are keyed by. */
    kubernetes: string;
    /** A short name for a matrix column: provider and minor ("k3s 1.34", "kind 1.34"). */
    label: string;
    /** The node containers helmdrill started (none for an existing cluster): watched while drills run. */
    containers?: string[];
  };
  /**
   * A worker writes this file when it keeps a failed test's namespace (HELMDRILL_KEEP=1): this
   * cluster's (this leg's) own, so a run over several clusters keeps only the cluster of a leg
   * that failed. Keeping also writes the run's reaper marker (`<scratch root>/keep`): the run's
   * scratch, with the kept cluster's kubeconfig, survives the run's end.
   */
  keepMarker: string;
}

/**
 * "k3s (helmdrill.local/k3s-compatible-node:v1.34.4-…), Kubernetes v1.34.4" — never a path or a
 * credential — and what the node had to be told about its host: "…, cgroup v1 (kubelet failCgroupV1: false)".
 */
export function runsOn(
  cluster: Pick<StartedCluster, "kind" | "name" | "image" | "host">,
  serverVersion: string,
): string {
  const what = cluster.image
    ? `${cluster.kind} (${cluster.image})`
    : cluster.kind === "existing"
      ? `existing cluster (context ${cluster.name})`
      : `${cluster.kind} ${cluster.name}`;
  return `${what}, Kubernetes ${serverVersion}${cluster.host ? `, ${cluster.host}` : ""}`;
}

/**
 * The cluster's node containers, as `docker container inspect` names them: k3s's node is its
 * container (the name is the id's first 12 digits), kind's `<cluster>-control-plane`.
 */
export function nodeContainers(cluster: Pick<StartedCluster, "kind" | "name">): string[] {
  if (cluster.kind === "k3s") return [cluster.name];
  if (cluster.kind === "kind") return [`${cluster.name}-control-plane`];
  return [];
}

/** "k3s 1.34": the provider and the API server's minor. */
export function clusterLabel(kind: string, serverVersion: string): string {
  const version = semver.coerce(serverVersion);
  return `${kind} ${version ? `${version.major}.${version.minor}` : serverVersion}`;
}

/** What a run hands its scenarios: the cluster (and the version its API server reports), the tools, and where a kept failure is marked. */
export async function providedFor(
  config: HelmdrillConfig,
  tools: ResolvedTools,
  cluster: StartedCluster,
): Promise<HelmdrillProvided> {
  const kubernetes = await serverVersion(kubeConfigFromYaml(cluster.kubeconfig));
  return {
    config,
    tools,
    kubeconfig: cluster.kubeconfig,
    kubeconfigPath: cluster.kubeconfigPath,
    cluster: {
      kind: cluster.kind,
      name: cluster.name,
      createdByHelmdrill: cluster.createdByHelmdrill,
      description: cluster.describe(),
      runsOn: runsOn(cluster, kubernetes),
      kubernetes: semver.coerce(kubernetes)?.version ?? kubernetes,
      label: clusterLabel(cluster.kind, kubernetes),
      containers: nodeContainers(cluster),
    },
    keepMarker: keepMarkerFor(config.runId, clusterLabel(cluster.kind, kubernetes)),
  };
}

/** The keep marker of one leg of a run ("k3s 1.34"): beside the reaper's, never the same file. */
export function keepMarkerFor(runId: string, leg: string): string {
  return path.join(scratchRootFor(runId), `keep-leg-${leg.replace(/[^A-Za-z0-9.]+/g, "-")}`);
}

/**
 * Keeps a failed test's namespace (HELMDRILL_KEEP=1): marks its leg, whose cluster then stays up,
 * and the run, whose scratch then stays.
 */
export function keepFailedTest(provided: Pick<HelmdrillProvided, "keepMarker">, namespace: string): void {
  writeFileSync(provided.keepMarker, namespace);
  writeFileSync(path.join(path.dirname(provided.keepMarker), "keep"), "");
}

/**
 * The per-test fixture: a fresh namespace on the run's cluster, tool runners bound to it and
 * to the versions under test, and a LIFO cleanup stack that uninstalls releases and deletes
 * the namespace even when the test fails (unless HELMDRILL_KEEP=1 keeps a failure around).
 */
export interface Drill {
  readonly namespace: string;
  readonly kube: Kube;
  readonly cleanup: CleanupStack;
  readonly provided: HelmdrillProvided;
  runners(target: Target): ToolRunners;
  environment(target: Target, hooks?: Pick<RunEnvironment, "wrapStep" | "afterStep">): RunEnvironment;
  /**
   * Flux for this namespace: the target's flux target's own source-controller and
   * helm-controller, and a chart repository served on the loopback. Cleanup deletes the Flux
   * objects while the controllers still run (their finalizers uninstall the release), then
   * stops them.
   */
  startFlux(target: Pick<Target, "flux">): Promise<FluxSession>;
  /** Mark the test failed so the fixture knows whether HELMDRILL_KEEP applies. */
  markFailed(): void;
  /**
   * Aborted when the test is abandoned (it timed out, the run was cancelled): every command of
   * an `environment()` is killed then. The vitest fixture links it to the test's own signal.
   */
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
  /**
   * The cluster as this worker's watch sees it: its loss, or undefined while it is healthy. When
   * it is lost, `signal` is aborted with a ClusterLostError: the drill's commands stop at once.
   */
  clusterLost(): ClusterLoss | undefined;
  /** For a run that failed: looks at the cluster again (at most the watch's grace period) — lost or not. */
  confirmClusterLost(): Promise<ClusterLoss | undefined>;
  /**
   * Work that must end before the drill's cleanup touches the namespace (the scenario body,
   * which goes on for a moment after its test timed out): `close` waits for it.
   */
  hold<T>(work: Promise<T>): Promise<T>;
}

/** How long `close` waits for held work after an abort before it cleans up anyway. */
const SETTLE_MS = 120_000;

/**
 * The namespace's default ServiceAccount: created asynchronously by the controller manager, and
 * pods need it. A namespace that never gets one is an error naming what was seen.
 */
export async function waitForDefaultServiceAccount(
  kube: Pick<Kube, "core">,
  namespace: string,
  timeoutMs = 60_000,
): Promise<void> {
  const read = () => kube.core.readNamespacedServiceAccount({ name: "default", namespace });
  const r = await poll(read, () => undefined, { timeoutMs });
  if (!r.ok) {
    const took = `${r.attempts} attempt(s) in ${(r.elapsedMs / 1000).toFixed(1)} s`;
    throw new Error(`namespace ${namespace} has no default ServiceAccount: ${r.lastProblem} (${took})`);
  }
}

/**
 * A namespace name for one test: its scenario (or test file) and target, and 6 random hex
 * digits, so the many tests of one target never draw the same name.
 */
export function namespaceFor(...names: string[]): string {
  const slug = names
    .map((n) =>
      n
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, ""),
    )
    .filter(Boolean)
    .join("-")
    .slice(0, 52)
    .replace(/-$/, "");
  return `hd-${slug}-${nextSuffix()}`;
}

// Distinct by construction within a worker (a counter), and across workers and runs by a random
// start: independent random draws collide by chance (2000 draws of 24 bits: ~11 %).
let suffixBase = randomBytes(3).readUIntBE(0, 3);
function nextSuffix(): string {
  suffixBase = (suffixBase + 1) % 0x1000000;
  return suffixBase.toString(16).padStart(6, "0");
}

export async function openDrill(
  provided: HelmdrillProvided,
  ...testNames: string[]
): Promise<Drill & { close(): Promise<void> }> {
  // A cluster already lost fails every later test at once, saying so (not after a request's timeout).
  const watch = watchCluster(provided.kubeconfig, provided.cluster.containers ?? []);
  if (watch.lost) throw new ClusterLostError(watch.lost);
  const kube = kubeClients(kubeConfigFromYaml(provided.kubeconfig));
  const namespace = namespaceFor(...testNames);
  const cleanup = new CleanupStack();
  useScratchRoot(scratchRootFor(provided.config.runId));
  const helmHome = scratchDir("helm");
  cleanup.defer("remove private helm home", () => rmSync(helmHome, { recursive: true, force: true }), { host: true });
  try {
    const labels = { [RUN_LABEL]: provided.config.runId };
    await kube.core.createNamespace({ body: { metadata: { name: namespace, labels } } });
    cleanup.defer(`delete namespace ${namespace}`, () => deleteNamespaceAndWait(kube, namespace));
    await waitForDefaultServiceAccount(kube, namespace);
  } catch (error) {
    // No test gets this drill: nobody else would delete the namespace — unless the cluster is gone.
    const loss = await watch.confirm();
    if (loss) throw new ClusterLostError(loss, `namespace ${namespace} not set up: ${describeError(error)}`);
    await cleanup.run();
    throw error;
  }

  const commandLog: RunEnvironment["commandLog"] = [];
  // A flux target's `helm` is helm-controller's embedded library: its steps' helm commands run with
  // the newest selected Helm of that library's major — or the newest pinned one built here when the
  // run selects none of that major (then the newest selected).
  const helmCliFor = (library: string) => {
    const versions = Object.keys(provided.tools.helm);
    const major = semver.major(library);
    const selected = versions.filter((v) => semver.major(v) === major).at(-1);
    if (selected) return toolFor(provided.tools, "helm", selected);
    const pinned = pinnedVersions("helm")
      .filter((v) => semver.major(v) === major)
      .sort(semver.compare)
      .at(-1);
    const installed = pinned ? toolPath(provided.config.cacheDir, "helm", pinned) : undefined;
    return installed && existsSync(installed) ? installed : toolFor(provided.tools, "helm", versions.at(-1)!);
  };
  const helmBinaryFor = (target: Target) =>
    target.driver === "flux" ? helmCliFor(target.helm) : toolFor(provided.tools, "helm", target.helm);
  const helmToBinaryFor = (target: Target) => {
    if (!target.helmTo) return undefined;
    return target.driver === "flux" ? helmCliFor(target.helmTo) : toolFor(provided.tools, "helm", target.helmTo);
  };
  const runnersFor = (target: Target) => {
    // helm-diff goes into the private Helm home when this Helm version loads it.
    if (provided.tools.helmDiff && !provided.tools.helmDiff.unusable[target.helm])
      linkHelmDiff(helmHome, provided.tools.helmDiff);
    return bindRunners({
      helm: helmBinaryFor(target),
      helmTo: helmToBinaryFor(target),
      helmfile: target.helmfile ? toolFor(provided.tools, "helmfile", target.helmfile) : undefined,
      kubectl: provided.tools.kubectl,
      kubeconfigPath: provided.kubeconfigPath,
      namespace,
      helmHome,
      cwd: provided.config.root,
      onCommand: (result: CommandResult, options) => commandLog.push({ result, probe: Boolean(options.probe) }),
    });
  };
  // After the uninstalls, before the namespace goes: cluster-scoped objects Helm installed for
  // this namespace's releases and left behind (the namespace's deletion does not reach them).
  cleanup.defer("delete cluster-scoped leftovers", () =>
    deleteClusterScopedLeftovers(kube, namespace).then(() => undefined),
  );
  // Uninstall every release left in the namespace before deleting it (runs first: LIFO).
  cleanup.defer("uninstall releases", async () => {
    const version = Object.keys(provided.tools.helm).at(-1)!;
    const r = runnersFor({ driver: "helm", helm: version });
    // Helm 4 lists every state by default and has no --all.
    const list = await r.helm(semver.major(version) >= 4 ? ["list", "-q"] : ["list", "--all", "-q"], { probe: true });
    const names =
      list.exitCode === 0
        ? list.stdout
            .split("\n")
            .map((s) => s.trim())
            .filter(Boolean)
        : [];
    for (const name of names) await r.helm(["uninstall", name, "--timeout", "60s"], { probe: true });
  });

  let flux: FluxSession | undefined;
  const openFlux = async (name: string): Promise<FluxSession> => {
    const fluxTargets = provided.config.fluxTargets;
    let running = { install: resolveFlux(provided.config.cacheDir, name), featureGates: {} as FeatureGates };
    const controllers = await startFlux({
      flux: running.install,
      crds: crdTarget(provided.config.cacheDir, [...new Set([...fluxTargets, name])]),
      kubectl: provided.tools.kubectl,
      kubeconfigPath: provided.kubeconfigPath,
      namespace,
      runId: provided.config.runId,
    });
    const { kubectl } = bindRunners({
      helm: helmCliFor("3.0.0"),
      kubectl: provided.tools.kubectl,
      kubeconfigPath: provided.kubeconfigPath,
      namespace,
      helmHome,
      cwd: provided.config.root,
    });
    const FLUX_KINDS =
      "helmreleases.helm.toolkit.fluxcd.io,helmcharts.source.toolkit.fluxcd.io,helmrepositories.source.toolkit.fluxcd.io";
    // Runs last (LIFO), once the controllers are gone: a Flux object still here keeps a finalizer
    // nothing will remove any more, and the namespace would wait for it forever.
    cleanup.defer("drop the finalizers of Flux objects left", async () => {
      const left = await kubectl(["get", FLUX_KINDS, "-o", "name"], { probe: true });
      for (const name of left.stdout.split("\n").filter(Boolean))
        await kubectl(["patch", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}'], { probe: true });
    });
    cleanup.defer("stop the flux controllers", () => controllers.stop(), { host: true });
    const repositories = new Map<string, Promise<ChartRepository>>();
    cleanup.defer(
      "stop the chart repositories",
      async () => {
        for (const r of repositories.values()) await (await r).close();
      },
      { host: true },
    );
    // Runs first (LIFO): the controllers are still up, so their finalizers uninstall the releases.
    // The HelmReleases first (helm-controller uninstalls and drops their HelmCharts), then the
    // sources, whose finalizers source-controller removes — both while it still runs.
    cleanup.defer("delete the Flux objects", async () => {
      for (const kinds of [
        "helmreleases.helm.toolkit.fluxcd.io",
        "helmcharts.source.toolkit.fluxcd.io,helmrepositories.source.toolkit.fluxcd.io",
      ]) {
        const del = await kubectl(["delete", kinds, "--all", "--wait", "--timeout=120s"], { probe: true });
        if (del.exitCode !== 0)
          throw new Error(`Flux objects not deleted: ${del.stderr.trim()}\n${controllers.logs(15)}`);
      }
    });
    return {
      repository: (dir: string) => {
        if (!repositories.has(dir))
          repositories.set(dir, serveChartRepository({ helm: helmCliFor("3.0.0"), charts: fixtureCharts(dir) }));
        return repositories.get(dir)!.then((r) => r.url);
      },
      logs: (lines) => controllers.logs(lines),
      running: () => ({
        target: running.install.target,
        version: running.install.version,
        featureGates: { ...running.featureGates },
      }),
      switchTo: async (next, featureGates = {}) => {
        const install = resolveFlux(provided.config.cacheDir, next);
        if (!install.binaries) throw new Error(`flux ${next} cannot run here: ${install.unavailable}`);
        await controllers.replace({ binaries: install.binaries, featureGates });
        running = { install, featureGates };
      },
    };
  };

  let failed = false;
  const stop = new AbortController();
  const held = new HeldWork();
  // The cluster dies: every command of this drill is killed, and the run says "cluster lost".
  const unwatch = watch.subscribe((loss) => stop.abort(new ClusterLostError(loss)));
  const drill = {
    namespace,
    kube,
    cleanup,
    provided,
    runners: runnersFor,
    markFailed: () => {
      failed = true;
    },
    signal: stop.signal,
    abort: (reason?: unknown) => stop.abort(reason),
    clusterLost: () => watch.lost,
    confirmClusterLost: () => watch.confirm(),
    hold: <T>(work: Promise<T>): Promise<T> => held.hold(work),
    environment: (target: Target, hooks: Pick<RunEnvironment, "wrapStep" | "afterStep"> = {}): RunEnvironment => ({
      namespace,
      runners: runnersFor(target),
      kube,
      fixture: (relative: string) => path.join(provided.config.fixturesDir, relative),
      allocateNodePort: () => allocateNodePort(kube.core, namespace),
      commandLog,
      ...(flux ? { flux } : {}),
      signal: stop.signal,
      ...hooks,
    }),
    startFlux: async (target: Pick<Target, "flux">) => {
      if (!target.flux) throw new Error("startFlux: the target names no flux target");
      return (flux ??= await openFlux(target.flux));
    },
    close: async () => {
      if ((await held.settle(SETTLE_MS)) === "late") {
        info(`${namespace}: the test's work still runs ${SETTLE_MS / 1000} s after it ended; cleaning up anyway`);
      }
      unwatch();
      if (failed && provided.config.keep) {
        keepFailedTest(provided, namespace);
        info(
          `HELMDRILL_KEEP=1: kept namespace ${namespace} for inspection — KUBECONFIG=${provided.kubeconfigPath} kubectl -n ${namespace} get all`,
        );
        return;
      }
      if (watch.lost) {
        // Nothing to uninstall on a dead cluster: the run's end removes its container. What runs
        // on this machine (Flux controllers, chart repositories, the Helm home) still goes now:
        // a controller left behind would outlive the run.
        info(`${namespace}: cluster lost (${watch.lost.reason}); only its cleanup on this machine runs`);
        await cleanup.run({ hostOnly: true });
        return;
      }
      const problems = (await cleanup.run()).filter((r) => !r.ok);
      if (problems.length > 0)
        throw new Error(
          `cleanup left the cluster half-cleaned: ${problems.map((p) => `${p.name}: ${p.error}`).join("; ")}`,
        );
    },
  };
  return drill;
}
