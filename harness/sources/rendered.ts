import YAML from "yaml";

/** What a chart renders (`helm template`), as the objects a release of it should own. */
export interface Rendered {
  /** kind (lower-case) → names: the namespaced objects `selector` finds. */
  objects: Record<string, string[]>;
  /** The label selector (of the candidates) that finds the most of the chart's namespaced objects. */
  selector: string;
  /** Namespaced objects `selector` does not find ("kind/name"): checked one by one. */
  unlabelled: string[];
  clusterScoped: string[];
  images: string[];
  /** `helm.sh/hook: test` objects: the chart has tests for `helm test`. */
  tests: string[];
  /** Deployments and StatefulSets, with the replicas the chart sets. */
  workloads: { kind: "deployment" | "statefulset"; name: string; replicas: number }[];
}

export const MANAGED_BY = "app.kubernetes.io/managed-by";
/** The selector every Helm-labelled object of a release in a namespace of its own matches. */
export const HELM_OWNED = `${MANAGED_BY}=Helm`;

const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PersistentVolume",
  "StorageClass",
  "PriorityClass",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "APIService",
  "IngressClass",
  "RuntimeClass",
]);

/** `app.kubernetes.io/instance=<release>`, then `managed-by=Helm`: the labels charts commonly put on every object. */
export const releaseSelectors = (release: string): string[] => [`app.kubernetes.io/instance=${release}`, HELM_OWNED];

/**
 * Namespaced objects, cluster-scoped ones and images of a `helm template` output, hooks
 * excluded. `selectors` ("key=value"): the first that finds the most objects is the one the
 * objects are listed under; objects it misses are listed apart.
 */
export function summarizeRendered(manifests: string, selectors: readonly string[] = [HELM_OWNED]): Rendered {
  const labelled: { kind: string; name: string; labels: Record<string, string> }[] = [];
  const clusterScoped: string[] = [];
  const images = new Set<string>();
  const tests: string[] = [];
  const unlabelled: string[] = [];
  const workloads: Rendered["workloads"] = [];
  const collectImages = (
    podSpec: { containers?: { image?: string }[]; initContainers?: { image?: string }[] } | undefined,
  ) => {
    for (const c of [...(podSpec?.containers ?? []), ...(podSpec?.initContainers ?? [])])
      if (c.image) images.add(c.image);
  };
  for (const doc of YAML.parseAllDocuments(manifests)) {
    const o = doc.toJS() as {
      kind?: string;
      metadata?: { name?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
      spec?: Record<string, any>;
    } | null;
    if (!o?.kind || !o.metadata?.name) continue;
    collectImages(
      o.kind === "Pod"
        ? o.spec
        : o.kind === "CronJob"
          ? o.spec?.jobTemplate?.spec?.template?.spec
          : o.spec?.template?.spec,
    );
    const hook = o.metadata.annotations?.["helm.sh/hook"];
    if (hook?.split(",").some((h) => h.trim().startsWith("test"))) tests.push(`${o.kind}/${o.metadata.name}`);
    if (hook) continue;
    if (o.kind === "Deployment" || o.kind === "StatefulSet") {
      workloads.push({
        kind: o.kind.toLowerCase() as "deployment" | "statefulset",
        name: o.metadata.name,
        replicas: Number(o.spec?.replicas ?? 1),
      });
    }
    if (CLUSTER_SCOPED.has(o.kind)) {
      clusterScoped.push(`${o.kind}/${o.metadata.name}`);
      continue;
    }
    labelled.push({ kind: o.kind.toLowerCase(), name: o.metadata.name, labels: o.metadata.labels ?? {} });
  }
  const finds = (selector: string) => {
    const [key, value] = selector.split("=") as [string, string];
    return (o: (typeof labelled)[number]) => o.labels[key] === value;
  };
  const selector = selectors.reduce(
    (best, s) => (labelled.filter(finds(s)).length > labelled.filter(finds(best)).length ? s : best),
    selectors[0] ?? HELM_OWNED,
  );
  const objects: Record<string, string[]> = {};
  for (const o of labelled) {
    if (finds(selector)(o)) (objects[o.kind] ??= []).push(o.name);
    else unlabelled.push(`${o.kind}/${o.name}`);
  }
  const sorted = Object.fromEntries(
    Object.keys(objects)
      .sort()
      .map((k) => [k, objects[k]!.sort()]),
  );
  return { objects: sorted, selector, unlabelled, clusterScoped, images: [...images].sort(), tests, workloads };
}
