import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { HelmdrillError } from "../errors.ts";
import { run, runChecked, runPipelineChecked, succeeded } from "../exec.ts";
import { kubernetesPin, pins, type KubernetesPin } from "../pins.ts";
import { ensureDebianPackages } from "./docker.ts";
import { NODE_IMAGE_SOURCES, imageExists, saveImages } from "./images.ts";
import { scratchDir } from "../util/scratch.ts";

/**
 * The k3s node image. Preference order (issue #2): the pinned upstream `rancher/k3s` image
 * when present locally, else `docker pull` of it, else an offline build of a k3s-compatible
 * node: Kubernetes components built from the Go module proxy + Debian's etcd, containerd,
 * runc and CNI plugins in a debootstrapped root filesystem, started by
 * harness/provision/node-image/helmdrill-node.sh with k3s's command line and log contract.
 */

export function hash(parts: string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 10);
}

/** Content-addressed tag per Kubernetes minor: any change to the entrypoint, configs or pins makes a new image. */
export function builtNodeImageRef(minor?: string): string {
  const p = pins();
  const files = readdirSync(NODE_IMAGE_SOURCES)
    .sort()
    .map((f) => `${f}:${readFileSync(path.join(NODE_IMAGE_SOURCES, f), "utf8")}`);
  const k = kubernetesPin(minor);
  const tag = `${k.version}-${hash([...files, buildIdentity(k), JSON.stringify(p.cluster.debian), p.images.pause, NODE_EXTRAS.join(",")])}`;
  return `${p.cluster.k3s.nodeImageRepository}:${tag}`;
}

/** Binaries the node has beyond its components: kubectl applies the packaged components' manifests, as k3s's deploy controller does. */
const NODE_EXTRAS = ["kubectl"];

/** What a build of one minor's components depends on (the same text a single-minor pin hashed, so tags stay). */
export function buildIdentity(k: KubernetesPin): string {
  const { module, version, stagingVersion, goDirective, godebug, components } = k;
  return JSON.stringify({ module, version, stagingVersion, goDirective, godebug, components });
}

export function kubeBinDir(cacheDir: string, minor?: string): string {
  return path.join(cacheDir, "bin", `kube-${kubernetesPin(minor).version}`);
}

/** Every Kubernetes binary any node flavour needs: the k3s-compatible node's and kind's (kubeadm, kubectl). */
function allComponents(): string[] {
  const p = pins().cluster;
  return [...new Set([...p.kubernetes.components, ...p.kind.components])];
}

/**
 * Builds the given Kubernetes binaries (default: the k3s-compatible node's kube-apiserver,
 * -controller-manager, -scheduler, kubelet, kube-proxy) from k8s.io/kubernetes; binaries
 * already built are kept.
 */
export async function buildKubernetes(
  cacheDir: string,
  progress: (m: string) => void,
  components = pins().cluster.kubernetes.components,
  minor?: string,
): Promise<"cached" | "built"> {
  const k = kubernetesPin(minor);
  const out = kubeBinDir(cacheDir, minor);
  // Once each: kind's list repeats the node's kubelet, and a binary is renamed into place once.
  const missing = [...new Set(components)].filter((c) => !existsSync(path.join(out, c)));
  if (missing.length === 0) return "cached";
  const go = await run(["go", "env", "GOVERSION"]);
  if (!succeeded(go))
    throw new HelmdrillError("the Go toolchain is not on PATH", "building the node image needs Go ≥ " + k.goDirective);

  // k8s.io/kubernetes replaces every k8s.io/* staging module with ./staging/…, which only
  // exists in its own repository. A wrapper module maps each to its published v0.x.y.
  progress(`go mod download ${k.module}@${k.version}`);
  const dl = await runChecked(["go", "mod", "download", "-json", `${k.module}@${k.version}`], { timeoutMs: 1_200_000 });
  const { GoMod } = JSON.parse(dl.stdout) as { GoMod: string };
  const staging = [...readFileSync(GoMod, "utf8").matchAll(/^\s*(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\//gm)].map(
    (m) => m[1]!,
  );
  if (staging.length === 0) throw new HelmdrillError(`no staging replacements found in ${GoMod}`);
  const src = path.join(cacheDir, "build", `kube-${k.version}`);
  mkdirSync(src, { recursive: true });
  const goMod = [
    "module helmdrill.local/kube-node-build",
    "",
    `go ${k.goDirective}`,
    "",
    `godebug ${k.godebug}`,
    "",
    `require ${k.module} ${k.version}`,
    "",
    "replace (",
    ...staging.map((m) => `\t${m} => ${m} ${k.stagingVersion}`),
    ")",
    "",
  ].join("\n");
  const goModPath = path.join(src, "go.mod");
  // The marker is written only after `go mod tidy` finished: an interrupted tidy is redone.
  const tidied = path.join(src, ".tidy-done");
  const tools = [
    "//go:build tools",
    "",
    "package tools",
    "",
    "import (",
    ...allComponents().map((c) => `\t_ "${k.module}/cmd/${c}"`),
    ")",
    "",
  ].join("\n");
  const toolsPath = path.join(src, "tools.go");
  const stale = !existsSync(toolsPath) || readFileSync(toolsPath, "utf8") !== tools;
  if (stale || !existsSync(goModPath) || !readFileSync(goModPath, "utf8").startsWith(goMod) || !existsSync(tidied)) {
    rmSync(tidied, { force: true });
    writeFileSync(goModPath, goMod);
    writeFileSync(toolsPath, tools);
    progress(`go mod tidy (${staging.length} staging modules pinned to ${k.stagingVersion})`);
    await runChecked(["go", "mod", "tidy"], { cwd: src, env: { GOFLAGS: "-mod=mod" }, timeoutMs: 1_800_000 });
    writeFileSync(tidied, "");
  }
  const [gitMajor, gitMinor] = k.version.replace(/^v/, "").split(".");
  const ld = ["-s", "-w"];
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    ld.push(
      `-X ${pkg}.gitVersion=${k.version}`,
      `-X ${pkg}.gitMajor=${gitMajor}`,
      `-X ${pkg}.gitMinor=${gitMinor}`,
      `-X ${pkg}.gitTreeState=clean`,
    );
  }
  progress(`go build ${missing.join(" ")} (${go.stdout.trim()}); cold: tens of minutes on 2 cores`);
  const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await runChecked(
    [
      "go",
      "build",
      "-trimpath",
      "-ldflags",
      ld.join(" "),
      "-o",
      `${tmp}/`,
      ...missing.map((c) => `${k.module}/cmd/${c}`),
    ],
    {
      cwd: src,
      env: { CGO_ENABLED: "0" },
      timeoutMs: 5_400_000,
    },
  );
  // Each binary is renamed into place whole: an interrupted build leaves none half-written.
  mkdirSync(out, { recursive: true });
  for (const c of missing) renameSync(path.join(tmp, c), path.join(out, c));
  rmSync(tmp, { recursive: true, force: true });
  return "built";
}

/** debootstrap → docker import, cached as an image named by the package list. */
export async function buildNodeRootfs(
  cacheDir: string,
  progress: (m: string) => void,
  flavour: { name: string; packages: string[] } = { name: "node", packages: pins().cluster.debian.packages },
): Promise<string> {
  const d = { ...pins().cluster.debian, packages: flavour.packages };
  const ref = `helmdrill.local/${flavour.name}-rootfs:${d.suite}-${hash([d.mirror, ...d.packages])}`;
  if (await imageExists(ref)) return ref;
  if (process.getuid?.() !== 0)
    throw new HelmdrillError(
      "building the node root filesystem needs root (debootstrap)",
      "run `npm run provision` as root once",
    );
  await ensureDebianPackages({ debootstrap: "/usr/sbin/debootstrap" }, progress);
  const target = path.join(cacheDir, "rootfs", `${flavour.name}-${d.suite}`);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(path.dirname(target), { recursive: true });
  progress(`debootstrap --variant=minbase ${d.suite} (+${d.packages.length} packages)`);
  await runChecked(
    ["debootstrap", "--variant=minbase", `--include=${d.packages.join(",")}`, d.suite, target, d.mirror],
    {
      timeoutMs: 1_800_000,
    },
  );
  for (const junk of [
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
    "var/cache/apt/archives",
    "var/lib/apt/lists",
  ]) {
    rmSync(path.join(target, junk), { recursive: true, force: true });
  }
  progress(`docker import ${ref}`);
  await runPipelineChecked(["tar", "-C", target, "-c", "."], ["docker", "import", "-", ref], {
    timeoutMs: 600_000,
    what: `docker import ${ref}`,
  });
  rmSync(target, { recursive: true, force: true });
  return ref;
}

/** Adds the Kubernetes binaries, entrypoint, containerd/CNI config and the pause image. */
async function assembleNodeImage(
  cacheDir: string,
  base: string,
  ref: string,
  progress: (m: string) => void,
  minor: string,
): Promise<void> {
  const ctx = scratchDir("node-build");
  try {
    const k = kubernetesPin(minor);
    for (const c of [...k.components, ...NODE_EXTRAS])
      copyFileSync(path.join(kubeBinDir(cacheDir, minor), c), path.join(ctx, c));
    for (const f of readdirSync(NODE_IMAGE_SOURCES)) copyFileSync(path.join(NODE_IMAGE_SOURCES, f), path.join(ctx, f));
    copyFileSync(await saveImages(cacheDir, "pause", [pins().images.pause]), path.join(ctx, "pause.tar"));
    writeFileSync(
      path.join(ctx, "Dockerfile"),
      [
        `FROM ${base}`,
        `COPY ${[...k.components, ...NODE_EXTRAS].join(" ")} /usr/local/bin/`,
        "COPY helmdrill-node.sh /usr/local/bin/helmdrill-node",
        "COPY containerd.toml /etc/containerd/config.toml",
        "COPY 10-helmdrill.conflist /etc/cni/net.d/10-helmdrill.conflist",
        "COPY pause.tar /var/lib/rancher/k3s/agent/images/helmdrill-pause.tar",
        "RUN chmod 0755 /usr/local/bin/* && mkdir -p /etc/rancher/k3s /var/log/helmdrill /etc/containerd/certs.d",
        "VOLUME /var/lib/kubelet /var/lib/rancher/k3s /var/lib/cni /var/log",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        `LABEL io.helmdrill.built-by="helmdrill provision" io.helmdrill.kubernetes="${k.version}"`,
        'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/helmdrill-node"]',
        'CMD ["agent"]',
        "",
      ].join("\n"),
    );
    progress(`docker build ${ref}`);
    await runChecked(["docker", "build", "-q", "-t", ref, ctx], { env: { DOCKER_BUILDKIT: "0" }, timeoutMs: 900_000 });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

export interface NodeImageResult {
  ref: string;
  how: "override" | "upstream-local" | "upstream-pulled" | "built-cached" | "built";
}

/** Picks the node image the k3s provider will start, building it if needed. */
/** Picks the node image of one Kubernetes minor (default: the pinned default), building it if needed. */
export async function ensureNodeImage(
  cacheDir: string,
  override: string | undefined,
  progress: (m: string) => void,
  minor = pins().cluster.kubernetes.default,
): Promise<NodeImageResult> {
  if (override) {
    if (!(await imageExists(override)))
      throw new HelmdrillError(`node image ${override} (HELMDRILL_K3S_IMAGE) is not present locally`);
    return { ref: override, how: "override" };
  }
  const built = builtNodeImageRef(minor);
  const k = kubernetesPin(minor);
  return upstreamOrBuilt(
    { upstream: k.k3sUpstreamImage, built, repository: pins().cluster.k3s.nodeImageRepository },
    progress,
    async () => {
      await buildKubernetes(cacheDir, progress, [...k.components, ...NODE_EXTRAS], minor);
      const base = await buildNodeRootfs(cacheDir, progress);
      await assembleNodeImage(cacheDir, base, built, progress, minor);
    },
  );
}

/**
 * A node image, upstream first (present locally, else pullable), else helmdrill's offline
 * build under its content-addressed tag — built only when that tag is not there yet, and older
 * builds removed once it is.
 */
export async function upstreamOrBuilt(
  image: { upstream: string; built: string; repository: string },
  progress: (m: string) => void,
  build: () => Promise<void>,
): Promise<NodeImageResult> {
  if (await imageExists(image.upstream)) return { ref: image.upstream, how: "upstream-local" };
  if (await imageExists(image.built)) return { ref: image.built, how: "built-cached" };
  progress(`docker pull ${image.upstream}`);
  const pull = await run(["docker", "pull", image.upstream], { timeoutMs: 180_000 });
  if (succeeded(pull)) return { ref: image.upstream, how: "upstream-pulled" };
  progress(
    `pull failed (${(pull.stderr.trim().split("\n").pop() ?? "").slice(0, 160)}); building ${image.built} offline`,
  );
  await build();
  await removeOtherTags(image.repository, image.built, progress);
  return { ref: image.built, how: "built" };
}

/**
 * Older builds of the node image are ~1 GiB each: remove them once a new one exists — only
 * those of the same Kubernetes minor (tags start with the version: v1.34.4-…), never another
 * minor's node.
 */
async function removeOtherTags(repository: string, keep: string, progress: (m: string) => void): Promise<void> {
  const list = await run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repository]);
  const minorOf = (ref: string) => /:v(\d+\.\d+)\./.exec(ref)?.[1];
  const stale = list.stdout
    .split("\n")
    .map((s) => s.trim())
    .filter((ref) => ref && ref !== keep && !ref.endsWith(":<none>") && minorOf(ref) === minorOf(keep));
  if (stale.length === 0) return;
  progress(`removing superseded node images: ${stale.join(", ")}`);
  await run(["docker", "rmi", ...stale]);
}

/** Which node image is there to start, without building anything. */
export async function findNodeImage(override?: string, minor?: string): Promise<string | undefined> {
  for (const ref of [override, kubernetesPin(minor).k3sUpstreamImage, builtNodeImageRef(minor)]) {
    if (ref && (await imageExists(ref))) return ref;
  }
  return undefined;
}
