import type { KindInfo } from "../../probes/kinds.ts";
import { requireResolver, type Kube } from "../../probes/resources.ts";
import { ATTEMPT_TIMEOUT_MS, observedText, poll, withTimeout, type PollResult } from "../../util/poll.ts";
import { Check, PolledCheck, type CheckContext, type CheckOutcome, type Probe } from "./base.ts";
import { errorText } from "./outcome.ts";

/** What a partial object may hold: literal values, nested partials, arrays (element-wise), regexes for strings. */
export type Partial_ =
  string | number | boolean | null | RegExp | readonly Partial_[] | { readonly [key: string]: Partial_ };

/**
 * The differences between an object and a partial description of it, chainsaw's assertion
 * tree habit: every key given must match, recursively; arrays match element-wise and must
 * have the same length; a RegExp matches a string; keys not given are not looked at.
 * Empty when it matches. Each difference names its path.
 */
export function partialDiff(want: Partial_, got: unknown, path = ""): string[] {
  const at = path || "(object)";
  if (want instanceof RegExp) {
    return typeof got === "string" && want.test(got) ? [] : [`${at}: expected ${want}, observed ${show(got)}`];
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return [`${at}: expected a list, observed ${show(got)}`];
    if (got.length !== want.length) return [`${at}: expected ${want.length} item(s), observed ${got.length}`];
    return want.flatMap((w, i) => partialDiff(w, got[i], `${path}[${i}]`));
  }
  if (want !== null && typeof want === "object") {
    if (got === null || typeof got !== "object" || Array.isArray(got)) {
      return [`${at}: expected an object, observed ${show(got)}`];
    }
    const field = (k: string) => (got as Record<string, unknown>)[k];
    return Object.entries(want).flatMap(([k, w]) => partialDiff(w, field(k), path ? `${path}.${k}` : k));
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
  if (i <= 0 || i === ref.length - 1)
    throw new Error(`object("${ref}"): name it as <kind>/<name>, e.g. statefulset/db`);
  return [ref.slice(0, i), ref.slice(i + 1)];
}

/** The kind a scenario names, through discovery — within one attempt's time limit. */
function resolveKind(kube: Kube, kind: string): Promise<KindInfo> {
  return withTimeout(requireResolver(kube).kinds.resolve(kind), ATTEMPT_TIMEOUT_MS, `resolving kind ${kind}`);
}

/** One object as served (plain JSON, not the typed client model: partials name API fields). */
async function readObject(kube: Kube, k: KindInfo, name: string, namespace: string): Promise<unknown> {
  const o = await requireResolver(kube).objects.read({
    apiVersion: k.apiVersion,
    kind: k.kind,
    metadata: { name, ...(k.namespaced ? { namespace } : {}) },
  });
  return JSON.parse(JSON.stringify(o)) as unknown;
}

type Found = { found: boolean; object?: unknown };

class ObjectCheck extends PolledCheck<Found> {
  readonly category = "resources";
  private readonly kind: string;
  private readonly name: string;
  constructor(
    ref: string,
    private readonly want: { readonly [key: string]: Partial_ },
    timeoutMs = 60_000,
  ) {
    super(timeoutMs);
    [this.kind, this.name] = splitRef(ref);
  }
  describe(): string {
    return `${this.kind}/${this.name} matches ${show(this.want)}`;
  }
  override kinds(): string[] {
    return [this.kind];
  }
  protected async probe(ctx: CheckContext): Promise<Probe<Found>> {
    const k = await requireResolver(ctx.kube).kinds.resolve(this.kind);
    const observe = async (): Promise<Found> => {
      try {
        return { found: true, object: await readObject(ctx.kube, k, this.name, ctx.namespace) };
      } catch (error) {
        if ((error as { code?: number }).code === 404) return { found: false };
        throw error;
      }
    };
    const judge = (seen: Found) => {
      if (!seen.found) return `${this.kind}/${this.name} not found`;
      const diffs = partialDiff(this.want, seen.object);
      return diffs.length ? diffs.join("; ") : undefined;
    };
    return {
      what: `reading ${this.kind}/${this.name}`,
      observe,
      judge,
      render: (seen) => (seen.found ? "differs" : "not found"),
    };
  }
  protected override outcome(r: PollResult<Found>, probe: Probe<Found>): CheckOutcome {
    return {
      ok: r.ok,
      expected: this.describe(),
      observed: observedText(r, (seen) => (r.ok ? "matches" : probe.render(seen))),
    };
  }
}

/**
 * One object of any kind, by `<kind>/<name>` (kind as kubectl accepts it: `statefulset/db`,
 * `pvc/data-db-0`, `widgets.example.com/w1`), matches a partial description of it — polled,
 * and reporting the last observed difference:
 *   object("statefulset/db").matches({ spec: { replicas: 3 } })
 */
export function object(
  ref: string,
  options: { timeoutMs?: number } = {},
): { matches(want: { readonly [key: string]: Partial_ }): Check } {
  splitRef(ref);
  return { matches: (want) => new ObjectCheck(ref, want, options.timeoutMs) };
}

type ManagedObject = { metadata?: { managedFields?: { manager?: string; operation?: string; fieldsV1?: unknown }[] } };

/** `spec.replicas` → the managers whose managedFields own that field, with their operation. */
export function fieldManagers(object: ManagedObject, fieldPath: string): string[] {
  const segments = fieldPath.split(".");
  return (object.metadata?.managedFields ?? [])
    .filter((m) => {
      let node: unknown = m.fieldsV1;
      for (const seg of segments)
        node = node && typeof node === "object" ? (node as Record<string, unknown>)[`f:${seg}`] : undefined;
      return node !== undefined;
    })
    .map((m) => `${m.manager ?? "?"} (${m.operation ?? "?"})`);
}

/** Every field manager of an object with its operation ("helm-controller (Apply)"), in managedFields order. */
export function allManagers(object: ManagedObject): string[] {
  return (object.metadata?.managedFields ?? []).map((m) => `${m.manager ?? "?"} (${m.operation ?? "?"})`);
}

class ManagedByCheck extends PolledCheck<Found> {
  readonly category = "custom";
  private readonly kind: string;
  private readonly name: string;
  constructor(
    ref: string,
    private readonly field: string,
    private readonly managers: readonly string[],
  ) {
    super(30_000);
    [this.kind, this.name] = splitRef(ref);
  }
  describe(): string {
    return `${this.kind}/${this.name} ${this.field} managed by ${this.managers.join(", ") || "no one"}`;
  }
  override kinds(): string[] {
    return [this.kind];
  }
  protected async probe(ctx: CheckContext): Promise<Probe<Found>> {
    const k = await requireResolver(ctx.kube).kinds.resolve(this.kind);
    const managersOf = (seen: Found) => fieldManagers(seen.object as ManagedObject, this.field);
    return {
      what: `reading ${this.kind}/${this.name}`,
      observe: async (): Promise<Found> => {
        try {
          return { found: true, object: await readObject(ctx.kube, k, this.name, ctx.namespace) };
        } catch (error) {
          if ((error as { code?: number }).code === 404) return { found: false };
          throw error;
        }
      },
      judge: (seen) => {
        if (!seen.found) return `${this.kind}/${this.name} not found`;
        const got = [...managersOf(seen)].sort();
        const want = [...this.managers].sort();
        return JSON.stringify(got) === JSON.stringify(want)
          ? undefined
          : `${this.field} managed by ${got.join(", ") || "no one"}`;
      },
      render: (seen) =>
        seen.found
          ? `${this.field} managed by ${managersOf(seen).join(", ") || "no one"}; every manager: ${allManagers(seen.object as ManagedObject).join(", ")}`
          : "not found",
    };
  }
}

/**
 * Who owns a field of an object, by its managedFields: exactly these managers, each with its
 * operation (`Update`: a create/update/patch, `Apply`: server-side apply) — in any order:
 *   managedBy("deployment/web", "spec.replicas", "helm-controller (Apply)", "kubectl (Update)")
 */
export const managedBy = (ref: string, field: string, ...managers: string[]): Check =>
  new ManagedByCheck(ref, field, managers);

export type OwnershipVerdict = "kept" | "overwritten" | "conflict";

/**
 * What an upgrade did to a field another field manager had changed: the classification, or
 * why it is none of the three (a failure that is no conflict, a value neither side set).
 */
export function judgeOwnership(o: {
  exitCode: number;
  error: string;
  value: unknown;
  chartValue: unknown;
  otherValue: unknown;
}): { verdict?: OwnershipVerdict; problem?: string } {
  // The API server's words for a server-side apply conflict (not any "conflict", e.g. a flag
  // name in Helm's own refusal).
  if (o.exitCode !== 0) {
    const conflict = /Apply failed with \d+ conflicts?|conflict with "/.test(o.error);
    return conflict ? { verdict: "conflict" } : { problem: `the upgrade failed without a conflict: ${o.error}` };
  }
  if (o.value === o.otherValue) return { verdict: "kept" };
  if (o.value === o.chartValue) return { verdict: "overwritten" };
  const [value, chart, other] = [o.value, o.chartValue, o.otherValue].map((v) => JSON.stringify(v));
  return { problem: `the field is ${value}: neither the chart's ${chart} nor the other manager's ${other}` };
}

/** How long the ownership check tries to read the object after the upgrade (transient errors are retried). */
const OWNERSHIP_READ_TIMEOUT_MS = 30_000;

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
    const [other, chart] = [JSON.stringify(this.values.other), JSON.stringify(this.values.chart)];
    const choices = `kept (${other}), overwritten (${chart}) or a conflict`;
    return `${this.kind}/${this.name} ${this.field} after the upgrade: ${choices}`;
  }
  override kinds(): string[] {
    return this.values.refusal ? [] : [this.kind];
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const expected = this.describe();
    if (!ctx.result) return { ok: false, expected, observed: "the step ran no command" };
    const { exitCode } = ctx.result;
    const error = exitCode !== 0 ? errorText(ctx.result) : "";
    const headline = error.split("\n")[0] ?? "";
    const refusal = this.values.refusal;
    if (refusal) {
      const refused = exitCode !== 0 && refusal.pattern.test(error);
      const observed = refused ? headline : `exit ${exitCode}${headline ? `: ${headline}` : ""}`;
      return { ok: refused, expected, observed, ...(refused ? { finding: refusal.finding } : {}) };
    }
    const k = await resolveKind(ctx.kube, this.kind);
    const read = await poll(
      () => readObject(ctx.kube, k, this.name, ctx.namespace),
      () => undefined,
      {
        timeoutMs: OWNERSHIP_READ_TIMEOUT_MS,
        intervalMs: 1000,
        what: `reading ${this.kind}/${this.name}`,
      },
    );
    if (!read.ok)
      return { ok: false, expected, observed: `could not read ${this.kind}/${this.name}: ${read.lastProblem}` };
    const o = read.last as Record<string, unknown>;
    let value: unknown = o;
    for (const seg of this.field.split(".")) {
      value = value && typeof value === "object" ? (value as Record<string, unknown>)[seg] : undefined;
    }
    const { chart: chartValue, other: otherValue } = this.values;
    const { verdict, problem } = judgeOwnership({ exitCode, error, value, chartValue, otherValue });
    const managers = fieldManagers(o as ManagedObject, this.field).join(", ") || "none recorded";
    const detail = `${this.field} is ${JSON.stringify(value)}; managers of ${this.field}: ${managers}`;
    if (!verdict) return { ok: false, expected, observed: `${problem}; ${detail}` };
    const finding =
      verdict === "conflict" ? `conflict: ${headline}` : `${verdict}: ${this.field} ${JSON.stringify(value)}`;
    return {
      ok: true,
      expected,
      observed: `${verdict}${verdict === "conflict" ? ` (${headline})` : ""}; ${detail}`,
      finding,
    };
  }
}

/**
 * An observing check for the field-ownership drill: after another manager (`kubectl scale`)
 * changed `field` of `ref` and an upgrade ran, whether Helm kept that change, overwrote it with
 * the chart's value, or refused with a conflict. Each is a finding (shown in the matrix); a
 * failure that is no conflict, or a value neither side set, fails the check.
 */
export const fieldOwnership = (ref: string, field: string, values: { chart: unknown; other: unknown }): Check =>
  new FieldOwnershipCheck(ref, field, values);

/**
 * The same drill step where Helm refuses the command itself (Helm 3 has no `--force-conflicts`;
 * Helm 4 refuses it for a release that applies client-side): the refusal, matched by `pattern`,
 * is the finding.
 */
export const refusesUpgrade = (pattern: RegExp, finding: string): Check =>
  new FieldOwnershipCheck("command/-", "-", { chart: undefined, other: undefined, refusal: { pattern, finding } });
