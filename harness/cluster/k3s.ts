import { existsSync } from "node:fs";
import { K3sContainer, type StartedK3sContainer } from "@testcontainers/k3s";
import { CoreV1Api } from "@kubernetes/client-node";
import { HelmdrillError } from "../errors.ts";
import { poll } from "../util/poll.ts";
import { requireDocker } from "../provision/docker.ts";
import { findNodeImage } from "../provision/node-image.ts";
import { imageExists } from "../provision/images.ts";
import { kubeConfigFromYaml, writeKubeconfig } from "./kubeconfig.ts";
import { RUN_LABEL, type ClusterProvider, type StartedCluster } from "./types.ts";
import { hostNote, missingCapabilities, privilegedContainersWork } from "../provision/privileges.ts";
import {
  componentManifest,
  enabledComponents,
  installComponents,
  type ComponentSite,
  COMPONENTS_READY_MS,
} from "./components.ts";
import { mirrorFiles, RegistryMirrorContainer, type StartedRegistryMirror } from "./mirror.ts";
import { ensureMirrorStorage } from "../provision/components.ts";
import { pins, type ComponentName } from "../pins.ts";

const PRELOAD_DIR = "/var/lib/rancher/k3s/agent/images";
const MANIFEST_DIR = "/var/lib/rancher/k3s/server/manifests";
const KUBECONFIG_IN_NODE = "/etc/rancher/k3s/k3s.yaml";

/** The packaged components of a node: which are off, and what the mirror serves. */
export interface ComponentOptions {
  disabled: readonly ComponentName[];
  cacheDir: string;
  /** Every image preloaded into the node: the registry mirror serves each of them. */
  mirroredImages: readonly string[];
}

/**
 * K3sContainer, unchanged except where a privileged container cannot start (a host that
 * withholds a capability makes runc fail with "unable to apply caps"): then the node gets
 * every capability the host has, no seccomp/AppArmor confinement, unmasked /proc and
 * /dev/kmsg — what --privileged gives k3s, minus the capabilities that do not exist here.
 */
export class HelmdrillK3sContainer extends K3sContainer {
  withPrivilegeEmulation(drop: string[]): this {
    this.hostConfig.Privileged = false;
    this.hostConfig.CapAdd = ["ALL"];
    this.hostConfig.CapDrop = drop;
    this.hostConfig.SecurityOpt = ["seccomp=unconfined", "apparmor=unconfined"];
    // The API form of `--security-opt systempaths=unconfined`: nothing masked or read-only in /proc, /sys.
    this.hostConfig.MaskedPaths = [];
    this.hostConfig.ReadonlyPaths = [];
    this.hostConfig.Devices = [{ PathOnHost: "/dev/kmsg", PathInContainer: "/dev/kmsg", CgroupPermissions: "rwm" }];
    return this;
  }
}

/**
 * The default provider: a k3s node in Docker through `@testcontainers/k3s`, unchanged. The
 * image is the pinned upstream rancher/k3s when present, else helmdrill's offline-built
 * k3s-compatible node (see harness/provision/node-image.ts). Workload images are preloaded
 * the k3s way, from tarballs in /var/lib/rancher/k3s/agent/images.
 */
export class K3sProvider implements ClusterProvider {
  readonly kind = "k3s" as const;
  private image?: string;
  private kubernetes?: string;
  private preload: string[] = [];
  private startupTimeoutMs = 300_000;
  private labels: Record<string, string> = {};
  private components?: ComponentOptions;

  /** The packaged components (CoreDNS, storage, load balancer, metrics, registry mirror), less those disabled. */
  withComponents(options: ComponentOptions): this {
    this.components = options;
    return this;
  }

  withImage(ref: string | undefined): this {
    this.image = ref;
    return this;
  }

  /** The Kubernetes minor of the node (default: the pinned default); an image given with withImage wins. */
  withKubernetes(minor: string | undefined): this {
    this.kubernetes = minor;
    return this;
  }

  /** docker-save archives copied into the node before it starts. */
  withPreloadedImages(...archives: string[]): this {
    this.preload.push(...archives);
    return this;
  }

  withStartupTimeout(ms: number): this {
    this.startupTimeoutMs = ms;
    return this;
  }

  withLabels(labels: Record<string, string>): this {
    Object.assign(this.labels, labels);
    return this;
  }

  async start(progress: (message: string) => void = () => {}): Promise<StartedK3sCluster> {
    await requireDocker();
    const image = this.image ?? (await findNodeImage(undefined, this.kubernetes));
    if (!image) {
      throw new HelmdrillError(
        `no k3s node image${this.kubernetes ? ` for Kubernetes ${this.kubernetes}` : ""} is present locally`,
        "run `npm run provision` (it builds one offline for every pinned minor if none can be pulled)",
      );
    }
    if (!(await imageExists(image)))
      throw new HelmdrillError(`node image ${image} is not present locally`, "run `npm run provision`");
    for (const archive of this.preload) {
      if (!existsSync(archive))
        throw new HelmdrillError(`image archive ${archive} is missing`, "run `npm run provision`");
    }
    // Ryuk (testcontainers' reaper) needs an image we cannot pull offline; helmdrill removes
    // its own containers (dispose, globalSetup teardown, `helmdrill clean`).
    if (process.env.TESTCONTAINERS_RYUK_DISABLED === undefined) process.env.TESTCONTAINERS_RYUK_DISABLED = "true";

    // The packaged components: helmdrill's manifests on its own node; an upstream rancher/k3s
    // packages its own (and takes the same --disable names).
    const ownNode = image.startsWith(`${pins().cluster.k3s.nodeImageRepository}:`);
    const disabled = this.components?.disabled ?? [];
    const enabled = this.components ? enabledComponents(disabled) : [];
    const site: ComponentSite = {
      provider: "k3s",
      clusterDns: "10.43.0.10",
      clusterDomain: "cluster.local",
      cacheDir: this.components?.cacheDir ?? "",
    };
    const manifests = ownNode ? enabled.filter((n) => n !== "registry-mirror") : [];

    let mirror: StartedRegistryMirror | undefined;
    if (this.components && enabled.includes("registry-mirror")) {
      const storage = await ensureMirrorStorage(
        this.components.cacheDir,
        [...this.components.mirroredImages],
        progress,
      );
      progress("starting the registry mirror");
      mirror = await new RegistryMirrorContainer(storage)
        .withLabels({ ...this.labels, "io.helmdrill.role": "registry-mirror" })
        .start();
      progress(`registry mirror ${mirror.name} at ${mirror.address}`);
    }
    try {
      progress(`starting ${image}`);
      const container = new HelmdrillK3sContainer(image)
        .withLabels({ ...this.labels, "io.helmdrill.role": "k3s-node" })
        .withStartupTimeout(this.startupTimeoutMs)
        .withCommand(["server", `--disable=${["traefik", ...disabled].join(",")}`])
        .withCopyFilesToContainer(
          this.preload.map((source, i) => ({ source, target: `${PRELOAD_DIR}/helmdrill-preload-${i}.tar` })),
        )
        .withCopyContentToContainer([
          ...manifests.map((n) => ({ content: componentManifest(n, site), target: `${MANIFEST_DIR}/${n}.yaml` })),
          ...(mirror
            ? mirrorFiles(mirror.address, this.components!.mirroredImages).map((f) => ({
                content: f.content,
                target: f.path,
              }))
            : []),
        ])
        .withLogConsumer((stream) => {
          stream.on("data", (chunk: Buffer | string) => {
            for (const line of chunk.toString().split("\n"))
              if (line.startsWith("helmdrill-node:")) progress(line.slice(16).trim());
          });
        });
      if (!(await privilegedContainersWork())) {
        const drop = missingCapabilities();
        progress(
          `privileged containers cannot start on this host (capabilities withheld: ${drop.join(", ") || "unknown"}); emulating --privileged without them`,
        );
        container.withPrivilegeEmulation(drop);
      }
      let started: StartedK3sContainer;
      try {
        started = await container.start();
      } catch (error) {
        throw new HelmdrillError(
          `the k3s node (${image}) did not start: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
          "see `docker logs` of the container; helmdrill-node prints the failing component's log",
        );
      }
      // helmdrill-node.sh tells its kubelet what a cgroup v1 host needs; an upstream rancher/k3s is as it is.
      const cluster = new StartedK3sCluster(started, image, mirror, ownNode ? await hostNote() : undefined);
      try {
        await cluster.waitForNodeReady(120_000);
        if (ownNode && enabled.length > 0) {
          const installed = await installComponents(
            { container: started.getId(), kubeconfigInNode: KUBECONFIG_IN_NODE },
            kubeConfigFromYaml(cluster.kubeconfig),
            { site, enabled, apply: [], timeoutMs: COMPONENTS_READY_MS },
            progress,
          );
          cluster.loadBalancerPool = installed.pool;
        }
      } catch (error) {
        await cluster.stop();
        throw error;
      }
      return cluster;
    } catch (error) {
      await mirror?.stop({ removeVolumes: true }).catch(() => undefined);
      throw error;
    }
  }
}

export class StartedK3sCluster implements StartedCluster {
  readonly kind = "k3s" as const;
  readonly createdByHelmdrill = true;
  readonly kubeconfig: string;
  readonly kubeconfigPath: string;
  private readonly removeKubeconfig: () => void;
  private stopped = false;

  /** The addresses MetalLB hands out, when the load balancer is on. */
  loadBalancerPool?: { first: string; last: string };

  constructor(
    readonly container: StartedK3sContainer,
    readonly image: string,
    /** The registry mirror beside the node, stopped with it. */
    readonly mirror?: StartedRegistryMirror,
    /** What the node had to be told about this host (`StartedCluster.host`). */
    readonly host?: string,
  ) {
    this.kubeconfig = container.getKubeConfig();
    const written = writeKubeconfig(this.kubeconfig, "k3s");
    this.kubeconfigPath = written.file;
    this.removeKubeconfig = written.remove;
  }

  get name(): string {
    return this.container.getId().slice(0, 12);
  }

  describe(): string {
    const mirror = this.mirror ? ` and registry mirror ${this.mirror.name}` : "";
    const rm = [this.name, ...(this.mirror ? [this.mirror.name] : [])].join(" ");
    return `k3s node container ${this.name} (${this.image})${mirror}; KUBECONFIG=${this.kubeconfigPath}; remove with: docker rm -f -v ${rm}`;
  }

  async waitForNodeReady(timeoutMs: number): Promise<void> {
    const api = kubeConfigFromYaml(this.kubeconfig).makeApiClient(CoreV1Api);
    const r = await poll(
      () => api.listNode(),
      (nodes) =>
        nodes.items.some((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
          ? undefined
          : `nodes: ${nodes.items.map((n) => n.metadata?.name).join(", ") || "none"}, none Ready`,
      { timeoutMs, intervalMs: 1000, attemptTimeoutMs: 10_000, what: "the k3s node to be Ready" },
    );
    if (!r.ok) {
      throw new HelmdrillError(
        `k3s node did not become Ready within ${timeoutMs / 1000} s`,
        `last observation: ${r.lastError ?? r.lastProblem}`,
      );
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.container.stop({ removeVolumes: true });
    } finally {
      await this.mirror?.stop({ removeVolumes: true }).catch(() => undefined);
      this.removeKubeconfig();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
