import { gunzipSync } from "node:zlib";
import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
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

export interface StoredRevision {
  revision: number;
  status: string;
  /**
   * How Helm applied this revision, as Helm 4 stores it in the release record (`apply_method`:
   * "ssa" server-side, "csa" client-side); Helm 3 stores nothing, and applies client-side.
   */
  applyMethod: "server-side" | "client-side" | "client-side (Helm 3: not recorded)";
}

/** The release record inside a storage Secret: base64 (Kubernetes) of base64 of gzipped JSON (Helm). */
export function decodeStoredRelease(secret: V1Secret): { apply_method?: string } | undefined {
  const data = secret.data?.release;
  if (!data) return undefined;
  try {
    let bytes = Buffer.from(Buffer.from(data, "base64").toString("utf8"), "base64");
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    return JSON.parse(bytes.toString("utf8")) as { apply_method?: string };
  } catch {
    return undefined;
  }
}

export function applyMethodOf(record: { apply_method?: string } | undefined): StoredRevision["applyMethod"] {
  return record?.apply_method === "ssa"
    ? "server-side"
    : record?.apply_method === "csa"
      ? "client-side"
      : "client-side (Helm 3: not recorded)";
}

export interface ReleaseState {
  release: string;
  /** True when helm knows the release (any status, including uninstalled-with-history). */
  exists: boolean;
  history: ReleaseRevision[];
  /** The newest revision, which is what `helm ls` shows. */
  current?: ReleaseRevision;
  /** Helm's storage Secrets (`owner=helm,name=<release>`): revision → status label and apply method. */
  storage: StoredRevision[];
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
    .map((s) => ({
      revision: Number(s.metadata?.labels?.version),
      status: s.metadata?.labels?.status ?? "?",
      applyMethod: applyMethodOf(decodeStoredRelease(s)),
    }))
    .sort((a, b) => a.revision - b.revision);
  const fromHelm = history.map((h) => `${h.revision}:${h.status}`).join(",");
  const fromStorage = storage.map((s) => `${s.revision}:${s.status}`).join(",");
  return {
    release,
    exists: history.length > 0,
    history,
    current: history.at(-1),
    storage,
    storageMismatch:
      fromHelm === fromStorage ? undefined : `helm history says [${fromHelm}] but storage Secrets say [${fromStorage}]`,
  };
}

/** `helm ls`-style one-liner for transcripts and messages. */
export function describeRelease(state: ReleaseState): string {
  if (!state.exists) return `${state.release}: no release (helm history: not found)`;
  const method = (revision: number) => state.storage.find((s) => s.revision === revision)?.applyMethod;
  return state.history
    .map(
      (h) =>
        `r${h.revision} ${h.status} (${h.description}${method(h.revision)?.startsWith("server") ? "; server-side apply" : ""})`,
    )
    .join(" → ");
}
