import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { HelmdrillError } from "../errors.ts";
import { describeIssues } from "../util/schema-issues.ts";
import { CELL_STATES, comparableText, type CellStatus, type Matrix, type MatrixCell } from "./model.ts";

/**
 * What changed between two runs' matrices (`helmdrill compare <previous> <current>`): cells whose
 * verdict changed, error and drift texts that changed under the same verdict, runs added or gone,
 * runs slower by more than a threshold. Pure: reading the files is loadMatrix's, rendering is
 * compare-render.ts's.
 */

/** The part of a matrix.json a comparison reads; what a helmdrill matrix.json must hold. */
const cellSchema = z.object({
  status: z.enum([...CELL_STATES] as [CellStatus, ...CellStatus[]]),
  observed: z.string().optional(),
  drift: z.array(z.string()),
  failures: z.array(z.string()),
});

const matrixSchema = z.object({
  columns: z.array(z.string()),
  rows: z.array(
    z.object({
      scenario: z.string(),
      step: z.number().int(),
      title: z.string(),
      cells: z.record(z.string(), cellSchema),
    }),
  ),
  runs: z.array(
    z.object({
      scenario: z.string(),
      target: z.string(),
      status: z.string(),
      durationMs: z.number().nonnegative(),
    }),
  ),
});

export type ComparableMatrix = Pick<Matrix, "columns" | "rows" | "runs">;

/** A run's own values (an allocated NodePort) per `scenario#column`: named instead of compared. */
export type RunVars = Map<string, Record<string, unknown>>;

export interface LoadedMatrix {
  /** The matrix.json read. */
  file: string;
  matrix: ComparableMatrix;
  vars: RunVars;
}

export interface CellRef {
  scenario: string;
  step: number;
  title: string;
  /** The matrix column: the target (with its cluster when the run spanned several). */
  column: string;
}

export interface VerdictChange extends CellRef {
  from: CellStatus;
  to: CellStatus;
  /** The first line of the error text each side observed, when there was one. */
  before?: string;
  after?: string;
}

export interface TextChange extends CellRef {
  /** The verdict, the same on both sides. */
  status: CellStatus;
  /** observed: the error text the command printed (first line); drift: why the step differs from the write-up. */
  field: "observed" | "drift";
  before: string;
  after: string;
}

export interface RunRef {
  scenario: string;
  target: string;
  status: string;
  durationMs: number;
}

export interface SlowerRun {
  scenario: string;
  target: string;
  beforeMs: number;
  afterMs: number;
}

export interface Comparison {
  /** A run is slower when it took more than this many percent longer than before. */
  slowerPercent: number;
  previousRuns: number;
  currentRuns: number;
  /**
   * Cells that were not failed and now are: verdict changes to failed, and failed cells of runs
   * that are new (a newly pinned version failing is news too).
   */
  newFailures: VerdictChange[];
  /** Every verdict change of the runs both sides ran (newFailures among them). */
  verdicts: VerdictChange[];
  texts: TextChange[];
  added: RunRef[];
  gone: RunRef[];
  slower: SlowerRun[];
}

export const DEFAULT_SLOWER_PERCENT = 50;

const runKey = (scenario: string, target: string) => `${scenario}#${target}`;
const ABSENT: MatrixCell = { status: "absent", drift: [], failures: [] };

/** The states whose texts say something about Helm: not a lost cluster's, not a step that never ran. */
const TEXT_STATES: ReadonlySet<CellStatus> = new Set(["matches", "differs", "failed"]);

export function compareMatrices(
  previous: { matrix: ComparableMatrix; vars?: RunVars },
  current: { matrix: ComparableMatrix; vars?: RunVars },
  options: { slowerPercent?: number } = {},
): Comparison {
  const slowerPercent = options.slowerPercent ?? DEFAULT_SLOWER_PERCENT;
  const before = new Map(previous.matrix.runs.map((r) => [runKey(r.scenario, r.target), r]));
  const after = new Map(current.matrix.runs.map((r) => [runKey(r.scenario, r.target), r]));
  const added = [...after.entries()].filter(([k]) => !before.has(k)).map(([, r]) => runRef(r));
  const gone = [...before.entries()].filter(([k]) => !after.has(k)).map(([, r]) => runRef(r));

  const slower: SlowerRun[] = [];
  for (const [key, now] of after) {
    const then = before.get(key);
    // A run on a lost cluster took the time the dead cluster made it take: not compared.
    if (!then || then.status === "lost" || now.status === "lost" || then.durationMs <= 0) continue;
    if (now.durationMs > then.durationMs * (1 + slowerPercent / 100)) {
      slower.push({ scenario: now.scenario, target: now.target, beforeMs: then.durationMs, afterMs: now.durationMs });
    }
  }

  // Rows in the current matrix's order (the catalogue's), then those only the previous one has.
  const rowsBefore = new Map(previous.matrix.rows.map((r) => [`${r.scenario}#${r.step}`, r]));
  const rowsAfter = new Map(current.matrix.rows.map((r) => [`${r.scenario}#${r.step}`, r]));
  const rowKeys = [...new Set([...rowsAfter.keys(), ...rowsBefore.keys()])];
  const columns = [...new Set([...current.matrix.columns, ...previous.matrix.columns])];

  const verdicts: VerdictChange[] = [];
  const newFailures: VerdictChange[] = [];
  const texts: TextChange[] = [];
  for (const key of rowKeys) {
    const rowThen = rowsBefore.get(key);
    const rowNow = rowsAfter.get(key);
    const row = (rowNow ?? rowThen)!;
    for (const column of columns) {
      const run = runKey(row.scenario, column);
      const then = rowThen?.cells[column] ?? ABSENT;
      const now = rowNow?.cells[column] ?? ABSENT;
      const ref: CellRef = { scenario: row.scenario, step: row.step, title: row.title, column };
      if (after.has(run) && !before.has(run)) {
        // A new run: listed under runs added; its failed cells are new failures.
        if (now.status === "failed") newFailures.push(verdictChange(ref, then, now, current.vars?.get(run)));
        continue;
      }
      if (!after.has(run) || !before.has(run)) continue;
      if (then.status !== now.status) {
        const change = verdictChange(ref, then, now, current.vars?.get(run), previous.vars?.get(run));
        verdicts.push(change);
        if (now.status === "failed") newFailures.push(change);
        continue;
      }
      if (!TEXT_STATES.has(now.status)) continue;
      const varsThen = previous.vars?.get(run);
      const varsNow = current.vars?.get(run);
      const observedThen = comparableText(then.observed, varsThen);
      const observedNow = comparableText(now.observed, varsNow);
      if (observedThen !== observedNow) {
        texts.push({ ...ref, status: now.status, field: "observed", before: observedThen, after: observedNow });
      }
      const driftThen = then.drift.map((d) => comparableText(d, varsThen)).join("\n");
      const driftNow = now.drift.map((d) => comparableText(d, varsNow)).join("\n");
      if (driftThen !== driftNow) {
        texts.push({ ...ref, status: now.status, field: "drift", before: driftThen, after: driftNow });
      }
    }
  }
  return {
    slowerPercent,
    previousRuns: before.size,
    currentRuns: after.size,
    newFailures,
    verdicts,
    texts,
    added,
    gone,
    slower,
  };
}

/**
 * `--as 3.18.0=3.21.4,4.3.1=4.3.2`: the previous run's columns read as if they had run the new
 * versions, so two runs of *different* versions compare cell by cell — what a team upgrading
 * from one version to the next wants to see. Parsed before anything is read; bad input is one error.
 */
export function parseVersionMap(value: string | readonly string[] | undefined): Map<string, string> {
  const map = new Map<string, string>();
  const items = (typeof value === "string" ? value.split(",") : (value ?? [])).map((s) => s.trim()).filter(Boolean);
  const version = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
  for (const item of items) {
    const [from, to, ...rest] = item.split("=").map((s) => s.trim().replace(/^v/, ""));
    if (!from || !to || rest.length > 0 || !version.test(from) || !version.test(to)) {
      throw new HelmdrillError(
        `--as takes old=new version pairs, not "${item}"`,
        "e.g. --as 3.18.0=3.21.4,4.3.1=4.3.2: the previous run's helm 3.18.0 columns are compared with the current run's helm 3.21.4",
      );
    }
    if (map.has(from)) throw new HelmdrillError(`--as names ${from} twice`, "give each old version one new version");
    map.set(from, to);
  }
  const targets = [...map.values()];
  const twice = targets.find((v, i) => targets.indexOf(v) !== i);
  if (twice) {
    throw new HelmdrillError(
      `--as maps two versions onto ${twice}`,
      "two columns of the previous run would become one: compare them one at a time",
    );
  }
  return map;
}

/** A version inside a column name ("helmfile 1.8.0 (apply) + helm 3.18.0", "helm 3.18.0 → 4.3.1"), whole. */
function renameColumn(column: string, map: ReadonlyMap<string, string>): string {
  if (map.size === 0) return column;
  const escaped = [...map.keys()].map((v) => v.replaceAll(".", "\\."));
  // One pass, so 3.18.0=3.21.4 and 3.21.4=3.22.0 together do not chain.
  return column.replace(new RegExp(`(?<![\\w.])(?:${escaped.join("|")})(?![\\w.])`, "g"), (v) => map.get(v)!);
}

/** The matrix (and its runs' own values) with every column renamed by `map`. */
export function renameVersions(loaded: LoadedMatrix, map: ReadonlyMap<string, string>): LoadedMatrix {
  if (map.size === 0) return loaded;
  const rename = (column: string) => renameColumn(column, map);
  const { matrix } = loaded;
  const columns = matrix.columns.map(rename);
  const clash = columns.find((c, i) => columns.indexOf(c) !== i);
  if (clash) {
    throw new HelmdrillError(
      `--as makes two columns of ${loaded.file} one: ${clash}`,
      "the previous run already ran a version you map onto; leave that pair out",
    );
  }
  const vars: RunVars = new Map();
  for (const [key, value] of loaded.vars) {
    const at = key.indexOf("#");
    vars.set(`${key.slice(0, at)}#${rename(key.slice(at + 1))}`, value);
  }
  return {
    file: loaded.file,
    vars,
    matrix: {
      columns,
      rows: matrix.rows.map((row) => ({
        ...row,
        cells: Object.fromEntries(Object.entries(row.cells).map(([column, cell]) => [rename(column), cell])),
      })),
      runs: matrix.runs.map((r) => ({ ...r, target: rename(r.target) })),
    },
  };
}

function runRef(r: ComparableMatrix["runs"][number]): RunRef {
  return { scenario: r.scenario, target: r.target, status: r.status, durationMs: r.durationMs };
}

function verdictChange(
  ref: CellRef,
  then: MatrixCell,
  now: MatrixCell,
  varsNow?: Record<string, unknown>,
  varsThen?: Record<string, unknown>,
): VerdictChange {
  const before = comparableText(then.observed, varsThen) || undefined;
  const after = comparableText(now.observed, varsNow) || undefined;
  return { ...ref, from: then.status, to: now.status, ...(before ? { before } : {}), ...(after ? { after } : {}) };
}

/** Anything at all changed (what `--fail-on-change` alerts on). */
export function hasChanges(c: Comparison): boolean {
  return [c.newFailures, c.verdicts, c.texts, c.added, c.gone, c.slower].some((list) => list.length > 0);
}

/** 1 when there are new failures (or, with failOnChange, any change), else 0. */
export function comparisonExitCode(c: Comparison, failOnChange = false): 0 | 1 {
  return c.newFailures.length > 0 || (failOnChange && hasChanges(c)) ? 1 : 0;
}

/** "--slower 50" → 50; anything but a number ≥ 0 is bad input. */
export function parseSlowerPercent(value: string | undefined): number {
  if (value === undefined) return DEFAULT_SLOWER_PERCENT;
  const n = Number(value.trim().replace(/%$/, ""));
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new HelmdrillError(
      `--slower takes a percentage ≥ 0, not "${value}"`,
      "e.g. --slower 50: runs that took more than 1.5 times as long as before",
    );
  }
  return n;
}

const USAGE_HINT =
  "give a reports directory (the one `helmdrill run` wrote: it holds conformance/matrix.json) or a matrix.json file";

/**
 * A run's matrix from a reports directory (conformance/matrix.json, or matrix.json directly in
 * it) or a matrix.json file; with the runs' own values from runs.json beside it, when it is there
 * and belongs to the same runs.
 */
export function loadMatrix(arg: string): LoadedMatrix {
  if (!existsSync(arg)) throw new HelmdrillError(`${arg} does not exist`, USAGE_HINT);
  let file = arg;
  if (statSync(arg).isDirectory()) {
    const found = ["matrix.json", path.join("conformance", "matrix.json")]
      .map((rel) => path.join(arg, rel))
      .find((f) => existsSync(f));
    if (!found) throw new HelmdrillError(`${arg} holds no matrix.json (nor conformance/matrix.json)`, USAGE_HINT);
    file = found;
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new HelmdrillError(`${file} is not a helmdrill matrix.json: ${why}`, USAGE_HINT);
  }
  const parsed = matrixSchema.safeParse(data);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error, "the file");
    const shown = issues.slice(0, 5).map((i) => `\n  ${i}`);
    const more = issues.length > 5 ? `\n  … and ${issues.length - 5} more` : "";
    throw new HelmdrillError(`${file} is not a helmdrill matrix.json:${shown.join("")}${more}`, USAGE_HINT);
  }
  const matrix = parsed.data as ComparableMatrix;
  return { file, matrix, vars: varsBeside(file, matrix) };
}

/**
 * runs.json (written beside matrix.json, in the same order as the matrix's runs) holds each run's
 * own values; without it, or when it belongs to other runs, texts are compared as they are.
 */
function varsBeside(matrixFile: string, matrix: ComparableMatrix): RunVars {
  const vars: RunVars = new Map();
  const file = path.join(path.dirname(matrixFile), "runs.json");
  if (!existsSync(file)) return vars;
  let runs: unknown;
  try {
    runs = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return vars;
  }
  const parsed = z.array(
    z.object({ scenario: z.string(), vars: z.record(z.string(), z.unknown()).optional(), root: z.string().optional() }),
  );
  const result = parsed.safeParse(runs);
  if (!result.success || result.data.length !== matrix.runs.length) return vars;
  if (result.data.some((r, i) => r.scenario !== matrix.runs[i]!.scenario)) return vars;
  result.data.forEach((r, i) => {
    // The checkout's path too: a helmfile error names its file by absolute path.
    const own = { ...(r.root ? { project: r.root } : {}), ...r.vars };
    if (Object.keys(own).length) vars.set(runKey(matrix.runs[i]!.scenario, matrix.runs[i]!.target), own);
  });
  return vars;
}
