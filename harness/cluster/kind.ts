import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { HelmdrillError } from "../errors.ts";
import { run, shellQuote, succeeded, tail } from "../exec.ts";
import { PACKAGE_ROOT, pins } from "../pins.ts";
import { dockerReachable, requireDocker } from "../provision/docker.ts";
import { findKindNodeImage, kindCliPath } from "../provision/kind-node.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import {
  CGROUP_V1_NOTE,
  emulatedPrivilegeArgs,
  hostNote,
  missingCapabilities,
  privilegedContainersWork,
} from "../provision/privileges.ts";
import { registerKindCluster, scratchDir } from "../util/scratch.ts";
import { stringify } from "yaml";
import { type ClusterProvider, type StartedCluster } from "./types.ts";
import {
  defaultStorageClass,
  enabledComponents,
  installComponents,
  type ComponentSite,
  COMPONENTS_READY_MS,
} from "./components.ts";
import { mirrorFiles, RegistryMirrorContainer, type StartedRegistryMirror } from "./mirror.ts";
import { ensureMirrorStorage } from "../provision/components.ts";
import type { ComponentOptions } from "./k3s.ts";
import { kubeConfigFromYaml } from "./kubeconfig.ts";

const KIND_DOCKER = path.join(PACKAGE_ROOT, "harness", "cluster", "kind-docker.sh");

/**
 * One control-plane node, its API server on loopback only; containerd reads registry hosts
 * from /etc/containerd/certs.d (kind's documented patch for a local registry or mirror).
 *
 * The API server reaches aggregated APIs (metrics.k8s.io) at their endpoints, as k3s runs it
 * (`--enable-aggregator-routing`), not through the Service's ClusterIP: a ClusterIP the API
 * server dials before kube-proxy has written its rule leaves the node by its default route, and
 * where something answers there (a sandbox's transparent proxy did: 404 to every path, over a
 * kept-alive connection the aggregator then reused) metrics.k8s.io stays broken for good.
 *
 * The patches carry no apiVersion: kind applies them to the kubeadm API it writes for the node's
 * Kubernetes (kind v0.33: v1beta3 before 1.36, v1beta4 from 1.36 on, whose extraArgs are a list of
 * {name, value} — kind turns an apiVersion-less patch's map into entries of that list). On a
 * cgroup v1 host (`cgroupV1`) the kubelet is told `failCgroupV1: false`: kubelet 1.35 and later
 * refuse such a host otherwise.
 */
export function kindClusterConfig(options: { cgroupV1?: boolean } = {}): string {
  return stringify({
    kind: "Cluster",
    apiVersion: "kind.x-k8s.io/v1alpha4",
    networking: { apiServerAddress: "127.0.0.1" },
    containerdConfigPatches: [
      '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"',
    ],
    kubeadmConfigPatches: [
      stringify({ kind: "ClusterConfiguration", apiServer: { extraArgs: { "enable-aggregator-routing": "true" } } }),
      ...(options.cgroupV1 ? [stringify({ kind: "KubeletConfiguration", failCgroupV1: false })] : []),
    ],
    nodes: [{ role: "control-plane" }],
  });
}

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
  private components?: ComponentOptions;
  private labels: Record<string, string> = {};

  constructor(
    private readonly clusterName: string,
    private readonly cacheDir: string,
  ) {}

  /** The Kubernetes minor whose node to start (default: the pinned default minor). */
  withKubernetes(minor: string | undefined): this {
    if (minor) this.kubernetes = minor;
    return this;
  }

  /** The packaged components kind lacks offline (storage as kind ships it, a load balancer, metrics, a mirror). */
  withComponents(options: ComponentOptions): this {
    this.components = options;
    return this;
  }

  /** Labels of the containers helmdrill starts beside the cluster (the registry mirror). */
  withLabels(labels: Record<string, string>): this {
    Object.assign(this.labels, labels);
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
    if (!(await kindCli(this.cacheDir)))
      return "the kind CLI is neither provisioned nor on PATH: `npm run provision` builds it from the Go module proxy";
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

  /**
   * What kind ships and helmdrill adds: the registry mirror on kind's Docker network (hosts.toml
   * written into the node; containerd reads them at each pull), local-path-provisioner as the
   * `standard` StorageClass in place of the in-tree host-path one the offline node falls back to,
   * MetalLB and metrics-server; then the wait until all of it, kind's CoreDNS included, is ready.
   */
  private async installComponents(
    node: string,
    kubeconfig: string,
    options: ComponentOptions,
    progress: (m: string) => void,
    onMirror: (m: StartedRegistryMirror) => void,
  ): Promise<{ pool?: { first: string; last: string } }> {
    const enabled = enabledComponents(options.disabled);
    if (enabled.includes("registry-mirror")) {
      const storage = await ensureMirrorStorage(options.cacheDir, [...options.mirroredImages], progress);
      progress("starting the registry mirror on Docker network kind");
      const mirror = await new RegistryMirrorContainer(storage)
        .onNetwork("kind")
        .withLabels({ ...this.labels, "io.helmdrill.role": "registry-mirror" })
        .start();
      onMirror(mirror);
      progress(`registry mirror ${mirror.name} at ${mirror.address}`);
      const script = mirrorFiles(mirror.address, options.mirroredImages)
        .map(
          (f) =>
            `mkdir -p ${shellQuote(path.dirname(f.path))} && printf '%s' ${shellQuote(f.content)} > ${shellQuote(f.path)}`,
        )
        .join(" && ");
      const wrote = await run(["docker", "exec", node, "sh", "-c", script], { timeoutMs: 60_000 });
      if (!succeeded(wrote))
        throw new HelmdrillError(
          `could not configure the registry mirror in ${node}`,
          tail(`${wrote.stdout}\n${wrote.stderr}`, 5),
        );
    }
    const node_ = { container: node, kubeconfigInNode: "/etc/kubernetes/admin.conf" };
    const site: ComponentSite = {
      provider: "kind",
      clusterDns: "",
      clusterDomain: "cluster.local",
      cacheDir: options.cacheDir,
    };
    if (enabled.includes("local-storage")) {
      // The offline node has no /kind/manifests/default-storage.yaml, so kind made an in-tree
      // host-path `standard` class (Immediate binding); kind proper ships local-path-provisioner.
      const replaced = await run(
        [
          "docker",
          "exec",
          node,
          "kubectl",
          "--kubeconfig",
          node_.kubeconfigInNode,
          "delete",
          "storageclass",
          defaultStorageClass("kind"),
          "--ignore-not-found",
        ],
        { timeoutMs: 60_000 },
      );
      if (!succeeded(replaced))
        throw new HelmdrillError(`could not replace kind's StorageClass in ${node}`, tail(replaced.stderr, 5));
    }
    const apply = (["local-storage", "servicelb", "metrics-server"] as const).filter((c) => enabled.includes(c));
    return installComponents(
      node_,
      kubeConfigFromYaml(kubeconfig),
      { site, enabled, apply, timeoutMs: COMPONENTS_READY_MS },
      progress,
    );
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
    const host = await hostNote();
    writeFileSync(configPath, kindClusterConfig({ cgroupV1: host === CGROUP_V1_NOTE }));
    const remove = () =>
      run([kind, "delete", "cluster", "--name", name, "--kubeconfig", kubeconfigPath], { env, timeoutMs: 180_000 });
    const fail = async (what: string, output: string): Promise<never> => {
      const logs = await run(["docker", "logs", "--tail", "25", `${name}-control-plane`]);
      await remove();
      rmSync(dir, { recursive: true, force: true });
      throw new HelmdrillError(
        `${what}`,
        [
          tail(output, 8),
          logs.stdout || logs.stderr
            ? `node container log (last lines):\n${tail(`${logs.stdout}${logs.stderr}`, 25)}`
            : "",
        ]
          .filter(Boolean)
          .join("\n"),
      );
    };
    registerKindCluster(name);
    progress(
      `kind create cluster --name ${name} --image ${image}${env.PATH ? " (privileged mode emulated: this engine cannot grant --privileged)" : ""}`,
    );
    const created = await run(
      [
        kind,
        "create",
        "cluster",
        "--name",
        name,
        "--image",
        image,
        "--config",
        configPath,
        "--kubeconfig",
        kubeconfigPath,
        "--retain",
        "--wait",
        "180s",
      ],
      {
        env,
        timeoutMs: 600_000,
        onOutput: (chunk) =>
          chunk
            .split("\n")
            .map((l) => l.trim())
            .filter(Boolean)
            .forEach((l) => progress(l)),
      },
    );
    if (!succeeded(created))
      await fail(`kind create cluster failed (exit ${created.exitCode})`, `${created.stdout}\n${created.stderr}`);
    for (const archive of this.preload) {
      progress(`kind load image-archive ${path.basename(archive)}`);
      const loaded = await run([kind, "load", "image-archive", archive, "--name", name], { env, timeoutMs: 600_000 });
      if (!succeeded(loaded))
        await fail(
          `kind load image-archive ${archive} failed (exit ${loaded.exitCode})`,
          `${loaded.stdout}\n${loaded.stderr}`,
        );
    }
    const kubeconfig = readFileSync(kubeconfigPath, "utf8");
    const written = writeKubeconfig(kubeconfig, "kind");
    let mirror: StartedRegistryMirror | undefined;
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      await mirror?.stop({ removeVolumes: true }).catch(() => undefined);
      await remove();
      written.remove();
      rmSync(dir, { recursive: true, force: true });
    };
    let pool: { first: string; last: string } | undefined;
    if (this.components) {
      try {
        const r = await this.installComponents(
          `${name}-control-plane`,
          kubeconfig,
          this.components,
          progress,
          (m) => (mirror = m),
        );
        pool = r.pool;
      } catch (error) {
        await stop();
        throw error;
      }
    }
    const extras = [
      mirror ? `registry mirror ${mirror.name}` : "",
      pool ? `load-balancer addresses ${pool.first}-${pool.last}` : "",
    ].filter(Boolean);
    return {
      kind: "kind",
      name,
      kubeconfig,
      kubeconfigPath: written.file,
      createdByHelmdrill: true,
      image,
      ...(host ? { host } : {}),
      describe: () =>
        `kind cluster ${name} (node image ${image}${extras.length ? `; ${extras.join("; ")}` : ""}); KUBECONFIG=${written.file}; ` +
        `remove with: kind delete cluster --name ${name}${mirror ? ` && docker rm -f -v ${mirror.name}` : ""}`,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
}
