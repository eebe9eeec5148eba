import type { CellStatus, ClusterDrift, Matrix, MatrixCell, MatrixRow } from "./model.ts";
import { STATE_ICON, STATE_WORD } from "./model.ts";

/**
 * What the matrix renderings (Markdown and HTML) share: grouping and counting of the matrix, the
 * short texts a cell shows, and plain-text helpers. Nothing here knows either output format.
 */

/** Longest text a matrix cell shows per item before it is cut with "…". */
export const CELL_TEXT_LIMIT = 160;

export function truncate(text: string, limit = CELL_TEXT_LIMIT): string {
  const chars = [...text];
  return chars.length <= limit
    ? text
    : `${chars
        .slice(0, limit - 1)
        .join("")
        .trimEnd()}…`;
}

export function firstLine(text: string | undefined): string {
  return (
    (text ?? "")
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find(Boolean) ?? ""
  );
}

/** One scenario's rows, in the order the scenario first appears in the matrix, sorted by step. */
export interface ScenarioGroup {
  scenario: string;
  title: string;
  source: string;
  rows: MatrixRow[];
}

export function groupByScenario(matrix: Matrix): ScenarioGroup[] {
  const groups = new Map<string, ScenarioGroup>();
  for (const row of matrix.rows) {
    let g = groups.get(row.scenario);
    if (!g) {
      g = { scenario: row.scenario, title: row.scenarioTitle, source: row.source, rows: [] };
      groups.set(row.scenario, g);
    }
    g.rows.push(row);
  }
  for (const g of groups.values()) g.rows.sort((a, b) => a.step - b.step);
  return [...groups.values()];
}

export type ColumnTotals = Record<CellStatus, number>;

/** Per-column counts of every state, absent included (the model's totals leave it out). */
export function columnTotals(matrix: Matrix): Record<string, ColumnTotals> {
  const out: Record<string, ColumnTotals> = {};
  for (const c of matrix.columns) {
    const t: ColumnTotals = { matches: 0, differs: 0, failed: 0, lost: 0, "not-run": 0, absent: 0 };
    for (const row of matrix.rows) t[row.cells[c]?.status ?? "absent"]++;
    out[c] = t;
  }
  return out;
}

/** The short texts a differs/failed cell shows under its state: observed error, then notes. */
export function cellDetails(cell: MatrixCell): { observed?: string; notes: string[] } {
  if (cell.status === "not-run") return { notes: cell.failures.filter((f) => f.startsWith("not run: ")) };
  // What a command printed on a dead cluster is not shown as an observation: the loss is the news.
  if (cell.status === "lost") {
    const lost = cell.failures.filter((f) => f.startsWith("cluster lost: "));
    return { notes: lost.map((f) => f.slice("cluster lost: ".length)) };
  }
  // Findings and the apply method are facts of every run, so even a matching cell shows them.
  const facts = [...(cell.findings ?? []), ...(cell.applied ? [cell.applied] : [])];
  if (cell.status !== "differs" && cell.status !== "failed") return { notes: facts };
  const observed = firstLine(cell.observed) || undefined;
  const notes = [...(cell.status === "failed" ? [...cell.failures, ...cell.drift] : [...cell.drift]), ...facts];
  return { observed, notes: [...new Set(notes.map((n) => n.trim()).filter(Boolean))] };
}

/** One line per cell of a step that differs between clusters: "k3s 1.33 ✅ matches (`text`)". */
export function clusterDriftCells(d: ClusterDrift): string[] {
  return d.cells.map((c) => {
    const observed = c.observed ? ` — ${truncate(firstLine(c.observed), 200)}` : "";
    return `${c.cluster}: ${STATE_ICON[c.status]} ${STATE_WORD[c.status]}${observed}`;
  });
}
