import { formatDuration } from "../log.ts";
import type { Comparison, RunRef, SlowerRun, TextChange, VerdictChange } from "./compare.ts";
import { hasChanges } from "./compare.ts";
import { escapeHtml } from "./html.ts";
import { codeSpan, escapeMarkdown, truncate } from "./markdown.ts";
import { STATE_ICON, STATE_WORD, type CellStatus } from "./model.ts";

/**
 * `helmdrill compare` as Markdown (stdout, a CI job summary) and HTML (a page of its own, or a
 * section of another page): the new failures first, then every other change.
 */

export interface ComparisonLabels {
  /** What was compared: the two matrix.json files (or the reports directories). */
  previous: string;
  current: string;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const state = (s: CellStatus) => `${STATE_ICON[s]} ${STATE_WORD[s]}`;
const percentMore = (r: SlowerRun) => `+${Math.round((100 * (r.afterMs - r.beforeMs)) / r.beforeMs)} %`;

/** Verdict changes that are not new failures (those have their own section). */
function otherVerdicts(c: Comparison): VerdictChange[] {
  return c.verdicts.filter((v) => !c.newFailures.includes(v));
}

/** "1 new failure · 2 verdicts changed · …" (counts that are zero are left out), or undefined: nothing changed. */
export function comparisonHeadline(c: Comparison): string | undefined {
  if (!hasChanges(c)) return undefined;
  const others = otherVerdicts(c).length;
  const parts = [
    [c.newFailures.length, plural(c.newFailures.length, "new failure")],
    [others, `${plural(others, c.newFailures.length ? "other verdict" : "verdict")} changed`],
    [c.texts.length, `${plural(c.texts.length, "text")} changed`],
    [c.added.length, `${plural(c.added.length, "run")} added`],
    [c.gone.length, `${plural(c.gone.length, "run")} gone`],
    [c.slower.length, `${plural(c.slower.length, "run")} slower by more than ${c.slowerPercent} %`],
  ] as const;
  return parts
    .filter(([n]) => n > 0)
    .map(([, text]) => text)
    .join(" · ");
}

function noChangeText(c: Comparison): string {
  return (
    `No change: the same ${plural(c.currentRuns, "run")}, every cell's verdict and texts as before, ` +
    `none slower by more than ${c.slowerPercent} %.`
  );
}

// ------------------------------------------------------------------ Markdown

const cell = (text: string) => escapeMarkdown(truncate(text)).replace(/\r?\n/g, "<br>");
const code = (text: string | undefined) => (text ? codeSpan(truncate(text), true) : "—");
const stepOf = (v: { step: number; title: string }) => `${v.step} · ${cell(v.title)}`;

function mdTable(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

function mdVerdicts(list: VerdictChange[]): string[] {
  return mdTable(
    ["Scenario", "Step", "Target", "Before", "Now", "Observed before", "Observed now"],
    list.map((v) => [
      codeSpan(v.scenario, true),
      stepOf(v),
      cell(v.column),
      state(v.from),
      state(v.to),
      code(v.before),
      code(v.after),
    ]),
  );
}

function mdTexts(list: TextChange[]): string[] {
  return mdTable(
    ["Scenario", "Step", "Target", "Verdict", "Text", "Before", "Now"],
    list.map((t) => [
      codeSpan(t.scenario, true),
      stepOf(t),
      cell(t.column),
      state(t.status),
      t.field === "observed" ? "error observed" : "drift",
      code(t.before),
      code(t.after),
    ]),
  );
}

function mdRuns(list: RunRef[]): string[] {
  return mdTable(
    ["Scenario", "Target", "Status", "Time"],
    list.map((r) => [codeSpan(r.scenario, true), cell(r.target), cell(r.status), formatDuration(r.durationMs)]),
  );
}

function mdSlower(list: SlowerRun[]): string[] {
  return mdTable(
    ["Scenario", "Target", "Before", "Now", "Change"],
    list.map((r) => [
      codeSpan(r.scenario, true),
      cell(r.target),
      formatDuration(r.beforeMs),
      formatDuration(r.afterMs),
      percentMore(r),
    ]),
  );
}

export function renderComparisonMarkdown(c: Comparison, labels: ComparisonLabels): string {
  const out = [
    "## helmdrill: what changed since the previous run",
    "",
    `Previous: ${codeSpan(labels.previous)} (${plural(c.previousRuns, "run")}) · ` +
      `now: ${codeSpan(labels.current)} (${plural(c.currentRuns, "run")})`,
    "",
  ];
  const headline = comparisonHeadline(c);
  if (!headline) return [...out, noChangeText(c), ""].join("\n");
  out.push(c.newFailures.length ? `**${headline}**` : headline, "");
  const section = (title: string, n: number, body: string[]) => {
    if (n > 0) out.push(`### ${title} (${n})`, "", ...body, "");
  };
  section("❌ New failures: cells that were not failed and now are", c.newFailures.length, mdVerdicts(c.newFailures));
  section("Verdicts changed", otherVerdicts(c).length, mdVerdicts(otherVerdicts(c)));
  section("Texts changed under the same verdict", c.texts.length, mdTexts(c.texts));
  section("Runs added", c.added.length, mdRuns(c.added));
  section("Runs gone", c.gone.length, mdRuns(c.gone));
  section(`Runs slower by more than ${c.slowerPercent} %`, c.slower.length, mdSlower(c.slower));
  return out.join("\n");
}

// ------------------------------------------------------------------ HTML

const td = (text: string) => `<td>${escapeHtml(text)}</td>`;
const tdCode = (text: string | undefined) =>
  text ? `<td><code>${escapeHtml(truncate(text))}</code></td>` : "<td>—</td>";
const tdState = (s: CellStatus) => `<td class="state state-${s}">${escapeHtml(state(s))}</td>`;

function htmlTable(head: string[], rows: string[]): string {
  const th = head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join("");
  return `<table><thead><tr>${th}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function htmlVerdicts(list: VerdictChange[]): string {
  return htmlTable(
    ["Scenario", "Step", "Target", "Before", "Now", "Observed before", "Observed now"],
    list.map(
      (v) =>
        `<tr data-scenario="${escapeHtml(v.scenario)}" data-step="${v.step}" data-column="${escapeHtml(v.column)}">` +
        `<td><code>${escapeHtml(v.scenario)}</code></td>${td(`${v.step} · ${v.title}`)}${td(v.column)}` +
        `${tdState(v.from)}${tdState(v.to)}${tdCode(v.before)}${tdCode(v.after)}</tr>`,
    ),
  );
}

function htmlTexts(list: TextChange[]): string {
  return htmlTable(
    ["Scenario", "Step", "Target", "Verdict", "Text", "Before", "Now"],
    list.map(
      (t) =>
        `<tr><td><code>${escapeHtml(t.scenario)}</code></td>${td(`${t.step} · ${t.title}`)}${td(t.column)}` +
        `${tdState(t.status)}${td(t.field === "observed" ? "error observed" : "drift")}` +
        `${tdCode(t.before)}${tdCode(t.after)}</tr>`,
    ),
  );
}

function htmlRuns(list: RunRef[]): string {
  return htmlTable(
    ["Scenario", "Target", "Status", "Time"],
    list.map(
      (r) =>
        `<tr><td><code>${escapeHtml(r.scenario)}</code></td>${td(r.target)}${td(r.status)}` +
        `${td(formatDuration(r.durationMs))}</tr>`,
    ),
  );
}

function htmlSlower(list: SlowerRun[]): string {
  return htmlTable(
    ["Scenario", "Target", "Before", "Now", "Change"],
    list.map(
      (r) =>
        `<tr><td><code>${escapeHtml(r.scenario)}</code></td>${td(r.target)}${td(formatDuration(r.beforeMs))}` +
        `${td(formatDuration(r.afterMs))}${td(percentMore(r))}</tr>`,
    ),
  );
}

/** The comparison as one <section>: a page of its own wraps it, the matrix page can embed it. */
export function renderComparisonHtmlSection(c: Comparison, labels: ComparisonLabels): string {
  const out = [
    `<section class="comparison" data-new-failures="${c.newFailures.length}">`,
    "<h2>What changed since the previous run</h2>",
    `<p class="sub">Previous: <code>${escapeHtml(labels.previous)}</code> (${plural(c.previousRuns, "run")}) · ` +
      `now: <code>${escapeHtml(labels.current)}</code> (${plural(c.currentRuns, "run")})</p>`,
  ];
  const headline = comparisonHeadline(c);
  if (!headline) return [...out, `<p class="no-change">${escapeHtml(noChangeText(c))}</p>`, "</section>"].join("\n");
  out.push(`<p class="headline${c.newFailures.length ? " alert" : ""}">${escapeHtml(headline)}</p>`);
  const part = (id: string, title: string, n: number, body: () => string) => {
    if (n > 0) out.push(`<h3 id="${id}">${escapeHtml(title)} (${n})</h3>`, body());
  };
  part("new-failures", "❌ New failures: cells that were not failed and now are", c.newFailures.length, () =>
    htmlVerdicts(c.newFailures),
  );
  part("verdicts", "Verdicts changed", otherVerdicts(c).length, () => htmlVerdicts(otherVerdicts(c)));
  part("texts", "Texts changed under the same verdict", c.texts.length, () => htmlTexts(c.texts));
  part("added", "Runs added", c.added.length, () => htmlRuns(c.added));
  part("gone", "Runs gone", c.gone.length, () => htmlRuns(c.gone));
  part("slower", `Runs slower by more than ${c.slowerPercent} %`, c.slower.length, () => htmlSlower(c.slower));
  out.push("</section>");
  return out.join("\n");
}

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1f2328}
h2{margin:0 0 .3rem}.sub{color:#59636e;margin:.2rem 0 1rem}
.headline{font-weight:600}.headline.alert{color:#b3261e}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #d1d9e0;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}code{font:12px ui-monospace,monospace;white-space:pre-wrap}
.state-failed{background:#ffebe9}.state-matches{background:#dafbe1}.state-differs{background:#fff8c5}
.state-lost{background:#eee}`;

/** A self-contained HTML page of the comparison (`helmdrill compare --html <file>`). */
export function renderComparisonHtml(c: Comparison, labels: ComparisonLabels): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>helmdrill: what changed since the previous run</title>
<style>${CSS}</style>
</head>
<body>
${renderComparisonHtmlSection(c, labels)}
</body>
</html>
`;
}
