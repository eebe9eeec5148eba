import { existsSync, readFileSync } from "node:fs";
import { serverVersion } from "../probes/resources.ts";
import { HelmdrillError } from "../errors.ts";
import { kubeConfigFromYaml, writeKubeconfig } from "./kubeconfig.ts";
import type { ClusterProvider, StartedCluster } from "./types.ts";

export interface ExistingClusterOptions {
  kubeconfig?: string;
  context?: string;
  optIn: boolean;
}

/**
 * A cluster helmdrill did not create. Refused unless the user names both the kubeconfig and
 * the context and explicitly opts in: helmdrill installs and uninstalls releases, and must
 * never do that somewhere by accident (e.g. whatever KUBECONFIG happens to point at).
 */
export class ExistingClusterProvider implements ClusterProvider {
  readonly kind = "existing" as const;

  constructor(private readonly options: ExistingClusterOptions) {}

  /** Validates the opt-in and the named context without contacting the cluster. */
  resolve(): { yaml: string; context: string; server: string } {
    const { kubeconfig, context, optIn } = this.options;
    const how =
      "name both and opt in: --cluster existing --kubeconfig FILE --context NAME --allow-existing-cluster " +
      "(or HELMDRILL_KUBECONFIG, HELMDRILL_CONTEXT, HELMDRILL_ALLOW_EXISTING_CLUSTER=1)";
    if (!kubeconfig || !context) {
      throw new HelmdrillError(
        "refusing to use an existing cluster without an explicitly named kubeconfig and context",
        how,
      );
    }
    if (!optIn) {
      throw new HelmdrillError(
        `refusing to touch context "${context}" without an explicit opt-in: helmdrill installs and uninstalls Helm releases there`,
        how,
      );
    }
    if (!existsSync(kubeconfig)) throw new HelmdrillError(`kubeconfig ${kubeconfig} does not exist`);
    let kc;
    try {
      kc = kubeConfigFromYaml(readFileSync(kubeconfig, "utf8"));
    } catch (error) {
      throw new HelmdrillError(
        `kubeconfig ${kubeconfig} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const ctx = kc.getContextObject(context);
    if (!ctx) {
      throw new HelmdrillError(
        `context "${context}" is not in ${kubeconfig}`,
        `contexts there: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(", ") || "none"
        }`,
      );
    }
    kc.setCurrentContext(context);
    const cluster = kc.getCluster(ctx.cluster);
    // Keep only the named context, so no tool run by helmdrill can drift to another one.
    const single = kubeConfigFromYaml(kc.exportConfig());
    single.contexts = single.contexts.filter((c) => c.name === context);
    single.clusters = single.clusters.filter((c) => c.name === ctx.cluster);
    single.users = single.users.filter((u) => u.name === ctx.user);
    return { yaml: single.exportConfig(), context, server: cluster?.server ?? "?" };
  }

  async start(progress: (message: string) => void = () => {}): Promise<StartedCluster> {
    const { yaml, context, server } = this.resolve();
    progress(`using existing context ${context} (${server})`);
    try {
      await serverVersion(kubeConfigFromYaml(yaml));
    } catch (error) {
      throw new HelmdrillError(
        `cluster of context "${context}" (${server}) is unreachable: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
        "check that the API server is up and the credentials are valid (kubectl --context " + context + " get nodes)",
      );
    }
    const written = writeKubeconfig(yaml, "existing");
    return {
      kind: "existing",
      name: context,
      kubeconfig: yaml,
      kubeconfigPath: written.file,
      createdByHelmdrill: false,
      describe: () =>
        `existing context ${context} (${server}); helmdrill created only namespaces labelled io.helmdrill.run`,
      stop: async () => written.remove(),
      [Symbol.asyncDispose]: async () => written.remove(),
    };
  }
}
