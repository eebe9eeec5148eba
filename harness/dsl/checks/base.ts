import type { CommandResult } from "../../exec.ts";
import type { Kube } from "../../probes/resources.ts";
import type { ToolRunners } from "../../tools/runners.ts";
import { ATTEMPT_TIMEOUT_MS, observedText, poll, withTimeout, type PollResult } from "../../util/poll.ts";
import { describeSelector, selects, validateSelector, type Selector, type Target } from "../target.ts";

/** What a check can see. */
export interface CheckContext {
  target: Target;
  runners: ToolRunners;
  kube: Kube;
  namespace: string;
  /** The scenario's release (checks may name another). */
  release: string;
  /**
   * The scenario's label selector for "the release's objects" (its `selector`, else
   * app.kubernetes.io/instance=<release>): what resources() lists unless it is given one.
   */
  selector?: string;
  /** The step's command result, for outcome checks. */
  result?: CommandResult;
  /** Per-run values such as the allocated NodePort. */
  vars: Record<string, string | number>;
  /**
   * Set while an action runs (`whileRunning` checks, `cancel({ when })`): it fires when the action
   * ends. A polled check then looks until it fires, instead of for its own timeout.
   */
  signal?: AbortSignal;
  /**
   * Set for a `whileRunning` check that arms first (`Check.armsFirst`): it calls this once it is
   * looking (its watch open), and the action waits for that before it starts.
   */
  armed?: () => void;
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
  /**
   * True when `verify` calls `ctx.armed` once it is looking: as a `whileRunning` check, the action
   * starts only then (a person watching from a second shell starts watching first).
   */
  readonly armsFirst: boolean = false;
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

/** How a polled check looks: one read-only observation, when it satisfies the check, how to show it. */
export interface Probe<T> {
  /** What is read, as a failure names it: "helm history of web", "pods -l app=web". */
  what: string;
  /** One observation; `signal` aborts when the attempt is given up. */
  observe(signal: AbortSignal): Promise<T>;
  /** undefined when satisfied, else what is wrong. */
  judge(value: T): string | undefined;
  render(value: T): string;
}

/**
 * A check that polls a read-only probe. After the action it looks for up to `timeoutMs`; while
 * an action runs (ctx.signal: `whileRunning`, `cancel({ when })`) it looks until the action ends,
 * however long that is, within poll's hard limit. Every attempt has its own time limit, so one
 * hung read cannot hang the check: it fails at its deadline, naming what it waited for.
 */
export abstract class PolledCheck<T, P extends Probe<T> = Probe<T>> extends Check {
  constructor(
    protected readonly timeoutMs: number,
    protected readonly intervalMs = 1000,
  ) {
    super();
  }

  /** Makes the probe; it may ask the API server (discovery of a kind), within one attempt's limit. */
  protected abstract probe(ctx: CheckContext, signal: AbortSignal): P | Promise<P>;

  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const probe = await this.prepare(ctx);
    return this.outcome(await this.pollProbe(probe, ctx), probe);
  }

  protected prepare(ctx: CheckContext): Promise<P> {
    return withTimeout(
      (signal) => Promise.resolve(this.probe(ctx, signal)),
      ATTEMPT_TIMEOUT_MS,
      `preparing ${this.describe()}`,
    );
  }

  protected pollProbe(probe: P, ctx: CheckContext): Promise<PollResult<T>> {
    return poll(
      (signal) => probe.observe(signal),
      (value) => probe.judge(value),
      {
        timeoutMs: this.timeoutMs,
        intervalMs: this.intervalMs,
        signal: ctx.signal,
        what: probe.what,
      },
    );
  }

  protected outcome(r: PollResult<T>, probe: P): CheckOutcome {
    return { ok: r.ok, expected: this.describe(), observed: observedText(r, (value) => probe.render(value)) };
  }
}

// ------------------------------------------------------------------ text patterns

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

export function showPattern(p: TextPattern): string {
  if (typeof p === "string") return JSON.stringify(p);
  if (p instanceof RegExp) return String(p);
  return `no ${showPattern(p.without)}`;
}
