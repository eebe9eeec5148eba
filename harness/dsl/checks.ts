import type { CommandResult } from "../exec.ts";
import { readRelease, describeRelease, type ReleaseState } from "../probes/release.ts";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { isBuiltinKind, jobStatus, listKind, podStatus, requireResolver, watchKinds, type Kube, type ResourceKind, type ResourceRow } from "../probes/resources.ts";
import type { ToolRunners } from "../tools/runners.ts";
import { observedText, poll } from "./poll.ts";
import { describeSelector, selects, validateSelector, type Selector, type Target } from "./target.ts";

/** What a check can see. */
export interface CheckContext {
  target: Target;
  runners: ToolRunners;
  kube: Kube;
  namespace: string;
  /** The scenario's release (checks may name another). */
  release: string;
  /** The step's command result, for outcome checks. */
  result?: CommandResult;
  /** Per-run values such as the allocated NodePort. */
  vars: Record<string, string | number>;
  /** Abort polling early (used by `during` checks when the watched action ends). */
  signal?: AbortSignal;
}

export interface CheckOutcome {
  ok: boolean;
  expected: string;
  observed: string;
  /** A short finding the matrix cell shows even when the step matches (what an observing check classified). */
  finding?: string;
}

export type CheckCategory = "outcome" | "release" | "resources" | "pods" | "jobs" | "logs" | "custom";

/**
 * An expectation. `.when(selector)` keys it to versions/drivers; `.drift(note)` marks that
 * this is not what the write-up documented (the matrix shows such a cell as "differs").
 */
export abstract class Check {
  /** Which targets this expectation is for (undefined: all). */
  targets?: Selector;
  driftNote?: string;
  abstract readonly category: CheckCategory;
  abstract describe(): string;
  abstract verify(ctx: CheckContext): Promise<CheckOutcome>;

  when(selector: Selector): this {
    validateSelector(selector);
    this.targets = selector;
    return this;
  }

  drift(note: string): this {
    this.driftNote = note;
    return this;
  }

  appliesTo(target: Target): boolean {
    return selects(this.targets, target);
  }

  /** Resource kinds this check looks at: the step snapshot lists them too. */
  kinds(_vars: Record<string, string | number>): string[] {
    return [];
  }

  label(): string {
    return this.targets ? `${this.describe()} [${describeSelector(this.targets)}]` : this.describe();
  }
}

// ------------------------------------------------------------------ outcome

/**
 * The lines a person reads first in a failure: helmfile's "failed processing release" line,
 * Helm's `Error: …` and the apiserver's `* …` details (deduplicated: helmfile repeats them).
 */
export function errorText(result: CommandResult): string {
  if (result.spawnError) return result.spawnError;
  if (result.timedOut) return `killed by helmdrill's timeout after ${result.durationMs} ms`;
  if (result.cancelled) return `cancelled with ${result.cancelled} after ${(result.durationMs / 1000).toFixed(1)} s (exit ${result.exitCode})`;
  const lines = `${result.stderr}\n${result.stdout}`.split("\n").map((l) => l.trim());
  const important = /^(Error:|\* |context deadline exceeded|in .*: failed processing release|UPGRADE FAILED|INSTALL(ATION)? FAILED)/;
  const picked = [...new Set(lines.filter((l) => important.test(l)))];
  return (picked.length > 0 ? picked.slice(0, 6) : lines.filter(Boolean).slice(-3)).join("\n");
}

/** Text that must not appear: `fails(/hooks failed/, without("CANNOT UPGRADE"))`. */
export interface AbsentPattern {
  readonly without: string | RegExp;
}
export type TextPattern = string | RegExp | AbsentPattern;

/** The output must not contain this text (or match this expression). */
export const without = (pattern: string | RegExp): AbsentPattern => ({ without: pattern });

export function matchText(text: string, pattern: TextPattern): boolean {
  if (typeof pattern === "string") return text.includes(pattern);
  if (pattern instanceof RegExp) return pattern.test(text);
  return !matchText(text, pattern.without);
}

function showPattern(p: TextPattern): string {
  if (typeof p === "string") return JSON.stringify(p);
  if (p instanceof RegExp) return String(p);
  return `no ${showPattern(p.without)}`;
}

class OutcomeCheck extends Check {
  readonly category = "outcome";
  constructor(
    private readonly want: "succeeds" | "fails",
    private readonly patterns: TextPattern[],
    private readonly exitCode?: number,
  ) {
    super();
  }
  describe(): string {
    if (this.want === "succeeds") return `succeeds${this.patterns.length ? ` printing ${this.patterns.map(showPattern).join(" and ")}` : ""}`;
    const code = this.exitCode === undefined ? "" : ` with exit ${this.exitCode}`;
    return `fails${code}${this.patterns.length ? ` with ${this.patterns.map(showPattern).join(" and ")}` : ""}`;
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const r = ctx.result;
    if (!r) return { ok: false, expected: this.describe(), observed: "the step ran no command" };
    const output = `${r.stderr}\n${r.stdout}`;
    const observed = r.exitCode === 0 && !r.timedOut ? "succeeded (exit 0)" : `failed (exit ${r.exitCode}): ${errorText(r)}`;
    let ok: boolean;
    if (this.want === "succeeds") ok = r.exitCode === 0 && !r.timedOut && this.patterns.every((p) => matchText(output, p));
    else {
      ok = r.exitCode !== 0 && !r.timedOut && !r.spawnError && this.patterns.every((p) => matchText(output, p));
      if (this.exitCode !== undefined) ok &&= r.exitCode === this.exitCode;
    }
    return { ok, expected: this.describe(), observed };
  }
}

/** Exits 0, and the output (stderr + stdout) matches every pattern. */
export const succeeds = (...patterns: TextPattern[]): Check => new OutcomeCheck("succeeds", patterns);
/** Fails, and the output (stderr + stdout) matches every pattern. */
export const fails = (...patterns: TextPattern[]): Check => new OutcomeCheck("fails", patterns);
/** Fails with this exit code (helmfile: 1 release failed, 3 no release matched), and every pattern. */
export const failsWithExit = (exitCode: number, ...patterns: TextPattern[]): Check => new OutcomeCheck("fails", patterns, exitCode);
/**
 * Exits with exactly this code — for commands whose exit code is an answer rather than a
 * failure, such as `diff --detailed-exitcode` (0 no changes, 2 changes, 1 error).
 */
export const exitsWith = (exitCode: number, ...patterns: TextPattern[]): Check => (exitCode === 0 ? succeeds(...patterns) : new OutcomeCheck("fails", patterns, exitCode));

/** The step's command was cancelled by `cancel()` (with this signal, when given) rather than ending by itself. */
class CancelledCheck extends Check {
  readonly category = "outcome";
  constructor(private readonly signal?: string) {
    super();
  }
  describe(): string {
    return `cancelled${this.signal ? ` with ${this.signal}` : ""} while it ran`;
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const r = ctx.result;
    if (!r) return { ok: false, expected: this.describe(), observed: "the step ran no command" };
    const observed = r.cancelled ? errorText(r) : `ran to its end (exit ${r.exitCode}) before it was cancelled`;
    return { ok: Boolean(r.cancelled) && (!this.signal || r.cancelled === this.signal), expected: this.describe(), observed };
  }
}

export const cancelled = (signal?: "SIGTERM" | "SIGINT" | "SIGKILL"): Check => new CancelledCheck(signal);

// ------------------------------------------------------------------ release

export interface ReleaseExpectation {
  /** Defaults to the scenario's release. */
  name?: string;
  /** `absent`: helm has no record of it (no history, no storage Secret). */
  absent?: true;
  status?: string;
  revision?: number;
  /** The full history, oldest first; descriptions are matched when given. */
  history?: { revision: number; status: string; description?: TextPattern }[];
  /** The current revision's chart as `helm ls` shows it, e.g. "inventory-2.0.0". */
  chart?: TextPattern;
}

class ReleaseCheck extends Check {
  readonly category = "release";
  constructor(private readonly want: ReleaseExpectation) {
    super();
  }
  describe(): string {
    const w = this.want;
    const who = w.name ? `${w.name} ` : "";
    if (w.absent) return `release ${who}absent`;
    const parts: string[] = [];
    if (w.revision !== undefined) parts.push(`revision ${w.revision}`);
    if (w.status) parts.push(w.status);
    if (w.chart) parts.push(`chart ${showPattern(w.chart)}`);
    if (w.history) parts.push(`history ${w.history.map((h) => `r${h.revision} ${h.status}${h.description ? ` ${showPattern(h.description)}` : ""}`).join(" → ")}`);
    return `release ${who}${parts.join(", ")}`;
  }
  private judge(s: ReleaseState): string | undefined {
    const w = this.want;
    if (s.storageMismatch) return s.storageMismatch;
    if (w.absent) return s.exists || s.storage.length > 0 ? `still present: ${describeRelease(s)}` : undefined;
    if (!s.exists) return "release not found";
    if (w.revision !== undefined && s.current?.revision !== w.revision) return `current revision is ${s.current?.revision}`;
    if (w.status && s.current?.status !== w.status) return `current status is ${s.current?.status}`;
    if (w.chart && !matchText(s.current?.chart ?? "", w.chart)) return `current chart is ${s.current?.chart}`;
    if (w.history) {
      if (w.history.length !== s.history.length) return `history has ${s.history.length} revisions`;
      for (const [i, h] of w.history.entries()) {
        const o = s.history[i]!;
        if (o.revision !== h.revision || o.status !== h.status) return `r${o.revision} is ${o.status}`;
        if (h.description && !matchText(o.description, h.description)) return `r${o.revision} description is ${JSON.stringify(o.description)}`;
      }
    }
    return undefined;
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const name = this.want.name ?? ctx.release;
    const r = await poll(() => readRelease(ctx.runners, ctx.kube.core, name), (s) => this.judge(s), { timeoutMs: 15_000, intervalMs: 1000 });
    return { ok: r.ok, expected: this.describe(), observed: observedText(r, describeRelease) };
  }
}

export const release = (want: ReleaseExpectation): Check => new ReleaseCheck(want);

/**
 * The release's whole history, oldest first, as `helm history` prints it: each entry is a
 * status, or [status, description]. The current revision is the last entry.
 *   history("superseded", "failed", ["deployed", "Rollback to 1"])
 */
export function history(...entries: (string | [string, TextPattern])[]): Check {
  const rows = entries.map((e, i) => (typeof e === "string" ? { revision: i + 1, status: e } : { revision: i + 1, status: e[0], description: e[1] }));
  return new ReleaseCheck({ revision: rows.length, status: rows.at(-1)?.status, history: rows });
}
export const releaseAbsent = (name?: string): Check => new ReleaseCheck({ name, absent: true });

// ------------------------------------------------------------------ resources

export type ResourceSet = Partial<Record<ResourceKind, string[]>>;

/**
 * Exactly these names exist for each kind named (an empty list: none exists), among objects
 * carrying the label selector (default: app.kubernetes.io/instance=<release>). Polls, since
 * deletions and controllers take a moment.
 */
class ResourcesCheck extends Check {
  readonly category = "resources";
  constructor(
    private readonly want: ResourceSet | ((vars: Record<string, string | number>) => ResourceSet),
    private readonly selector?: string,
    private readonly timeoutMs = 60_000,
  ) {
    super();
  }
  private resolved(vars: Record<string, string | number> = {}): ResourceSet {
    return typeof this.want === "function" ? this.want(vars) : this.want;
  }
  override kinds(vars: Record<string, string | number>): string[] {
    return Object.keys(this.resolved(vars));
  }
  describe(): string {
    const set = typeof this.want === "function" ? undefined : this.want;
    if (!set) return `resources as expected${this.selector ? ` (-l ${this.selector})` : ""}`;
    return describeResourceSet(set, this.selector);
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const set = this.resolved(ctx.vars);
    const selector = this.selector ?? `app.kubernetes.io/instance=${ctx.release}`;
    const kinds = Object.keys(set) as ResourceKind[];
    // A kind nobody serves is a mistake in the scenario: say so at once rather than poll it.
    await Promise.all(kinds.filter((k) => !isBuiltinKind(k)).map((k) => requireResolver(ctx.kube).kinds.resolve(k)));
    const observe = async () => Object.fromEntries(await Promise.all(kinds.map(async (k) => [k, await listKind(ctx.kube, ctx.namespace, k, selector)] as const)));
    const judge = (seen: Record<string, ResourceRow[]>) => {
      const problems: string[] = [];
      for (const k of kinds) {
        const want = [...(set[k] ?? [])].sort();
        const got = (seen[k] ?? []).map((r) => r.name).sort();
        if (want.join(",") !== got.join(",")) problems.push(`${k}: [${got.join(", ")}]`);
      }
      return problems.length ? `found ${problems.join("; ")}` : undefined;
    };
    if (ctx.signal && ctx.kube.watch) return this.watchUntil(ctx.signal, ctx, kinds, selector, judge, observe, set);
    const r = await poll(observe, judge, { timeoutMs: this.timeoutMs, intervalMs: 1000, signal: ctx.signal });
    const observed = observedText(r, renderSeen);
    return { ok: r.ok, expected: describeResourceSet(set, selector), observed };
  }

  /**
   * While an action runs: watch, not poll. Objects that exist only for a moment (created by
   * an upgrade, removed by --cleanup-on-fail or --atomic seconds later) are seen even when a
   * busy machine would make a poll miss them.
   */
  private watchUntil(
    signal: AbortSignal,
    ctx: CheckContext,
    kinds: ResourceKind[],
    selector: string,
    judge: (seen: Record<string, ResourceRow[]>) => string | undefined,
    observe: () => Promise<Record<string, ResourceRow[]>>,
    set: ResourceSet,
  ): Promise<CheckOutcome> {
    const asRows = (current: Record<string, Set<string>>) =>
      Object.fromEntries(kinds.map((k) => [k, [...(current[k] ?? [])].map((name) => ({ kind: k, name, status: "", terminating: false, labels: {} }))]));
    const t0 = performance.now();
    const events: Record<string, number> = Object.fromEntries(kinds.map((k) => [k, 0]));
    let polls = 0;
    let lastError: string | undefined;
    let done = false;
    return new Promise((resolve) => {
      const finish = (ok: boolean, seen: Record<string, ResourceRow[]>) => {
        if (done) return;
        done = true;
        watched.stop();
        signal.removeEventListener("abort", onAbort);
        const counts = Object.entries(events).map(([k, n]) => `${k} ${n}`).join(", ");
        const why = ok ? "" : ` — ${judge(seen)} (${((performance.now() - t0) / 1000).toFixed(1)} s: watch events ${counts}; ${polls} list(s)${lastError ? `; last error: ${lastError}` : ""})`;
        resolve({ ok, expected: describeResourceSet(set, selector), observed: `${renderSeen(seen)}${why}` });
      };
      // Two witnesses, either suffices: the watches (they see an object that lives a second)
      // and a list every second (a consistent read, so a watch stream that lags behind the
      // others on a busy machine cannot hide objects that did exist together).
      const watched = watchKinds(
        ctx.kube,
        ctx.namespace,
        kinds,
        selector,
        (current, kind) => {
          events[kind] = (events[kind] ?? 0) + 1;
          if (judge(asRows(current)) === undefined) finish(true, asRows(current));
        },
        (message) => (lastError = message),
      );
      const listLoop = async () => {
        while (!done) {
          polls++;
          try {
            const seen = await observe();
            if (!done && judge(seen) === undefined) finish(true, seen);
          } catch (error) {
            lastError = `list: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      };
      void listLoop();
      // The action ended: what exists at its end counts too (e.g. an expected absence).
      const onAbort = () => {
        const seen = asRows(watched.current);
        finish(judge(seen) === undefined, seen);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

function renderSeen(seen: Record<string, ResourceRow[]>): string {
  return Object.entries(seen)
    .map(([k, rows]) => `${k}: ${rows.length ? rows.map((r) => r.name + (r.terminating ? " (terminating)" : "")).join(", ") : "none"}`)
    .join("; ");
}

export function describeResourceSet(set: ResourceSet, selector?: string): string {
  const parts = Object.entries(set).map(([k, names]) => `${k}: ${names && names.length ? names.join(", ") : "none"}`);
  return `${parts.join("; ")}${selector ? ` (-l ${selector})` : ""}`;
}

export const resources = (want: ResourceSet | ((vars: Record<string, string | number>) => ResourceSet), options: { selector?: string; timeoutMs?: number } = {}): Check =>
  new ResourcesCheck(want, options.selector, options.timeoutMs);

// ------------------------------------------------------------------ one object, partially

/** What a partial object may hold: literal values, nested partials, arrays (element-wise), regexes for strings. */
export type Partial_ = string | number | boolean | null | RegExp | readonly Partial_[] | { readonly [key: string]: Partial_ };

/**
 * The differences between an object and a partial description of it, chainsaw's assertion
 * tree habit: every key given must match, recursively; arrays match element-wise and must
 * have the same length; a RegExp matches a string; keys not given are not looked at.
 * Empty when it matches. Each difference names its path.
 */
export function partialDiff(want: Partial_, got: unknown, path = ""): string[] {
  const at = path || "(object)";
  if (want instanceof RegExp) return typeof got === "string" && want.test(got) ? [] : [`${at}: expected ${want}, observed ${show(got)}`];
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return [`${at}: expected a list, observed ${show(got)}`];
    if (got.length !== want.length) return [`${at}: expected ${want.length} item(s), observed ${got.length}`];
    return want.flatMap((w, i) => partialDiff(w, got[i], `${path}[${i}]`));
  }
  if (want !== null && typeof want === "object") {
    if (got === null || typeof got !== "object" || Array.isArray(got)) return [`${at}: expected an object, observed ${show(got)}`];
    return Object.entries(want).flatMap(([k, w]) => partialDiff(w, (got as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return want === got ? [] : [`${at}: expected ${show(want)}, observed ${show(got)}`];
}

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  const text = JSON.stringify(v);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

/** `kind/name` → the two halves. */
function splitRef(ref: string): [kind: string, name: string] {
  const i = ref.indexOf("/");
  if (i <= 0 || i === ref.length - 1) throw new Error(`object("${ref}"): name it as <kind>/<name>, e.g. statefulset/db`);
  return [ref.slice(0, i), ref.slice(i + 1)];
}

class ObjectCheck extends Check {
  readonly category = "resources";
  private readonly kind: string;
  private readonly name: string;
  constructor(
    ref: string,
    private readonly want: { readonly [key: string]: Partial_ },
    private readonly timeoutMs = 60_000,
  ) {
    super();
    [this.kind, this.name] = splitRef(ref);
  }
  describe(): string {
    return `${this.kind}/${this.name} matches ${show(this.want)}`;
  }
  override kinds(): string[] {
    return [this.kind];
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const { objects, kinds } = requireResolver(ctx.kube);
    const k = await kinds.resolve(this.kind);
    // As served (plain JSON), not as the typed client model: the partial names API fields.
    const observe = async (): Promise<{ found: boolean; object?: unknown }> => {
      try {
        const o = await objects.read({ apiVersion: k.apiVersion, kind: k.kind, metadata: { name: this.name, ...(k.namespaced ? { namespace: ctx.namespace } : {}) } });
        return { found: true, object: JSON.parse(JSON.stringify(o)) as unknown };
      } catch (error) {
        if ((error as { code?: number }).code === 404) return { found: false };
        throw error;
      }
    };
    const judge = (seen: { found: boolean; object?: unknown }) => {
      if (!seen.found) return `${this.kind}/${this.name} not found`;
      const diffs = partialDiff(this.want, seen.object);
      return diffs.length ? diffs.join("; ") : undefined;
    };
    const r = await poll(observe, judge, { timeoutMs: this.timeoutMs, intervalMs: 1000, signal: ctx.signal });
    const observed = observedText(r, (seen) => (r.ok ? "matches" : seen.found ? "differs" : "not found"));
    return { ok: r.ok, expected: this.describe(), observed };
  }
}

/**
 * One object of any kind, by `<kind>/<name>` (kind as kubectl accepts it: `statefulset/db`,
 * `pvc/data-db-0`, `widgets.example.com/w1`), matches a partial description of it — polled,
 * and reporting the last observed difference:
 *   object("statefulset/db").matches({ spec: { replicas: 3 } })
 */
export function object(ref: string, options: { timeoutMs?: number } = {}): { matches(want: { readonly [key: string]: Partial_ }): Check } {
  splitRef(ref);
  return { matches: (want) => new ObjectCheck(ref, want, options.timeoutMs) };
}

/** `spec.replicas` → the managers whose managedFields own that field, with their operation. */
export function fieldManagers(object: { metadata?: { managedFields?: { manager?: string; operation?: string; fieldsV1?: unknown }[] } }, fieldPath: string): string[] {
  const segments = fieldPath.split(".");
  return (object.metadata?.managedFields ?? [])
    .filter((m) => {
      let node: unknown = m.fieldsV1;
      for (const seg of segments) node = node && typeof node === "object" ? (node as Record<string, unknown>)[`f:${seg}`] : undefined;
      return node !== undefined;
    })
    .map((m) => `${m.manager ?? "?"} (${m.operation ?? "?"})`);
}

export type OwnershipVerdict = "kept" | "overwritten" | "conflict";

/**
 * What an upgrade did to a field another field manager had changed: the classification, or
 * why it is none of the three (a failure that is no conflict, a value neither side set).
 */
export function judgeOwnership(o: { exitCode: number; error: string; value: unknown; chartValue: unknown; otherValue: unknown }): { verdict?: OwnershipVerdict; problem?: string } {
  // The API server's words for a server-side apply conflict (not any "conflict", e.g. a flag name in Helm's own refusal).
  if (o.exitCode !== 0) return /Apply failed with \d+ conflicts?|conflict with "/.test(o.error) ? { verdict: "conflict" } : { problem: `the upgrade failed without a conflict: ${o.error}` };
  if (o.value === o.otherValue) return { verdict: "kept" };
  if (o.value === o.chartValue) return { verdict: "overwritten" };
  return { problem: `the field is ${JSON.stringify(o.value)}: neither the chart's ${JSON.stringify(o.chartValue)} nor the other manager's ${JSON.stringify(o.otherValue)}` };
}

class FieldOwnershipCheck extends Check {
  readonly category = "custom";
  private readonly kind: string;
  private readonly name: string;
  constructor(
    ref: string,
    private readonly field: string,
    private readonly values: { chart: unknown; other: unknown; refusal?: { pattern: RegExp; finding: string } },
  ) {
    super();
    [this.kind, this.name] = splitRef(ref);
  }
  describe(): string {
    if (this.values.refusal) return `helm refuses the upgrade with ${this.values.refusal.pattern}`;
    return `${this.kind}/${this.name} ${this.field} after the upgrade: kept (${JSON.stringify(this.values.other)}), overwritten (${JSON.stringify(this.values.chart)}) or a conflict`;
  }
  override kinds(): string[] {
    return this.values.refusal ? [] : [this.kind];
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    if (!ctx.result) return { ok: false, expected: this.describe(), observed: "the step ran no command" };
    const error = ctx.result.exitCode !== 0 ? errorText(ctx.result) : "";
    const headline = error.split("\n")[0] ?? "";
    const refusal = this.values.refusal;
    if (refusal) {
      const refused = ctx.result.exitCode !== 0 && refusal.pattern.test(error);
      return { ok: refused, expected: this.describe(), observed: refused ? headline : `exit ${ctx.result.exitCode}${headline ? `: ${headline}` : ""}`, ...(refused ? { finding: refusal.finding } : {}) };
    }
    const { objects, kinds } = requireResolver(ctx.kube);
    const k = await kinds.resolve(this.kind);
    const o = JSON.parse(JSON.stringify(await objects.read({ apiVersion: k.apiVersion, kind: k.kind, metadata: { name: this.name, namespace: ctx.namespace } }))) as Record<string, unknown>;
    let value: unknown = o;
    for (const seg of this.field.split(".")) value = value && typeof value === "object" ? (value as Record<string, unknown>)[seg] : undefined;
    const { verdict, problem } = judgeOwnership({ exitCode: ctx.result.exitCode, error, value, chartValue: this.values.chart, otherValue: this.values.other });
    const detail = `${this.field} is ${JSON.stringify(value)}; managers of ${this.field}: ${fieldManagers(o as never, this.field).join(", ") || "none recorded"}`;
    if (!verdict) return { ok: false, expected: this.describe(), observed: `${problem}; ${detail}` };
    const finding = verdict === "conflict" ? `conflict: ${headline}` : `${verdict}: ${this.field} ${JSON.stringify(value)}`;
    return { ok: true, expected: this.describe(), observed: `${verdict}${verdict === "conflict" ? ` (${headline})` : ""}; ${detail}`, finding };
  }
}

/**
 * An observing check for the field-ownership drill: after another manager (`kubectl scale`)
 * changed `field` of `ref` and an upgrade ran, whether Helm kept that change, overwrote it with
 * the chart's value, or refused with a conflict. Each is a finding (shown in the matrix); a
 * failure that is no conflict, or a value neither side set, fails the check.
 */
export const fieldOwnership = (ref: string, field: string, values: { chart: unknown; other: unknown }): Check => new FieldOwnershipCheck(ref, field, values);

/**
 * The same drill step where Helm refuses the command itself (Helm 3 has no `--force-conflicts`;
 * Helm 4 refuses it for a release that applies client-side): the refusal, matched by `pattern`,
 * is the finding.
 */
export const refusesUpgrade = (pattern: RegExp, finding: string): Check => new FieldOwnershipCheck("command/-", "-", { chart: undefined, other: undefined, refusal: { pattern, finding } });

// ------------------------------------------------------------------ pods, jobs, logs

type PodJudge = (pods: V1Pod[]) => string | undefined;

class PodsCheck extends Check {
  readonly category = "pods";
  constructor(
    private readonly selector: string,
    private readonly what: string,
    private readonly judgePods: PodJudge,
    private readonly timeoutMs = 90_000,
  ) {
    super();
  }
  describe(): string {
    return `pods -l ${this.selector}: ${this.what}`;
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const observe = async () =>
      (await ctx.kube.core.listNamespacedPod({ namespace: ctx.namespace, labelSelector: this.selector })).items.filter((p) => !p.metadata?.deletionTimestamp);
    const r = await poll(observe, this.judgePods, { timeoutMs: this.timeoutMs, intervalMs: 1000, signal: ctx.signal });
    const render = (pods: V1Pod[]) => pods.map((p) => `${p.metadata?.name ?? "?"} ${podStatus(p)} ${podImages(p).join("+")}`).join("; ") || "no pods";
    return { ok: r.ok, expected: this.describe(), observed: observedText(r, render) };
  }
}

/** Every container's image, init containers excluded. */
export function podImages(p: V1Pod): string[] {
  return (p.spec?.containers ?? []).map((c) => c.image ?? "?");
}

/** Running, and every container of the spec has a status that says ready. */
export function podReady(p: V1Pod): boolean {
  const statuses = new Map((p.status?.containerStatuses ?? []).map((c) => [c.name, c]));
  const containers = p.spec?.containers ?? [];
  return p.status?.phase === "Running" && containers.length > 0 && containers.every((c) => statuses.get(c.name)?.ready === true);
}

/** What a pod can be said to be in: its phase and every container's waiting/terminated reason. */
export function podStates(p: V1Pod): string[] {
  const reasons = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])].flatMap((c) =>
    [c.state?.waiting?.reason, c.state?.terminated?.reason].filter((r): r is string => Boolean(r)),
  );
  return [p.status?.phase ?? "Unknown", ...reasons];
}

/** The judges behind the pod checks, exported for unit tests of their logic. */
export const podJudges = {
  inState:
    (states: TextPattern[]): PodJudge =>
    (pods) => {
      if (pods.length === 0) return "no pods";
      const other = pods.find((p) => !podStates(p).some((st) => states.some((s) => matchText(st, s))));
      return other ? `${other.metadata?.name} is ${podStates(other).join("/")}` : undefined;
    },
  runImages:
    (images: string[]): PodJudge =>
    (pods) => {
      if (pods.length === 0) return "no pods";
      const got = [...new Set(pods.flatMap(podImages))].sort();
      const want = [...new Set(images)].sort();
      if (got.join(",") !== want.join(",")) return `images are [${got.join(", ")}]`;
      const notReady = pods.filter((p) => !podReady(p));
      return notReady.length ? `not ready: ${notReady.map((p) => `${p.metadata?.name} ${podStatus(p)}`).join(", ")}` : undefined;
    },
  include:
    (image: string): PodJudge =>
    (pods) =>
      pods.some((p) => podImages(p).includes(image)) ? undefined : `no pod with ${image}`,
};

/** Every (non-terminating) pod matching the selector is in one of these states: its phase or a container's reason (e.g. ImagePullBackOff). */
export const podsInState = (selector: string, ...states: TextPattern[]): Check =>
  new PodsCheck(selector, `all ${states.map(showPattern).join(" or ")}`, podJudges.inState(states));

/** The pods' containers run exactly these images (no other image in any container), and every pod is Running with all containers ready. */
export const podsRunImages = (selector: string, ...images: string[]): Check =>
  new PodsCheck(selector, `running and ready with ${images.join(", ")} only`, podJudges.runImages(images));

/** At least one pod matching the selector runs this image in some container, ready or not (e.g. the new version while Helm waits). */
export const podsInclude = (selector: string, image: string): Check => new PodsCheck(selector, `some pod with ${image}`, podJudges.include(image));

class JobCheck extends Check {
  readonly category = "jobs";
  constructor(
    private readonly name: string,
    private readonly condition: "Complete" | "Failed",
    private readonly reason?: string,
  ) {
    super();
  }
  describe(): string {
    return `job ${this.name} ${this.condition}${this.reason ? ` (${this.reason})` : ""}`;
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const observe = async () =>
      (await ctx.kube.batch.listNamespacedJob({ namespace: ctx.namespace, fieldSelector: `metadata.name=${this.name}` })).items.at(0);
    const r = await poll(observe, (j) => judgeJob(j, this.condition, this.reason), { timeoutMs: 60_000, intervalMs: 1000 });
    return { ok: r.ok, expected: this.describe(), observed: observedText(r, (j) => (j ? `job ${this.name} ${jobStatus(j)}` : `job ${this.name} not found`)) };
  }
}

/** Judges a Job from its conditions: the wanted condition is True, with the reason when one is asked for. */
export function judgeJob(job: V1Job | undefined, condition: "Complete" | "Failed", reason?: string): string | undefined {
  if (!job) return "job not found";
  const c = (job.status?.conditions ?? []).find((x) => x.type === condition && x.status === "True");
  if (c && (!reason || c.reason === reason)) return undefined;
  return `job is ${jobStatus(job)}`;
}

export const jobFailed = (name: string, reason?: string): Check => new JobCheck(name, "Failed", reason);
export const jobComplete = (name: string): Check => new JobCheck(name, "Complete");

class LogsCheck extends Check {
  readonly category = "logs";
  constructor(
    private readonly selector: string,
    private readonly patterns: TextPattern[],
  ) {
    super();
  }
  describe(): string {
    return `kubectl logs -l ${this.selector} shows ${this.patterns.map(showPattern).join(" and ")}`;
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const observe = async () => {
      const pods = (await ctx.kube.core.listNamespacedPod({ namespace: ctx.namespace, labelSelector: this.selector })).items;
      const logs = await Promise.all(
        pods.map((p) => ctx.kube.core.readNamespacedPodLog({ name: p.metadata!.name!, namespace: ctx.namespace }).catch((e: Error) => `<${e.message}>`)),
      );
      return logs.join("\n");
    };
    const r = await poll(observe, (text) => (this.patterns.every((p) => matchText(text, p)) ? undefined : "pattern not in logs"), {
      timeoutMs: 30_000,
      intervalMs: 1000,
    });
    return { ok: r.ok, expected: this.describe(), observed: (r.last ?? r.lastProblem).trim().slice(0, 2000) };
  }
}

export const logsShow = (selector: string, ...patterns: TextPattern[]): Check => new LogsCheck(selector, patterns);
