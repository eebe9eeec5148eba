import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import semver from "semver";
import type { HelmdrillConfig } from "../config.ts";
import { describeError } from "../errors.ts";
import { run } from "../exec.ts";
import {
  fluxTargetPin,
  kubernetesPin,
  onDemandModule,
  pinnedFluxTargets,
  pinnedKubernetesMinors,
  pinnedVersions,
  pins,
  type ToolName,
} from "../pins.ts";
import { fluxLabel, resolveFlux } from "../tools/flux.ts";
import { dockerReachable } from "../provision/docker.ts";
import { findKindNodeImage } from "../provision/kind-node.ts";
import { findNodeImage } from "../provision/node-image.ts";
import { toolPath } from "../tools/index.ts";
import { readLock, type Lock } from "../tools/lock.ts";
import { servedVersions, type ServedVersions } from "../tools/on-demand.ts";

/**
 * `helmdrill versions`: what this machine can run, per tool — the pinned versions (and which of
 * them a run takes by default), what is built and cached (with helmdrill.lock's entries), and
 * what can be built on demand (Helm and helmfile: what the Go module proxy serves) — and the
 * cache's size. Facts are gathered first (`gatherVersionFacts`), then turned into the model
 * (`versionsModel`, a pure function) that both the text and `--json` show.
 */

/** Everything the command looked at, as found. */
export interface VersionFacts {
  cacheDir: string;
  cacheSize: { bytes: number } | { error: string };
  helm: ToolFacts;
  helmfile: ToolFacts;
  /** `go list -m -versions` of each module versions are built from on demand. */
  served: { tool: ToolName; served: ServedVersions }[];
  lock: { file: string; present: boolean; lock?: Lock; error?: string };
  /** Every pinned flux target: its controllers, whether a run takes it by default, whether both are built here. */
  flux: {
    target: string;
    default: boolean;
    controllers: string;
    helmLibrary: string;
    state: "built" | "failed" | "missing";
  }[];
  kubernetes: {
    default: string;
    minors: { minor: string; version: string; clusters: ("k3s" | "kind")[] }[];
    /** The node image there to start, per provider and minor; undefined when Docker did not answer. */
    nodeImages?: { cluster: "k3s" | "kind"; minor: string; image?: string }[];
    dockerError?: string;
  };
  kind: { pinned: string; built: string[] };
}

export interface ToolFacts {
  pinned: string[];
  defaults: string[];
  built: string[];
}

export interface VersionsModel {
  cache: { dir: string; bytes?: number; size: string };
  lock: { file: string; state: "present" | "absent" | "unreadable"; detail?: string; entries: string[] };
  tools: ToolVersions[];
}

export interface ToolVersions {
  /** "helm", "helmfile", "flux-helm-controller", …: the key in --json. */
  key: string;
  name: string;
  pinned: { version: string; default: boolean; detail?: string }[];
  built: { version: string; pinned: boolean; detail?: string }[];
  /** Built on demand: the modules and what they serve; or why a tool takes only pinned versions. */
  onDemand: { modules: { module: string; versions?: string[]; error?: string }[] } | { note: string };
  notes: string[];
}

const bySemver = (a: string, b: string) => {
  const [x, y] = [semver.coerce(a), semver.coerce(b)];
  return x && y ? semver.compare(x, y) || a.localeCompare(b) : a.localeCompare(b);
};
const bare = (v: string) => v.replace(/^v/, "");

export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}

const PINNED_ONLY = "pinned only: another version is a pins.json change";

/** The model both outputs show, from the facts alone. */
export function versionsModel(facts: VersionFacts): VersionsModel {
  const lock = facts.lock.lock;
  const lockEntries = (["helm", "helmfile"] as const).flatMap((tool) =>
    Object.keys(lock?.[tool] ?? {})
      .sort(bySemver)
      .map((v) => `${tool} ${v}`),
  );
  const goTool = (tool: ToolName, name: string): ToolVersions => {
    const f = facts[tool];
    const locked = lock?.[tool] ?? {};
    const pinned = new Set(f.pinned);
    const built = [...f.built].sort(bySemver).map((version) => {
      if (pinned.has(version)) return { version, pinned: true };
      const detail = locked[version] ? "on demand, in helmdrill.lock" : "on demand, not in helmdrill.lock yet";
      return { version, pinned: false, detail };
    });
    const lockedNotBuilt = Object.keys(locked)
      .filter((v) => !f.built.includes(v))
      .sort(bySemver);
    return {
      key: tool,
      name,
      pinned: [...f.pinned].sort(bySemver).map((version) => ({ version, default: f.defaults.includes(version) })),
      built,
      onDemand: {
        modules: facts.served
          .filter((s) => s.tool === tool)
          .map(({ served }) => ({
            module: served.module,
            ...(served.versions ? { versions: served.versions.map(bare) } : {}),
            ...(served.error
              ? {
                  error: served.notFound
                    ? `the proxy serves no such module (${served.error})`
                    : `the Go module proxy did not answer: ${served.error}`,
                }
              : {}),
          })),
      },
      notes: lockedNotBuilt.length
        ? [`in helmdrill.lock, not built here: ${lockedNotBuilt.join(", ")} (built on first use)`]
        : [],
    };
  };
  const k = facts.kubernetes;
  const nodes = (cluster: "k3s" | "kind"): ToolVersions => {
    const minors = k.minors.filter((m) => m.clusters.includes(cluster));
    const images = k.nodeImages?.filter((n) => n.cluster === cluster && n.image) ?? [];
    return {
      key: `kubernetes-${cluster}`,
      name: `Kubernetes nodes (${cluster})`,
      pinned: minors.map((m) => ({ version: m.minor, default: m.minor === k.default, detail: m.version })),
      built: images.map((n) => ({ version: n.minor, pinned: true, detail: n.image })),
      onDemand: { note: PINNED_ONLY },
      notes: k.nodeImages ? [] : [`node images not looked at: Docker did not answer (${k.dockerError ?? "?"})`],
    };
  };
  return {
    cache: {
      dir: facts.cacheDir,
      ...("bytes" in facts.cacheSize ? { bytes: facts.cacheSize.bytes } : {}),
      size: "bytes" in facts.cacheSize ? formatBytes(facts.cacheSize.bytes) : `size unknown (${facts.cacheSize.error})`,
    },
    lock: {
      file: facts.lock.file,
      state: facts.lock.error ? "unreadable" : facts.lock.present ? "present" : "absent",
      ...(facts.lock.error ? { detail: facts.lock.error } : {}),
      entries: lockEntries,
    },
    tools: [
      goTool("helm", "Helm"),
      goTool("helmfile", "helmfile"),
      {
        key: "flux",
        name: "Flux targets",
        pinned: facts.flux.map((f) => ({
          version: f.target,
          default: f.default,
          detail: `${f.controllers}, Helm library ${f.helmLibrary}`,
        })),
        built: facts.flux
          .filter((f) => f.state !== "missing")
          .map((f) => ({
            version: f.target,
            pinned: true,
            ...(f.state === "failed" ? { detail: "build failed (its runs are reported as not run)" } : {}),
          })),
        onDemand: { note: PINNED_ONLY },
        notes: [],
      },
      nodes("k3s"),
      nodes("kind"),
      {
        key: "kind",
        name: "kind CLI",
        pinned: [{ version: facts.kind.pinned, default: true }],
        built: [...facts.kind.built]
          .sort(bySemver)
          .map((version) => ({ version, pinned: version === facts.kind.pinned })),
        onDemand: { note: PINNED_ONLY },
        notes: [],
      },
    ],
  };
}

/** The model as text: a block per tool. */
export function renderVersions(model: VersionsModel): string {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(10)} ${text}`);
  const lock = model.lock;
  lines.push(`cache  ${model.cache.dir}  ${model.cache.size}`);
  lines.push(
    `lock   ${lock.file}  ${
      lock.state === "absent"
        ? "(none: no version outside pins.json built for this project yet)"
        : lock.state === "unreadable"
          ? `(unreadable: ${lock.detail})`
          : `(${lock.entries.length} entr${lock.entries.length === 1 ? "y" : "ies"}${lock.entries.length ? `: ${lock.entries.join(", ")}` : ""})`
    }`,
  );
  for (const t of model.tools) {
    lines.push("", t.name);
    const detail = (d?: string) => (d ? ` (${d})` : "");
    row(
      "pinned",
      t.pinned
        .map((p) => `${p.version}${detail([p.detail, p.default ? "default" : ""].filter(Boolean).join(", "))}`)
        .join(", ") || "none",
    );
    row("built", t.built.map((b) => `${b.version}${detail(b.detail)}`).join(", ") || "none");
    if ("note" in t.onDemand) row("on demand", t.onDemand.note);
    else
      t.onDemand.modules.forEach((m, i) =>
        row(i === 0 ? "on demand" : "", `${m.module}: ${m.versions ? m.versions.join(" ") || "(none)" : m.error}`),
      );
    for (const n of t.notes) row("", n);
  }
  return `${lines.join("\n")}\n`;
}

const listDir = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

/** `du -sb` of the cache (0 when nothing was provisioned yet). */
async function cacheSize(dir: string): Promise<VersionFacts["cacheSize"]> {
  if (!existsSync(dir)) return { bytes: 0 };
  const r = await run(["du", "-sb", dir], { timeoutMs: 120_000 });
  const bytes = Number(/^(\d+)\s/m.exec(r.stdout.trim().split("\n").at(-1) ?? "")?.[1]);
  if (Number.isFinite(bytes) && r.stdout.trim()) return { bytes };
  return {
    error: r.spawnError ?? (r.timedOut ? "du timed out" : r.stderr.trim().split("\n")[0] || `du exit ${r.exitCode}`),
  };
}

/** The modules versions are built from on demand: Helm's majors from 3 to the newest pinned, and helmfile's. */
export function onDemandModules(): { tool: ToolName; module: string }[] {
  const newest = Math.max(4, ...pinnedVersions("helm").map((v) => semver.major(v)));
  const helm = Array.from({ length: newest - 2 }, (_, i) => onDemandModule("helm", `${i + 3}.0.0`));
  const helmfile = [...new Set(["0.0.0", ...pinnedVersions("helmfile")].map((v) => onDemandModule("helmfile", v)))];
  return [
    ...helm.map((module) => ({ tool: "helm" as const, module })),
    ...helmfile.map((module) => ({ tool: "helmfile" as const, module })),
  ];
}

/** What this machine has: pins, the cache, the lock, the proxy (with a timeout), Docker's node images. */
export async function gatherVersionFacts(
  config: Pick<HelmdrillConfig, "cacheDir" | "root">,
  options: { proxyTimeoutMs?: number } = {},
): Promise<VersionFacts> {
  const p = pins();
  const cacheDir = config.cacheDir;
  const goTool = (tool: ToolName): ToolFacts => ({
    pinned: pinnedVersions(tool),
    defaults: [...p.defaults[tool]],
    built: listDir(path.join(cacheDir, "tools", tool)).filter(
      (v) => semver.valid(v) && existsSync(toolPath(cacheDir, tool, v)),
    ),
  });
  let lock: VersionFacts["lock"];
  try {
    const read = readLock(config.root);
    lock = { file: read.file, present: read.present, ...(read.present ? { lock: read.lock } : {}) };
  } catch (error) {
    lock = { file: path.join(config.root, "helmdrill.lock"), present: true, error: describeError(error) };
  }
  const fluxTarget = (target: string): VersionFacts["flux"][number] => {
    const { binaries, unavailable } = resolveFlux(cacheDir, target);
    return {
      target,
      default: p.flux.defaults.includes(target),
      controllers: fluxLabel(target),
      helmLibrary: fluxTargetPin(target).helmLibrary,
      state: binaries ? "built" : unavailable && !/is not provisioned/.test(unavailable) ? "failed" : "missing",
    };
  };
  const bin = listDir(path.join(cacheDir, "bin"));
  const minors = pinnedKubernetesMinors().map((minor) => {
    const pin = kubernetesPin(minor);
    return { minor, version: pin.version, clusters: pin.clusters };
  });
  const [served, size, docker] = await Promise.all([
    Promise.all(
      onDemandModules().map(async ({ tool, module }) => ({
        tool,
        served: await servedVersions(module, options.proxyTimeoutMs ?? 20_000),
      })),
    ),
    cacheSize(cacheDir),
    dockerReachable(),
  ]);
  const nodeImages = docker.ok
    ? await Promise.all(
        minors.flatMap((m) =>
          m.clusters.map(async (cluster) => ({
            cluster,
            minor: m.minor,
            image: cluster === "k3s" ? await findNodeImage(undefined, m.minor) : await findKindNodeImage(m.minor),
          })),
        ),
      )
    : undefined;
  return {
    cacheDir,
    cacheSize: size,
    helm: goTool("helm"),
    helmfile: goTool("helmfile"),
    served,
    lock,
    flux: pinnedFluxTargets().map(fluxTarget),
    kubernetes: {
      default: p.cluster.kubernetes.default,
      minors,
      ...(nodeImages ? { nodeImages } : { dockerError: docker.error?.split("\n")[0] ?? "not reachable" }),
    },
    kind: {
      pinned: bare(p.cluster.kind.cli.version),
      built: bin.filter((f) => /^kind-v\d/.test(f) && !f.includes(".tmp")).map((f) => bare(f.slice("kind-".length))),
    },
  };
}

/** The command: the text, or with `json` the model as JSON. Always exit 0. */
export async function versions(
  config: Pick<HelmdrillConfig, "cacheDir" | "root">,
  options: { json: boolean },
): Promise<string> {
  const model = versionsModel(await gatherVersionFacts(config));
  return options.json ? `${JSON.stringify(model, null, 2)}\n` : renderVersions(model);
}
