import type { HelmdrillConfig } from "../config.ts";
import { projectArchiveName, projectImageRefs, saveImages, workloadImageRefs } from "../provision/images.ts";
import { ExistingClusterProvider } from "./existing.ts";
import { K3sProvider } from "./k3s.ts";
import { KindProvider } from "./kind.ts";
import { RUN_LABEL, type ClusterProvider, type StartedCluster } from "./types.ts";
import { kindPin } from "../pins.ts";

export { ExistingClusterProvider, K3sProvider, KindProvider, RUN_LABEL };
export type { ClusterProvider, StartedCluster };

/** The run's kind cluster, named after the run (and registered with its sweep when created). */
export function kindClusterName(runId: string): string {
  return `helmdrill-${runId}`;
}

/** The workload images every cluster gets, and the project's own. */
async function workloadArchives(config: HelmdrillConfig): Promise<string[]> {
  const archives = [await saveImages(config.cacheDir, "workloads", workloadImageRefs())];
  const own = projectImageRefs(config.project);
  if (own.length > 0) archives.push(await saveImages(config.cacheDir, projectArchiveName(config.project!), own));
  return archives;
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
        .withPreloadedImages(...(await workloadArchives(config)));
    case "k3s": {
      return new K3sProvider()
        .withImage(config.k3sImage)
        .withKubernetes(config.kubernetes[0])
        .withPreloadedImages(...(await workloadArchives(config)))
        .withLabels({ [RUN_LABEL]: config.runId });
    }
  }
}

export async function startCluster(config: HelmdrillConfig, progress?: (m: string) => void): Promise<StartedCluster> {
  return (await providerFor(config)).start(progress);
}
