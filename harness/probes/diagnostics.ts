import type { ToolRunners } from "../tools/runners.ts";
import { podStatus, type Kube } from "./resources.ts";

/**
 * What a person needs when a step fails: events in the namespace, pod statuses, the last log
 * lines of every container, and `helm status`. Best effort: a probe that fails says so.
 */
export async function collectDiagnostics(
  runners: ToolRunners,
  kube: Kube,
  namespace: string,
  release: string,
): Promise<string> {
  const out: string[] = [`== diagnostics for namespace ${namespace}`];
  const attempt = async (title: string, fn: () => Promise<string>) => {
    try {
      out.push(`-- ${title}`, (await fn()).trimEnd() || "(none)");
    } catch (error) {
      out.push(`-- ${title}`, `(could not read: ${error instanceof Error ? error.message : String(error)})`);
    }
  };
  await attempt("events", async () => {
    const events = (await kube.core.listNamespacedEvent({ namespace })).items;
    events.sort((a, b) => +(a.lastTimestamp ?? a.eventTime ?? 0) - +(b.lastTimestamp ?? b.eventTime ?? 0));
    return events
      .slice(-40)
      .map(
        (e) =>
          `${e.type} ${e.reason} ${e.involvedObject.kind}/${e.involvedObject.name}: ${e.message?.trim()}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ""}`,
      )
      .join("\n");
  });
  const pods = await kube.core.listNamespacedPod({ namespace }).catch(() => undefined);
  await attempt("pods", async () =>
    (pods?.items ?? [])
      .map((p) => `${p.metadata?.name} ${podStatus(p)} ${p.spec?.containers.map((c) => c.image).join(",")}`)
      .join("\n"),
  );
  for (const p of (pods?.items ?? []).slice(0, 8)) {
    for (const c of p.spec?.containers ?? []) {
      await attempt(`logs ${p.metadata?.name}/${c.name}`, () =>
        kube.core
          .readNamespacedPodLog({ name: p.metadata!.name!, namespace, container: c.name, tailLines: 20 })
          .then(String),
      );
    }
  }
  await attempt(`helm status ${release}`, async () => {
    const r = await runners.helm(["status", release], { probe: true, timeoutMs: 30_000 });
    return r.exitCode === 0 ? r.stdout : r.stderr;
  });
  return out.join("\n");
}
