import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { HelmdrillError } from "../errors.ts";
import { run, runChecked, succeeded, tail } from "../exec.ts";
import { kindPin, kubernetesPin, PACKAGE_ROOT, pins, type GoToolPin } from "../pins.ts";
import { goBuildInModule } from "../tools/index.ts";
import { privilegeArgs } from "./privileges.ts";
import { RUN_LABEL } from "../util/run-label.ts";
import { scratchDir } from "../util/scratch.ts";
import { imageExists } from "./images.ts";
import {
  buildIdentity,
  buildKubernetes,
  buildNodeRootfs,
  hash,
  kubeBinDir,
  upstreamOrBuilt,
  type NodeImageResult,
} from "./node-image.ts";

/**
 * kind, offline (issue #11): the kind CLI from the Go module proxy, and a kind node image.
 * The upstream kindest/node is used when present locally or pullable. Otherwise the node is
 * assembled the way `kind build node-image` assembles one (sigs.k8s.io/kind
 * pkg/build/nodeimage): kind's base-image files (entrypoint, systemd units, containerd config)
 * from the kind module on a debootstrapped Debian with kind's package list; kubeadm, kubelet
 * and kubectl in /usr/bin; /kind/version; the images `kubeadm config images list` names,
 * built locally from the same Kubernetes binaries and from etcd's and CoreDNS's modules, and
 * imported into the node's containerd in a build container that is then committed. kind's
 * build would pull etcd, CoreDNS, pause, kindnetd and local-path-provisioner; nothing is
 * pulled here.
 */
export const KIND_NODE_SOURCES = path.join(PACKAGE_ROOT, "harness", "provision", "kind-node");

export function kindCliPath(cacheDir: string): string {
  return path.join(cacheDir, "bin", `kind-${pins().cluster.kind.cli.version}`);
}

/** A Go program built once per pinned version into the cache (bin/NAME-VERSION). */
export async function goBinary(
  cacheDir: string,
  name: string,
  pin: GoToolPin,
  progress: (m: string) => void,
): Promise<{ path: string; built: boolean }> {
  const dest = path.join(cacheDir, "bin", `${name}-${pin.version}`);
  if (existsSync(dest)) return { path: dest, built: false };
  await goBuildInModule(cacheDir, pin, dest, (pin.ldflags ?? "-s -w").replaceAll("{version}", pin.version), progress);
  return { path: dest, built: true };
}

export async function installKindCli(cacheDir: string, progress: (m: string) => void): Promise<"cached" | "built"> {
  const pin = pins().cluster.kind.cli;
  return (await goBinary(cacheDir, "kind", pin, progress)).built ? "built" : "cached";
}

/**
 * Content-addressed tag of a minor's offline-built kind node (`v1.34.4-<hash>`): kind's sources,
 * the kind pins with that minor's etcd and CoreDNS, the Kubernetes build and the package list.
 */
export function builtKindNodeImageRef(minor: string): string {
  const p = pins().cluster;
  const files = readdirSync(KIND_NODE_SOURCES)
    .sort()
    .map((f) => `${f}:${readFileSync(path.join(KIND_NODE_SOURCES, f), "utf8")}`);
  const k = kubernetesPin(minor);
  const kind = JSON.stringify({ ...p.kind, minor: kindPin(minor) });
  const tag = `${k.version}-${hash([...files, kind, buildIdentity(k), JSON.stringify(p.debian), pins().images.pause])}`;
  return `${p.kind.nodeImageRepository}:${tag}`;
}

/** Which kind node image of a minor is there to start, without building anything. */
export async function findKindNodeImage(minor: string, override?: string): Promise<string | undefined> {
  for (const ref of [override, kindPin(minor).upstreamNodeImage, builtKindNodeImageRef(minor)]) {
    if (ref && (await imageExists(ref))) return ref;
  }
  return undefined;
}

/** The image kubeadm will ask for, and how helmdrill makes it. */
interface NodeImagePart {
  /** The reference kubeadm (or kind's containerd config) names. */
  ref: string;
  /** A docker build context: Dockerfile + files. */
  context: Record<string, string | { copyFrom: string }>;
}

const scratchImage = (binary: string, from: string, entrypoint = false) => ({
  Dockerfile: [
    "FROM scratch",
    `COPY ${path.basename(binary)} /usr/local/bin/${path.basename(binary)}`,
    "ENV PATH=/usr/local/bin:/usr/bin:/bin",
    'LABEL io.helmdrill.built-by="helmdrill provision"',
    ...(entrypoint ? [`ENTRYPOINT ["/usr/local/bin/${path.basename(binary)}"]`] : []),
    "",
  ].join("\n"),
  [path.basename(binary)]: { copyFrom: from },
});

/** Maps every image kubeadm lists (and kind's sandbox image) to a local build, or says which pin is off. */
async function plannedImages(
  cacheDir: string,
  rootfs: string,
  minor: string,
  progress: (m: string) => void,
): Promise<NodeImagePart[]> {
  const k = kubernetesPin(minor);
  const kind = kindPin(minor);
  const bin = kubeBinDir(cacheDir, minor);
  const listed = await runChecked([
    path.join(bin, "kubeadm"),
    "config",
    "images",
    "list",
    "--kubernetes-version",
    k.version,
  ]);
  const sandbox = /sandbox_image\s*=\s*"([^"]+)"/.exec(
    readFileSync(
      path.join(await kindModuleDir(), "images", "base", "files", "etc", "containerd", "config.toml"),
      "utf8",
    ),
  )?.[1];
  const wanted = [
    ...new Set([
      ...listed.stdout
        .split("\n")
        .map((s) => s.trim())
        .filter(Boolean),
      ...(sandbox ? [sandbox] : []),
    ]),
  ];
  const parts: NodeImagePart[] = [];
  for (const ref of wanted) {
    const name = ref
      .replace(/:[^:/]+$/, "")
      .split("/")
      .pop()!;
    const tag = ref.split(":").pop()!;
    if (/^kube-(apiserver|controller-manager|scheduler)$/.test(name)) {
      parts.push({ ref, context: scratchImage(name, path.join(bin, name)) });
    } else if (name === "kube-proxy") {
      // kube-proxy programs iptables: it gets the node's own Debian userland.
      parts.push({
        ref,
        context: {
          Dockerfile: [
            `FROM ${rootfs}`,
            "COPY kube-proxy /usr/local/bin/kube-proxy",
            'LABEL io.helmdrill.built-by="helmdrill provision"',
            "",
          ].join("\n"),
          "kube-proxy": { copyFrom: path.join(bin, "kube-proxy") },
        },
      });
    } else if (name === "etcd") {
      if (tag.replace(/-\d+$/, "") !== kind.etcd.version.replace(/^v/, "")) {
        throw new HelmdrillError(
          `kubeadm ${k.version} asks for etcd ${tag}, but pins.json builds etcd ${kind.etcd.version}`,
          `set cluster.kubernetes.minors["${minor}"].kind.etcd in pins.json to the version kubeadm lists`,
        );
      }
      const etcd = await goBinary(cacheDir, "etcd", kind.etcd, progress);
      parts.push({ ref, context: scratchImage("etcd", etcd.path) });
    } else if (name === "coredns") {
      if (tag !== kind.coredns.version) {
        throw new HelmdrillError(
          `kubeadm ${k.version} asks for CoreDNS ${tag}, but pins.json builds CoreDNS ${kind.coredns.version}`,
          `set cluster.kubernetes.minors["${minor}"].kind.coredns in pins.json to the version kubeadm lists`,
        );
      }
      const coredns = await goBinary(cacheDir, "coredns", kind.coredns, progress);
      parts.push({ ref, context: scratchImage("coredns", coredns.path, true) });
    } else if (name === "pause") {
      parts.push({ ref, context: { Dockerfile: `FROM ${pins().images.pause}\n` } });
    } else {
      throw new HelmdrillError(`kubeadm ${k.version} lists an image helmdrill cannot build offline: ${ref}`);
    }
  }
  return parts;
}

let kindModule: Promise<string> | undefined;
async function kindModuleDir(): Promise<string> {
  const pin = pins().cluster.kind.cli;
  kindModule ??= runChecked(["go", "mod", "download", "-json", `${pin.module}@${pin.version}`], {
    timeoutMs: 600_000,
  }).then((r) => (JSON.parse(r.stdout) as { Dir: string }).Dir);
  return kindModule;
}

function writeContext(dir: string, context: NodeImagePart["context"]): void {
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(context)) {
    if (typeof content === "string") writeFileSync(path.join(dir, file), content);
    else copyFileSync(content.copyFrom, path.join(dir, file));
  }
}

/** kind's base image (images/base/Dockerfile), on Debian's containerd, runc and CNI plugins. */
function baseDockerfile(rootfs: string, kubernetesVersion: string): string {
  return [
    `FROM ${rootfs}`,
    "COPY base-files/ /",
    "COPY kubeadm kubelet kubectl /usr/bin/",
    "COPY helmdrill-privileges.sh /usr/local/bin/helmdrill-privileges",
    "COPY import-images.sh /kind/bin/helmdrill-import-images.sh",
    "COPY 10-helmdrill-ptp.conflist /etc/cni/net.d/10-helmdrill-ptp.conflist",
    "COPY default-cni.yaml /kind/manifests/default-cni.yaml",
    "COPY images/ /kind/images/",
    [
      "RUN chmod 0755 /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl /usr/local/bin/* /kind/bin/* /kind /kind/bin",
      "find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete",
      "rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* /lib/systemd/system/local-fs.target.wants/*",
      "rm -f /lib/systemd/system/sockets.target.wants/*udev* /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*",
      "echo ReadKMsg=no >> /etc/systemd/journald.conf",
      "ln -sf /lib/systemd/systemd /sbin/init",
      "ln -sf /usr/bin/containerd /usr/local/bin/containerd",
      "ln -sf /usr/bin/ctr /usr/local/bin/ctr",
      "mkdir -p /opt/cni /etc/kubernetes/manifests",
      "rm -rf /opt/cni/bin && ln -s /usr/lib/cni /opt/cni/bin",
      "systemctl enable kubelet.service containerd.service undo-mount-hacks.service",
      "systemctl mask systemd-binfmt.service",
      `ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json`,
      `echo ${kubernetesVersion} > /kind/version`,
    ].join(" && \\\n    "),
    "ENV container=docker",
    "STOPSIGNAL SIGRTMIN+3",
    `LABEL io.helmdrill.built-by="helmdrill provision" io.helmdrill.kubernetes="${kubernetesVersion}"`,
    "",
  ].join("\n");
}

const ENTRYPOINT = '["/usr/local/bin/helmdrill-privileges", "/usr/local/bin/entrypoint", "/sbin/init"]';

async function assembleKindNode(
  cacheDir: string,
  ref: string,
  minor: string,
  progress: (m: string) => void,
): Promise<void> {
  const k = kubernetesPin(minor);
  const rootfs = await buildNodeRootfs(cacheDir, progress, {
    name: "kind-node",
    packages: pins().cluster.kind.packages,
  });
  const parts = await plannedImages(cacheDir, rootfs, minor, progress);
  const ctx = scratchDir("kind-node-build");
  const temporaryTags: string[] = [];
  const stage = `${pins().cluster.kind.nodeImageRepository}-stage:${ref.split(":").pop()}`;
  const builder = `helmdrill-kind-build-${Date.now().toString(36)}`;
  try {
    // 1. The control-plane images, saved into one archive under the node's /kind/images; the
    //    registry.k8s.io names they get in Docker for `docker save` are removed again below.
    for (const [i, part] of parts.entries()) {
      // An upstream image of that name already here is used as is (and left alone afterwards).
      if (await imageExists(part.ref)) continue;
      const dir = path.join(ctx, `image-${i}`);
      writeContext(dir, part.context);
      progress(`docker build ${part.ref}`);
      temporaryTags.push(part.ref);
      await runChecked(["docker", "build", "-q", "-t", part.ref, dir], {
        env: { DOCKER_BUILDKIT: "0" },
        timeoutMs: 600_000,
      });
    }
    mkdirSync(path.join(ctx, "node", "images"), { recursive: true });
    progress(`docker save ${parts.length} images`);
    await runChecked(
      ["docker", "save", "-o", path.join(ctx, "node", "images", "control-plane.tar"), ...parts.map((p) => p.ref)],
      { timeoutMs: 600_000 },
    );

    // 2. The node: kind's base files + Kubernetes binaries + helmdrill's CNI configuration.
    const node = path.join(ctx, "node");
    cpSync(path.join(await kindModuleDir(), "images", "base", "files"), path.join(node, "base-files"), {
      recursive: true,
    });
    await runChecked(["chmod", "-R", "u+w", path.join(node, "base-files")]);
    for (const c of ["kubeadm", "kubelet", "kubectl"])
      copyFileSync(path.join(kubeBinDir(cacheDir, minor), c), path.join(node, c));
    for (const f of readdirSync(KIND_NODE_SOURCES)) copyFileSync(path.join(KIND_NODE_SOURCES, f), path.join(node, f));
    writeFileSync(path.join(node, "Dockerfile"), baseDockerfile(rootfs, k.version));
    progress(`docker build ${stage}`);
    await runChecked(["docker", "build", "-q", "-t", stage, node], {
      env: { DOCKER_BUILDKIT: "0" },
      timeoutMs: 900_000,
    });

    // 3. Import the images into the node's containerd, as kind's build container does, and commit.
    progress("importing the images into the node's containerd (build container)");
    const imported = await run(
      [
        "docker",
        "run",
        "--name",
        builder,
        "--label",
        `${RUN_LABEL}=provision`,
        ...(await privilegeArgs()),
        "--tmpfs",
        "/run",
        "--entrypoint",
        "/bin/bash",
        stage,
        "/kind/bin/helmdrill-import-images.sh",
      ],
      { timeoutMs: 900_000 },
    );
    if (!succeeded(imported))
      throw new HelmdrillError(
        "importing the control-plane images into the kind node failed",
        tail(`${imported.stdout}\n${imported.stderr}`, 15),
      );
    progress(`imported: ${imported.stdout.trim().split("\n").join(", ")}`);
    await runChecked(["docker", "commit", "--change", `ENTRYPOINT ${ENTRYPOINT}`, "--change", "CMD []", builder, ref], {
      timeoutMs: 600_000,
    });
  } finally {
    await run(["docker", "rm", "-f", "-v", builder]);
    await run(["docker", "rmi", stage, ...temporaryTags]);
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** Picks a minor's kind node image, building it offline when the upstream one is neither here nor pullable. */
export async function ensureKindNodeImage(
  cacheDir: string,
  minor: string,
  progress: (m: string) => void,
): Promise<NodeImageResult> {
  const kind = pins().cluster.kind;
  const built = builtKindNodeImageRef(minor);
  return upstreamOrBuilt(
    { upstream: kindPin(minor).upstreamNodeImage, built, repository: kind.nodeImageRepository },
    progress,
    async () => {
      await buildKubernetes(cacheDir, progress, [...pins().cluster.kubernetes.components, ...kind.components], minor);
      await assembleKindNode(cacheDir, built, minor, progress);
    },
  );
}
