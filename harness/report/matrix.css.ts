/** The stylesheet of the HTML conformance matrix (html.ts inlines it: the page has no external assets). */
export const MATRIX_CSS = `
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
