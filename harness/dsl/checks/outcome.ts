import type { CommandResult } from "../../exec.ts";
import { Check, matchText, showPattern, type CheckContext, type CheckOutcome, type TextPattern } from "./base.ts";

/**
 * The lines a person reads first in a failure: helmfile's "failed processing release" line,
 * Helm's `Error: …` and the apiserver's `* …` details (deduplicated: helmfile repeats them).
 */
export function errorText(result: CommandResult): string {
  if (result.spawnError) return result.spawnError;
  if (result.timedOut) return `killed by helmdrill's timeout after ${result.durationMs} ms`;
  if (result.cancelled) {
    const after = `${(result.durationMs / 1000).toFixed(1)} s`;
    return `cancelled with ${result.cancelled} after ${after} (exit ${result.exitCode})`;
  }
  const lines = `${result.stderr}\n${result.stdout}`.split("\n").map((l) => l.trim());
  const important =
    /^(Error:|\* |context deadline exceeded|in .*: failed processing release|UPGRADE FAILED|INSTALL(ATION)? FAILED)/;
  const picked = [...new Set(lines.filter((l) => important.test(l)))];
  return (picked.length > 0 ? picked.slice(0, 6) : lines.filter(Boolean).slice(-3)).join("\n");
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
    const shown = this.patterns.map(showPattern).join(" and ");
    if (this.want === "succeeds") return `succeeds${this.patterns.length ? ` printing ${shown}` : ""}`;
    const code = this.exitCode === undefined ? "" : ` with exit ${this.exitCode}`;
    return `fails${code}${this.patterns.length ? ` with ${shown}` : ""}`;
  }
  async verify(ctx: CheckContext): Promise<CheckOutcome> {
    const r = ctx.result;
    if (!r) return { ok: false, expected: this.describe(), observed: "the step ran no command" };
    const output = `${r.stderr}\n${r.stdout}`;
    const observed =
      r.exitCode === 0 && !r.timedOut ? "succeeded (exit 0)" : `failed (exit ${r.exitCode}): ${errorText(r)}`;
    const printed = this.patterns.every((p) => matchText(output, p));
    let ok: boolean;
    if (this.want === "succeeds") ok = r.exitCode === 0 && !r.timedOut && printed;
    else {
      ok = r.exitCode !== 0 && !r.timedOut && !r.spawnError && printed;
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
export const failsWithExit = (exitCode: number, ...patterns: TextPattern[]): Check =>
  new OutcomeCheck("fails", patterns, exitCode);
/**
 * Exits with exactly this code — for commands whose exit code is an answer rather than a
 * failure, such as `diff --detailed-exitcode` (0 no changes, 2 changes, 1 error).
 */
export const exitsWith = (exitCode: number, ...patterns: TextPattern[]): Check =>
  exitCode === 0 ? succeeds(...patterns) : new OutcomeCheck("fails", patterns, exitCode);

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
    const ok = Boolean(r.cancelled) && (!this.signal || r.cancelled === this.signal);
    return { ok, expected: this.describe(), observed };
  }
}

export const cancelled = (signal?: "SIGTERM" | "SIGINT" | "SIGKILL"): Check => new CancelledCheck(signal);
