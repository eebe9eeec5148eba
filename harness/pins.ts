import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import semver from "semver";
import { projectFromEnv } from "./project-env.ts";
import { HelmdrillError } from "./errors.ts";
import {
  pinsSchema,
  withoutComments,
  type ComponentName,
  type ComponentPin,
  type FluxTargetPin,
  type GoToolPin,
  type KubernetesMinorPin,
  type Pins,
  type ToolPin,
} from "./pins-schema.ts";
import { describeIssues } from "./util/schema-issues.ts";

/**
 * The installed package's root: where pins.json and the provisioning sources live. From the
 * sources it is one level above harness/, from the compiled package (dist/harness/) two.
 */
export const PACKAGE_ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "pins.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

export {
  COMPONENTS,
  type ComponentName,
  type ComponentPin,
  type FluxControllerPin,
  type FluxPins,
  type FluxTargetPin,
  type GoModulePin,
  type GoToolPin,
  type KindMinorPin,
  type KubernetesMinorPin,
  type NpmToolPin,
  type Pins,
  type ToolPin,
} from "./pins-schema.ts";

/** A minor's pin with what every minor shares: what a build of its components needs. */
export interface KubernetesPin extends KubernetesMinorPin {
  minor: string;
  module: string;
  components: string[];
}

/**
 * pins.json validated against its schema: a malformed file is one error naming every bad key
 * path, instead of a TypeError wherever the missing value is first read.
 */
export function parsePins(text: string, file: string): Pins {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new HelmdrillError(`${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = pinsSchema.safeParse(withoutComments(raw));
  if (!parsed.success) {
    const problems = describeIssues(parsed.error, "(the file)");
    throw new HelmdrillError(
      `malformed ${file}:\n  ${problems.join("\n  ")}`,
      "see harness/pins-schema.ts for the shape of each entry",
    );
  }
  return parsed.data;
}

let base: Pins | undefined;
const merged = new Map<string, Pins>();

/** Does this helmfile drive this Helm version? (helmfile < 1.2 predates Helm 4.) */
export function helmfileSupportsHelm(helmfile: string, helm: string): boolean {
  const range = helmfileHelmRange(helmfile);
  return range === undefined || semver.satisfies(helm, range);
}

/** The Helm versions a helmfile drives (undefined: any): its pin's, or for one built on demand, the rule below. */
export function helmfileHelmRange(helmfile: string): string | undefined {
  const pin = toolPinFor("helmfile", helmfile);
  return pin.source === "go-module" ? pin.supportsHelm : undefined;
}

/**
 * pins.json, the single source of versions, merged with the extra pins of the project's
 * helmdrill.config.ts (same schema; a project pin of an already pinned version replaces it).
 */
export function pins(): Pins {
  const file = path.join(PACKAGE_ROOT, "pins.json");
  base ??= parsePins(readFileSync(file, "utf8"), file);
  const extra = projectFromEnv()?.pins;
  if (!extra) return base;
  const key = JSON.stringify(extra);
  let p = merged.get(key);
  if (!p) {
    p = { ...base, helm: { ...base.helm, ...extra.helm }, helmfile: { ...base.helmfile, ...extra.helmfile } };
    merged.set(key, p);
  }
  return p;
}

export type ToolName = "helm" | "helmfile";

/** Every pinned version of a tool (not only the default selection). */
export function pinnedVersions(tool: ToolName): string[] {
  return Object.keys(pins()[tool]).filter((k) => !k.startsWith("$"));
}

/** Is this version pinned (pins.json, or the project's `pins`)? Any other well-formed one is built on demand. */
export function isPinned(tool: ToolName, version: string): boolean {
  return pinnedVersions(tool).includes(version);
}

/** The oldest Helm major helmdrill can build: helm.sh/helm/v3 (Helm 2 was another module, k8s.io/helm). */
const OLDEST_HELM_MAJOR = 3;

/** The Go module a version is built from on demand: helm.sh/helm/v<major>, github.com/helmfile/helmfile(/v<major> from 2). */
export function onDemandModule(tool: ToolName, version: string): string {
  const major = semver.major(version);
  if (tool === "helm") return `helm.sh/helm/v${major}`;
  return major >= 2 ? `github.com/helmfile/helmfile/v${major}` : "github.com/helmfile/helmfile";
}

/**
 * The recipe of a version that is not pinned, built from the Go module proxy on first use: the
 * recipe of the pinned Go-module builds of the same tool (package, ldflags with the version and
 * the module's own path, dropped replaces), at this version's module. Without such a pin, the
 * recipe those pins use (Helm: ./cmd/helm, internal/version stamped; helmfile: ., go.szostok.io/version).
 * An unpinned helmfile drives Helm 3 before 1.2.0 (the first with Helm 4 support), Helm 3 and 4 from it.
 */
export function onDemandPin(tool: ToolName, version: string): GoToolPin {
  const module = onDemandModule(tool, version);
  const recipes = Object.values(pins()[tool]).filter((p): p is GoToolPin => p.source === "go-module");
  const like = recipes.find((p) => p.module === module) ?? recipes[0];
  const fallback =
    tool === "helm"
      ? {
          package: "./cmd/helm",
          ldflags:
            "-s -w -X {module}/internal/version.version={version} -X {module}/internal/version.gitTreeState=clean",
        }
      : { package: ".", ldflags: "-s -w -X go.szostok.io/version.version={version}" };
  const ldflags = like ? (like.ldflags ?? "-s -w").replaceAll(like.module, "{module}") : fallback.ldflags;
  return {
    source: "go-module",
    module,
    version: `v${version}`,
    package: like?.package ?? fallback.package,
    ldflags: ldflags.replaceAll("{module}", module),
    ...(like?.dropReplace ? { dropReplace: like.dropReplace } : {}),
    ...(tool === "helmfile" ? { supportsHelm: semver.lt(version, "1.2.0") ? ">=3.0.0 <4" : ">=3.0.0 <5" } : {}),
  };
}

/** A version's pin: pinned, else the on-demand recipe (see `onDemandPin`). */
export function toolPinFor(tool: ToolName, version: string): ToolPin {
  return pins()[tool][version] ?? onDemandPin(tool, version);
}

/**
 * Turns user input such as "3.18.0,4.1.4" or "v4.1.4" into versions: pinned ones, or any other
 * well-formed version, which is built from the Go module proxy on first use (tools/on-demand.ts).
 * Malformed input, and a Helm older than helmdrill can build, is one clear error.
 */
export function parseVersionList(tool: ToolName, input: string | readonly string[] | undefined): string[] {
  const known = pinnedVersions(tool);
  if (input === undefined || input === "") return [...pins().defaults[tool]];
  const items = (typeof input === "string" ? input.split(",") : input).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) return [...pins().defaults[tool]];
  const out: string[] = [];
  for (const raw of items) {
    if (raw === "all") {
      out.push(...known);
      continue;
    }
    // Strict: "3.20" or "latest" is no version (semver.clean would also take "=3.20.2" or " v3.20.2 ").
    const v = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(raw) ? semver.valid(raw.replace(/^v/, "")) : null;
    if (!v) {
      throw new HelmdrillError(
        `malformed ${tool} version "${raw}"`,
        `write a full version such as ${known[0]} (pinned ${tool} versions: ${known.join(", ")}; any other the Go module proxy serves is built on first use)`,
      );
    }
    if (tool === "helm" && !known.includes(v) && semver.major(v) < OLDEST_HELM_MAJOR) {
      throw new HelmdrillError(
        `helm ${v} cannot be built: helmdrill builds Helm from helm.sh/helm/v${OLDEST_HELM_MAJOR} and later`,
        `Helm 2 is the write-ups' documented baseline column, never run; pinned helm versions: ${known.join(", ")}`,
      );
    }
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

/** Every pinned Kubernetes minor ("1.34", "1.35", …), oldest first. */
export function pinnedKubernetesMinors(): string[] {
  return Object.keys(pins().cluster.kubernetes.minors)
    .filter((k) => !k.startsWith("$"))
    .sort((a, b) => semver.compare(`${a}.0`, `${b}.0`));
}

/** The pin of one Kubernetes minor (default: the pinned default). */
export function kubernetesPin(minor = pins().cluster.kubernetes.default): KubernetesPin {
  const k = pins().cluster.kubernetes;
  const m = k.minors[minor];
  if (!m)
    throw new HelmdrillError(
      `Kubernetes ${minor} is not pinned`,
      `pinned minors: ${pinnedKubernetesMinors().join(", ")}`,
    );
  return { ...m, minor, module: k.module, components: k.components };
}

/**
 * "1.34,1.37", "v1.37" or "1.37.2" → pinned minors; "all" → every pinned minor. Anything else
 * is one clear error naming the pinned ones.
 */
export function parseKubernetesList(input: string | readonly string[] | undefined): string[] {
  const { minors, default: fallback } = pins().cluster.kubernetes;
  const known = pinnedKubernetesMinors();
  return parsePinnedMinors(input, {
    known,
    defaults: [fallback],
    exactVersion: (minor) => minors[minor]?.version.replace(/^v/, ""),
    refusal: (raw) =>
      new HelmdrillError(
        `Kubernetes ${raw} is not pinned`,
        `pinned: ${known.map((k) => `${k} (${minors[k]!.version})`).join(", ")}; use a minor such as ${known.at(-1)}, a list, or "all"`,
      ),
  });
}

/**
 * A comma list of pinned minors ("1.4", "v1.6", "1.6.4" — a patch only if it is the pinned one —
 * or "all") → the pinned names in the order given, without repeats; nothing → the defaults.
 */
function parsePinnedMinors(
  input: string | readonly string[] | undefined,
  how: {
    known: readonly string[];
    defaults: readonly string[];
    /** The pinned exact version ("1.37.2") of a minor, undefined when the minor is not pinned. */
    exactVersion: (minor: string) => string | undefined;
    refusal: (raw: string) => HelmdrillError;
  },
): string[] {
  const items = (typeof input === "string" ? input.split(",") : (input ?? [])).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) return [...how.defaults];
  const out: string[] = [];
  for (const raw of items) {
    if (raw === "all") {
      out.push(...how.known);
      continue;
    }
    const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(raw);
    const minor = m ? `${m[1]}.${m[2]}` : undefined;
    const exact = minor ? how.exactVersion(minor) : undefined;
    if (!minor || !exact || (m![3] !== undefined && exact !== `${minor}.${m![3]}`)) throw how.refusal(raw);
    out.push(minor);
  }
  return [...new Set(out)];
}

/** A minor's kind node: its upstream image and the etcd and CoreDNS it is built with. */
export function kindPin(minor: string): { upstreamNodeImage: string; etcd: GoToolPin; coredns: GoToolPin } {
  const m = kubernetesPin(minor);
  if (!m.clusters.includes("kind") || !m.kind) {
    throw new HelmdrillError(
      `kind has no node for Kubernetes ${minor}`,
      `pinned kind nodes: Kubernetes ${minorsFor("kind").join(", ") || "none"}`,
    );
  }
  const kind = pins().cluster.kind;
  return {
    upstreamNodeImage: m.kind.upstreamNodeImage,
    etcd: { ...kind.etcd, version: m.kind.etcd },
    coredns: { ...kind.coredns, version: m.kind.coredns },
  };
}

/** The pin of one packaged component. */
export function componentPin(name: ComponentName): ComponentPin {
  return pins().cluster.components[name];
}

/** The minors a provider has a node for. */
export function minorsFor(cluster: "k3s" | "kind"): string[] {
  return pinnedKubernetesMinors().filter((k) => pins().cluster.kubernetes.minors[k]!.clusters.includes(cluster));
}

/** Every pinned Kubernetes version without its "v" ("1.34.4", "1.37.2", …): what `kubernetes:` ranges are checked against. */
export function pinnedKubernetesVersions(): string[] {
  return pinnedKubernetesMinors().map((m) => kubernetesPin(m).version.replace(/^v/, ""));
}

// ------------------------------------------------------------------ flux targets

const controllerVersion = (t: FluxTargetPin) => t.helmController.version.replace(/^v/, "");

/** Every pinned flux target ("1.4", "1.6"), oldest helm-controller first. */
export function pinnedFluxTargets(): string[] {
  const targets = pins().flux.targets;
  return Object.keys(targets).sort((a, b) =>
    semver.compare(controllerVersion(targets[a]!), controllerVersion(targets[b]!)),
  );
}

/** One flux target's pin: its controllers, the Helm library and the column label. */
export function fluxTargetPin(name: string): FluxTargetPin {
  const pin = pins().flux.targets[name];
  if (!pin)
    throw new HelmdrillError(`flux target ${name} is not pinned`, `pinned flux targets: ${describeFluxTargets()}`);
  return pin;
}

/** "1.4 (helm-controller 1.4.0, Helm library 3.19.0), 1.6 (…)": what an error about a flux target lists. */
function describeFluxTargets(): string {
  return pinnedFluxTargets()
    .map((n) => {
      const t = pins().flux.targets[n]!;
      return `${n} (helm-controller ${controllerVersion(t)}, Helm library ${t.helmLibrary})`;
    })
    .join(", ");
}

/**
 * `--flux 1.6`, "1.4,1.6", "v1.6", "all", or a target's exact helm-controller version ("1.6.4")
 * → pinned flux target names, in the order given; nothing → the pinned defaults. Anything else
 * is one clear error naming the pinned targets.
 */
export function parseFluxList(input: string | readonly string[] | undefined): string[] {
  const known = pinnedFluxTargets();
  return parsePinnedMinors(input, {
    known,
    defaults: pins().flux.defaults,
    exactVersion: (name) => {
      const pin = pins().flux.targets[name];
      return pin && controllerVersion(pin);
    },
    refusal: (raw) =>
      new HelmdrillError(
        `flux target ${raw} is not pinned`,
        `pinned flux targets: ${describeFluxTargets()}; name one by its minor (--flux ${known.at(-1)}), a list, or "all"`,
      ),
  });
}
