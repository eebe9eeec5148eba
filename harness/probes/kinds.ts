import { ApisApi, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1APIResource } from "@kubernetes/client-node";
import { closest, distance } from "fastest-levenshtein";
import { HelmdrillError } from "../errors.ts";
import { REQUEST_TIMEOUT_MS, timedApiClient } from "./requests.ts";

/**
 * Any resource kind a scenario names — `statefulset`, `ingress`, `pvc`, `clusterrole`,
 * `widgets.example.com` — resolved the way kubectl does it: through API discovery (every
 * group's preferred version, then its resource list), matched by plural, singular, kind,
 * short name, or `<plural|singular|kind>.<group>`. Built-in groups win over CRDs that reuse a
 * name, as in kubectl.
 */
export interface KindInfo {
  /** The name the scenario used, lower-cased (the key of its resource sets and snapshots). */
  name: string;
  group: string;
  version: string;
  /** `apps/v1`, `v1`, `example.com/v1alpha1`. */
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

/** The collection path: `/apis/apps/v1/namespaces/ns/statefulsets` or `/apis/rbac…/clusterroles`. */
export function collectionPath(k: KindInfo, namespace: string): string {
  const root = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  return k.namespaced ? `${root}/namespaces/${namespace}/${k.plural}` : `${root}/${k.plural}`;
}

interface Discovered {
  group: string;
  version: string;
  resource: V1APIResource;
}

/** The names a resource answers to, as kubectl accepts them. */
export function namesOf(d: Discovered): string[] {
  const r = d.resource;
  const base = [r.name, r.singularName, r.kind.toLowerCase(), ...(r.shortNames ?? [])].filter((n): n is string =>
    Boolean(n),
  );
  return d.group ? [...base, ...base.slice(0, 3).map((n) => `${n}.${d.group}`)] : base;
}

/** Groups kubectl prefers when two groups serve the same name (core and the built-in groups first). */
function priority(group: string): number {
  if (group === "") return 0;
  return group.includes(".") && !group.endsWith(".k8s.io") ? 2 : 1;
}

/** Picks the resource a name means among discovered ones: undefined when none matches. */
export function matchKind(name: string, discovered: readonly Discovered[]): KindInfo | undefined {
  const wanted = name.toLowerCase();
  const hits = discovered.filter((d) => !d.resource.name.includes("/") && namesOf(d).includes(wanted));
  hits.sort((a, b) => priority(a.group) - priority(b.group));
  const d = hits[0];
  if (!d) return undefined;
  return {
    name: wanted,
    group: d.group,
    version: d.version,
    apiVersion: d.group ? `${d.group}/${d.version}` : d.version,
    kind: d.resource.kind,
    plural: d.resource.name,
    namespaced: d.resource.namespaced,
  };
}

/**
 * Discovery for one cluster, cached: resolving a name asks the API server once per run and
 * once more when a name is not found (a CRD installed by the scenario itself).
 */
export class KindResolver {
  private discovered?: Promise<Discovered[]>;
  private readonly resolved = new Map<string, KindInfo>();
  constructor(
    private readonly kc: KubeConfig,
    private readonly requestTimeoutMs = REQUEST_TIMEOUT_MS,
  ) {}

  private async discover(): Promise<Discovered[]> {
    const core = timedApiClient(this.kc, CoreV1Api, this.requestTimeoutMs);
    const custom = timedApiClient(this.kc, CustomObjectsApi, this.requestTimeoutMs);
    const groups = (await timedApiClient(this.kc, ApisApi, this.requestTimeoutMs).getAPIVersions()).groups;
    const lists = await Promise.all([
      core.getAPIResources().then((l) => l.resources.map((resource) => ({ group: "", version: "v1", resource }))),
      ...groups.map(async (g) => {
        const version = g.preferredVersion?.version ?? g.versions[0]!.version;
        const l = await custom.getAPIResources({ group: g.name, version });
        return l.resources.map((resource) => ({ group: g.name, version, resource }));
      }),
    ]);
    return lists.flat();
  }

  /** Every kind resolved so far (the drill's cleanup looks at the cluster-scoped ones). */
  resolvedKinds(): KindInfo[] {
    return [...this.resolved.values()];
  }

  async resolve(name: string): Promise<KindInfo> {
    const key = name.toLowerCase();
    const cached = this.resolved.get(key);
    if (cached) return cached;
    this.discovered ??= this.discover();
    let found = matchKind(key, await this.discovered);
    if (!found) {
      // Not known yet: perhaps a CRD that appeared since; ask once more.
      this.discovered = this.discover();
      found = matchKind(key, await this.discovered);
    }
    if (!found) {
      const near = closestKinds(key, await this.discovered);
      throw new HelmdrillError(
        `unknown resource kind "${name}": the API server serves no resource of that name${near.length ? ` — closest: ${near.join(", ")}` : ""}`,
        "use a plural, singular, kind or short name (`kubectl api-resources` lists them), or <plural>.<group> for a custom resource",
      );
    }
    this.resolved.set(key, found);
    return found;
  }
}

/** The discovered names nearest to a mistyped one (edit distance), best first. */
export function closestKinds(name: string, discovered: readonly Discovered[], most = 3): string[] {
  const names = [
    ...new Set(
      discovered
        .filter((d) => !d.resource.name.includes("/"))
        .flatMap((d) => [d.resource.name, d.resource.singularName ?? ""])
        .filter(Boolean),
    ),
  ];
  if (names.length === 0) return [];
  const best = closest(name, names);
  return names
    .map((n) => [n, distance(name, n)] as const)
    .filter(([n, d]) => n === best || d <= Math.max(2, Math.floor(name.length / 3)))
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .slice(0, most)
    .map(([n]) => n);
}
