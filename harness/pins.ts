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
  type GoToolPin,
  type KubernetesMinorPin,
  type Pins,
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

/** Does this pinned helmfile drive this Helm version? (helmfile < 1.2 predates Helm 4.) */
export function helmfileSupportsHelm(helmfile: string, helm: string): boolean {
  const range = helmfileHelmRange(helmfile);
  return range === undefined || semver.satisfies(helm, range);
}

/** The Helm versions a pinned helmfile drives (undefined: any). */
export function helmfileHelmRange(helmfile: string): string | undefined {
  const pin = pins().helmfile[helmfile];
  return pin && pin.source === "go-module" ? pin.supportsHelm : undefined;
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

/**
 * Turns user input such as "3.18.0,4.1.4" or "v4.1.4" into pinned versions, or explains
 * exactly what is wrong.
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
    const v = semver.clean(raw);
    if (!v) {
      throw new HelmdrillError(
        `malformed ${tool} version "${raw}"`,
        `write a full version such as ${known[0]} (pinned ${tool} versions: ${known.join(", ")})`,
      );
    }
    if (!known.includes(v)) {
      throw new HelmdrillError(
        `unknown ${tool} version "${raw}": it is not pinned`,
        `pinned ${tool} versions: ${known.join(", ")}; to add one, give it an entry in pins.json (npm package or Go module)`,
      );
    }
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

/** Every pinned Kubernetes minor ("1.33", "1.34"), oldest first. */
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
 * "1.33,1.34", "v1.33" or "1.33.5" → pinned minors; "all" → every pinned minor. Anything else
 * is one clear error naming the pinned ones.
 */
export function parseKubernetesList(input: string | readonly string[] | undefined): string[] {
  const known = pinnedKubernetesMinors();
  const items = (typeof input === "string" ? input.split(",") : (input ?? [])).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) return [pins().cluster.kubernetes.default];
  const out: string[] = [];
  for (const raw of items) {
    if (raw === "all") {
      out.push(...known);
      continue;
    }
    const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(raw);
    const minor = m ? `${m[1]}.${m[2]}` : undefined;
    const pin = minor ? pins().cluster.kubernetes.minors[minor] : undefined;
    if (!minor || !pin || (m![3] !== undefined && pin.version !== `v${minor}.${m![3]}`)) {
      throw new HelmdrillError(
        `Kubernetes ${raw} is not pinned`,
        `pinned: ${known.map((k) => `${k} (${pins().cluster.kubernetes.minors[k]!.version})`).join(", ")}; use a minor such as ${known.at(-1)}, a list, or "all"`,
      );
    }
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

/** Every pinned Kubernetes version without its "v" ("1.33.5", "1.34.4"): what `kubernetes:` ranges are checked against. */
export function pinnedKubernetesVersions(): string[] {
  return pinnedKubernetesMinors().map((m) => kubernetesPin(m).version.replace(/^v/, ""));
}
