import type { ScenarioRun, StepStatus } from "../dsl/scenario.ts";
import type { Documented } from "../dsl/step.ts";
import type { CoverageFinding } from "../dsl/coverage.ts";

/**
 * The conformance matrix: rows are scenario steps, columns are the targets run (tool
 * versions and drivers) plus the documented baseline of the write-ups (Helm 2.16.5 /
 * Helmfile 0.106.3). Pure data, rendered to Markdown and HTML elsewhere.
 */
export interface MatrixCell {
  /** A step's own verdict; "lost" when the cluster died under the run at or before this step (see cellStatus). */
  status: StepStatus | "lost" | "absent";
  /** Error text the command printed (for "differs" and "failed" cells). */
  observed?: string;
  /** Why the behaviour differs from the write-up. */
  drift: string[];
  /** Failed expectations, for "failed" cells. */
  failures: string[];
  /** How Helm applied the release's newest revision, where Helm records it (Helm 4: server-side or client-side). */
  applied?: string;
  /** What observing checks classified (e.g. the field-ownership drill's "conflict: …"): shown in every state. */
  findings?: string[];
}

export interface MatrixRow {
  scenario: string;
  scenarioTitle: string;
  source: string;
  step: number;
  title: string;
  documented: string;
  cells: Record<string, MatrixCell>;
}

export interface Matrix {
  baseline: string;
  columns: string[];
  rows: MatrixRow[];
  totals: Record<string, Record<RunCellStatus, number>>;
  /** A run's status: passed, failed, or lost (the cluster died under it). */
  runs: { scenario: string; target: string; status: string; durationMs: number }[];
  /** What the runs ran on (one entry per distinct cluster): provider, node image, Kubernetes version. */
  clusters: string[];
  /** Expectations no pinned version reaches, and version holes between keyed ranges. */
  coverage?: CoverageFinding[];
  /**
   * When the runs span several clusters (columns are then "target · cluster"): every step of a
   * target whose outcome differs between the clusters — status, or the error text observed.
   */
  clusterDrift?: ClusterDrift[];
}

export interface ClusterDrift {
  scenario: string;
  step: number;
  title: string;
  /** The target's own label, without the cluster. */
  target: string;
  /** Per cluster label ("k3s 1.33"): the cell's state and observed error text. */
  cells: { cluster: string; status: CellStatus; observed?: string }[];
}

/** Every state a step of a run can show (absent: no run of that target). */
export type RunCellStatus = Exclude<CellStatus, "absent">;

/**
 * A step's state in the reports: its own verdict, or "lost" from the step at which the cluster
 * died under the run on — those steps say nothing about Helm.
 */
export function cellStatus(
  run: Pick<ScenarioRun, "clusterLost">,
  step: { index: number; status: StepStatus },
): RunCellStatus {
  return run.clusterLost && step.index >= run.clusterLost.step ? "lost" : step.status;
}

/** "node container exited 137 at step 2": why a run's cells from that step on are "cluster lost". */
export function lostText(lost: NonNullable<ScenarioRun["clusterLost"]>): string {
  return `${lost.reason} at step ${lost.step}`;
}

/** A run's status for the matrix and the summaries: "lost" when the cluster died under it. */
export function runStatus(run: Pick<ScenarioRun, "status" | "clusterLost">): "passed" | "failed" | "lost" {
  return run.clusterLost ? "lost" : run.status;
}

/** A column's label: the target's, with the cluster's when the runs span several clusters. */
export function columnLabel(run: Pick<ScenarioRun, "targetLabel" | "clusterLabel">, multiCluster: boolean): string {
  return multiCluster && run.clusterLabel ? `${run.targetLabel} · ${run.clusterLabel}` : run.targetLabel;
}

/**
 * What of an error text is compared between clusters: its first line (what failed — later lines
 * carry the moment's other conditions, e.g. Flux's Ready still catching up), with the run's own
 * namespace (hd-<scenario>-<target>-<suffix>), the cached path of the helm helmfile ran
 * (…/tools/helm/<version>/helm → helm) and variables (an allocated NodePort) named instead of their
 * values: those differ between any two runs, not between clusters.
 */
export function comparableText(text: string | undefined, vars: Record<string, unknown> = {}): string {
  let line =
    (text ?? "")
      .split("\n")
      .map((l) => l.trim())
      .find(Boolean) ?? "";
  line = line.replace(/\bhd-[a-z0-9-]+-[0-9a-f]{6}\b/g, "<namespace>");
  // helmfile names the helm it ran by its cached path, which holds the version and the machine's cache.
  line = line.replace(/(?:\/[^\s"/]+)*\/tools\/(helm|helmfile)\/[^\s"/]+\/\1\b/g, "$1");
  for (const [name, value] of Object.entries(vars)) {
    const v = String(value);
    if (v.length >= 3) line = line.split(v).join(`{${name}}`);
  }
  return line;
}

export function documentedText(d: Documented | undefined): string {
  if (!d) return "—";
  const parts: string[] = [];
  if (d.outcome !== "n/a") parts.push(d.outcome);
  if (d.text) parts.push(`\`${d.text}\``);
  if (d.release) parts.push(d.release);
  if (d.resources) parts.push(d.resources);
  return parts.join("; ") || "—";
}

/** Orders columns helm-first by version, then helmfile variants. */
function columnOrder(a: string, b: string): number {
  // helm columns, then migration columns ("helm 3.17.3 → 4.1.4"), then helmfile, then flux columns.
  const key = (s: string) =>
    [s.startsWith("flux") ? 3 : s.startsWith("helmfile") ? 2 : s.includes("→") ? 1 : 0, s] as const;
  const [ka, kb] = [key(a), key(b)];
  return ka[0] - kb[0] || ka[1].localeCompare(kb[1], undefined, { numeric: true });
}

/** `order`: scenario ids in catalogue order (others follow alphabetically). */
export function buildMatrix(runs: ScenarioRun[], baseline: string, order: readonly string[] = []): Matrix {
  const clusterLabels = [...new Set(runs.flatMap((r) => (r.clusterLabel ? [r.clusterLabel] : [])))].sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true }),
  );
  const multiCluster = clusterLabels.length > 1;
  const column = (r: ScenarioRun) => columnLabel(r, multiCluster);
  const columns = [...new Set(runs.map(column))].sort(columnOrder);
  const rows = new Map<string, MatrixRow>();
  for (const run of runs) {
    for (const s of run.steps) {
      const key = `${run.scenario}#${s.index}`;
      let row = rows.get(key);
      if (!row) {
        row = {
          scenario: run.scenario,
          scenarioTitle: run.title,
          source: `${run.source.file} — ${run.source.section}`,
          step: s.index,
          title: s.title,
          documented: documentedText(s.documented),
          cells: {},
        };
        rows.set(key, row);
      }
      const status = cellStatus(run, s);
      row.cells[column(run)] = {
        status,
        observed: s.observedError,
        drift: s.drift,
        failures: [
          // The loss first: what the step's command printed then is the dead cluster talking.
          ...(status === "lost" ? [`cluster lost: ${lostText(run.clusterLost!)}`] : []),
          ...(s.problem ? [s.problem] : []),
          ...s.checks.filter((c) => !c.ok).map((c) => `expected ${c.expected}; observed ${c.observed}`),
        ],
        ...appliedBy(s.release),
        ...(s.checks.some((c) => c.finding)
          ? { findings: s.checks.flatMap((c) => (c.finding ? [c.finding] : [])) }
          : {}),
      };
    }
  }
  const rank = (id: string) => (order.includes(id) ? order.indexOf(id) : order.length);
  const sorted = [...rows.values()].sort(
    (a, b) =>
      rank(a.scenario) - rank(b.scenario) ||
      (a.scenario < b.scenario ? -1 : a.scenario > b.scenario ? 1 : a.step - b.step),
  );
  for (const row of sorted) for (const c of columns) row.cells[c] ??= { status: "absent", drift: [], failures: [] };
  const totals: Matrix["totals"] = {};
  for (const c of columns) {
    totals[c] = { matches: 0, differs: 0, failed: 0, lost: 0, "not-run": 0 };
    for (const row of sorted) {
      const st = row.cells[c]!.status;
      if (st !== "absent") totals[c]![st]++;
    }
  }
  return {
    baseline,
    columns,
    rows: sorted,
    totals,
    runs: runs.map((r) => ({
      scenario: r.scenario,
      target: column(r),
      status: runStatus(r),
      durationMs: r.durationMs,
    })),
    clusters: [...new Set(runs.flatMap((r) => (r.cluster ? [r.cluster] : [])))],
    ...(multiCluster ? { clusterDrift: clusterDrift(sorted, runs, clusterLabels) } : {}),
  };
}

/** Steps whose cell differs between clusters for one target: state, or the observed error text (see comparableText). */
function clusterDrift(rows: MatrixRow[], runs: ScenarioRun[], clusterLabels: string[]): ClusterDrift[] {
  const targets = [...new Set(runs.map((r) => r.targetLabel))].sort(columnOrder);
  const varsOf = new Map(runs.map((r) => [`${r.scenario}#${r.targetLabel} · ${r.clusterLabel}`, r.vars ?? {}]));
  const out: ClusterDrift[] = [];
  for (const row of rows) {
    for (const target of targets) {
      const cells = clusterLabels.flatMap((cluster) => {
        const cell = row.cells[`${target} · ${cluster}`];
        // A lost cell says nothing about behaviour: it is not compared, as an absent one.
        const compared = cell && cell.status !== "absent" && cell.status !== "lost";
        if (!compared) return [];
        return [{ cluster, status: cell.status, ...(cell.observed ? { observed: cell.observed } : {}) }];
      });
      if (cells.length < 2) continue;
      const text = (c: (typeof cells)[number]) =>
        comparableText(c.observed, varsOf.get(`${row.scenario}#${target} · ${c.cluster}`));
      const same = cells.every((c) => c.status === cells[0]!.status && text(c) === text(cells[0]!));
      if (!same) out.push({ scenario: row.scenario, step: row.step, title: row.title, target, cells });
    }
  }
  return out;
}

export type CellStatus = MatrixCell["status"];

/** "r2 server-side apply" for the newest revision, when Helm recorded how it applied it. */
function appliedBy(release: ScenarioRun["steps"][number]["release"]): Pick<MatrixCell, "applied"> {
  const newest = release?.storage?.at(-1);
  if (!newest || newest.applyMethod.includes("not recorded")) return {};
  return { applied: `r${newest.revision} ${newest.applyMethod} apply` };
}

export const CELL_STATES: readonly CellStatus[] = ["matches", "differs", "failed", "lost", "not-run", "absent"];

/** Icon and word per state: matrix cells, transcripts and the walkthrough show the same. */
export const STATE_ICON: Record<CellStatus, string> = {
  matches: "✅",
  differs: "🔶",
  failed: "❌",
  lost: "⚠",
  "not-run": "⏭",
  absent: "·",
};

export const STATE_WORD: Record<CellStatus, string> = {
  matches: "matches",
  differs: "differs",
  failed: "failed",
  lost: "cluster lost",
  "not-run": "not run",
  absent: "absent",
};

export const STATUS_TEXT: Record<MatrixCell["status"], string> = {
  matches: "matches the write-up",
  differs: "differs from the write-up (expected drift)",
  failed: "failed unexpectedly",
  lost:
    "the cluster died under the run (its node container, its API server): " +
    "an infrastructure fault, not a verdict on Helm",
  "not-run": "not run (an earlier step failed, or the target cannot run here: the reason is shown)",
  absent: "not in this run",
};

/**
 * A step's verdict in words. A step the write-up does not document (a scenario's own addition)
 * is judged against the scenario's expectations alone, so it never "matches the write-up".
 */
export function stepResultText(step: { status: MatrixCell["status"]; documented?: unknown }): string {
  if (step.documented) return STATUS_TEXT[step.status];
  if (step.status === "matches") return "matches the scenario's expectations (not in the write-up)";
  if (step.status === "differs")
    return "differs from the scenario's first expectation (expected drift; not in the write-up)";
  return STATUS_TEXT[step.status];
}
