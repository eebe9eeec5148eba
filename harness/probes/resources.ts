import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  VersionApi,
  Watch,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { collectionPath, KindResolver, type KindInfo } from "./kinds.ts";
import { REQUEST_TIMEOUT_MS, timedApiClient } from "./requests.ts";

/** The API clients probes use, made once per kubeconfig. */
export interface Kube {
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  /** Watches (a `during` check sees objects that exist only briefly). */
  watch?: Watch;
  /** Any kind, through discovery: the generic object API and the name → kind resolver. */
  objects?: KubernetesObjectApi;
  kinds?: KindResolver;
}

/** The API server's own version ("v1.34.4"), read from /version: what the reports say a run ran on. */
export async function serverVersion(kc: KubeConfig): Promise<string> {
  return (await timedApiClient(kc, VersionApi).getCode()).gitVersion;
}

/** KubernetesObjectApi.makeApiClient (the kubeconfig's default namespace) with a request time limit. */
class TimedObjectApi extends KubernetesObjectApi {
  static make(kc: KubeConfig, ms: number): KubernetesObjectApi {
    const api = timedApiClient(kc, TimedObjectApi, ms);
    api.setDefaultNamespace(kc);
    return api;
  }
}

/** The clients probes use; every request ends within `requestTimeoutMs` (REQUEST_TIMEOUT_MS). */
export function kubeClients(kc: KubeConfig, { requestTimeoutMs = REQUEST_TIMEOUT_MS } = {}): Kube {
  return {
    core: timedApiClient(kc, CoreV1Api, requestTimeoutMs),
    apps: timedApiClient(kc, AppsV1Api, requestTimeoutMs),
    batch: timedApiClient(kc, BatchV1Api, requestTimeoutMs),
    watch: new Watch(kc),
    objects: TimedObjectApi.make(kc, requestTimeoutMs),
    kinds: new KindResolver(kc, requestTimeoutMs),
  };
}

/** Kinds with a hand-made `kubectl get`-like status; every other kind is listed generically. */
export const RESOURCE_KINDS = [
  "serviceaccount",
  "service",
  "deployment",
  "replicaset",
  "pod",
  "job",
  "configmap",
  "secret",
] as const;
export type BuiltinKind = (typeof RESOURCE_KINDS)[number];
/** Any kind name a scenario uses: a built-in one above, or anything discovery resolves. */
export type ResourceKind = BuiltinKind | (string & {});

export function isBuiltinKind(kind: string): kind is BuiltinKind {
  return (RESOURCE_KINDS as readonly string[]).includes(kind);
}

/** A `kubectl get`-like row. */
export interface ResourceRow {
  kind: ResourceKind;
  name: string;
  /** Short state, e.g. "0/1 ready", "ClusterIP 10.43.0.12 80/TCP", "Failed (BackoffLimitExceeded)". */
  status: string;
  terminating: boolean;
  labels: Record<string, string>;
}

type Meta = { metadata?: { name?: string; deletionTimestamp?: Date; labels?: Record<string, string> } };

function row<T extends Meta>(kind: ResourceKind, o: T, status: string): ResourceRow {
  return {
    kind,
    name: o.metadata?.name ?? "?",
    status,
    terminating: Boolean(o.metadata?.deletionTimestamp),
    labels: o.metadata?.labels ?? {},
  };
}

export function requireResolver(kube: Kube): { objects: KubernetesObjectApi; kinds: KindResolver } {
  if (!kube.objects || !kube.kinds) throw new Error("this Kube has no generic object API (make it with kubeClients)");
  return { objects: kube.objects, kinds: kube.kinds };
}

/**
 * Lists one kind in a namespace (or, for a cluster-scoped kind, cluster-wide), optionally by
 * label selector. A cluster-scoped object Helm installed for a release in another namespace
 * (`meta.helm.sh/release-namespace`) is not this namespace's and is left out.
 */
export async function listKind(
  kube: Kube,
  namespace: string,
  kind: ResourceKind,
  labelSelector?: string,
): Promise<ResourceRow[]> {
  if (!isBuiltinKind(kind)) return listAnyKind(kube, namespace, kind, labelSelector);
  const q = { namespace, labelSelector };
  switch (kind) {
    case "serviceaccount":
      return (await kube.core.listNamespacedServiceAccount(q)).items.map((o) => row(kind, o, "ServiceAccount"));
    case "service":
      return (await kube.core.listNamespacedService(q)).items.map((o) =>
        row(
          kind,
          o,
          `${o.spec?.type} ${o.spec?.clusterIP} ${(o.spec?.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol}`).join(",")}`,
        ),
      );
    case "deployment":
      return (await kube.apps.listNamespacedDeployment(q)).items.map((o) =>
        row(
          kind,
          o,
          `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0} ready, image ${o.spec?.template.spec?.containers[0]?.image}`,
        ),
      );
    case "replicaset":
      return (await kube.apps.listNamespacedReplicaSet(q)).items.map((o) =>
        row(kind, o, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0} ready`),
      );
    case "pod":
      return (await kube.core.listNamespacedPod(q)).items.map((o) => row(kind, o, podStatus(o)));
    case "job":
      return (await kube.batch.listNamespacedJob(q)).items.map((o) => row(kind, o, jobStatus(o)));
    case "configmap":
      return (await kube.core.listNamespacedConfigMap(q)).items.map((o) =>
        row(kind, o, `${Object.keys(o.data ?? {}).length} keys`),
      );
    case "secret":
      return (await kube.core.listNamespacedSecret(q)).items.map((o) => row(kind, o, `${o.type}`));
  }
}

async function listAnyKind(
  kube: Kube,
  namespace: string,
  name: string,
  labelSelector?: string,
): Promise<ResourceRow[]> {
  const { objects, kinds } = requireResolver(kube);
  const k = await kinds.resolve(name);
  const list = await objects.list(
    k.apiVersion,
    k.kind,
    k.namespaced ? namespace : undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    labelSelector,
  );
  return list.items.filter((o) => ours(k, o, namespace)).map((o) => row(name, o, genericStatus(o)));
}

function ours(k: KindInfo, o: KubernetesObject, namespace: string): boolean {
  if (k.namespaced) return true;
  const owner = o.metadata?.annotations?.["meta.helm.sh/release-namespace"];
  return owner === undefined || owner === namespace;
}

type Loose = KubernetesObject & {
  spec?: { replicas?: number };
  status?: {
    phase?: string;
    readyReplicas?: number;
    replicas?: number;
    conditions?: { type: string; status: string; reason?: string }[];
  };
};

/**
 * A short state for any object: its phase (a PVC's `Pending`/`Bound`), ready replicas (a
 * StatefulSet's `1/3 ready`), its true conditions (`Ready`, `Established`), or its kind.
 */
export function genericStatus(o: KubernetesObject): string {
  const { spec, status } = o as Loose;
  const parts: string[] = [];
  if (status?.phase) parts.push(status.phase);
  if (typeof spec?.replicas === "number") parts.push(`${status?.readyReplicas ?? 0}/${spec.replicas} ready`);
  const conditions = (status?.conditions ?? []).filter((c) => c.status === "True").map((c) => c.type);
  if (conditions.length && parts.length === 0) parts.push(conditions.join(","));
  return parts.join(", ") || (o.kind ?? "object");
}

/** A Job's final condition (Complete/Failed with its reason), or how far it got. */
export function jobStatus(o: import("@kubernetes/client-node").V1Job): string {
  const c = (o.status?.conditions ?? []).find(
    (x) => x.status === "True" && (x.type === "Failed" || x.type === "Complete"),
  );
  return c
    ? `${c.type}${c.reason ? ` (${c.reason})` : ""}`
    : `running, ${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1} complete`;
}

const API_PATH: Record<BuiltinKind, [group: string, plural: string]> = {
  serviceaccount: ["/api/v1", "serviceaccounts"],
  service: ["/api/v1", "services"],
  deployment: ["/apis/apps/v1", "deployments"],
  replicaset: ["/apis/apps/v1", "replicasets"],
  pod: ["/api/v1", "pods"],
  job: ["/apis/batch/v1", "jobs"],
  configmap: ["/api/v1", "configmaps"],
  secret: ["/api/v1", "secrets"],
};

export interface WatchedSet {
  /** Names present now, per kind (a watch starts with every existing object as ADDED). */
  current: Record<string, Set<string>>;
  /** Settles once every kind's first watch request was answered (or failed). */
  ready: Promise<void>;
  stop(): void;
}

/**
 * Watches the named kinds in a namespace by label selector and calls `onChange` after every
 * event. Read-only; a watch that ends early (the server closes it, an error) is reopened and
 * its error passed to `onError`.
 */
export function watchKinds(
  kube: Kube,
  namespace: string,
  kinds: readonly ResourceKind[],
  labelSelector: string,
  onChange: (current: Record<string, Set<string>>, kind: ResourceKind) => void,
  onError: (message: string) => void,
): WatchedSet {
  if (!kube.watch) throw new Error("no watch client");
  const watch = kube.watch;
  const current: Record<string, Set<string>> = Object.fromEntries(kinds.map((k) => [k, new Set<string>()]));
  const controllers: AbortController[] = [];
  let stopped = false;
  const pathOf = async (kind: ResourceKind): Promise<string> => {
    if (isBuiltinKind(kind)) return `${API_PATH[kind][0]}/namespaces/${namespace}/${API_PATH[kind][1]}`;
    return collectionPath(await requireResolver(kube).kinds.resolve(kind), namespace);
  };
  const open = (kind: ResourceKind): Promise<void> => {
    const plural = kind;
    current[kind] = new Set();
    return pathOf(kind)
      .then((collection) =>
        watch.watch(
          collection,
          // resourceVersion 0: the initial state from the watch cache, whatever its age. Without
          // it the apiserver wants its cache as fresh as etcd, and for a kind nothing writes to
          // (serviceaccounts) answers "Too large resource version" until etcd reports progress.
          { labelSelector, resourceVersion: "0" },
          (phase, obj: { metadata?: { name?: string }; message?: string }) => {
            if (phase === "ERROR") return onError(`watch ${plural}: ${obj?.message ?? "error"}`);
            const name = obj?.metadata?.name;
            if (!name) return;
            if (phase === "DELETED") current[kind]!.delete(name);
            else if (phase === "ADDED" || phase === "MODIFIED") current[kind]!.add(name);
            onChange(current, kind);
          },
          (err: unknown) => {
            if (stopped) return;
            if (err) onError(`watch ${plural}: ${err instanceof Error ? err.message : String(err)}`);
            setTimeout(() => !stopped && open(kind), 500).unref();
          },
        ),
      )
      .then((c) => {
        if (stopped) c.abort();
        else controllers.push(c);
      })
      .catch((err: unknown) => {
        onError(`watch ${plural}: ${err instanceof Error ? err.message : String(err)}`);
        if (!stopped) setTimeout(() => !stopped && open(kind), 500).unref();
      });
  };
  const ready = Promise.all(kinds.map(open)).then(() => undefined);
  return {
    current,
    ready,
    stop() {
      stopped = true;
      for (const c of controllers) c.abort();
    },
  };
}

/** kubectl's STATUS column: the waiting/terminated reason when there is one, else the phase. */
export function podStatus(p: import("@kubernetes/client-node").V1Pod): string {
  for (const cs of p.status?.containerStatuses ?? []) {
    if (cs.state?.waiting?.reason) return cs.state.waiting.reason;
    if (cs.state?.terminated?.reason) return cs.state.terminated.reason;
  }
  const ready = (p.status?.containerStatuses ?? []).filter((c) => c.ready).length;
  return `${p.status?.phase ?? "Unknown"} ${ready}/${p.spec?.containers.length ?? 0} ready`;
}

export type ResourceSnapshot = { [kind: string]: ResourceRow[] };

export const DEFAULT_SNAPSHOT_KINDS: readonly ResourceKind[] = [
  "serviceaccount",
  "service",
  "deployment",
  "pod",
  "job",
  "configmap",
];

/** Everything of the given kinds that carries the selector: the "owned by the release" view. */
export async function snapshotResources(
  kube: Kube,
  namespace: string,
  labelSelector: string,
  kinds: readonly ResourceKind[] = DEFAULT_SNAPSHOT_KINDS,
): Promise<ResourceSnapshot> {
  const entries = await Promise.all(
    kinds.map(async (k) => [k, await listKind(kube, namespace, k, labelSelector)] as const),
  );
  return Object.fromEntries(entries);
}

/** Renders a snapshot like `kubectl get …` output. */
export function renderSnapshot(snapshot: ResourceSnapshot): string {
  const rows = Object.values(snapshot).flat();
  if (rows.length === 0) return "No resources found.";
  const width = Math.max(...rows.map((r) => `${r.kind}/${r.name}`.length));
  return rows
    .map((r) => `${`${r.kind}/${r.name}`.padEnd(width)}  ${r.status}${r.terminating ? " (terminating)" : ""}`)
    .join("\n");
}

/**
 * What changed between two snapshots, by kind/name: what an upgrade created, what
 * --cleanup-on-fail removed, what an uninstall left behind. Pods are left out (their names
 * change with every rollout).
 */
export function diffSnapshots(
  before: ResourceSnapshot | undefined,
  after: ResourceSnapshot,
): { added: string[]; removed: string[] } {
  const names = (s: ResourceSnapshot | undefined) =>
    new Set(
      Object.values(s ?? {})
        .flat()
        .filter((r) => r.kind !== "pod" && r.kind !== "replicaset")
        .map((r) => `${r.kind}/${r.name}`),
    );
  const [b, a] = [names(before), names(after)];
  return { added: [...a].filter((n) => !b.has(n)).sort(), removed: [...b].filter((n) => !a.has(n)).sort() };
}

/**
 * Cluster-scoped objects a run left behind: of the kinds it resolved, those Helm installed for
 * a release in this namespace (`meta.helm.sh/release-namespace`) and still present after the
 * releases were uninstalled (a `helm.sh/resource-policy: keep`, a release Helm lost track of).
 * Deleted; returns what was deleted as kind/name.
 */
export async function deleteClusterScopedLeftovers(kube: Kube, namespace: string): Promise<string[]> {
  if (!kube.objects || !kube.kinds) return [];
  const objects = kube.objects;
  const deleted: string[] = [];
  for (const k of kube.kinds.resolvedKinds().filter((x) => !x.namespaced)) {
    const list = await objects.list(k.apiVersion, k.kind);
    for (const o of list.items.filter(
      (x) => x.metadata?.annotations?.["meta.helm.sh/release-namespace"] === namespace,
    )) {
      await objects.delete({ apiVersion: k.apiVersion, kind: k.kind, metadata: { name: o.metadata!.name! } });
      deleted.push(`${k.name}/${o.metadata!.name!}`);
    }
  }
  return deleted;
}
