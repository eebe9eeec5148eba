import { HelmdrillError } from "../errors.ts";
import type { CommandResult } from "../exec.ts";
import { withCallDefaults } from "../tools/runners.ts";
import type { Check, CheckContext } from "./checks.ts";
import type { FluxSession } from "./flux-session.ts";

/** An argument that may depend on per-run values (e.g. the allocated NodePort). */
export type Arg = string | ((ctx: ActionContext) => string);

export interface ActionContext extends CheckContext {
  /** Absolute path of a fixture chart or file, e.g. chart("local-chart"). */
  fixture(relative: string): string;
  /** On a flux target: the run's own Flux controllers and chart repository. */
  flux?: FluxSession;
  /**
   * Aborted when the whole run stops (its test timed out): the context's runners already kill
   * their commands then; an action that gives its commands a signal of its own adds this one.
   */
  stopSignal?: AbortSignal;
}

export interface Action {
  /** How the step reads in prose and transcripts before it runs, e.g. `helm install qa101 ./mychart1`. */
  label: string;
  run(ctx: ActionContext): Promise<CommandResult>;
}

const resolveArgs = (args: Arg[], ctx: ActionContext) => args.map((a) => (typeof a === "function" ? a(ctx) : a));
/** Arguments known only at run time show as "…", unless they describe themselves (fixtures). */
const showArg = (a: Arg) =>
  typeof a !== "function" ? a : a.toString === Function.prototype.toString ? "…" : a.toString();
const labelOf = (tool: string, args: Arg[]) => [tool, ...args.map(showArg)].join(" ");

/** `helm …` in the scenario's namespace with the Helm version under test. */
export function helm(...args: Arg[]): Action {
  return { label: labelOf("helm", args), run: (ctx) => ctx.runners.helm(resolveArgs(args, ctx)) };
}

/**
 * `helm …` with the Helm version the target migrates to: on a migration target (installed with
 * Helm 3, driven with Helm 4) every step after the install uses this; elsewhere it is `helm(…)`.
 */
export function helmTo(...args: Arg[]): Action {
  return { label: labelOf("helm", args), run: (ctx) => ctx.runners.helmTo(resolveArgs(args, ctx)) };
}

/** `helmfile …` with the helmfile version under test, driving the Helm version under test. */
export function helmfile(...args: Arg[]): Action {
  return { label: labelOf("helmfile", args), run: (ctx) => ctx.runners.helmfile(resolveArgs(args, ctx)) };
}

export function kubectl(...args: Arg[]): Action {
  return { label: labelOf("kubectl", args), run: (ctx) => ctx.runners.kubectl(resolveArgs(args, ctx)) };
}

export interface CancelOptions {
  /** Cancel this many ms after the command starts… */
  after?: number;
  /** …or as soon as this check holds (polled/watched while the command runs). */
  when?: Check;
  /** SIGTERM (a cancelled CI job: the default), SIGINT (Ctrl-C) or SIGKILL (a killed runner). */
  signal?: "SIGTERM" | "SIGINT" | "SIGKILL";
}

/**
 * Runs the action and cancels its command with a signal after a delay or once a condition
 * holds — what a cancelled CI job or a killed runner does to a `helm upgrade --wait` — so the
 * step's checks can assert the release state that leaves behind. Whether it was cancelled, and
 * when, is in the command's result (`cancelled()` checks it).
 */
export function cancel(action: Action, options: CancelOptions): Action {
  if (options.after === undefined && !options.when) throw new Error("cancel() needs `after` (ms) or `when` (a check)");
  const signal = options.signal ?? "SIGTERM";
  const moment = options.after !== undefined ? `after ${options.after / 1000} s` : `once ${options.when!.describe()}`;
  return {
    label: `${action.label}   # cancelled with ${signal} ${moment}`,
    run: async (ctx) => {
      const cancelling = new AbortController();
      const finished = new AbortController();
      const timer = options.after !== undefined ? setTimeout(() => cancelling.abort(), options.after) : undefined;
      if (options.when) {
        void options.when
          .verify({ ...ctx, signal: finished.signal })
          .then((r) => r.ok && !finished.signal.aborted && cancelling.abort())
          .catch(() => undefined);
      }
      // The run's stop still applies: an explicit cancelSignal replaces the runners' default one.
      const cancelSignal = ctx.stopSignal ? AbortSignal.any([cancelling.signal, ctx.stopSignal]) : cancelling.signal;
      try {
        const runners = withCallDefaults(ctx.runners, { cancelSignal, killSignal: signal });
        return await action.run({ ...ctx, runners });
      } finally {
        clearTimeout(timer);
        finished.abort();
      }
    },
  };
}

/** A fixture path argument, shown in prose as `./<relative>`. */
export const fixture = (relative: string): Arg =>
  Object.assign((ctx: ActionContext) => ctx.fixture(relative), { toString: () => `./${relative}` });

/** A per-run variable argument, e.g. `var_("nodePort")`. */
export const fromVar =
  (name: string, render: (v: string | number) => string = String): Arg =>
  (ctx) => {
    const v = ctx.vars[name];
    if (v === undefined) throw new Error(`scenario variable "${name}" is not set`);
    return render(v);
  };

/** What the write-up says happened at this step (the Helm 2.16 / Helmfile 0.106 baseline). */
export interface Documented {
  outcome: "succeeds" | "fails" | "n/a";
  /** The text the write-up shows, verbatim. */
  text?: string;
  /** Release state as the write-up shows it, e.g. "my-release r2 FAILED". */
  release?: string;
  /** Resources as the write-up shows them. */
  resources?: string;
}

/** One step: an action, checks evaluated right after it, optional checks while it runs. */
export class Step {
  action?: Action;
  readonly checks: Check[] = [];
  readonly during: Check[] = [];
  documented?: Documented;
  explanation?: string;
  /** Per-operation timeout for the action (ms). */
  timeoutMs?: number;
  /** Run only when the step fails; their output is attached to the step's record (kuttl's collectors). */
  readonly collectors: Action[] = [];
  /** Runs after the step's checks whatever happened (chainsaw's finally). */
  finallyAction?: Action;

  constructor(readonly title: string) {}

  /** The command this step runs (exactly once: mutations are never retried); a step has one. */
  does(action: Action): this {
    this.refuseSecond("does", this.action, action);
    this.action = action;
    return this;
  }

  /** Longer prose for the walkthrough: why this step matters. */
  explain(text: string): this {
    this.explanation = text;
    return this;
  }

  /**
   * Checks polled *while* the action runs, as the write-up does "in another shell": each must
   * hold at some point before the action ends.
   */
  whileRunning(...checks: Check[]): this {
    this.during.push(...checks);
    return this;
  }

  /** The write-up's own outcome for this step. */
  documents(documented: Documented): this {
    this.documented = documented;
    return this;
  }

  expect(...checks: Check[]): this {
    this.checks.push(...checks);
    return this;
  }

  /**
   * Commands that run only if this step fails — extra logs, a `kubectl describe`, a command's
   * output — attached to the step's record, the transcript and the Allure report.
   */
  collectOnFailure(...actions: Action[]): this {
    this.collectors.push(...actions);
    return this;
  }

  /** An action that always runs after the step's checks, even when the step failed (e.g. an uninstall); one only. */
  finally(action: Action): this {
    this.refuseSecond("finally", this.finallyAction, action);
    this.finallyAction = action;
    return this;
  }

  withTimeout(ms: number): this {
    this.timeoutMs = ms;
    return this;
  }

  /** A second `.does()` / `.finally()` would silently replace the first: say so instead. */
  private refuseSecond(method: "does" | "finally", earlier: Action | undefined, action: Action): void {
    if (!earlier) return;
    throw new HelmdrillError(
      `step "${this.title}": .${method}() is called twice (\`${earlier.label}\`, then \`${action.label}\`)`,
      method === "does"
        ? "a step runs one command: put the second in a step of its own"
        : "a step has one finally: run the second cleanup as a step of its own",
    );
  }
}

export const step = (title: string): Step => new Step(title);
