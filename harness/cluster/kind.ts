import { HelmdrillError } from "../errors.ts";
import { run, runChecked, succeeded } from "../exec.ts";
import { pins } from "../pins.ts";
import { dockerReachable, requireDocker } from "../provision/docker.ts";
import { imageExists } from "../provision/images.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import type { ClusterProvider, StartedCluster } from "./types.ts";

/**
 * A kind cluster driven through the `kind` CLI: a unique cluster name per run, the
 * kubeconfig exported to a private file, `kind delete cluster` on dispose. Needs `kind` on
 * PATH and the pinned node image present locally (kind would otherwise pull it).
 */
export class KindProvider implements ClusterProvider {
  readonly kind = "kind" as const;
  private image = pins().cluster.kind.nodeImage;

  constructor(private readonly clusterName: string) {}

  withImage(ref: string): this {
    this.image = ref;
    return this;
  }

  /** Why this provider cannot run here, or undefined when it can. */
  async unavailableReason(): Promise<string | undefined> {
    const kind = await run(["kind", "version"], { timeoutMs: 10_000 });
    if (!succeeded(kind)) return "the `kind` CLI is not on PATH (go install sigs.k8s.io/kind@v0.33.0 provides it)";
    const docker = await dockerReachable();
    if (!docker.ok) return `no Docker engine is reachable (${docker.error?.split("\n")[0]})`;
    if (!(await imageExists(this.image))) {
      return `kind node image ${this.image} is not present locally and no registry is reachable to pull it (building a kind node image offline is not implemented yet)`;
    }
    return undefined;
  }

  async start(progress: (message: string) => void = () => {}): Promise<StartedCluster> {
    await requireDocker();
    const reason = await this.unavailableReason();
    if (reason) throw new HelmdrillError(`the kind provider cannot start: ${reason}`);
    progress(`kind create cluster --name ${this.clusterName}`);
    const created = await run(["kind", "create", "cluster", "--name", this.clusterName, "--image", this.image, "--wait", "180s"], {
      timeoutMs: 600_000,
      onOutput: (chunk) => chunk.split("\n").filter(Boolean).forEach((l) => progress(l.trim())),
    });
    const remove = () => run(["kind", "delete", "cluster", "--name", this.clusterName], { timeoutMs: 180_000 });
    if (!succeeded(created)) {
      await remove();
      throw new HelmdrillError(`kind create cluster failed (exit ${created.exitCode})`, created.stderr.trim().split("\n").slice(-5).join("\n"));
    }
    const exported = await runChecked(["kind", "get", "kubeconfig", "--name", this.clusterName]);
    const written = writeKubeconfig(exported.stdout, "kind");
    const name = this.clusterName;
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await remove();
      written.remove();
    };
    return {
      kind: "kind",
      name,
      kubeconfig: exported.stdout,
      kubeconfigPath: written.file,
      createdByHelmdrill: true,
      describe: () => `kind cluster ${name}; KUBECONFIG=${written.file}; remove with: kind delete cluster --name ${name}`,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
}
