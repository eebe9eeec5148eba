import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { HelmdrillError } from "../errors.ts";
import { run, runChecked, runPipelineChecked, succeeded } from "../exec.ts";
import { PACKAGE_ROOT, pins } from "../pins.ts";
import { ensureDebianPackages } from "./docker.ts";
import type { Project } from "../config.ts";
import { scratchDir } from "../util/scratch.ts";

/**
 * Workload images: built from Debian's busybox-static with `docker import`, tagged with a
 * fixed non-latest tag, and saved into one archive that every cluster preloads
 * (k3s-style: /var/lib/rancher/k3s/agent/images/*.tar). Nothing is ever pulled.
 */
export const NODE_IMAGE_SOURCES = path.join(PACKAGE_ROOT, "harness", "provision", "node-image");
const BUSYBOX = "/bin/busybox";

export async function imageExists(ref: string): Promise<boolean> {
  return succeeded(await run(["docker", "image", "inspect", "--format", "{{.Id}}", ref], { timeoutMs: 30_000 }));
}

/** A busybox root filesystem in a temp dir: /bin/busybox, every applet as a symlink, /tmp, /etc. */
async function busyboxRootfs(): Promise<string> {
  const root = scratchDir("rootfs");
  for (const dir of ["bin", "tmp", "etc", "www", "proc", "sys", "dev", "root"])
    mkdirSync(path.join(root, dir), { recursive: true });
  chmodSync(path.join(root, "tmp"), 0o1777);
  copyFileSync(BUSYBOX, path.join(root, "bin", "busybox"));
  chmodSync(path.join(root, "bin", "busybox"), 0o755);
  const list = await runChecked([BUSYBOX, "--list"]);
  for (const applet of list.stdout
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (applet !== "busybox") symlinkSync("busybox", path.join(root, "bin", applet));
  }
  writeFileSync(
    path.join(root, "etc", "passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
  );
  writeFileSync(path.join(root, "etc", "group"), "root:x:0:\nnobody:x:65534:\n");
  return root;
}

async function importRootfs(root: string, ref: string, changes: string[]): Promise<void> {
  await runPipelineChecked(
    ["tar", "-C", root, "-c", "."],
    ["docker", "import", ...changes.flatMap((c) => ["--change", c]), "-", ref],
    {
      what: `docker import ${ref}`,
      timeoutMs: 300_000,
    },
  );
}

const LABEL = 'LABEL io.helmdrill.built-by="helmdrill provision"';

/** The busybox image, the two to-do "database" images and the pause image. */
export async function buildWorkloadImages(progress: (m: string) => void): Promise<string[]> {
  await ensureDebianPackages({ "busybox-static": BUSYBOX }, progress);
  const images = pins().images;
  const built: string[] = [];
  const todo = images.todoDb.map((ref) => ({ ref, version: ref.split(":")[1]! }));
  const wanted = [images.busybox, ...todo.map((t) => t.ref), images.pause];
  if ((await Promise.all(wanted.map(imageExists))).every(Boolean)) return built;

  if (!(await imageExists(images.busybox))) {
    const root = await busyboxRootfs();
    try {
      await importRootfs(root, images.busybox, ['CMD ["sh"]', "ENV PATH=/bin", LABEL]);
      built.push(images.busybox);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  for (const { ref, version } of todo) {
    if (await imageExists(ref)) continue;
    const root = await busyboxRootfs();
    try {
      writeFileSync(path.join(root, "www", "version"), `PostgreSQL ${version}\n`);
      await importRootfs(root, ref, [
        'CMD ["httpd", "-f", "-p", "5432", "-h", "/www"]',
        "ENV PATH=/bin",
        "EXPOSE 5432",
        LABEL,
      ]);
      built.push(ref);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  if (!(await imageExists(images.pause))) {
    const root = scratchDir("pause");
    try {
      const cc = await run(["cc", "--version"]);
      if (!succeeded(cc))
        throw new HelmdrillError(
          "a C compiler (cc) is needed to build the pause image",
          "install gcc (Debian: apt-get install gcc libc6-dev)",
        );
      await runChecked([
        "cc",
        "-static",
        "-O2",
        "-o",
        path.join(root, "pause"),
        path.join(NODE_IMAGE_SOURCES, "pause.c"),
      ]);
      await importRootfs(root, images.pause, ['ENTRYPOINT ["/pause"]', LABEL]);
      built.push(images.pause);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  progress(`built ${built.join(", ")}`);
  return built;
}

export function digestOf(refs: string[]): string {
  return createHash("sha256").update(refs.join("\n")).digest("hex").slice(0, 12);
}

/**
 * One `docker save` archive per set of images, named by their image IDs, so it is rewritten
 * only when an image changed. Returns its path.
 */
export async function saveImages(cacheDir: string, name: string, refs: string[]): Promise<string> {
  const ids: string[] = [];
  for (const ref of refs) {
    const r = await runChecked(["docker", "image", "inspect", "--format", "{{.Id}}", ref], {
      what: `image ${ref} (run npm run provision)`,
    });
    ids.push(`${ref}@${r.stdout.trim()}`);
  }
  const dir = path.join(cacheDir, "images");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${digestOf(ids)}.tar`);
  if (existsSync(file)) return file;
  for (const old of readdirSync(dir).filter((f) => f.startsWith(`${name}-`)))
    rmSync(path.join(dir, old), { force: true });
  await runChecked(["docker", "save", "-o", `${file}.tmp`, ...refs], { timeoutMs: 300_000 });
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Every image a project's config preloads: local references and the tags it builds. */
export function projectImageRefs(project: Pick<Project, "images"> | undefined): string[] {
  return project ? [...project.images.preload, ...project.images.build.map((b) => b.tag)] : [];
}

/** The archive name of a project's images (one per project directory). */
export const projectArchiveName = (project: Pick<Project, "root">) => `project-${digestOf([project.root]).slice(0, 8)}`;

/**
 * The project's images: each build context built with `docker build` (its own layer cache
 * makes a rebuild quick), each preload reference checked to exist locally — nothing is pulled.
 */
export async function buildProjectImages(project: Project, progress: (m: string) => void): Promise<void> {
  for (const b of project.images.build) {
    progress(`docker build -t ${b.tag} ${b.context}`);
    await runChecked(["docker", "build", "-t", b.tag, ...(b.dockerfile ? ["-f", b.dockerfile] : []), b.context], {
      timeoutMs: 15 * 60_000,
      what: `docker build of ${b.tag} (images.build in ${project.file})`,
    });
  }
  const missing: string[] = [];
  for (const ref of project.images.preload) if (!(await imageExists(ref))) missing.push(ref);
  if (missing.length > 0) {
    throw new HelmdrillError(
      `image${missing.length > 1 ? "s" : ""} ${missing.join(", ")} named in images.preload of ${project.file} ${missing.length > 1 ? "are" : "is"} not present locally`,
      "build or load it first (docker build / docker load), or give its build context under images.build",
    );
  }
}

/** The archive every cluster preloads: every workload image from pins.json. */
export function workloadImageRefs(): string[] {
  const images = pins().images;
  return [images.busybox, ...images.todoDb];
}

export function fileSha(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}
