import type { V1Namespace, V1Pod } from "@kubernetes/client-node";
import { ATTEMPT_TIMEOUT_MS, poll, seconds, withTimeout } from "../util/poll.ts";
import { REQUEST_TIMEOUT_MS } from "./requests.ts";
import { podStatus, type Kube } from "./resources.ts";

/** Hang guard for a namespace's deletion: the namespace controller's own backoff reaches 60 s per retry. */
export const NAMESPACE_DELETION_TIMEOUT_MS = 300_000;

/**
 * Deletes a namespace and waits until the API server no longer has it. When it is still there
 * after `timeoutMs`, the error says why, as the namespace controller reports it: its conditions
 * (discovery or content failures, content or finalizers remaining) and the pods still present.
 */
export async function deleteNamespaceAndWait(
  kube: Kube,
  namespace: string,
  timeoutMs = NAMESPACE_DELETION_TIMEOUT_MS,
): Promise<void> {
  // The deletion itself is a mutation: made once, never retried — but not waited for forever.
  const deleting = `deleting namespace ${namespace}`;
  await withTimeout(kube.core.deleteNamespace({ name: namespace }), Math.min(timeoutMs, REQUEST_TIMEOUT_MS), deleting);
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
    { timeoutMs, intervalMs: 1000, what: `reading namespace ${namespace}` },
  );
  if (gone.ok) return;
  const listing = `listing the pods of namespace ${namespace}`;
  const listed = kube.core.listNamespacedPod({ namespace });
  const pods = await withTimeout(listed, Math.min(timeoutMs, ATTEMPT_TIMEOUT_MS), listing)
    .then((l) => l.items)
    .catch(() => undefined);
  const stuck = describeStuckNamespace(last, pods);
  throw new Error(`namespace ${namespace} not deleted after ${seconds(timeoutMs)} (${gone.lastProblem}): ${stuck}`);
}

/** One line: the namespace controller's true conditions with their messages, and the pods left. */
export function describeStuckNamespace(ns: V1Namespace | undefined, pods: V1Pod[] | undefined): string {
  const conditions = (ns?.status?.conditions ?? [])
    .filter((c) => c.status === "True")
    .map((c) => `${c.type}: ${c.message ?? c.reason ?? ""}`.trim());
  const podLines =
    pods === undefined
      ? ["pods could not be listed"]
      : pods.map(
          (p) =>
            `pod/${p.metadata?.name} ${podStatus(p)}${p.metadata?.deletionTimestamp ? " (terminating)" : ""}${p.metadata?.finalizers?.length ? ` finalizers ${p.metadata.finalizers.join(",")}` : ""}`,
        );
  const parts = [
    conditions.length ? conditions.join("; ") : "the namespace controller reports no condition",
    podLines.length ? podLines.join(", ") : "no pods left",
  ];
  if (ns?.spec?.finalizers?.length) parts.push(`spec.finalizers ${ns.spec.finalizers.join(",")}`);
  return parts.join(" — ");
}
