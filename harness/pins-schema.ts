import { z } from "zod";

/**
 * The schema of pins.json, and of a project's extra pins (helmdrill.config.ts `pins:`), in one
 * place: the types below are inferred from it, so what is validated and what the code reads
 * cannot disagree. A leaf module (zod only): pins.ts, project-env.ts and config.ts all use it.
 *
 * Every object is strict (a misspelt key is an error naming it); keys starting with "$" are
 * comments (`$comment`) and are removed before validating (see `withoutComments`).
 */

export const npmToolPinSchema = z.strictObject({
  source: z.literal("npm"),
  package: z.string().min(1),
  integrity: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "a hex SHA-256"),
});

export const goToolPinSchema = z.strictObject({
  source: z.literal("go-module"),
  module: z.string().min(1),
  version: z.string().min(1),
  package: z.string().min(1),
  /** `{version}` is replaced by the pinned version. */
  ldflags: z.string().optional(),
  /** For helmfile and helm-diff: the Helm versions it works with (semver range); other pairings are not run. */
  supportsHelm: z.string().optional(),
  /**
   * `replace` directives to drop before building: a nested module replaced by a local path
   * (`./api`) is not inside the published module, so the published version is used instead.
   */
  dropReplace: z.array(z.string().min(1)).optional(),
  /**
   * `replace` directives to add before building, module → `module@version`: for a dependency at a
   * version the Go module proxy refuses, a served version stands in (say so in the pin's comment).
   */
  replace: z.record(z.string().min(1), z.string().regex(/^[^@\s]+@v\S+$/, "module@version")).optional(),
});

export const toolPinSchema = z.discriminatedUnion("source", [npmToolPinSchema, goToolPinSchema]);

/** A project's extra tool versions, in pins.json's schema, merged with the built-in pins. */
export const projectPinsSchema = z.strictObject({
  helm: z.record(z.string(), toolPinSchema).optional(),
  helmfile: z.record(z.string(), toolPinSchema).optional(),
});

/** A Flux controller built from its Go module; its CRDs are read from the module (`crds`, a directory in it). */
const fluxControllerPinSchema = goToolPinSchema.extend({ crds: z.string().min(1) });

/** One flux target: helm-controller with a source-controller it supports, and the Helm library it embeds. */
const fluxTargetPinSchema = z.strictObject({
  /** The matrix column: "flux 1.6 (Helm 4 library)". */
  label: z.string().min(1),
  helmController: fluxControllerPinSchema,
  sourceController: fluxControllerPinSchema,
  /** The Helm library helm-controller embeds (its go.mod's helm.sh/helm/v3 or /v4): the `helm` a flux target is keyed by. */
  helmLibrary: z.string().min(1),
});

/** Flux targets by name, a helm-controller minor ("1.4", "1.6"): what `--flux` and `flux:` selectors name. */
const fluxPinsSchema = z
  .strictObject({
    /** The targets a run takes unless `--flux` names others. */
    defaults: z.array(z.string().min(1)).min(1),
    targets: z.record(z.string(), fluxTargetPinSchema),
  })
  .superRefine((flux, ctx) => {
    for (const name of Object.keys(flux.targets))
      if (!/^\d+\.\d+$/.test(name))
        ctx.addIssue({ code: "custom", path: ["targets", name], message: 'not a helm-controller minor, e.g. "1.6"' });
    for (const [i, name] of flux.defaults.entries())
      if (!flux.targets[name])
        ctx.addIssue({
          code: "custom",
          path: ["defaults", i],
          message: `"${name}" is no flux target (targets: ${Object.keys(flux.targets).join(", ")})`,
        });
  });

/** A Go program pinned by module, its version chosen elsewhere (per Kubernetes minor). */
const goModulePinSchema = goToolPinSchema.omit({ version: true });

/** A minor's kind node: the upstream image, and the etcd and CoreDNS versions its kubeadm asks for. */
const kindMinorPinSchema = z.strictObject({
  /** Used when present locally or pullable; otherwise helmdrill builds a node image offline. */
  upstreamNodeImage: z.string().min(1),
  etcd: z.string().min(1),
  coredns: z.string().min(1),
});

/** One Kubernetes minor helmdrill builds nodes for. */
const kubernetesMinorPinSchema = z.strictObject({
  version: z.string().min(1),
  stagingVersion: z.string().min(1),
  goDirective: z.string().min(1),
  godebug: z.string().min(1),
  /** Used when present locally or pullable; otherwise the k3s-compatible node is built offline. */
  k3sUpstreamImage: z.string().min(1),
  /** The providers with a node for this minor. */
  clusters: z.array(z.enum(["k3s", "kind"])),
  /** This minor's kind node, when `clusters` has kind. */
  kind: kindMinorPinSchema.optional(),
});

/**
 * What real k3s packages beside Kubernetes, named by its `--disable` names, and helmdrill's
 * registry mirror (issue #20). Each is one image holding the binaries built from `build`.
 */
export const COMPONENTS = ["coredns", "local-storage", "servicelb", "metrics-server", "registry-mirror"] as const;

const componentPinSchema = z.strictObject({
  image: z.string().min(1),
  /** Binaries of the image, each a Go program built inside its module into /usr/local/bin/<name>. */
  build: z.array(goToolPinSchema.extend({ name: z.string().min(1) })).min(1),
  /** CRD manifests read from the (first) module, a directory in it. */
  crds: z.string().min(1).optional(),
});

const stringList = z.array(z.string().min(1));

export const pinsSchema = z.strictObject({
  defaults: z.strictObject({
    helm: stringList,
    helmfile: stringList,
    helmDiff: z.string().min(1),
    cluster: z.string().min(1),
  }),
  baseline: z.strictObject({ helm: z.string().min(1), helmfile: z.string().min(1) }),
  helm: z.record(z.string(), toolPinSchema),
  kubectl: npmToolPinSchema.extend({ version: z.string().min(1) }),
  helmfile: z.record(z.string(), toolPinSchema),
  helmDiff: z.record(z.string(), goToolPinSchema),
  flux: fluxPinsSchema,
  cluster: z.strictObject({
    k3s: z.strictObject({ nodeImageRepository: z.string().min(1) }),
    /** Every packaged component, keyed by its --disable name (all of COMPONENTS). */
    components: z.record(z.enum(COMPONENTS), componentPinSchema),
    kubernetes: z.strictObject({
      module: z.string().min(1),
      /** The minor a run uses unless `--kubernetes` names others. */
      default: z.string().min(1),
      components: stringList,
      minors: z.record(z.string(), kubernetesMinorPinSchema),
    }),
    debian: z.strictObject({ suite: z.string().min(1), mirror: z.string().min(1), packages: stringList }),
    kind: z.strictObject({
      cli: goToolPinSchema,
      nodeImageRepository: z.string().min(1),
      /** Kubernetes binaries a kind node needs besides those the k3s-compatible node has. */
      components: stringList,
      /** Built at the version each minor's `kind.etcd` names. */
      etcd: goModulePinSchema,
      /** Built at the version each minor's `kind.coredns` names. */
      coredns: goModulePinSchema,
      /** Debian packages of the node's root filesystem (kind's base image list, minus rootless/storage extras). */
      packages: stringList,
    }),
  }),
  images: z.strictObject({
    busybox: z.string().min(1),
    todoDb: stringList,
    pause: z.string().min(1),
    unpullable: z.string().min(1),
  }),
});

export type NpmToolPin = z.infer<typeof npmToolPinSchema>;
export type GoToolPin = z.infer<typeof goToolPinSchema>;
export type ToolPin = z.infer<typeof toolPinSchema>;
export type ProjectPins = z.infer<typeof projectPinsSchema>;
export type FluxControllerPin = z.infer<typeof fluxControllerPinSchema>;
export type GoModulePin = z.infer<typeof goModulePinSchema>;
export type KindMinorPin = z.infer<typeof kindMinorPinSchema>;
export type KubernetesMinorPin = z.infer<typeof kubernetesMinorPinSchema>;
export type ComponentName = (typeof COMPONENTS)[number];
export type ComponentPin = z.infer<typeof componentPinSchema>;
export type Pins = z.infer<typeof pinsSchema>;
export type FluxPins = Pins["flux"];
export type FluxTargetPin = z.infer<typeof fluxTargetPinSchema>;

/** A copy of parsed JSON without its comment keys ("$comment", any key starting with "$"), at every level. */
export function withoutComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutComments);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith("$"))
      .map(([key, v]) => [key, withoutComments(v)]),
  );
}
