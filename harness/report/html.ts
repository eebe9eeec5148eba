import { formatDuration } from "../log.ts";
import {
  CELL_STATES,
  STATE_WORD,
  STATUS_TEXT,
  type CellStatus,
  type Matrix,
  type MatrixCell,
  type MatrixRow,
} from "./model.ts";
import { MATRIX_CSS } from "./matrix.css.ts";
import { cellDetails, clusterDriftCells, columnTotals, groupByScenario, truncate, type ScenarioGroup } from "./view.ts";

/**
 * The conformance matrix as ONE self-contained static HTML page: inline CSS, no external
 * assets, no script. One table per scenario (rows = steps, columns = documented baseline +
 * every target); each cell carries data-status / data-column / data-step for tooling and tests.
 */

export interface MatrixHtmlOptions {
  /** Shown in the header; defaults to now. Pass a fixed value for reproducible output. */
  generatedAt?: string;
  title?: string;
}

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Escapes, then turns the model's `code` spans (documented text) into <code>. */
function inlineCode(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, "<code>$1</code>");
}

const TITLE_LIMIT = 1200;

function cellTitle(cell: MatrixCell, column: string, row: MatrixRow): string {
  const lines = [`${column} — step ${row.step}: ${STATUS_TEXT[cell.status]}`];
  if (cell.status === "differs" || cell.status === "failed" || cell.status === "lost") {
    if (cell.observed?.trim()) lines.push("", "Observed:", cell.observed.trim());
    if (cell.failures.length) lines.push("", "Failures:", ...cell.failures.map((f) => `• ${f}`));
    if (cell.drift.length) lines.push("", "Drift from the write-up:", ...cell.drift.map((d) => `• ${d}`));
  }
  return truncate(lines.join("\n"), TITLE_LIMIT);
}

function renderCell(cell: MatrixCell, column: string, row: MatrixRow): string {
  const s = cell.status;
  const { observed, notes } = cellDetails(cell);
  const body = [`<span class="state">${escapeHtml(STATE_WORD[s])}</span>`];
  if (observed) body.push(`<code class="observed">${escapeHtml(truncate(observed))}</code>`);
  if (notes.length)
    body.push(`<ul class="notes">${notes.map((n) => `<li>${inlineCode(truncate(n))}</li>`).join("")}</ul>`);
  const attrs = [
    `class="cell cell-${s}"`,
    `data-status="${s}"`,
    `data-column="${escapeHtml(column)}"`,
    `data-step="${escapeHtml(`${row.scenario}#${row.step}`)}"`,
    `title="${escapeHtml(cellTitle(cell, column, row))}"`,
  ];
  return `<td ${attrs.join(" ")}>${body.join("")}</td>`;
}

/** "helmfile X (--args) + helm Y" on two lines; the text content stays the label. */
function columnHeader(label: string): string {
  const at = label.indexOf(" + ");
  if (at < 0) return escapeHtml(label);
  const tool = escapeHtml(label.slice(0, at)).replace(/\([^)]*\)/, (m) => `<span class="nw">${m}</span>`);
  return `<span class="tool">${tool}</span> <span class="with">${escapeHtml(label.slice(at + 1))}</span>`;
}

/** The baseline text, with the write-up's outcome ("succeeds; …", "fails; …") as a badge. */
function baselineCell(documented: string): string {
  const m = /^(succeeds|fails)(?:; |$)/.exec(documented);
  if (!m) return inlineCode(documented);
  const rest = documented.slice(m[0].length);
  return `<span class="outcome outcome-${m[1]}">${m[1]}</span>${rest ? ` ${inlineCode(rest)}` : ""}`;
}

const ABSENT: MatrixCell = { status: "absent", drift: [], failures: [] };

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "scenario"
  );
}

function countsFor(rows: MatrixRow[], columns: string[]): Record<CellStatus, number> {
  const t: Record<CellStatus, number> = { matches: 0, differs: 0, failed: 0, lost: 0, "not-run": 0, absent: 0 };
  for (const r of rows) for (const c of columns) t[(r.cells[c] ?? ABSENT).status]++;
  return t;
}

function miniCounts(t: Record<CellStatus, number>): string {
  return CELL_STATES.filter((s) => t[s] > 0)
    .map(
      (s) =>
        `<span class="pill pill-${s}" title="${escapeHtml(STATUS_TEXT[s])}">${t[s]} ${escapeHtml(STATE_WORD[s])}</span>`,
    )
    .join("");
}

function bar(t: Record<CellStatus, number>): string {
  const total = CELL_STATES.reduce((n, s) => n + t[s], 0);
  if (total === 0) return `<div class="bar"></div>`;
  const segs = CELL_STATES.filter((s) => t[s] > 0).map(
    (s) =>
      `<span class="seg seg-${s}" style="width:${((100 * t[s]) / total).toFixed(2)}%" title="${t[s]} ${escapeHtml(STATE_WORD[s])}"></span>`,
  );
  return `<div class="bar" role="img" aria-label="${escapeHtml(CELL_STATES.map((s) => `${t[s]} ${STATE_WORD[s]}`).join(", "))}">${segs.join("")}</div>`;
}

function renderTotals(matrix: Matrix): string {
  const totals = columnTotals(matrix);
  const head = `<tr><th scope="col" class="target">Target</th>${CELL_STATES.map((s) => `<th scope="col" class="num"><span class="dot dot-${s}"></span>${escapeHtml(STATE_WORD[s])}</th>`).join("")}<th scope="col" class="num">Runs</th><th scope="col" class="num">Time</th><th scope="col" class="dist">Distribution</th></tr>`;
  const body = matrix.columns.map((c) => {
    const t = totals[c]!;
    const runs = matrix.runs.filter((r) => r.target === c);
    const failedRuns = runs.filter((r) => r.status === "failed").length;
    const lostRuns = runs.filter((r) => r.status === "lost").length;
    const ms = runs.reduce((n, r) => n + r.durationMs, 0);
    const runText =
      `${runs.length}${failedRuns ? ` <span class="bad">(${failedRuns} failed)</span>` : ""}` +
      `${lostRuns ? ` <span class="lost">(${lostRuns} cluster lost)</span>` : ""}`;
    return `<tr data-column="${escapeHtml(c)}"><th scope="row" class="target">${escapeHtml(c)}</th>${CELL_STATES.map((s) => `<td class="num total-${s}${t[s] === 0 ? " zero" : ""}" data-status="${s}">${t[s]}</td>`).join("")}<td class="num">${runText}</td><td class="num">${escapeHtml(formatDuration(ms))}</td><td class="dist">${bar(t)}</td></tr>`;
  });
  return `<table class="totals"><thead>${head}</thead><tbody>${body.join("")}</tbody></table>`;
}

/** Column widths: fixed layout keeps every target column equally wide; past this the table scrolls. */
const STEP_PX = 230;
const BASELINE_PX = 210;
const TARGET_MIN_PX = 150;

function renderScenario(g: ScenarioGroup, matrix: Matrix, id: string): string {
  const head = [
    `<th scope="col" class="step">Step</th>`,
    `<th scope="col" class="baseline">${escapeHtml(matrix.baseline)}</th>`,
    ...matrix.columns.map((c) => `<th scope="col" class="target">${columnHeader(c)}</th>`),
  ];
  const rows = g.rows.map((row) => {
    const interesting = matrix.columns.some((c) => (row.cells[c] ?? ABSENT).status !== "matches");
    const cells = matrix.columns.map((c) => renderCell(row.cells[c] ?? ABSENT, c, row));
    return (
      `<tr${interesting ? ' class="interesting"' : ""}>` +
      `<th scope="row" class="step"><span class="n">${row.step}.</span> ${inlineCode(row.title)}</th>` +
      `<td class="baseline">${baselineCell(row.documented)}</td>${cells.join("")}</tr>`
    );
  });
  const counts = countsFor(g.rows, matrix.columns);
  return `<section class="scenario" id="${id}">
<div class="scroll">
<table class="matrix" style="min-width:${STEP_PX + BASELINE_PX + TARGET_MIN_PX * matrix.columns.length}px">
<caption><span class="caption-title">${escapeHtml(g.title)}</span><span class="caption-meta"><code>${escapeHtml(g.scenario)}</code> · source: ${escapeHtml(g.source)}</span><span class="caption-counts">${miniCounts(counts)}</span></caption>
<colgroup><col class="c-step"><col class="c-baseline">${matrix.columns.map(() => `<col class="c-target">`).join("")}</colgroup>
<thead><tr>${head.join("")}</tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</div>
</section>`;
}

/** Only when the runs span several clusters: the steps that behaved differently on them, or that none did. */
function renderClusterDrift(matrix: Matrix): string {
  if (!matrix.clusterDrift) return "";
  const items = matrix.clusterDrift.map(
    (d) =>
      `<li><code>${escapeHtml(d.scenario)}</code> step ${d.step} (${escapeHtml(d.title)}), ${escapeHtml(d.target)}<ul>${clusterDriftCells(
        d,
      )
        .map((c) => `<li>${escapeHtml(c)}</li>`)
        .join("")}</ul></li>`,
  );
  return `<section class="cluster-drift"><h2>Differences between clusters</h2>${
    items.length
      ? `<ul>${items.join("")}</ul>`
      : "<p>Every step of every target had the same state and the same error text (first line; the run's namespace and variables named) on each cluster.</p>"
  }</section>`;
}

export function renderMatrixHtml(matrix: Matrix, options: MatrixHtmlOptions = {}): string {
  const title = options.title ?? "helmdrill conformance matrix";
  const generatedAt = options.generatedAt ?? new Date().toISOString();
  const groups = groupByScenario(matrix);
  const all = countsFor(matrix.rows, matrix.columns);
  const used = new Set<string>();
  const ids = groups.map((g) => {
    let id = `scenario-${slug(g.scenario)}`;
    for (let i = 2; used.has(id); i++) id = `scenario-${slug(g.scenario)}-${i}`;
    used.add(id);
    return id;
  });

  const stat = (k: string, v: number | string, cls = "") =>
    `<li${cls ? ` class="${cls}"` : ""}><span class="k">${escapeHtml(k)}</span><span class="v">${escapeHtml(String(v))}</span></li>`;
  const summary = [
    stat("Scenarios", groups.length),
    stat("Steps", matrix.rows.length),
    stat("Targets", matrix.columns.length),
    ...CELL_STATES.map((s) => stat(STATE_WORD[s], all[s], `s-${s}`)),
  ].join("");
  const legend = CELL_STATES.map(
    (s) =>
      `<li><span class="dot dot-${s}"></span><b>${escapeHtml(STATE_WORD[s])}</b> ${escapeHtml(STATUS_TEXT[s])}</li>`,
  ).join("");
  const toc = groups
    .map(
      (g, i) =>
        `<li><a href="#${ids[i]}">${escapeHtml(g.title)}</a>${miniCounts(countsFor(g.rows, matrix.columns))}</li>`,
    )
    .join("");

  const content =
    matrix.columns.length === 0 || matrix.rows.length === 0
      ? `<p class="empty">No runs were recorded.</p>`
      : groups.map((g, i) => renderScenario(g, matrix, ids[i]!)).join("\n");

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="helmdrill">
<title>${escapeHtml(title)}</title>
<style>${MATRIX_CSS}</style>
</head>
<body>
<header class="page">
<h1>${escapeHtml(title)}</h1>
<p class="sub">Documented Helm failure scenarios replayed step by step on a real cluster, compared with what each write-up saw (baseline column: ${escapeHtml(matrix.baseline)}). Generated ${escapeHtml(generatedAt)}.</p>
${matrix.clusters.length ? `<p class="sub cluster">Cluster: ${escapeHtml(matrix.clusters.join("; "))}</p>` : ""}
<ul class="summary">${summary}</ul>
<ul class="legend">${legend}</ul>
${matrix.columns.length ? renderTotals(matrix) : ""}
${groups.length > 1 ? `<nav class="toc"><strong>Scenarios</strong><ol>${toc}</ol></nav>` : ""}
${matrix.rows.length ? `<label class="filter"><input type="checkbox" id="only-interesting"> Show only steps that do not match everywhere</label>` : ""}
</header>
<main>
${content}
${renderClusterDrift(matrix)}
</main>
<footer>helmdrill · ${groups.length} scenario${groups.length === 1 ? "" : "s"} · ${matrix.rows.length} step${matrix.rows.length === 1 ? "" : "s"} · ${matrix.columns.length} target${matrix.columns.length === 1 ? "" : "s"} · generated ${escapeHtml(generatedAt)}</footer>
</body>
</html>
`;
}
