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

/** The release record inside a storage Secret, as far as helmdrill reads it (Helm's release v1 JSON). */
export interface StoredRecord {
  version?: number;
  info?: { status?: string; description?: string; last_deployed?: string };
  chart?: { metadata?: { name?: string; version?: string; appVersion?: string } };
  /** Helm 4 only: "ssa" or "csa". */
  apply_method?: string;
}

/** The release record inside a storage Secret: base64 (Kubernetes) of base64 of gzipped JSON (Helm). */
export function decodeStoredRelease(secret: V1Secret): StoredRecord | undefined {
  const data = secret.data?.release;
  if (!data) return undefined;
  try {
    let bytes = Buffer.from(Buffer.from(data, "base64").toString("utf8"), "base64");
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    return JSON.parse(bytes.toString("utf8")) as StoredRecord;
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
 * Storage fingerprints `helm history` has confirmed, per run (its runners) and release: while the
 * storage Secrets are the same objects at the same resourceVersions, `helm history` — which reads
 * exactly those Secrets — would print the same rows again, so it is not started again. A poll that
 * waits on an unchanged release, and the step snapshot after a release check, cost one list of
 * Secrets instead of one `helm` process each.
 */
const confirmedByHelm = new WeakMap<ToolRunners, Map<string, { fingerprint: string; history: ReleaseRevision[] }>>();

/** The rows `helm history` would print, read from the storage Secrets' release records. */
export function historyFromStorage(secrets: V1Secret[]): { history: ReleaseRevision[]; storage: StoredRevision[] } {
  const rows = secrets
    .map((s) => {
      const record = decodeStoredRelease(s);
      const meta = record?.chart?.metadata;
      const revision: ReleaseRevision = {
        revision: record?.version ?? Number(s.metadata?.labels?.version),
        status: record?.info?.status ?? "?",
        description: record?.info?.description ?? "",
        chart: meta ? `${meta.name}-${meta.version}` : "MISSING",
        app_version: meta?.appVersion ?? "",
        updated: record?.info?.last_deployed,
      };
      const stored: StoredRevision = {
        revision: Number(s.metadata?.labels?.version),
        status: s.metadata?.labels?.status ?? "?",
        applyMethod: applyMethodOf(record),
      };
      return { revision, stored };
    })
    .sort((a, b) => a.stored.revision - b.stored.revision);
  return { history: rows.map((r) => r.revision), storage: rows.map((r) => r.stored) };
}

/**
 * Where `helm history` and the storage Secrets disagree, in words: the revision and status labels
 * of each Secret, and the status, description and chart of the record inside it.
 */
export function storageDisagreement(
  fromHelm: ReleaseRevision[],
  stored: { history: ReleaseRevision[]; storage: StoredRevision[] },
): string | undefined {
  const row = (h: ReleaseRevision) => `${h.revision}:${h.status}`;
  const helmRows = fromHelm.map(row).join(",");
  const labelRows = stored.storage.map((s) => `${s.revision}:${s.status}`).join(",");
  if (helmRows !== labelRows) return `helm history says [${helmRows}] but storage Secrets say [${labelRows}]`;
  for (const [i, h] of fromHelm.entries()) {
    const r = stored.history[i]!;
    for (const field of ["status", "description", "chart"] as const) {
      if (h[field] !== r[field]) {
        return `r${h.revision}: helm history says ${field} ${JSON.stringify(h[field])} but its storage Secret records ${JSON.stringify(r[field])}`;
      }
    }
  }
  return undefined;
}

/**
 * Reads the release through helm itself (`helm history -o json`) and cross-checks it with the
 * Secrets Helm stores it in (labels and the record inside), so a report never rests on helm's word
 * alone. `helm history` runs again only when the Secrets changed since it last agreed with them.
 */
export async function readRelease(runners: ToolRunners, core: CoreV1Api, release: string): Promise<ReleaseState> {
  const secrets = await core.listNamespacedSecret({
    namespace: runners.namespace,
    labelSelector: `owner=helm,name=${release}`,
  });
  const stored = historyFromStorage(secrets.items);
  const fingerprint = secrets.items
    .map((s) => `${s.metadata?.uid}@${s.metadata?.resourceVersion}`)
    .sort()
    .join(",");
  let confirmed = confirmedByHelm.get(runners);
  if (!confirmed) confirmedByHelm.set(runners, (confirmed = new Map()));
  const known = confirmed.get(release);
  let history = known?.history ?? [];
  let mismatch: string | undefined;
  if (known?.fingerprint !== fingerprint) {
    const hist = await runners.helm(["history", release, "--max", "256", "-o", "json"], {
      probe: true,
      timeoutMs: 60_000,
    });
    history = [];
    if (hist.exitCode === 0) {
      history = (JSON.parse(hist.stdout || "[]") as ReleaseRevision[]).sort((a, b) => a.revision - b.revision);
    } else if (!/not found/i.test(hist.stderr)) {
      throw new Error(`helm history failed (exit ${hist.exitCode}): ${hist.stderr.trim()}`);
    }
    mismatch = storageDisagreement(history, stored);
    if (mismatch) confirmed.delete(release);
    else confirmed.set(release, { fingerprint, history });
  }
  return {
    release,
    exists: history.length > 0,
    history,
    current: history.at(-1),
    storage: stored.storage,
    storageMismatch: mismatch,
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
