import { existsSync } from "node:fs";
import type { HelmdrillConfig } from "../config.ts";
import { describeError } from "../errors.ts";
import { run } from "../exec.ts";
import { isPinned, minorsFor, pins } from "../pins.ts";
import { dockerReachable } from "../provision/docker.ts";
import { findNodeImage } from "../provision/node-image.ts";
import { findKindNodeImage, kindCliPath } from "../provision/kind-node.ts";
import { imageExists } from "../provision/images.ts";
import { COMPONENTS, componentPin } from "../pins.ts";
import { ExistingClusterProvider } from "../cluster/existing.ts";
import { toolPath } from "../tools/index.ts";

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** `helmdrill doctor`: each prerequisite, what is wrong, and exactly what to do about it. */
export async function doctor(config: HelmdrillConfig): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (c: DoctorCheck) => checks.push(c);
  const provisionFix = "run `npm run provision`";

  const docker = await dockerReachable();
  add({
    name: "Docker engine",
    ok: docker.ok || config.cluster === "existing",
    detail: docker.ok ? `engine ${docker.version}` : `not reachable: ${docker.error?.split("\n")[0]}`,
    fix: "start Docker or set DOCKER_HOST (as root on Debian, `npm run provision` installs and starts it)",
  });

  if (docker.ok) {
    // The selected Kubernetes minors (--kubernetes; default: the pinned default).
    for (const minor of config.kubernetes.filter((m) => minorsFor("k3s").includes(m))) {
      const node = await findNodeImage(config.k3sImage, minor);
      add({
        name: `k3s node image (Kubernetes ${minor})`,
        ok: Boolean(node),
        detail: node ?? "none present",
        fix: provisionFix,
      });
    }
    if (config.clusters.includes("kind")) {
      const cli = existsSync(kindCliPath(config.cacheDir));
      add({
        name: "kind CLI",
        ok: cli,
        detail: cli ? kindCliPath(config.cacheDir) : "not provisioned",
        fix: provisionFix,
      });
      for (const minor of config.kubernetes.filter((m) => minorsFor("kind").includes(m))) {
        const kindNode = await findKindNodeImage(minor);
        add({
          name: `kind node image (Kubernetes ${minor})`,
          ok: Boolean(kindNode),
          detail: kindNode ?? "none present",
          fix: provisionFix,
        });
      }
    }
    const images = pins().images;
    for (const ref of [images.busybox, ...images.todoDb, images.pause]) {
      const there = await imageExists(ref);
      add({ name: `workload image ${ref}`, ok: there, detail: there ? "present" : "missing", fix: provisionFix });
    }
    for (const name of COMPONENTS) {
      const ref = componentPin(name).image;
      const off = config.disabled.includes(name);
      const there = off || (await imageExists(ref));
      add({
        name: `packaged component ${name} (${ref})`,
        ok: there,
        detail: off ? "disabled" : there ? "present" : "missing",
        fix: provisionFix,
      });
    }
  }

  const want: [string, string, string[]][] = [
    ["kubectl", pins().kubectl.version, ["version", "--client"]],
    ...config.helmVersions.map((v): [string, string, string[]] => ["helm", v, ["version", "--short"]]),
    ...config.helmfileVersions.map((v): [string, string, string[]] => ["helmfile", v, ["--version"]]),
  ];
  for (const [tool, version, args] of want) {
    const p = toolPath(config.cacheDir, tool as "helm", version);
    if (!existsSync(p)) {
      const onDemand = tool !== "kubectl" && !isPinned(tool as "helm" | "helmfile", version);
      const fix = onDemand ? `not pinned: \`helmdrill run --${tool} ${version}\` builds it on first use` : provisionFix;
      add({ name: `${tool} ${version}`, ok: false, detail: `missing (${p})`, fix });
      continue;
    }
    const r = await run([p, ...args], { timeoutMs: 30_000 });
    const reported = `${r.stdout}${r.stderr}`.trim().split("\n")[0] ?? "";
    const ok = r.exitCode === 0 && reported.includes(version);
    add({
      name: `${tool} ${version}`,
      ok,
      detail: ok ? reported : `reports "${reported}" (exit ${r.exitCode})`,
      fix: `delete ${p} and ${provisionFix}`,
    });
  }

  if (config.cluster === "existing") {
    try {
      const c = await new ExistingClusterProvider(config.existing).start();
      add({ name: "cluster (existing)", ok: true, detail: c.describe() });
      await c.stop();
    } catch (error) {
      add({ name: "cluster (existing)", ok: false, detail: describeError(error) });
    }
  } else {
    add({
      name: `cluster (${config.cluster})`,
      ok: true,
      detail: "started by helmdrill for each run and removed afterwards",
    });
  }
  return checks;
}
