import { STATUS_TEXT, type Matrix, type MatrixCell, type MatrixRow } from "./model.ts";
import {
  CELL_STATES,
  STATE_WORD,
  cellDetails,
  clusterDriftCells,
  columnTotals,
  formatDuration,
  groupByScenario,
  truncate,
  type CellStatus,
  type ScenarioGroup,
} from "./markdown.ts";

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

const CSS = `
:root {
  --ink: #1c2330; --muted: #5d6776; --line: #dde1e7; --bg: #f4f5f7; --card: #fff;
  --ok: #1f7a3a; --ok-bg: #e7f5ec; --ok-line: #a9dcb9;
  --warn: #8a5300; --warn-bg: #fff4dc; --warn-line: #f1cf85;
  --bad: #b42318; --bad-bg: #fdeceb; --bad-line: #f3b0aa;
  --skip: #4e5866; --skip-bg: #e8ebef; --skip-line: #c5cbd4;
  --none: #9aa2ad; --none-bg: #f8f9fa; --none-line: #e6e9ed;
  --lost: #6b3fa0; --lost-bg: #f1ebf8; --lost-line: #cdb8e6;
  --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code { font-family: var(--mono); font-size: 12px; }
header.page { background: var(--card); border-bottom: 1px solid var(--line); padding: 24px 32px 20px; }
header.page h1 { margin: 0 0 4px; font-size: 22px; font-weight: 650; letter-spacing: -0.01em; }
header.page .sub { margin: 0 0 16px; color: var(--muted); }
.summary { display: flex; flex-wrap: wrap; gap: 10px; margin: 0 0 18px; padding: 0; list-style: none; }
.summary li { background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 104px; }
.summary .k { display: block; color: var(--muted); font-size: 12px; }
.summary .v { display: block; font-size: 20px; font-weight: 650; font-variant-numeric: tabular-nums; }
.summary li.s-matches .v { color: var(--ok); } .summary li.s-differs .v { color: var(--warn); }
.summary li.s-failed .v { color: var(--bad); } .summary li.s-not-run .v { color: var(--skip); } .summary li.s-absent .v { color: var(--none); }
.legend { display: flex; flex-wrap: wrap; gap: 8px 20px; margin: 0 0 16px; padding: 0; list-style: none; color: var(--muted); font-size: 13px; }
.legend li { display: flex; align-items: center; gap: 6px; }
.legend b { color: var(--ink); font-weight: 600; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; vertical-align: -1px; border: 1px solid transparent; }
.dot-matches { background: var(--ok); } .dot-differs { background: #e39a12; } .dot-failed { background: var(--bad); }
.dot-lost { background: var(--lost); } .summary li.s-lost .v { color: var(--lost); }
.seg-lost { background: #8d63c4; }
.pill-lost { color: var(--lost); background: var(--lost-bg); border-color: var(--lost-line); }
td.cell-lost { background: var(--lost-bg); color: var(--lost); box-shadow: inset 3px 0 0 #8d63c4; }
table.totals td.total-lost:not(.zero), table.totals .lost { color: var(--lost); font-weight: 600; }
.dot-not-run { background: #8a94a3; } .dot-absent { background: var(--none-bg); border-color: var(--none); }
table { border-collapse: separate; border-spacing: 0; }
table.totals { background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; font-variant-numeric: tabular-nums; }
table.totals th, table.totals td { padding: 6px 12px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
table.totals thead th { background: #fafbfc; color: var(--muted); font-size: 12px; font-weight: 600; }
table.totals tbody tr:last-child > * { border-bottom: 0; }
table.totals th.target { font-weight: 600; }
table.totals .num { text-align: right; }
table.totals td.zero { color: #b7bdc6; }
table.totals td.total-matches:not(.zero) { color: var(--ok); font-weight: 600; }
table.totals td.total-differs:not(.zero) { color: var(--warn); font-weight: 600; }
table.totals td.total-failed:not(.zero) { color: var(--bad); font-weight: 600; }
table.totals .bad { color: var(--bad); }
table.totals .dist { width: 220px; }
.bar { display: flex; height: 10px; width: 200px; border-radius: 5px; overflow: hidden; background: var(--none-bg); border: 1px solid var(--line); }
.seg { display: block; height: 100%; }
.seg-matches { background: #3aa45b; } .seg-differs { background: #f0b440; } .seg-failed { background: #d9443a; } .seg-not-run { background: #a3acb8; } .seg-absent { background: #eef0f3; }
nav.toc { margin: 16px 0 0; font-size: 13px; }
nav.toc ol { margin: 6px 0 0; padding-left: 20px; columns: 2; column-gap: 40px; }
nav.toc li { margin: 2px 0; break-inside: avoid; }
nav.toc a { color: #1f5fbf; text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
nav.toc .pill { margin-left: 6px; }
.filter { display: inline-flex; align-items: center; gap: 6px; margin-top: 14px; color: var(--muted); font-size: 13px; cursor: pointer; user-select: none; }
main { padding: 20px 32px 40px; }
section.scenario { margin: 0 0 28px; }
.scroll { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 10px; box-shadow: 0 1px 2px rgba(16, 24, 40, .04); }
table.matrix { width: 100%; table-layout: fixed; }
table.matrix col.c-step { width: 230px; }
table.matrix col.c-baseline { width: 210px; }
table.matrix caption { caption-side: top; text-align: left; padding: 14px 16px 12px; background: var(--card); border-bottom: 1px solid var(--line); }
.caption-title { display: block; font-size: 16px; font-weight: 650; }
.caption-meta { display: block; color: var(--muted); font-size: 12.5px; margin-top: 2px; }
.caption-counts { display: block; margin-top: 8px; }
.pill { display: inline-block; font-size: 11.5px; font-weight: 600; border-radius: 999px; padding: 1px 8px; margin-right: 6px; border: 1px solid; white-space: nowrap; }
.pill-matches { color: var(--ok); background: var(--ok-bg); border-color: var(--ok-line); }
.pill-differs { color: var(--warn); background: var(--warn-bg); border-color: var(--warn-line); }
.pill-failed { color: var(--bad); background: var(--bad-bg); border-color: var(--bad-line); }
.pill-not-run { color: var(--skip); background: var(--skip-bg); border-color: var(--skip-line); }
.pill-absent { color: var(--none); background: var(--none-bg); border-color: var(--none-line); }
table.matrix th, table.matrix td { padding: 8px 10px; vertical-align: top; text-align: left; border-bottom: 1px solid var(--line); border-right: 1px solid var(--line); }
table.matrix tr > :last-child { border-right: 0; }
table.matrix tbody tr:last-child > * { border-bottom: 0; }
table.matrix thead th { background: #fafbfc; color: var(--muted); font-size: 12px; font-weight: 600; line-height: 1.3; }
table.matrix th.step { position: sticky; left: 0; z-index: 2; background: var(--card); font-weight: 600; box-shadow: 1px 0 0 var(--line); }
table.matrix thead th.step { background: #fafbfc; z-index: 3; }
table.matrix th.step .n { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: 2px; }
table.matrix .baseline { color: #38414f; background: #fbfbfd; font-size: 13px; overflow-wrap: anywhere; }
table.matrix thead th.baseline { background: #f3f4f8; color: var(--ink); }
table.matrix td.baseline code { background: #eef0f4; border-radius: 3px; padding: 0 3px; word-break: break-word; }
.outcome { display: inline-block; font-size: 11px; font-weight: 650; text-transform: uppercase; letter-spacing: .03em; border-radius: 4px; padding: 0 5px; margin-right: 2px; border: 1px solid var(--line); background: #fff; color: var(--muted); }
.outcome-fails { color: var(--bad); border-color: var(--bad-line); }
.outcome-succeeds { color: var(--ok); border-color: var(--ok-line); }
table.matrix th.target { color: var(--ink); overflow-wrap: anywhere; }
table.matrix th.target .with { display: block; color: var(--muted); font-weight: 500; }
table.matrix th.target .tool { display: block; }
.nw { white-space: nowrap; }
td.cell { font-size: 13px; overflow-wrap: anywhere; }
td.cell .state { display: inline-flex; align-items: center; font-weight: 600; white-space: nowrap; }
td.cell .state::before { content: ""; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: currentColor; }
td.cell code.observed { display: block; margin-top: 5px; padding: 3px 6px; border-radius: 4px; background: rgba(255, 255, 255, .65); border: 1px solid rgba(0, 0, 0, .07); white-space: pre-wrap; word-break: break-word; line-height: 1.35; }
td.cell ul.notes { margin: 5px 0 0; padding-left: 16px; font-size: 12px; line-height: 1.35; }
td.cell ul.notes li + li { margin-top: 2px; }
td.cell-matches { background: var(--ok-bg); color: var(--ok); }
td.cell-differs { background: var(--warn-bg); color: var(--warn); box-shadow: inset 3px 0 0 #f0b440; }
td.cell-failed { background: var(--bad-bg); color: var(--bad); box-shadow: inset 3px 0 0 #d9443a; }
td.cell-not-run { background: var(--skip-bg); color: var(--skip); }
td.cell-absent { background: var(--none-bg); color: var(--none); background-image: repeating-linear-gradient(135deg, transparent 0 6px, rgba(0, 0, 0, .025) 6px 12px); }
td.cell-differs ul.notes, td.cell-failed ul.notes { color: var(--ink); }
td.cell-differs code.observed, td.cell-failed code.observed { color: var(--ink); }
#only-interesting { margin: 0; }
body:has(#only-interesting:checked) table.matrix tbody tr:not(.interesting) { display: none; }
footer { padding: 0 32px 32px; color: var(--muted); font-size: 12px; }
.empty { background: var(--card); border: 1px dashed var(--line); border-radius: 10px; padding: 32px; text-align: center; color: var(--muted); }
@media print { body { background: #fff; } .scroll { overflow: visible; box-shadow: none; } .filter { display: none; } }
`;

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
<style>${CSS}</style>
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
