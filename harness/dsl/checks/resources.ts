import {
  isBuiltinKind,
  listKind,
  requireResolver,
  watchKinds,
  type ResourceKind,
  type ResourceRow,
} from "../../probes/resources.ts";
import {
  ATTEMPT_TIMEOUT_MS,
  observedText,
  seconds,
  SIGNAL_LIMIT_MS,
  withTimeout,
  type PollResult,
} from "../../util/poll.ts";
import { PolledCheck, type Check, type CheckContext, type CheckOutcome, type Probe } from "./base.ts";

export type ResourceSet = Partial<Record<ResourceKind, string[]>>;
type Vars = Record<string, string | number>;
type Seen = Record<string, ResourceRow[]>;

interface ResourcesProbe extends Probe<Seen> {
  set: ResourceSet;
  selector: string;
  kinds: ResourceKind[];
}

/**
 * Exactly these names exist for each kind named (an empty list: none exists), among objects
 * carrying the label selector (default: the scenario's `selector`, else app.kubernetes.io/instance=<release>). Polls, since
 * deletions and controllers take a moment.
 */
class ResourcesCheck extends PolledCheck<Seen, ResourcesProbe> {
  readonly category = "resources";
  override readonly armsFirst = true;
  constructor(
    private readonly want: ResourceSet | ((vars: Vars) => ResourceSet),
    private readonly selector?: string,
    timeoutMs = 60_000,
  ) {
    super(timeoutMs);
  }
  private resolved(vars: Vars = {}): ResourceSet {
    return typeof this.want === "function" ? this.want(vars) : this.want;
  }
  override kinds(vars: Vars): string[] {
    return Object.keys(this.resolved(vars));
  }
  describe(): string {
    const set = typeof this.want === "function" ? undefined : this.want;
    if (!set) return `resources as expected${this.selector ? ` (-l ${this.selector})` : ""}`;
    return describeResourceSet(set, this.selector);
  }

  protected async probe(ctx: CheckContext): Promise<ResourcesProbe> {
    const set = this.resolved(ctx.vars);
    const selector = this.selector ?? ctx.selector ?? `app.kubernetes.io/instance=${ctx.release}`;
    const kinds = Object.keys(set) as ResourceKind[];
    // A kind nobody serves is a mistake in the scenario: say so at once rather than poll it.
    await Promise.all(kinds.filter((k) => !isBuiltinKind(k)).map((k) => requireResolver(ctx.kube).kinds.resolve(k)));
    const list = async (k: ResourceKind) => [k, await listKind(ctx.kube, ctx.namespace, k, selector)] as const;
    const judge = (seen: Seen) => {
      const problems: string[] = [];
      for (const k of kinds) {
        const want = [...(set[k] ?? [])].sort();
        const got = (seen[k] ?? []).map((r) => r.name).sort();
        if (want.join(",") !== got.join(",")) problems.push(`${k}: [${got.join(", ")}]`);
      }
      return problems.length ? `found ${problems.join("; ")}` : undefined;
    };
    return {
      what: `${kinds.join(", ")} -l ${selector}`,
      observe: async () => Object.fromEntries(await Promise.all(kinds.map(list))),
      judge,
      render: renderSeen,
      set,
      selector,
      kinds,
    };
  }

  override async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const probe = await this.prepare(ctx);
    if (ctx.signal && ctx.kube.watch) return this.watchUntil(ctx.signal, ctx, probe);
    ctx.armed?.();
    return this.outcome(await this.pollProbe(probe, ctx), probe);
  }

  protected override outcome(r: PollResult<Seen>, probe: ResourcesProbe): CheckOutcome {
    return {
      ok: r.ok,
      expected: describeResourceSet(probe.set, probe.selector),
      observed: observedText(r, renderSeen),
    };
  }

  /**
   * While an action runs: watch, not poll. Objects that exist only for a moment (created by
   * an upgrade, removed by --cleanup-on-fail or --atomic seconds later) are seen even when a
   * busy machine would make a poll miss them. Ends when the action does, or at poll's hard
   * limit should it never end.
   */
  private watchUntil(signal: AbortSignal, ctx: CheckContext, probe: ResourcesProbe): Promise<CheckOutcome> {
    const { kinds, selector, judge } = probe;
    const asRows = (current: Record<string, Set<string>>): Seen =>
      Object.fromEntries(
        kinds.map((k) => [
          k,
          [...(current[k] ?? [])].map((name) => ({ kind: k, name, status: "", terminating: false, labels: {} })),
        ]),
      );
    const t0 = performance.now();
    const events: Record<string, number> = Object.fromEntries(kinds.map((k) => [k, 0]));
    let polls = 0;
    let lastError: string | undefined;
    let done = false;
    let limit: NodeJS.Timeout | undefined;
    return new Promise((resolve) => {
      const finish = (ok: boolean, seen: Seen, note = "") => {
        if (done) return;
        done = true;
        watched.stop();
        clearTimeout(limit);
        signal.removeEventListener("abort", onAbort);
        const counts = Object.entries(events)
          .map(([k, n]) => `${k} ${n}`)
          .join(", ");
        const took = ((performance.now() - t0) / 1000).toFixed(1);
        const errors = lastError ? `; last error: ${lastError}` : "";
        const witnesses = `${took} s: watch events ${counts}; ${polls} list(s)${errors}`;
        const why = ok ? "" : ` — ${judge(seen)}${note} (${witnesses})`;
        resolve({ ok, expected: describeResourceSet(probe.set, selector), observed: `${renderSeen(seen)}${why}` });
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
      void watched.ready.then(() => ctx.armed?.());
      const listLoop = async () => {
        while (!done) {
          polls++;
          try {
            const seen = await withTimeout(probe.observe, ATTEMPT_TIMEOUT_MS, probe.what);
            if (!done && judge(seen) === undefined) finish(true, seen);
          } catch (error) {
            lastError = `list: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
          }
          await new Promise((r) => setTimeout(r, this.intervalMs));
        }
      };
      void listLoop();
      // The action ended: what exists at its end counts too (e.g. an expected absence) — read by
      // one more list, since the watch may not have delivered the action's last change yet; the
      // watch's state when that list cannot be had.
      const onAbort = () => {
        void withTimeout(probe.observe, ATTEMPT_TIMEOUT_MS, probe.what)
          .then((seen) => (polls++, seen))
          .catch(() => asRows(watched.current))
          .then((seen) => finish(judge(seen) === undefined, seen));
      };
      limit = setTimeout(
        () => finish(false, asRows(watched.current), `; the action had not ended after ${seconds(SIGNAL_LIMIT_MS)}`),
        SIGNAL_LIMIT_MS,
      );
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

function renderSeen(seen: Seen): string {
  return Object.entries(seen)
    .map(([k, rows]) => {
      const names = rows.map((r) => r.name + (r.terminating ? " (terminating)" : "")).join(", ");
      return `${k}: ${rows.length ? names : "none"}`;
    })
    .join("; ");
}

export function describeResourceSet(set: ResourceSet, selector?: string): string {
  const parts = Object.entries(set).map(([k, names]) => `${k}: ${names && names.length ? names.join(", ") : "none"}`);
  return `${parts.join("; ")}${selector ? ` (-l ${selector})` : ""}`;
}

export const resources = (
  want: ResourceSet | ((vars: Vars) => ResourceSet),
  options: { selector?: string; timeoutMs?: number } = {},
): Check => new ResourcesCheck(want, options.selector, options.timeoutMs);
