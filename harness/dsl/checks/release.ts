import { describeRelease, readRelease, type ReleaseState } from "../../probes/release.ts";
import {
  matchText,
  PolledCheck,
  showPattern,
  type Check,
  type CheckContext,
  type Probe,
  type TextPattern,
} from "./base.ts";

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
  /**
   * How Helm applied each revision, oldest first, as its storage Secret records it (Helm 4's
   * `apply_method`): "server-side", "client-side", or "client-side (Helm 3: not recorded)".
   */
  applyMethods?: TextPattern[];
}

/** How long a release check looks after the action (while one runs: until it ends). */
const RELEASE_TIMEOUT_MS = 15_000;

class ReleaseCheck extends PolledCheck<ReleaseState> {
  readonly category = "release";
  constructor(private readonly want: ReleaseExpectation) {
    super(RELEASE_TIMEOUT_MS);
  }
  describe(): string {
    const w = this.want;
    const who = w.name ? `${w.name} ` : "";
    if (w.absent) return `release ${who}absent`;
    const parts: string[] = [];
    if (w.revision !== undefined) parts.push(`revision ${w.revision}`);
    if (w.status) parts.push(w.status);
    if (w.chart) parts.push(`chart ${showPattern(w.chart)}`);
    if (w.history) {
      const rows = w.history.map(
        (h) => `r${h.revision} ${h.status}${h.description ? ` ${showPattern(h.description)}` : ""}`,
      );
      parts.push(`history ${rows.join(" → ")}`);
    }
    if (w.applyMethods) {
      const rows = w.applyMethods.map((m, i) => `r${i + 1} ${typeof m === "string" ? m : showPattern(m)}`);
      parts.push(`applied ${rows.join(", ")}`);
    }
    return `release ${who}${parts.join(", ")}`;
  }
  private judge(s: ReleaseState): string | undefined {
    const w = this.want;
    if (s.storageMismatch) return s.storageMismatch;
    if (w.absent) return s.exists || s.storage.length > 0 ? `still present: ${describeRelease(s)}` : undefined;
    if (!s.exists) return "release not found";
    if (w.revision !== undefined && s.current?.revision !== w.revision)
      return `current revision is ${s.current?.revision}`;
    if (w.status && s.current?.status !== w.status) return `current status is ${s.current?.status}`;
    if (w.chart && !matchText(s.current?.chart ?? "", w.chart)) return `current chart is ${s.current?.chart}`;
    if (w.history) {
      if (w.history.length !== s.history.length) return `history has ${s.history.length} revisions`;
      for (const [i, h] of w.history.entries()) {
        const o = s.history[i]!;
        if (o.revision !== h.revision || o.status !== h.status) return `r${o.revision} is ${o.status}`;
        if (h.description && !matchText(o.description, h.description)) {
          return `r${o.revision} description is ${JSON.stringify(o.description)}`;
        }
      }
    }
    if (w.applyMethods) {
      const applied = s.storage.map((r) => `r${r.revision} ${r.applyMethod}`).join(", ");
      if (w.applyMethods.length !== s.storage.length)
        return `${s.storage.length} revisions stored (${applied || "none"})`;
      for (const [i, m] of w.applyMethods.entries())
        if (!matchText(s.storage[i]!.applyMethod, m)) return `applied ${applied}`;
    }
    return undefined;
  }
  protected probe(ctx: CheckContext): Probe<ReleaseState> {
    const name = this.want.name ?? ctx.release;
    return {
      what: `helm history of ${name} and its storage Secrets`,
      observe: () => readRelease(ctx.runners, ctx.kube.core, name),
      judge: (s) => this.judge(s),
      render: this.want.applyMethods
        ? (s) => `${describeRelease(s)}; applied ${s.storage.map((r) => `r${r.revision} ${r.applyMethod}`).join(", ")}`
        : describeRelease,
    };
  }
}

export const release = (want: ReleaseExpectation): Check => new ReleaseCheck(want);

/**
 * The release's whole history, oldest first, as `helm history` prints it: each entry is a
 * status, or [status, description]. The current revision is the last entry.
 *   history("superseded", "failed", ["deployed", "Rollback to 1"])
 */
export function history(...entries: (string | [string, TextPattern])[]): Check {
  const rows = entries.map((e, i) =>
    typeof e === "string" ? { revision: i + 1, status: e } : { revision: i + 1, status: e[0], description: e[1] },
  );
  return new ReleaseCheck({ revision: rows.length, status: rows.at(-1)?.status, history: rows });
}
export const releaseAbsent = (name?: string): Check => new ReleaseCheck({ name, absent: true });

/**
 * How Helm applied each revision of the release, oldest first, as its storage Secrets record it
 * (Helm 4 writes `apply_method`; Helm 3 writes nothing and applies client-side):
 *   appliedWith("client-side (Helm 3: not recorded)", "client-side", "server-side")
 */
export const appliedWith = (...methods: TextPattern[]): Check => new ReleaseCheck({ applyMethods: methods });
