import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import semver from "semver";
import { projectFromEnv } from "./project-env.ts";
import { HelmdrillError } from "./errors.ts";

/**
 * The installed package's root: where pins.json and the provisioning sources live. From the
 * sources it is one level above harness/, from the compiled package (dist/harness/) two.
 */
export const PACKAGE_ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "pins.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
})();

export interface NpmToolPin {
  source: "npm";
  package: string;
  integrity: string;
  sha256: string;
}
export interface GoToolPin {
  source: "go-module";
  module: string;
  version: string;
  package: string;
  /** `{version}` is replaced by the pinned version. */
  ldflags?: string;
  /** For helmfile and helm-diff: the Helm versions it works with (semver range); other pairings are not run. */
  supportsHelm?: string;
  /**
   * `replace` directives to drop before building: a nested module replaced by a local path
   * (`./api`) is not inside the published module, so the published version is used instead.
   */
  dropReplace?: string[];
}
export type ToolPin = NpmToolPin | GoToolPin;

/** A Flux controller built from its Go module; its CRDs are read from the module (`crds`, a directory in it). */
export interface FluxControllerPin extends GoToolPin {
  crds: string;
}
export interface FluxPins {
  helmController: FluxControllerPin;
  sourceController: FluxControllerPin;
  /** The Helm library helm-controller embeds (its go.mod's helm.sh/helm/v3): the `helm` a flux target is keyed by. */
  helmLibrary: string;
}

/** One Kubernetes minor helmdrill builds nodes for. */
export interface KubernetesMinorPin {
  version: string;
  stagingVersion: string;
  goDirective: string;
  godebug: string;
  /** Used when present locally or pullable; otherwise the k3s-compatible node is built offline. */
  k3sUpstreamImage: string;
  /** The providers with a node for this minor. */
  clusters: ("k3s" | "kind")[];
  /** This minor's kind node, when `clusters` has kind. */
  kind?: KindMinorPin;
}

/** A minor's kind node: the upstream image, and the etcd and CoreDNS versions its kubeadm asks for. */
export interface KindMinorPin {
  /** Used when present locally or pullable; otherwise helmdrill builds a node image offline. */
  upstreamNodeImage: string;
  etcd: string;
  coredns: string;
}

/** A Go program pinned by module, its version chosen elsewhere (per Kubernetes minor). */
export type GoModulePin = Omit<GoToolPin, "version">;

/**
 * What real k3s packages beside Kubernetes, named by its `--disable` names, and helmdrill's
 * registry mirror (issue #20). Each is one image holding the binaries built from `build`.
 */
export const COMPONENTS = ["coredns", "local-storage", "servicelb", "metrics-server", "registry-mirror"] as const;
export type ComponentName = (typeof COMPONENTS)[number];
export interface ComponentPin {
  image: string;
  /** Binaries of the image, each a Go program built inside its module into /usr/local/bin/<name>. */
  build: (GoToolPin & { name: string })[];
  /** CRD manifests read from the (first) module, a directory in it. */
  crds?: string;
}

/** A minor's pin with what every minor shares: what a build of its components needs. */
export interface KubernetesPin extends KubernetesMinorPin {
  minor: string;
  module: string;
  components: string[];
}

export interface Pins {
  defaults: { helm: string[]; helmfile: string[]; helmDiff: string; cluster: string };
  baseline: { helm: string; helmfile: string };
  helm: Record<string, ToolPin>;
  kubectl: NpmToolPin & { version: string };
  helmfile: Record<string, ToolPin>;
  helmDiff: Record<string, GoToolPin>;
  flux: FluxPins;
  cluster: {
    k3s: { nodeImageRepository: string };
    components: Record<ComponentName, ComponentPin>;
    kubernetes: {
      module: string;
      /** The minor a run uses unless `--kubernetes` names others. */
      default: string;
      components: string[];
      minors: Record<string, KubernetesMinorPin>;
    };
    debian: { suite: string; mirror: string; packages: string[] };
    kind: {
      cli: GoToolPin;
      nodeImageRepository: string;
      /** Kubernetes binaries a kind node needs besides those the k3s-compatible node has. */
      components: string[];
      /** Built at the version each minor's `kind.etcd` names. */
      etcd: GoModulePin;
      /** Built at the version each minor's `kind.coredns` names. */
      coredns: GoModulePin;
      /** Debian packages of the node's root filesystem (kind's base image list, minus rootless/storage extras). */
      packages: string[];
    };
  };
  images: { busybox: string; todoDb: string[]; pause: string; unpullable: string };
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
  base ??= JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "pins.json"), "utf8")) as Pins;
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
    const v = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(raw)?.[1];
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
  if (!m) throw new HelmdrillError(`Kubernetes ${minor} is not pinned`, `pinned minors: ${pinnedKubernetesMinors().join(", ")}`);
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
      throw new HelmdrillError(`Kubernetes ${raw} is not pinned`, `pinned: ${known.map((k) => `${k} (${pins().cluster.kubernetes.minors[k]!.version})`).join(", ")}; use a minor such as ${known.at(-1)}, a list, or "all"`);
    }
    out.push(minor);
  }
  return [...new Set(out)];
}

/** A minor's kind node: its upstream image and the etcd and CoreDNS it is built with. */
export function kindPin(minor: string): { upstreamNodeImage: string; etcd: GoToolPin; coredns: GoToolPin } {
  const m = kubernetesPin(minor);
  if (!m.clusters.includes("kind") || !m.kind) {
    throw new HelmdrillError(`kind has no node for Kubernetes ${minor}`, `pinned kind nodes: Kubernetes ${minorsFor("kind").join(", ") || "none"}`);
  }
  const kind = pins().cluster.kind;
  return { upstreamNodeImage: m.kind.upstreamNodeImage, etcd: { ...kind.etcd, version: m.kind.etcd }, coredns: { ...kind.coredns, version: m.kind.coredns } };
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
