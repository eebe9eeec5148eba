import type { CheckRecord, CommandRecord, ScenarioRun, StepRecord } from "../dsl/scenario.ts";
import type { ReleaseState } from "../probes/release.ts";
import { diffSnapshots, renderSnapshot, type ResourceSnapshot } from "../probes/resources.ts";
import { formatDuration } from "../log.ts";
import {
  CELL_STATES,
  cellStatus,
  lostText,
  runStatus,
  STATE_ICON,
  STATE_WORD,
  STATUS_TEXT,
  stepResultText,
  type CellStatus,
  type Matrix,
  type MatrixCell,
} from "./model.ts";
import { renderArgv } from "../exec.ts";
import { cellDetails, clusterDriftCells, columnTotals, groupByScenario, truncate } from "./view.ts";

/**
 * Markdown renderings of helmdrill results: the conformance matrix (one table per scenario,
 * one column per target) and per-run transcripts shaped like the write-ups they replay.
 */

export { CELL_STATES, STATE_ICON, STATE_WORD, type CellStatus } from "./model.ts";

export const stateLabel = (s: CellStatus): string => `${STATE_ICON[s]} ${STATE_WORD[s]}`;

/** Lines of stdout / stderr a transcript keeps per command. */
export const OUTPUT_LINE_LIMIT = 60;

export { formatDuration };
// The shared view helpers moved to view.ts; re-exported so importers of this module keep working.
export {
  CELL_TEXT_LIMIT,
  cellDetails,
  clusterDriftCells,
  columnTotals,
  firstLine,
  groupByScenario,
  truncate,
  type ColumnTotals,
  type ScenarioGroup,
} from "./view.ts";

// ------------------------------------------------------------------ markdown escaping

/**
 * Escapes text for Markdown prose: punctuation that would format, `|` (tables) and `<` (raw
 * HTML and autolinks; `>` alone cannot open a tag, so it stays readable).
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<|]/g, (c) => `\\${c}`);
}

/** Text for a table cell: escaped, newlines as <br>. */
function cellText(text: string): string {
  return escapeMarkdown(text).replace(/\r?\n/g, "<br>");
}

/** An inline code span that survives any backticks in the text (and `|` inside a table). */
export function codeSpan(text: string, inTable = false): string {
  const flat = text.replace(/\r?\n/g, " ⏎ ");
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((m) => m.length));
  const ticks = "`".repeat(longest + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
  const body = inTable ? flat.replace(/\|/g, "\\|") : flat;
  return `${ticks}${pad}${body}${pad}${ticks}`;
}

/** A fenced block whose fence is longer than any backtick run in the content. */
export function fenced(content: string, lang = ""): string {
  const longest = Math.max(0, ...(content.match(/`{3,}/g) ?? []).map((m) => m.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${content.replace(/\s+$/, "")}\n${fence}`;
}

/**
 * Markdown that may already hold code spans (the model's documented text wraps the write-up's
 * verbatim text in backticks): code spans are kept, everything else is escaped.
 */
function mixed(markdown: string, inTable: boolean, prose: (text: string) => string = escapeMarkdown): string {
  const text = inTable ? cellText : prose;
  const out: string[] = [];
  const re = /(`+)([\s\S]*?[^`])\1(?!`)/g;
  let last = 0;
  for (const m of markdown.matchAll(re)) {
    out.push(text(markdown.slice(last, m.index)));
    out.push(codeSpan(m[2]!.trim(), inTable));
    last = m.index! + m[0].length;
  }
  out.push(text(markdown.slice(last)));
  return out.join("");
}

// ------------------------------------------------------------------ matrix

function matrixCell(cell: MatrixCell): string {
  const parts = [stateLabel(cell.status)];
  const { observed, notes } = cellDetails(cell);
  if (observed) parts.push(codeSpan(truncate(observed), true));
  for (const n of notes) parts.push(mixed(truncate(n), true));
  return parts.join("<br>");
}

function tableRow(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

export function renderMatrixMarkdown(matrix: Matrix): string {
  const out: string[] = ["# helmdrill conformance matrix", ""];
  const groups = groupByScenario(matrix);
  out.push(
    `Each scenario replays a documented write-up step by step against a real cluster. The baseline column (${escapeMarkdown(matrix.baseline)}) is what the write-up documents; ` +
      `every other column is one target that was run. ${groups.length} scenario${groups.length === 1 ? "" : "s"}, ${matrix.rows.length} step${matrix.rows.length === 1 ? "" : "s"}, ${matrix.columns.length} target${matrix.columns.length === 1 ? "" : "s"}.`,
    "",
    ...(matrix.clusters.length ? [`**Cluster:** ${matrix.clusters.map(escapeMarkdown).join("; ")}`, ""] : []),
    "## Legend",
    "",
    tableRow(["State", "Meaning"]),
    tableRow(["---", "---"]),
    ...CELL_STATES.map((s) => tableRow([stateLabel(s), cellText(STATUS_TEXT[s])])),
    "",
    "## Totals",
    "",
  );

  if (matrix.columns.length === 0) {
    out.push("No runs were recorded.", "");
    return out.join("\n");
  }

  const totals = columnTotals(matrix);
  out.push(
    tableRow(["Target", ...CELL_STATES.map(stateLabel), "Runs"]),
    tableRow(["---", ...CELL_STATES.map(() => "---:"), "---"]),
  );
  for (const c of matrix.columns) {
    const runs = matrix.runs.filter((r) => r.target === c);
    const failed = runs.filter((r) => r.status === "failed").length;
    const lost = runs.filter((r) => r.status === "lost").length;
    const counts = [
      `${runs.length - failed - lost} passed`,
      ...(failed ? [`${failed} failed`] : []),
      ...(lost ? [`${lost} cluster lost`] : []),
    ];
    const runText = `${runs.length} (${counts.join(", ")})`;
    out.push(tableRow([cellText(c), ...CELL_STATES.map((s) => String(totals[c]![s])), runText]));
  }
  out.push("");

  for (const g of groups) {
    out.push(`## ${escapeMarkdown(g.title)}`, "", `${codeSpan(g.scenario)} · source: ${escapeMarkdown(g.source)}`, "");
    out.push(
      tableRow(["Step", cellText(matrix.baseline), ...matrix.columns.map(cellText)]),
      tableRow(["---", "---", ...matrix.columns.map(() => "---")]),
    );
    for (const row of g.rows) {
      const cells = matrix.columns.map((c) =>
        matrixCell(row.cells[c] ?? { status: "absent", drift: [], failures: [] }),
      );
      out.push(tableRow([mixed(`${row.step}. ${row.title}`, true), mixed(row.documented, true), ...cells]));
    }
    out.push("");
  }
  out.push(...clusterDriftSection(matrix));
  out.push(...coverageSection(matrix));
  return out.join("\n");
}

/** Only when the runs span several clusters: where a target's step behaved differently on them, or that none did. */
function clusterDriftSection(matrix: Matrix): string[] {
  if (!matrix.clusterDrift) return [];
  const head = ["## Differences between clusters", ""];
  if (matrix.clusterDrift.length === 0)
    return [
      ...head,
      "Every step of every target had the same state and the same error text (first line; the run's namespace and variables named) on each cluster.",
      "",
    ];
  return [
    ...head,
    `${matrix.clusterDrift.length} step${matrix.clusterDrift.length === 1 ? "" : "s"} of a target behaved differently between clusters (its state, or the first line of its error text with the run's namespace and variables named):`,
    "",
    ...matrix.clusterDrift.map(
      (d) =>
        `- ${codeSpan(d.scenario)} step ${d.step} (${escapeMarkdown(d.title)}), ${escapeMarkdown(d.target)}: ${clusterDriftCells(
          d,
        )
          .map((c) => escapeMarkdown(c))
          .join("; ")}`,
    ),
    "",
  ];
}

/** Expectations no pinned version reaches and holes between keyed ranges: listed, never dropped. */
function coverageSection(matrix: Matrix): string[] {
  const findings = matrix.coverage ?? [];
  if (findings.length === 0) return [];
  return [
    "## Expectations outside the pinned versions",
    "",
    "Versioned expectations that no pinned version runs, and versions between keyed ranges that no expectation of that kind covers. " +
      "A run on such a version stops at that step with “no expectation for …”; pin the version or widen a range.",
    "",
    ...findings.map(
      (f) =>
        `- ${codeSpan(f.scenario)} step ${f.step} (${escapeMarkdown(f.stepTitle)}): ${f.kind === "unreached" ? "unreached" : "gap"} — ${escapeMarkdown(f.text)}`,
    ),
    "",
  ];
}

// ------------------------------------------------------------------ transcript

/** Keeps the first and last lines of long output, with a marker for what was left out. */
export function trimLines(text: string, limit = OUTPUT_LINE_LIMIT): string {
  const lines = text.replace(/\s+$/, "").split(/\r?\n/);
  if (lines.length <= limit) return lines.join("\n");
  const head = Math.floor(limit / 3);
  const tail = limit - head - 1;
  return [...lines.slice(0, head), `… ${lines.length - head - tail} lines omitted …`, ...lines.slice(-tail)].join("\n");
}

function documentedProse(step: StepRecord): string[] {
  const d = step.documented;
  if (!d) return ["The write-up does not document this step."];
  const clauses: string[] = [];
  if (d.outcome === "succeeds") clauses.push("the command succeeded");
  else if (d.outcome === "fails") clauses.push("the command failed");
  const multiLineText = d.text !== undefined && /\n/.test(d.text.trim());
  if (d.text && !multiLineText) clauses.push(`it printed ${codeSpan(d.text.trim())}`);
  if (d.release) clauses.push(`release ${codeSpan(d.release)}`);
  if (d.resources) clauses.push(`resources: ${escapeMarkdown(d.resources)}`);
  const lines = [
    `The write-up saw: ${clauses.length ? clauses.join("; ") : "nothing specific"}${multiLineText ? ", printing:" : "."}`,
  ];
  if (multiLineText) lines.push("", fenced(d.text!.trim(), "text"));
  return lines;
}

function commandBlock(c: CommandRecord): string[] {
  const body = [`$ ${renderArgv(c.argv)}`];
  if (c.stdout.trim()) body.push(trimLines(c.stdout));
  if (c.stderr.trim()) body.push(trimLines(c.stderr));
  return [fenced(body.join("\n"), "console"), "", `_exit ${c.exitCode} · ${formatDuration(c.durationMs)}_`];
}

function checkLine(c: CheckRecord): string[] {
  const flat = (s: string) => escapeMarkdown(s.trim()).replace(/\r?\n/g, "<br>");
  const qualifiers = [
    c.phase === "during" ? "while the command ran" : "",
    c.when !== "every version" ? c.when : "",
  ].filter(Boolean);
  const lines = [
    `- [${c.ok ? "x" : " "}] ${flat(c.expected)} — ${flat(c.observed)}${qualifiers.length ? ` _(${escapeMarkdown(qualifiers.join("; "))})_` : ""}`,
  ];
  if (c.drift) lines.push(`  - 🔶 drift from the write-up: ${mixed(c.drift.trim(), false).replace(/\r?\n/g, "<br>")}`);
  return lines;
}

function releaseSection(state: ReleaseState): string[] {
  const heading = `**Release ${codeSpan(state.release)}**`;
  if (!state.exists)
    return [heading, "", `No release: ${codeSpan(`helm history ${state.release}`)} reports it not found.`];
  const cur = state.current ?? state.history.at(-1)!;
  const lines = [
    `${heading} — ${codeSpan("helm ls")}: revision ${cur.revision}, ${codeSpan(cur.status.toUpperCase())}, chart ${codeSpan(cur.chart)}`,
    "",
    tableRow(["REVISION", "STATUS", "DESCRIPTION", "APPLIED"]),
    tableRow(["---:", "---", "---", "---"]),
    ...state.history.map((h) =>
      tableRow([
        String(h.revision),
        cellText(h.status),
        cellText(h.description),
        cellText(state.storage.find((s) => s.revision === h.revision)?.applyMethod ?? "?"),
      ]),
    ),
  ];
  if (state.storageMismatch) lines.push("", `⚠️ ${escapeMarkdown(state.storageMismatch)}`);
  return lines;
}

function stepSection(
  step: StepRecord,
  previous: ResourceSnapshot | undefined,
  run: Pick<ScenarioRun, "clusterLost">,
): string[] {
  // Titles are the scenario author's prose and may hold `inline code`: keep the code spans.
  const out = [`## ${step.index}. ${mixed(step.title, false, escapeMarkdown)}`, ""];
  const state = cellStatus(run, step);
  if (step.status === "not-run" && state === "lost") {
    const { step: at, reason } = run.clusterLost!;
    out.push(`${STATE_ICON.lost} Not run: the cluster was lost at step ${at} (${escapeMarkdown(reason)}).`);
    if (step.action) out.push("", `It would have run ${codeSpan(step.action)}.`);
    return out;
  }
  if (step.status === "not-run") {
    // A target that cannot run here carries its reason ("not run: …"); otherwise an earlier step failed.
    const reason = step.problem?.startsWith("not run: ")
      ? `${escapeMarkdown(step.problem.slice("not run: ".length))}.`
      : "an earlier step failed, so this step was skipped.";
    out.push(`${STATE_ICON["not-run"]} Not run: ${reason}`);
    if (step.action) out.push("", `It would have run ${codeSpan(step.action)}.`);
    return out;
  }
  // The explanation is the scenario author's own Markdown: only raw HTML is neutralised.
  if (step.explanation)
    out.push(
      mixed(step.explanation.trim(), false, (t) => t.replace(/</g, "\\<")),
      "",
    );
  out.push(...documentedProse(step), "");
  const result = stepResultText({ ...step, status: state });
  out.push(`**Result:** ${stateLabel(state)} — ${result} (${formatDuration(step.durationMs)})`, "");
  if (state === "lost") out.push(`**Cluster lost:** ${escapeMarkdown(lostText(run.clusterLost!))}`, "");
  if (step.problem) out.push(`**Problem:** ${escapeMarkdown(step.problem)}`, "");

  const commands = step.commands.filter((c) => !c.probe);
  if (commands.length > 0) for (const c of commands) out.push(...commandBlock(c), "");
  else if (step.action) out.push(`The command ${codeSpan(step.action)} did not run.`, "");
  else out.push("_No command: this step only inspects the cluster._", "");

  if (step.checks.length > 0) out.push("**Expectations**", "", ...step.checks.flatMap(checkLine), "");

  if (step.release) out.push(...releaseSection(step.release), "");
  else out.push("_Release state was not captured._", "");

  if (step.resources) {
    out.push("**Resources owned by the release**", "", fenced(renderSnapshot(step.resources), "text"), "");
    const { added, removed } = diffSnapshots(previous, step.resources);
    if (added.length || removed.length) {
      out.push(
        `**Changed by this step:** ${[...added.map((n) => `+ ${codeSpan(n)}`), ...removed.map((n) => `− ${codeSpan(n)}`)].join(", ")}`,
        "",
      );
    }
  } else out.push("_Resources were not captured._", "");

  for (const c of step.collected ?? []) {
    const head = c.argv ? `$ ${renderArgv(c.argv)}` : c.label;
    out.push(
      "<details>",
      `<summary>Collected on failure: ${escapeMarkdown(c.label)}</summary>`,
      "",
      fenced(`${head}\n${c.output}${c.exitCode ? `\n(exit ${c.exitCode})` : ""}`, "console"),
      "",
      "</details>",
      "",
    );
  }
  if (step.diagnostics) {
    out.push("<details>", "<summary>Diagnostics</summary>", "", fenced(step.diagnostics, "text"), "", "</details>", "");
  }
  while (out.at(-1) === "") out.pop();
  return out;
}

export function renderTranscript(run: ScenarioRun): string {
  const counts = CELL_STATES.filter((s) => s !== "absent")
    .map((s) => [s, run.steps.filter((x) => cellStatus(run, x) === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${STATE_WORD[s]}`);
  const status = runStatus(run);
  const statusText =
    status === "lost"
      ? `${STATE_ICON.lost} cluster lost: ${escapeMarkdown(lostText(run.clusterLost!))}`
      : status === "passed"
        ? `${STATE_ICON.matches} passed`
        : `${STATE_ICON.failed} failed`;
  const vars = Object.entries(run.vars);
  const out = [
    `# ${escapeMarkdown(run.title)} — ${escapeMarkdown(run.targetLabel)}`,
    "",
    `- **Scenario:** ${codeSpan(run.scenario)}`,
    `- **Source:** ${escapeMarkdown(run.source.file)} — ${escapeMarkdown(run.source.section)}`,
    `- **Target:** ${escapeMarkdown(run.targetLabel)}`,
    ...(run.cluster ? [`- **Cluster:** ${escapeMarkdown(run.cluster)}`] : []),
    `- **Namespace:** ${codeSpan(run.namespace)}`,
    `- **Status:** ${statusText} (${counts.join(", ") || "no steps"})`,
    `- **Started:** ${escapeMarkdown(run.startedAt)}, took ${formatDuration(run.durationMs)}`,
  ];
  if (vars.length > 0) out.push(`- **Variables:** ${vars.map(([k, v]) => codeSpan(`${k}=${v}`)).join(", ")}`);
  out.push("");
  let previous: ResourceSnapshot | undefined = {};
  for (const step of run.steps) {
    out.push(...stepSection(step, previous, run), "");
    if (step.resources) previous = step.resources;
  }
  return `${out.join("\n").replace(/\n+$/, "")}\n`;
}
