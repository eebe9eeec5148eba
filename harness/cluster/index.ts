import type { HelmdrillConfig } from "../config.ts";
import { projectArchiveName, projectImageRefs, saveImages, workloadImageRefs } from "../provision/images.ts";
import { ExistingClusterProvider } from "./existing.ts";
import { K3sProvider, type ComponentOptions } from "./k3s.ts";
import { enabledComponents } from "./components.ts";
import { inClusterComponentImages } from "../provision/components.ts";
import { KindProvider } from "./kind.ts";
import { RUN_LABEL, type ClusterProvider, type StartedCluster } from "./types.ts";
import { kindPin } from "../pins.ts";

export { ExistingClusterProvider, K3sProvider, KindProvider, RUN_LABEL };
export type { ClusterProvider, StartedCluster };

/** The run's kind cluster, named after the run (and registered with its sweep when created). */
export function kindClusterName(runId: string): string {
  return `helmdrill-${runId}`;
}

/** The workload images every cluster gets, the project's own, and the packaged components' (unless all are off). */
async function workloadArchives(config: HelmdrillConfig): Promise<string[]> {
  const archives = [await saveImages(config.cacheDir, "workloads", workloadImageRefs())];
  const own = projectImageRefs(config.project);
  if (own.length > 0) archives.push(await saveImages(config.cacheDir, projectArchiveName(config.project!), own));
  if (enabledComponents(config.disabled).some((c) => c !== "registry-mirror")) {
    archives.push(await saveImages(config.cacheDir, "components", inClusterComponentImages()));
  }
  return archives;
}

/** What the packaged components of a started node need: which are off, and every image the mirror serves. */
function componentOptions(config: HelmdrillConfig): ComponentOptions {
  return {
    disabled: config.disabled,
    cacheDir: config.cacheDir,
    mirroredImages: [...workloadImageRefs(), ...projectImageRefs(config.project), ...inClusterComponentImages()],
  };
}

/** The provider the configuration asks for, set up with the workload images to preload. */
export async function providerFor(config: HelmdrillConfig): Promise<ClusterProvider> {
  switch (config.cluster) {
    case "existing":
      return new ExistingClusterProvider(config.existing);
    case "kind":
      // A minor kind has no node for: pins say so, with the minors it has.
      if (config.kubernetes[0]) kindPin(config.kubernetes[0]);
      return new KindProvider(kindClusterName(config.runId), config.cacheDir)
        .withKubernetes(config.kubernetes[0])
        .withComponents(componentOptions(config))
        .withLabels({ [RUN_LABEL]: config.runId })
        .withPreloadedImages(...(await workloadArchives(config)));
    case "k3s": {
      return new K3sProvider()
        .withImage(config.k3sImage)
        .withKubernetes(config.kubernetes[0])
        .withPreloadedImages(...(await workloadArchives(config)))
        .withComponents(componentOptions(config))
        .withLabels({ [RUN_LABEL]: config.runId });
    }
  }
}

export async function startCluster(config: HelmdrillConfig, progress?: (m: string) => void): Promise<StartedCluster> {
  return (await providerFor(config)).start(progress);
}
