import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { HelmdrillError } from "../errors.ts";
import { run, shellQuote, succeeded, tail } from "../exec.ts";
import { PACKAGE_ROOT, pins } from "../pins.ts";
import { dockerReachable, requireDocker } from "../provision/docker.ts";
import { findKindNodeImage, kindCliPath } from "../provision/kind-node.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { emulatedPrivilegeArgs, missingCapabilities, privilegedContainersWork } from "./privileges.ts";
import { registerKindCluster, scratchDir } from "./reaper.ts";
import type { ClusterProvider, StartedCluster } from "./types.ts";

const KIND_DOCKER = path.join(PACKAGE_ROOT, "harness", "cluster", "kind-docker.sh");

/** The kind CLI helmdrill provisioned, else one on PATH. */
async function kindCli(cacheDir: string): Promise<string | undefined> {
  const provisioned = kindCliPath(cacheDir);
  if (existsSync(provisioned)) return provisioned;
  return succeeded(await run(["kind", "version"], { timeoutMs: 10_000 })) ? "kind" : undefined;
}

/**
 * A kind cluster driven through the real `kind` CLI: a unique cluster name per run, its
 * kubeconfig written to a private file (never the user's ~/.kube/config), workload images
 * loaded with `kind load image-archive`, `kind delete cluster` on dispose. The node image is
 * the upstream kindest/node when present, else helmdrill's offline build. Where the engine
 * cannot start --privileged containers, kind's `docker run --privileged` goes through
 * harness/cluster/kind-docker.sh, which emulates it; on an ordinary Docker kind runs as is.
 */
export class KindProvider implements ClusterProvider {
  readonly kind = "kind" as const;
  private image?: string;
  private preload: string[] = [];
  private kubernetes = pins().cluster.kubernetes.default;

  constructor(
    private readonly clusterName: string,
    private readonly cacheDir: string,
  ) {}

  /** The Kubernetes minor whose node to start (default: the pinned default minor). */
  withKubernetes(minor: string | undefined): this {
    if (minor) this.kubernetes = minor;
    return this;
  }

  withImage(ref: string | undefined): this {
    this.image = ref;
    return this;
  }

  /** docker-save archives loaded into the node once it is up. */
  withPreloadedImages(...archives: string[]): this {
    this.preload.push(...archives);
    return this;
  }

  /** Why this provider cannot run here (what is missing and how to get it), or undefined when it can. */
  async unavailableReason(): Promise<string | undefined> {
    const docker = await dockerReachable();
    if (!docker.ok) return `no Docker engine is reachable (${docker.error?.split("\n")[0]})`;
    if (!(await kindCli(this.cacheDir))) return "the kind CLI is neither provisioned nor on PATH: `npm run provision` builds it from the Go module proxy";
    if (!(await findKindNodeImage(this.kubernetes, this.image))) {
      return `no kind node image for Kubernetes ${this.kubernetes} is present (${this.image ?? "kindest/node or helmdrill's offline build"}): \`npm run provision\` builds one offline, or \`docker pull\` the upstream kindest/node`;
    }
    return undefined;
  }

  /** The environment kind runs in: the privilege-emulating docker first on PATH where it is needed. */
  private async kindEnv(dir: string): Promise<Record<string, string>> {
    if (await privilegedContainersWork()) return {};
    const bin = path.join(dir, "bin");
    mkdirSync(bin);
    // A wrapper rather than a symlink: an installed package need not keep the script's mode bits.
    writeFileSync(path.join(bin, "docker"), `#!/bin/sh\nexec bash ${shellQuote(KIND_DOCKER)} "$@"\n`, { mode: 0o755 });
    const real = (await run(["sh", "-c", "command -v docker"])).stdout.trim() || "docker";
    return {
      PATH: `${bin}:${process.env.PATH ?? ""}`,
      HELMDRILL_REAL_DOCKER: real,
      HELMDRILL_PRIVILEGE_ARGS: emulatedPrivilegeArgs(missingCapabilities()).join("\n"),
    };
  }

  async start(progress: (message: string) => void = () => {}): Promise<StartedCluster> {
    await requireDocker();
    const reason = await this.unavailableReason();
    if (reason) throw new HelmdrillError(`the kind provider cannot start: ${reason}`);
    const kind = (await kindCli(this.cacheDir))!;
    const image = (await findKindNodeImage(this.kubernetes, this.image))!;
    const name = this.clusterName;
    // kind's config, the kubeconfig kind writes and the docker wrapper: removed with the cluster.
    const dir = scratchDir("kind");
    const env = await this.kindEnv(dir);
    const kubeconfigPath = path.join(dir, "kubeconfig.yaml");
    const configPath = path.join(dir, "kind.yaml");
    // One control-plane node, its API server on loopback only.
    writeFileSync(configPath, ["kind: Cluster", "apiVersion: kind.x-k8s.io/v1alpha4", "networking:", "  apiServerAddress: 127.0.0.1", "nodes:", "- role: control-plane", ""].join("\n"));
    const remove = () => run([kind, "delete", "cluster", "--name", name, "--kubeconfig", kubeconfigPath], { env, timeoutMs: 180_000 });
    const fail = async (what: string, output: string): Promise<never> => {
      const logs = await run(["docker", "logs", "--tail", "25", `${name}-control-plane`]);
      await remove();
      rmSync(dir, { recursive: true, force: true });
      throw new HelmdrillError(`${what}`, [tail(output, 8), logs.stdout || logs.stderr ? `node container log (last lines):\n${tail(`${logs.stdout}${logs.stderr}`, 25)}` : ""].filter(Boolean).join("\n"));
    };
    registerKindCluster(name);
    progress(`kind create cluster --name ${name} --image ${image}${env.PATH ? " (privileged mode emulated: this engine cannot grant --privileged)" : ""}`);
    const created = await run([kind, "create", "cluster", "--name", name, "--image", image, "--config", configPath, "--kubeconfig", kubeconfigPath, "--retain", "--wait", "180s"], {
      env,
      timeoutMs: 600_000,
      onOutput: (chunk) => chunk.split("\n").map((l) => l.trim()).filter(Boolean).forEach((l) => progress(l)),
    });
    if (!succeeded(created)) await fail(`kind create cluster failed (exit ${created.exitCode})`, `${created.stdout}\n${created.stderr}`);
    for (const archive of this.preload) {
      progress(`kind load image-archive ${path.basename(archive)}`);
      const loaded = await run([kind, "load", "image-archive", archive, "--name", name], { env, timeoutMs: 600_000 });
      if (!succeeded(loaded)) await fail(`kind load image-archive ${archive} failed (exit ${loaded.exitCode})`, `${loaded.stdout}\n${loaded.stderr}`);
    }
    const kubeconfig = readFileSync(kubeconfigPath, "utf8");
    const written = writeKubeconfig(kubeconfig, "kind");
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await remove();
      written.remove();
      rmSync(dir, { recursive: true, force: true });
    };
    return {
      kind: "kind",
      name,
      kubeconfig,
      kubeconfigPath: written.file,
      createdByHelmdrill: true,
      image,
      describe: () => `kind cluster ${name} (node image ${image}); KUBECONFIG=${written.file}; remove with: kind delete cluster --name ${name}`,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
}
