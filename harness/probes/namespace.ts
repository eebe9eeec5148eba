import type { V1Namespace, V1Pod } from "@kubernetes/client-node";
import { poll } from "../dsl/poll.ts";
import { podStatus, type Kube } from "./resources.ts";

/** Hang guard for a namespace's deletion: the namespace controller's own backoff reaches 60 s per retry. */
export const NAMESPACE_DELETION_TIMEOUT_MS = 300_000;

/**
 * Deletes a namespace and waits until the API server no longer has it. When it is still there
 * after `timeoutMs`, the error says why, as the namespace controller reports it: its conditions
 * (discovery or content failures, content or finalizers remaining) and the pods still present.
 */
export async function deleteNamespaceAndWait(kube: Kube, namespace: string, timeoutMs = NAMESPACE_DELETION_TIMEOUT_MS): Promise<void> {
  await kube.core.deleteNamespace({ name: namespace });
  let last: V1Namespace | undefined;
  const gone = await poll(
    () =>
      kube.core.readNamespace({ name: namespace }).then(
        (n) => {
          last = n;
          return `still ${n.status?.phase ?? "present"}`;
        },
        (error: { code?: number }) => {
          if (error?.code === 404) return "gone";
          throw error;
        },
      ),
    (state) => (state === "gone" ? undefined : state),
    { timeoutMs, intervalMs: 1000 },
  );
  if (gone.ok) return;
  const pods = await kube.core.listNamespacedPod({ namespace }).then(
    (l) => l.items,
    () => undefined,
  );
  throw new Error(`namespace ${namespace} not deleted after ${Math.round(timeoutMs / 1000)} s (${gone.lastProblem}): ${describeStuckNamespace(last, pods)}`);
}

/** One line: the namespace controller's true conditions with their messages, and the pods left. */
export function describeStuckNamespace(ns: V1Namespace | undefined, pods: V1Pod[] | undefined): string {
  const conditions = (ns?.status?.conditions ?? []).filter((c) => c.status === "True").map((c) => `${c.type}: ${c.message ?? c.reason ?? ""}`.trim());
  const podLines =
    pods === undefined
      ? ["pods could not be listed"]
      : pods.map((p) => `pod/${p.metadata?.name} ${podStatus(p)}${p.metadata?.deletionTimestamp ? " (terminating)" : ""}${p.metadata?.finalizers?.length ? ` finalizers ${p.metadata.finalizers.join(",")}` : ""}`);
  const parts = [conditions.length ? conditions.join("; ") : "the namespace controller reports no condition", podLines.length ? podLines.join(", ") : "no pods left"];
  if (ns?.spec?.finalizers?.length) parts.push(`spec.finalizers ${ns.spec.finalizers.join(",")}`);
  return parts.join(" — ");
}
