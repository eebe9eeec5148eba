import type { CoreV1Api } from "@kubernetes/client-node";
import type { ToolRunners } from "../tools/runners.ts";

/** One row of `helm history -o json`. */
export interface ReleaseRevision {
  revision: number;
  status: string;
  description: string;
  chart: string;
  app_version?: string;
  updated?: string;
}

export interface ReleaseState {
  release: string;
  /** True when helm knows the release (any status, including uninstalled-with-history). */
  exists: boolean;
  history: ReleaseRevision[];
  /** The newest revision, which is what `helm ls` shows. */
  current?: ReleaseRevision;
  /** Helm's storage Secrets (`owner=helm,name=<release>`): revision → status label. */
  storage: { revision: number; status: string }[];
  /** Set when `helm history` and the storage Secrets disagree. */
  storageMismatch?: string;
}

/**
 * Reads the release through helm itself (`helm history -o json`) and cross-checks it with the
 * Secrets Helm stores it in, so a report never rests on helm's word alone.
 */
export async function readRelease(runners: ToolRunners, core: CoreV1Api, release: string): Promise<ReleaseState> {
  const [hist, secrets] = await Promise.all([
    runners.helm(["history", release, "--max", "256", "-o", "json"], { probe: true, timeoutMs: 60_000 }),
    core.listNamespacedSecret({ namespace: runners.namespace, labelSelector: `owner=helm,name=${release}` }),
  ]);
  let history: ReleaseRevision[] = [];
  if (hist.exitCode === 0) {
    history = (JSON.parse(hist.stdout || "[]") as ReleaseRevision[]).sort((a, b) => a.revision - b.revision);
  } else if (!/not found/i.test(hist.stderr)) {
    throw new Error(`helm history failed (exit ${hist.exitCode}): ${hist.stderr.trim()}`);
  }
  const storage = secrets.items
    .map((s) => ({ revision: Number(s.metadata?.labels?.version), status: s.metadata?.labels?.status ?? "?" }))
    .sort((a, b) => a.revision - b.revision);
  const fromHelm = history.map((h) => `${h.revision}:${h.status}`).join(",");
  const fromStorage = storage.map((s) => `${s.revision}:${s.status}`).join(",");
  return {
    release,
    exists: history.length > 0,
    history,
    current: history.at(-1),
    storage,
    storageMismatch: fromHelm === fromStorage ? undefined : `helm history says [${fromHelm}] but storage Secrets say [${fromStorage}]`,
  };
}

/** `helm ls`-style one-liner for transcripts and messages. */
export function describeRelease(state: ReleaseState): string {
  if (!state.exists) return `${state.release}: no release (helm history: not found)`;
  return state.history.map((h) => `r${h.revision} ${h.status} (${h.description})`).join(" → ");
}
