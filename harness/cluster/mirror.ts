import { AbstractStartedContainer, GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import { HelmdrillError } from "../errors.ts";
import { componentPin } from "../pins.ts";
import { mirrorPath } from "../provision/components.ts";
import { RUN_LABEL } from "./types.ts";

/**
 * The registry mirror (issue #20): CNCF distribution in a container beside the node, serving
 * every preloaded image read-only from storage provisioning filled once. The node's containerd
 * uses it as a mirror for every registry name (hosts.toml per host, k3s's registries.yaml
 * habit), so an image a chart pulls with `imagePullPolicy: Always` or `:latest` runs offline,
 * while an image nobody preloaded still fails as it would (the mirror answers 404, containerd
 * falls back to the real host, which cannot be reached).
 */

/** Registry hosts a chart's images commonly name; the preloaded images' own hosts are added. */
export const MIRRORED_REGISTRIES = [
  "docker.io",
  "ghcr.io",
  "quay.io",
  "registry.k8s.io",
  "k8s.gcr.io",
  "gcr.io",
  "public.ecr.aws",
  "mcr.microsoft.com",
];

/** Where containerd reads one registry host's mirrors. */
export const hostsTomlPath = (host: string) => `/etc/containerd/certs.d/${host}/hosts.toml`;

/**
 * containerd's hosts.toml for one registry host: the mirror first, the real host after it (a 404
 * from the mirror makes containerd try the next host). `_default` (containerd ≥ 1.6: hostPaths in
 * remotes/docker/config) covers every host without a directory of its own, with no `server`.
 */
export function hostsToml(host: string, mirror: string): string {
  const mirrorHost = [`[host."http://${mirror}"]`, '  capabilities = ["pull", "resolve"]', ""];
  if (host === DEFAULT_HOST) return mirrorHost.join("\n");
  const upstream = host === "docker.io" ? "https://registry-1.docker.io" : `https://${host}`;
  return [`server = "${upstream}"`, "", ...mirrorHost].join("\n");
}

/** containerd's directory for every registry host that has none of its own. */
export const DEFAULT_HOST = "_default";

/** Every registry host the node sends to the mirror by name, for these preloaded images (any other goes through `_default`). */
export function mirroredHosts(images: readonly string[]): string[] {
  return [...new Set([...MIRRORED_REGISTRIES, ...images.map((ref) => mirrorPath(ref).registry)])].sort();
}

/** The files a node needs to use a mirror at `address` (ip:port), by path in the node. */
export function mirrorFiles(address: string, images: readonly string[]): { path: string; content: string }[] {
  return [...mirroredHosts(images), DEFAULT_HOST].map((host) => ({
    path: hostsTomlPath(host),
    content: hostsToml(host, address),
  }));
}

/** A testcontainers module: the builder… */
export class RegistryMirrorContainer extends GenericContainer {
  private network = "bridge";

  constructor(storageDir: string, image = componentPin("registry-mirror").image) {
    super(image);
    this.withBindMounts([{ source: storageDir, target: "/var/lib/registry", mode: "ro" }])
      .withWaitStrategy(Wait.forLogMessage(/listening on/))
      .withStartupTimeout(60_000);
  }

  /** The Docker network of the node that will use it (default: Docker's bridge, the k3s node's). */
  onNetwork(name: string): this {
    this.network = name;
    this.withNetworkMode(name);
    return this;
  }

  withRunLabel(runId: string): this {
    return this.withLabels({ [RUN_LABEL]: runId, "io.helmdrill.role": "registry-mirror" });
  }

  override async start(): Promise<StartedRegistryMirror> {
    // Ryuk (testcontainers' reaper) needs an image nobody can pull offline; helmdrill's own sweep
    // removes the mirror by its run label.
    if (process.env.TESTCONTAINERS_RYUK_DISABLED === undefined) process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
    const started = await super.start();
    const ip = started.getIpAddress(this.network);
    if (!ip) {
      await started.stop({ removeVolumes: true });
      throw new HelmdrillError(`the registry mirror has no address on Docker network ${this.network}`);
    }
    return new StartedRegistryMirror(started, `${ip}:5000`);
  }
}

/** …and the started object. */
export class StartedRegistryMirror extends AbstractStartedContainer {
  constructor(
    started: StartedTestContainer,
    /** ip:port on the node's network. */
    readonly address: string,
  ) {
    super(started);
  }

  get name(): string {
    return this.getId().slice(0, 12);
  }
}
