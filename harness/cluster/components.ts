import { readFileSync } from "node:fs";
import path from "node:path";
import {
  ApiextensionsV1Api,
  ApiregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  type KubeConfig,
} from "@kubernetes/client-node";
import { HelmdrillError } from "../errors.ts";
import { runChecked } from "../exec.ts";
import { poll, withTimeout } from "../util/poll.ts";
import { COMPONENTS, componentPin, PACKAGE_ROOT, pins, type ComponentName } from "../pins.ts";
import { metallbCrdsFile } from "../provision/components.ts";

/**
 * The packaged components of a cluster helmdrill starts (issue #20): what a real k3s runs
 * beside Kubernetes (CoreDNS, local-path-provisioner, a load balancer, metrics-server) and a
 * registry mirror beside the node. Manifests are helmdrill's own (harness/cluster/components/),
 * filled with the pinned images and the provider's names; the k3s-compatible node applies
 * them at start (k3s's server/manifests habit), a kind node with its own kubectl once created
 * (as kind applies its storage manifest). A cluster is handed to scenarios only when every
 * enabled component is ready for a chart.
 */
export const COMPONENT_MANIFESTS = path.join(PACKAGE_ROOT, "harness", "cluster", "components");

/** What each component is, for messages, the README table and `doctor`. */
export const COMPONENT_SUMMARY: Record<ComponentName, string> = {
  coredns: "CoreDNS as kube-dns at the cluster DNS IP",
  "local-storage": "local-path-provisioner, the default StorageClass (WaitForFirstConsumer, reclaim Delete)",
  servicelb: "MetalLB in L2 mode: LoadBalancer Services get an address on the node's Docker network",
  "metrics-server": "metrics-server behind metrics.k8s.io (kubectl top, HPAs)",
  "registry-mirror": "a CNCF distribution registry beside the node, containerd's mirror for every registry",
};

/**
 * How long a started node's components may take to be ready for a chart: seconds when the
 * machine is idle (bench:cluster), minutes when a full suite loads two cores (metrics-server's
 * first kubelet scrape gates its readiness).
 */
export const COMPONENTS_READY_MS = 300_000;

export function enabledComponents(disabled: readonly ComponentName[]): ComponentName[] {
  return COMPONENTS.filter((c) => !disabled.includes(c));
}

/** How a provider names things: the StorageClass and volume directory each distribution uses. */
export interface ComponentSite {
  provider: "k3s" | "kind";
  /** The cluster DNS IP (the k3s-compatible node's service CIDR's .10). */
  clusterDns: string;
  clusterDomain: string;
  /** helmdrill's cache: where provisioning put MetalLB's CRDs. */
  cacheDir: string;
}

const STORAGE = {
  k3s: { className: "local-path", path: "/var/lib/rancher/k3s/storage" },
  kind: { className: "standard", path: "/var/local-path-provisioner" },
} as const;

/** Fills a manifest's %{NAME}% placeholders; a placeholder left unfilled is an error, never applied. */
export function fillPlaceholders(text: string, values: Record<string, string>, what: string): string {
  const out = text.replace(/%\{([A-Z_]+)\}%/g, (whole, key: string) => values[key] ?? whole);
  const left = /%\{([A-Z_]+)\}%/.exec(out);
  if (left) throw new HelmdrillError(`component manifest ${what} has no value for %{${left[1]}}%`);
  return out;
}

/** One component's manifest for a provider (in-cluster components only: the mirror runs beside the node). */
export function componentManifest(name: Exclude<ComponentName, "registry-mirror">, site: ComponentSite): string {
  const text = readFileSync(path.join(COMPONENT_MANIFESTS, `${name}.yaml`), "utf8");
  const values: Record<string, string> = {
    IMAGE: componentPin(name).image,
    HELPER_IMAGE: pins().images.busybox,
    CLUSTER_DNS: site.clusterDns,
    CLUSTER_DOMAIN: site.clusterDomain,
    STORAGE_CLASS: STORAGE[site.provider].className,
    STORAGE_PATH: STORAGE[site.provider].path,
  };
  let out = fillPlaceholders(text, values, `${name}.yaml`);
  if (name === "servicelb") out = `${metallbCrds(site.cacheDir)}\n---\n${out}`;
  return out;
}

/** The StorageClass a chart's claims get by default on this provider. */
export const defaultStorageClass = (provider: "k3s" | "kind"): string => STORAGE[provider].className;

function metallbCrds(cacheDir: string): string {
  const file = metallbCrdsFile(cacheDir);
  try {
    return readFileSync(file, "utf8");
  } catch {
    throw new HelmdrillError(
      `MetalLB's CRDs (${file}) are missing`,
      "run `npm run provision` (it reads them from the MetalLB module)",
    );
  }
}

// ---------------------------------------------------------------- load-balancer addresses

const toInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
const fromInt = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

/**
 * The addresses MetalLB may hand out on a node's Docker network: a block of 4 near the top of
 * the subnet (Docker's IPAM hands out addresses from the bottom), chosen by the node's own
 * host number so two clusters on one network never share a block.
 */
export function loadBalancerPool(nodeIp: string, prefixLen: number): { first: string; last: string } {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(nodeIp) || prefixLen < 8 || prefixLen > 26) {
    throw new HelmdrillError(
      `cannot place load-balancer addresses on ${nodeIp}/${prefixLen}`,
      "the node's Docker network must be IPv4, /8 to /26",
    );
  }
  const size = 2 ** (32 - prefixLen);
  const ip = toInt(nodeIp);
  const base = ip - (ip % size);
  const block = 4;
  const slots = Math.max(1, Math.floor(size / 4 / block));
  const first = base + size - 1 - block * (((ip - base) % slots) + 1);
  return { first: fromInt(first), last: fromInt(first + block - 1) };
}

/** The node container's address on its Docker network. */
export async function containerAddress(container: string): Promise<{ network: string; ip: string; prefixLen: number }> {
  const r = await runChecked(["docker", "inspect", "--format", "{{json .NetworkSettings.Networks}}", container]);
  const nets = JSON.parse(r.stdout) as Record<string, { IPAddress?: string; IPPrefixLen?: number }>;
  const [network, n] = Object.entries(nets).find(([, v]) => v.IPAddress) ?? [];
  if (!network || !n?.IPAddress || !n.IPPrefixLen)
    throw new HelmdrillError(`container ${container} has no IPv4 address on a Docker network`);
  return { network, ip: n.IPAddress, prefixLen: n.IPPrefixLen };
}

/** MetalLB's configuration for this node: the pool and its L2 advertisement. */
export function loadBalancerConfig(pool: { first: string; last: string }): string {
  return [
    "apiVersion: metallb.io/v1beta1",
    "kind: IPAddressPool",
    "metadata: {name: helmdrill, namespace: metallb-system}",
    `spec: {addresses: ["${pool.first}-${pool.last}"]}`,
    "---",
    "apiVersion: metallb.io/v1beta1",
    "kind: L2Advertisement",
    "metadata: {name: helmdrill, namespace: metallb-system}",
    "spec: {ipAddressPools: [helmdrill]}",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------- readiness

/** One read-only look at a component: undefined when ready for a chart, else what is missing. */
export async function componentNotReady(kc: KubeConfig, name: ComponentName): Promise<string | undefined> {
  const apps = kc.makeApiClient(AppsV1Api);
  const deployment = async (ns: string, n: string) => {
    const d = await apps.readNamespacedDeployment({ namespace: ns, name: n });
    return (d.status?.availableReplicas ?? 0) >= 1
      ? undefined
      : `deployment ${ns}/${n}: ${d.status?.availableReplicas ?? 0} available`;
  };
  switch (name) {
    case "coredns": {
      const slices = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({
        namespace: "kube-system",
        labelSelector: "kubernetes.io/service-name=kube-dns",
      });
      const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
      return ready.length > 0 ? undefined : "kube-dns has no ready endpoint yet";
    }
    case "local-storage": {
      const sc = await kc
        .makeApiClient(CoreV1Api)
        .listNamespacedPod({ namespace: "kube-system", labelSelector: "app=local-path-provisioner" });
      const running = sc.items.some((p) =>
        p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      return running ? undefined : "local-path-provisioner is not Ready yet";
    }
    case "servicelb": {
      const controller = await deployment("metallb-system", "controller");
      if (controller) return controller;
      const ds = await apps.readNamespacedDaemonSet({ namespace: "metallb-system", name: "speaker" });
      if ((ds.status?.numberReady ?? 0) < 1) return "MetalLB speaker not Ready yet";
      const pools = (await kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
        group: "metallb.io",
        version: "v1beta1",
        namespace: "metallb-system",
        plural: "ipaddresspools",
      })) as { items?: unknown[] };
      return (pools.items?.length ?? 0) > 0 ? undefined : "no MetalLB IPAddressPool yet";
    }
    case "metrics-server": {
      // The aggregated API answers (its APIService Available); the first node metrics follow within a scrape (15 s).
      const api = await kc.makeApiClient(ApiregistrationV1Api).readAPIService({ name: "v1beta1.metrics.k8s.io" });
      const available = api.status?.conditions?.find((c) => c.type === "Available");
      if (available?.status !== "True")
        return `metrics.k8s.io not Available: ${available?.reason ?? "no condition yet"} ${available?.message ?? ""}`.trim();
      await kc
        .makeApiClient(CustomObjectsApi)
        .listClusterCustomObject({ group: "metrics.k8s.io", version: "v1beta1", plural: "nodes" });
      return undefined;
    }
    case "registry-mirror":
      return undefined; // started (and waited for) beside the node before it
  }
}

/**
 * Waits until every enabled component is ready for a chart: one read-only look at every
 * pending component a second (each look bounded by its own timeout); past the deadline, names
 * every component still pending with its last observation.
 */
export async function waitForComponents(
  kc: KubeConfig,
  names: readonly ComponentName[],
  timeoutMs: number,
  progress: (m: string) => void = () => {},
): Promise<void> {
  const pending = new Map<ComponentName, string>(names.map((n) => [n, "not looked at yet"]));
  const t0 = Date.now();
  const look = async () => {
    for (const name of [...pending.keys()]) {
      try {
        const why = await withTimeout(componentNotReady(kc, name), 10_000, `${name} readiness`);
        if (why === undefined) {
          pending.delete(name);
          progress(`${name} ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        } else pending.set(name, why);
      } catch (error) {
        pending.set(name, (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 200));
      }
    }
    return pending.size;
  };
  const r = await poll(look, (left) => (left === 0 ? undefined : `${left} pending`), {
    timeoutMs,
    intervalMs: 1000,
    attemptTimeoutMs: 60_000,
    what: "the packaged components",
  });
  if (!r.ok) {
    throw new HelmdrillError(
      `packaged components not ready within ${timeoutMs / 1000} s: ${[...pending].map(([n, why]) => `${n} (${why})`).join("; ")}`,
      [...pending].map(([n, why]) => `${n}: ${why}`).join("\n") +
        "\nswitch one off with --disable NAME if the chart does not need it",
    );
  }
}

// ---------------------------------------------------------------- installing into a started node

/** A node container and the admin kubeconfig inside it: where components are applied, as the node itself would. */
export interface NodeHandle {
  container: string;
  kubeconfigInNode: string;
}

/** `kubectl apply --server-side` with the node's own kubectl (kind's installstorage habit; k3s's deploy controller). */
export async function applyInNode(node: NodeHandle, yaml: string, what: string): Promise<void> {
  await runChecked(
    [
      "docker",
      "exec",
      "-i",
      node.container,
      "kubectl",
      "--kubeconfig",
      node.kubeconfigInNode,
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager=helmdrill",
      "-f",
      "-",
    ],
    { input: yaml, timeoutMs: 120_000, what: `applying ${what} in ${node.container}` },
  );
}

/** Waits (read-only) until a CRD is Established, so objects of its kind can be applied. */
async function crdEstablished(kc: KubeConfig, name: string, timeoutMs: number): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const r = await poll(
    () => api.readCustomResourceDefinition({ name }),
    (crd) =>
      crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")
        ? undefined
        : "not Established yet",
    { timeoutMs, intervalMs: 500, attemptTimeoutMs: 10_000, what: `CRD ${name}` },
  );
  if (!r.ok) {
    throw new HelmdrillError(
      `CRD ${name} was not Established within ${timeoutMs / 1000} s`,
      `last observation: ${r.lastError ?? r.lastProblem}`,
    );
  }
}

/**
 * After the node is up: the components a provider does not apply itself (`apply`), then the
 * load balancer's address pool on the node's own Docker network, then the wait until every
 * enabled component is ready for a chart. Returns the pool, for the cluster's description.
 */
export async function installComponents(
  node: NodeHandle,
  kc: KubeConfig,
  options: {
    site: ComponentSite;
    enabled: readonly ComponentName[];
    apply: readonly Exclude<ComponentName, "registry-mirror">[];
    timeoutMs: number;
  },
  progress: (m: string) => void,
): Promise<{ pool?: { first: string; last: string } }> {
  progress(`node Ready; packaged components: ${options.enabled.join(", ") || "none"}`);
  for (const name of options.apply) await applyInNode(node, componentManifest(name, options.site), `component ${name}`);
  let pool: { first: string; last: string } | undefined;
  if (options.enabled.includes("servicelb")) {
    await crdEstablished(kc, "ipaddresspools.metallb.io", 60_000);
    await crdEstablished(kc, "l2advertisements.metallb.io", 60_000);
    const address = await containerAddress(node.container);
    pool = loadBalancerPool(address.ip, address.prefixLen);
    progress(`load-balancer addresses ${pool.first}-${pool.last} on Docker network ${address.network}`);
    await applyInNode(node, loadBalancerConfig(pool), "MetalLB's address pool");
  }
  await waitForComponents(kc, options.enabled, options.timeoutMs, progress);
  return { pool };
}
