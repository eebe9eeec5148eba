import { KindProvider, kindClusterName } from "../cluster/index.ts";
import type { HelmdrillConfig } from "../config.ts";
import { HelmdrillError } from "../errors.ts";
import { requireDocker } from "../provision/docker.ts";

/** The providers that start containers need Docker. */
export async function checkDocker(config: HelmdrillConfig): Promise<void> {
  if (config.cluster === "existing") return;
  await requireDocker();
  if (config.cluster === "kind") {
    // Before anything starts: the kind CLI and a node image of each minor, or what is missing and how to get it.
    for (const minor of config.kubernetes) {
      const reason = await new KindProvider(kindClusterName(config.runId), config.cacheDir)
        .withKubernetes(minor)
        .unavailableReason();
      if (reason) throw new HelmdrillError(`--cluster kind cannot run here: ${reason}`);
    }
  }
}
