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
import { HelmdrillError } from "../errors.ts";
import path from "node:path";
import { run, runChecked } from "../exec.ts";
import { COMPONENTS, componentPin, pins, type ComponentName } from "../pins.ts";
import { scratchDir } from "../util/scratch.ts";
import { RUN_LABEL } from "../util/run-label.ts";
import { goBinary } from "./kind-node.ts";
import { digestOf, imageExists } from "./images.ts";

/**
 * The packaged components (issue #20): what real k3s ships beside Kubernetes — CoreDNS,
 * local-path-provisioner, a load balancer (MetalLB standing in for klipper-lb), metrics-server —
 * and a registry mirror (CNCF distribution). Each is built from the Go module proxy into the
 * cache (bin/NAME-VERSION, like every other Go tool) and packed into one image on helmdrill's
 * busybox base, so an operator can still `kubectl exec … sh` into it.
 */

/** Where provisioning writes MetalLB's CRDs, read from its Go module (they are its API, not ours to write). */
export function metallbCrdsFile(cacheDir: string): string {
  return path.join(cacheDir, "components", `metallb-crds-${componentPin("servicelb").build[0]!.version}.yaml`);
}

/** The images of every component (the registry's too: it runs beside the cluster, not in it). */
export function componentImageRefs(names: readonly ComponentName[] = COMPONENTS): string[] {
  return names.map((n) => componentPin(n).image);
}

/** The images the node itself runs (everything but the mirror, which runs beside it). */
export function inClusterComponentImages(): string[] {
  return componentImageRefs(COMPONENTS.filter((n) => n !== "registry-mirror"));
}

/** Where the distribution registry reads its configuration inside its image. */
export const REGISTRY_CONFIG = "/etc/distribution/config.yml";

/**
 * distribution's configuration: filesystem storage, plain HTTP on :5000. A mirror started for
 * a run is read-only (its storage is the cache's, shared by every run); provisioning pushes.
 */
export function registryConfig(readonly: boolean): string {
  return [
    "version: 0.1",
    "log:",
    "  level: info",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    "    rootdirectory: /var/lib/registry",
    "  delete:",
    "    enabled: false",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "    readonly:",
    `      enabled: ${readonly}`,
    "http:",
    "  addr: :5000",
    "",
  ].join("\n");
}

/** Builds (or finds) one component's image. */
async function ensureComponentImage(
  cacheDir: string,
  name: ComponentName,
  progress: (m: string) => void,
): Promise<boolean> {
  const pin = componentPin(name);
  if (await imageExists(pin.image)) return false;
  const ctx = scratchDir(`component-${name}`);
  try {
    const lines = [`FROM ${pins().images.busybox}`];
    for (const b of pin.build) {
      const bin = await goBinary(cacheDir, b.name, b, progress);
      copyFileSync(bin.path, path.join(ctx, b.name));
      lines.push(`COPY ${b.name} /usr/local/bin/${b.name}`);
    }
    if (name === "registry-mirror") {
      writeFileSync(path.join(ctx, "config.yml"), registryConfig(true));
      // OTEL_TRACES_EXPORTER=none: distribution v3 would otherwise export traces to a collector that is not there.
      lines.push(`COPY config.yml ${REGISTRY_CONFIG}`, "EXPOSE 5000", "ENV OTEL_TRACES_EXPORTER=none");
      lines.push(`ENTRYPOINT ["/usr/local/bin/registry", "serve"]`);
      lines.push(`CMD ["${REGISTRY_CONFIG}"]`);
    }
    lines.push(
      "ENV PATH=/usr/local/bin:/bin",
      `LABEL io.helmdrill.built-by="helmdrill provision" io.helmdrill.component="${name}"`,
      "",
    );
    writeFileSync(path.join(ctx, "Dockerfile"), lines.join("\n"));
    progress(`docker build ${pin.image}`);
    await runChecked(["docker", "build", "-q", "-t", pin.image, ctx], {
      env: { DOCKER_BUILDKIT: "0" },
      timeoutMs: 600_000,
    });
    return true;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** Every component image, built where missing, and MetalLB's CRDs; returns what was built. */
export async function ensureComponentImages(cacheDir: string, progress: (m: string) => void): Promise<string[]> {
  const built: string[] = [];
  for (const name of COMPONENTS)
    if (await ensureComponentImage(cacheDir, name, progress)) built.push(componentPin(name).image);
  const crds = metallbCrdsFile(cacheDir);
  if (!existsSync(crds)) {
    const pin = componentPin("servicelb");
    const dl = await runChecked(
      ["go", "mod", "download", "-json", `${pin.build[0]!.module}@${pin.build[0]!.version}`],
      { timeoutMs: 600_000 },
    );
    const dir = path.join((JSON.parse(dl.stdout) as { Dir: string }).Dir, pin.crds ?? "");
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(".yaml"))
      .sort();
    if (files.length === 0)
      throw new HelmdrillError(`no CRD manifests in ${dir}`, "check cluster.components.servicelb.crds in pins.json");
    mkdirSync(path.dirname(crds), { recursive: true });
    writeFileSync(
      `${crds}.${process.pid}.tmp`,
      files.map((f) => readFileSync(path.join(dir, f), "utf8").replace(/^---\n/, "")).join("\n---\n"),
    );
    renameSync(`${crds}.${process.pid}.tmp`, crds);
    built.push(`MetalLB CRDs (${files.length})`);
  }
  return built;
}

/**
 * The repository path an image has in any registry: what a mirror is asked for. Docker Hub's
 * short names get their implicit `library/` (`busybox` → `library/busybox`); the registry host
 * itself is dropped (`ghcr.io/org/app:1` → `org/app:1`, `helmdrill.local/busybox:1.35.0` →
 * `busybox:1.35.0`), as containerd sends a mirror `/v2/<path>/manifests/<tag>`.
 */
export function mirrorPath(ref: string): { registry: string; path: string } {
  const [first, ...rest] = ref.split("/");
  const isHost = rest.length > 0 && (first!.includes(".") || first!.includes(":") || first === "localhost");
  if (isHost) return { registry: first === "index.docker.io" ? "docker.io" : first!, path: rest.join("/") };
  return { registry: "docker.io", path: rest.length === 0 ? `library/${ref}` : ref };
}

/**
 * The mirror's storage for a set of images: a registry directory under the cache, named by the
 * images' IDs, filled once by pushing each image to a registry started on it (on the loopback)
 * and then only ever read. Returns the directory.
 */
export async function ensureMirrorStorage(
  cacheDir: string,
  refs: string[],
  progress: (m: string) => void,
): Promise<string> {
  const ids: string[] = [];
  for (const ref of refs) {
    const r = await runChecked(["docker", "image", "inspect", "--format", "{{.Id}}", ref], {
      what: `image ${ref} (run npm run provision)`,
    });
    ids.push(`${ref}@${r.stdout.trim()}`);
  }
  const root = path.join(cacheDir, "registry");
  const dir = path.join(root, digestOf(ids));
  if (existsSync(path.join(dir, ".complete"))) return dir;
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const image = componentPin("registry-mirror").image;
  const name = `helmdrill-registry-fill-${process.pid}-${Date.now().toString(36)}`;
  const pushed: string[] = [];
  try {
    const configFile = path.join(tmp, ".config.yml");
    writeFileSync(configFile, registryConfig(false));
    progress(`filling the registry mirror's storage with ${refs.length} images`);
    await runChecked(
      [
        "docker",
        "run",
        "-d",
        "--name",
        name,
        "--label",
        `${RUN_LABEL}=provision`,
        "-p",
        "127.0.0.1::5000",
        "-v",
        `${tmp}:/var/lib/registry`,
        "-v",
        `${configFile}:${REGISTRY_CONFIG}:ro`,
        image,
      ],
      { timeoutMs: 120_000 },
    );
    const port = (await runChecked(["docker", "port", name, "5000/tcp"])).stdout
      .trim()
      .split("\n")[0]!
      .split(":")
      .pop();
    for (const ref of refs) {
      const target = `127.0.0.1:${port}/${mirrorPath(ref).path}`;
      await runChecked(["docker", "tag", ref, target]);
      pushed.push(target);
      progress(`docker push ${target}`);
      await runChecked(["docker", "push", "-q", target], { timeoutMs: 600_000, what: `docker push ${target}` });
    }
  } finally {
    await run(["docker", "rm", "-f", "-v", name]);
    if (pushed.length > 0) await run(["docker", "rmi", ...pushed]);
  }
  rmSync(path.join(tmp, ".config.yml"), { force: true });
  writeFileSync(path.join(tmp, ".complete"), ids.join("\n") + "\n");
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** Component images not present locally (for `doctor` and the preflight). */
export async function componentImagesPresent(): Promise<string[]> {
  const missing: string[] = [];
  for (const ref of componentImageRefs()) if (!(await imageExists(ref))) missing.push(ref);
  return missing;
}
