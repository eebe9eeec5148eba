import type { CoreV1Api, V1ConfigMap } from "@kubernetes/client-node";

/**
 * Cluster-wide NodePort allocation for scenarios that fix a nodePort (write-up 002 uses
 * 31231). Parallel scenarios on one cluster each get their own port from a ledger ConfigMap
 * (`helmdrill-system/helmdrill-nodeports`), updated with optimistic concurrency. Ports come
 * from the static band at the bottom of the range, which the API server's random allocator
 * avoids; entries whose namespace is gone are reclaimed.
 */
export const LEDGER_NAMESPACE = "helmdrill-system";
const LEDGER = "helmdrill-nodeports";
export const STATIC_BAND = { first: 30000, last: 30085 };

function isConflict(error: unknown): boolean {
  const code = (error as { code?: number })?.code;
  return code === 409 || /409|conflict|AlreadyExists/i.test(String((error as Error)?.message ?? ""));
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: number })?.code === 404 || /404|not found/i.test(String((error as Error)?.message ?? ""));
}

async function ensureLedger(core: CoreV1Api): Promise<V1ConfigMap> {
  try {
    return await core.readNamespacedConfigMap({ name: LEDGER, namespace: LEDGER_NAMESPACE });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    await core.createNamespace({
      body: { metadata: { name: LEDGER_NAMESPACE, labels: { "io.helmdrill.role": "system" } } },
    });
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
  try {
    return await core.createNamespacedConfigMap({
      namespace: LEDGER_NAMESPACE,
      body: { metadata: { name: LEDGER }, data: {} },
    });
  } catch (error) {
    if (!isConflict(error)) throw error;
    return core.readNamespacedConfigMap({ name: LEDGER, namespace: LEDGER_NAMESPACE });
  }
}

/** Picks the lowest free port of the band; pure, for unit tests. */
export function pickPort(used: Set<number>, ledger: Record<string, string>, band = STATIC_BAND): number | undefined {
  for (let port = band.first; port <= band.last; port++) {
    if (!used.has(port) && !(String(port) in ledger)) return port;
  }
  return undefined;
}

export async function allocateNodePort(core: CoreV1Api, ownerNamespace: string): Promise<number> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const ledger = await ensureLedger(core);
    const [services, namespaces] = await Promise.all([core.listServiceForAllNamespaces(), core.listNamespace()]);
    const used = new Set(
      services.items.flatMap((s) =>
        (s.spec?.ports ?? []).map((p) => p.nodePort).filter((p): p is number => Boolean(p)),
      ),
    );
    const alive = new Set(namespaces.items.map((n) => n.metadata?.name));
    const data = Object.fromEntries(Object.entries(ledger.data ?? {}).filter(([, ns]) => alive.has(ns)));
    const port = pickPort(used, data);
    if (port === undefined)
      throw new Error(`no free NodePort in ${STATIC_BAND.first}-${STATIC_BAND.last} (in use: ${[...used].join(", ")})`);
    data[String(port)] = ownerNamespace;
    try {
      await core.replaceNamespacedConfigMap({
        name: LEDGER,
        namespace: LEDGER_NAMESPACE,
        body: { metadata: { name: LEDGER, resourceVersion: ledger.metadata?.resourceVersion }, data },
      });
      return port;
    } catch (error) {
      if (!isConflict(error)) throw error;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
    }
  }
  throw new Error("could not allocate a NodePort: the ledger kept changing (30 conflicts)");
}
