import { writeFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { scratchDir } from "../util/scratch.ts";
import type { CommandResult } from "../exec.ts";
import { requireResolver } from "../probes/resources.ts";
import { poll, type PollResult } from "../util/poll.ts";
import { matchText, PolledCheck, type Check, type CheckContext, type Probe, type TextPattern } from "./checks.ts";
import type { Action, ActionContext } from "./step.ts";

export type { FluxSession } from "./flux-session.ts";

export interface FluxReleaseOptions {
  /** Fixture directory whose charts (every version) the HelmRepository serves, e.g. "gitops". */
  repository: string;
  chart: string;
  version: string;
  values?: Record<string, unknown>;
  /** More HelmRelease spec: install/upgrade remediation, timeout, test, … (merged over the defaults). */
  spec?: Record<string, unknown>;
  /** How long the controller may take for this generation (default 3 min). */
  timeoutMs?: number;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  /** The generation the controller last set this condition for (Flux stamps every condition). */
  observedGeneration?: number;
  /** When its status last changed (RFC 3339, whole seconds). */
  lastTransitionTime?: string;
}
interface HelmReleaseObject {
  metadata?: { generation?: number };
  status?: {
    observedGeneration?: number;
    /** The `reconcile.fluxcd.io/requestedAt` value the controller's last finished reconcile saw. */
    lastHandledReconcileAt?: string;
    conditions?: Condition[];
    history?: { chartName?: string; chartVersion?: string; version?: number; status?: string }[];
  };
}

/** The scenario's HelmRelease as the API server has it now (a plain object). */
async function readHelmRelease(ctx: Pick<CheckContext, "kube" | "release" | "namespace">): Promise<HelmReleaseObject> {
  const { objects } = requireResolver(ctx.kube);
  const o = await objects.read({
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: ctx.release, namespace: ctx.namespace },
  });
  return JSON.parse(JSON.stringify(o)) as HelmReleaseObject;
}

const condition = (o: HelmReleaseObject | undefined, type: string) =>
  o?.status?.conditions?.find((c) => c.type === type);

/**
 * Where a reconcile of `generation` ended: succeeded, gave up (Stalled), or still running
 * (undefined). Only conditions the controller set for this generation count: right after an
 * apply, the previous generation's Stalled=True (or Ready=True) is still there until the
 * controller picks the new spec up — under load, for seconds.
 */
export function reconcileVerdict(
  o: HelmReleaseObject | undefined,
  generation: number,
  appliedAt?: Date,
): "ready" | "stalled" | undefined {
  const current = (type: string) => {
    const c = condition(o, type);
    return c?.status === "True" && (c.observedGeneration ?? o?.status?.observedGeneration ?? 0) >= generation
      ? c
      : undefined;
  };
  if ((o?.status?.observedGeneration ?? 0) >= generation && current("Ready")) return "ready";
  // helm-controller deletes Stalled when it starts reconciling a generation and sets it anew when
  // it gives up, so this generation's Stalled turned True after the apply. CI once read an older
  // Stalled=True already stamped with the new generation, moments before the install succeeded.
  const stalled = current("Stalled");
  if (
    stalled &&
    !(
      appliedAt &&
      stalled.lastTransitionTime &&
      Date.parse(stalled.lastTransitionTime) < Math.floor(appliedAt.getTime() / 1000) * 1000
    )
  )
    return "stalled";
  return undefined;
}

/**
 * Why a reconcile failed, in the controller's words: every condition that is not true (a
 * still-"Progressing" Ready says nothing), Released first — it carries Helm's own error.
 */
export function failureText(o: HelmReleaseObject | undefined, stalled: boolean): string {
  const order = ["Released", "Ready", "Remediated", "TestSuccess", "Stalled"];
  const rank = (c: Condition) => (order.includes(c.type) ? order.indexOf(c.type) : order.length);
  const telling = (o?.status?.conditions ?? [])
    .filter((c) => (c.type === "Stalled" ? c.status === "True" : c.status === "False"))
    .sort((a, b) => rank(a) - rank(b))
    .map((c) => `Error: ${c.type} ${c.reason ?? ""}: ${c.message ?? ""}`);
  if (!stalled)
    telling.unshift(`Error: not reconciled in time; last conditions: ${describeConditions(o).replaceAll("\n", "; ")}`);
  return `${telling.join("\n") || "Error: no condition says why"}\n`;
}

export function describeConditions(o: HelmReleaseObject | undefined): string {
  const conditions = o?.status?.conditions ?? [];
  if (conditions.length === 0) return "no conditions yet";
  return conditions.map((c) => `${c.type}=${c.status} ${c.reason ?? ""}: ${c.message ?? ""}`.trim()).join("\n");
}

export function helmReleaseManifests(
  o: FluxReleaseOptions & { release: string; namespace: string; url: string },
): object[] {
  const source = `${o.release}-charts`;
  return [
    {
      apiVersion: "source.toolkit.fluxcd.io/v1",
      kind: "HelmRepository",
      metadata: { name: source, namespace: o.namespace },
      spec: { url: o.url, interval: "1m" },
    },
    {
      apiVersion: "helm.toolkit.fluxcd.io/v2",
      kind: "HelmRelease",
      metadata: { name: o.release, namespace: o.namespace },
      spec: {
        releaseName: o.release,
        interval: "10m",
        chart: {
          spec: {
            chart: o.chart,
            version: o.version,
            sourceRef: { kind: "HelmRepository", name: source },
            interval: "1m",
          },
        },
        ...(o.values ? { values: o.values } : {}),
        ...o.spec,
      },
    },
  ];
}

/**
 * The flux driver's action: apply a HelmRepository (a chart repository helmdrill serves from a
 * fixture directory) and a HelmRelease, then wait until Flux's helm-controller has reconciled
 * this generation — Ready true, or Stalled (its remediation gave up) — and report the outcome
 * from the HelmRelease's conditions, not from any text helmdrill built.
 */
export function fluxRelease(o: FluxReleaseOptions): Action {
  const values = o.values ? `, values ${JSON.stringify(o.values)}` : "";
  const shown = `HelmRelease (${o.chart} ${o.version}${values}${o.spec ? `, ${JSON.stringify(o.spec)}` : ""})`;
  return {
    label: `kubectl apply -f ${shown}, then wait for helm-controller`,
    run: async (ctx: ActionContext): Promise<CommandResult> => {
      if (!ctx.flux) throw new Error('fluxRelease(…) runs only on a flux target (drivers: ["flux"])');
      const url = await ctx.flux.repository(ctx.fixture(o.repository));
      const file = path.join(scratchDir("flux-release"), `${ctx.release}.yaml`);
      const manifests = helmReleaseManifests({ ...o, release: ctx.release, namespace: ctx.namespace, url });
      writeFileSync(file, manifests.map((m) => YAML.stringify(m)).join("---\n"));
      const applied = await ctx.runners.kubectl(["apply", "-f", file]);
      if (applied.exitCode !== 0) return applied;
      return awaitReconcile(ctx, new Date(Date.now() - applied.durationMs), o.timeoutMs ?? 180_000);
    },
  };
}

/**
 * Waits for helm-controller to reconcile the generation just applied: read-only polls of the
 * HelmRelease (a transient API error is tolerated until the deadline, a hung read given up and
 * made again), ending in a command-like result built from its conditions.
 */
export async function awaitReconcile(
  ctx: Pick<CheckContext, "kube" | "release" | "namespace">,
  appliedAt: Date,
  timeoutMs: number,
): Promise<CommandResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const what = `reading HelmRelease/${ctx.release}`;
  const read = () => readHelmRelease(ctx);
  const generationOf = (hr: HelmReleaseObject) => hr.metadata?.generation;
  const applied = await poll(read, (hr) => (generationOf(hr) === undefined ? "no generation yet" : undefined), {
    timeoutMs,
    intervalMs: 1000,
    what,
  });
  let reconciled: PollResult<HelmReleaseObject> = applied;
  let generation: number | undefined;
  let verdict: ReturnType<typeof reconcileVerdict>;
  if (applied.ok) {
    generation = generationOf(applied.last!)!;
    const g = generation;
    reconciled = await poll(
      read,
      (hr) => (reconcileVerdict(hr, g, appliedAt) ? undefined : `generation ${g} not reconciled`),
      {
        timeoutMs: Math.max(0, timeoutMs - (performance.now() - t0)),
        intervalMs: 1000,
        what,
      },
    );
    if (reconciled.ok) verdict = reconcileVerdict(reconciled.last, g, appliedAt);
  }
  // Reads that failed are part of the story: "not reconciled in time" alone would hide them.
  const unread = reconciled.errors
    ? `Error: ${reconciled.errors} read(s) of the HelmRelease failed, last: ${reconciled.lastError}\n`
    : "";
  return reconcileResult(ctx, {
    last: reconciled.last,
    generation,
    verdict,
    unread,
    startedAt,
    durationMs: Math.round(performance.now() - t0),
  });
}

/** The command-like result of a reconcile, built from the HelmRelease's conditions and history. */
function reconcileResult(
  ctx: Pick<CheckContext, "release">,
  o: {
    last: HelmReleaseObject | undefined;
    generation: number | undefined;
    verdict: ReturnType<typeof reconcileVerdict>;
    unread: string;
    startedAt: Date;
    durationMs: number;
    head?: string;
    argv?: string[];
  },
): CommandResult {
  const { last } = o;
  const history = (last?.status?.history ?? [])
    .map((h) => `v${h.version} ${h.chartName}-${h.chartVersion} ${h.status}`)
    .join(", ");
  const observed = `generation ${o.generation ?? "-"}, observed ${last?.status?.observedGeneration ?? "-"}`;
  const stdout = `${o.head ?? ""}${observed}\n${describeConditions(last)}${history ? `\nhistory (newest first): ${history}` : ""}\n`;
  const failed = o.verdict !== "ready";
  return {
    argv: o.argv ?? ["(helm-controller)", "reconciled", `HelmRelease/${ctx.release}`],
    exitCode: failed ? 1 : 0,
    stdout,
    stderr: failed ? `${failureText(last, o.verdict === "stalled")}${o.unread}` : "",
    durationMs: o.durationMs,
    startedAt: o.startedAt,
    timedOut: false,
  };
}

export interface SwitchFluxOptions {
  /** The flux target whose controllers run next (default: a migration target's `fluxTo`, else its own: a restart). */
  to?: string;
  /** helm-controller's feature gates for the controllers started, e.g. `{ UseHelm3Defaults: true }` (default: none). */
  featureGates?: Record<string, boolean>;
  /** How long the new controller may take to reconcile the HelmRelease (default 3 min). */
  timeoutMs?: number;
}

const gatesText = (gates: Record<string, boolean> | undefined) => {
  const entries = Object.entries(gates ?? {});
  return entries.length ? ` --feature-gates=${entries.map(([k, v]) => `${k}=${v}`).join(",")}` : "";
};

/**
 * Upgrading (or restarting) Flux, as a step: stops the run's helm-controller and
 * source-controller and starts another flux target's in their place — same namespace, sources
 * and artifact storage — then asks for a reconcile of the scenario's HelmRelease
 * (`reconcile.fluxcd.io/requestedAt`) and waits until the new helm-controller has handled it.
 * The outcome is the HelmRelease's conditions afterwards (no HelmRelease yet: the switch alone).
 *   switchFlux()                                                 — to the target's `fluxTo`
 *   switchFlux({ to: "1.6", featureGates: { UseHelm3Defaults: true } })
 */
export function switchFlux(o: SwitchFluxOptions = {}): Action {
  const to = o.to ? `flux ${o.to}` : "the next flux target";
  return {
    label: `stop helm-controller and source-controller, start ${to}'s${gatesText(o.featureGates)}, then request a reconcile of the HelmRelease`,
    run: async (ctx: ActionContext): Promise<CommandResult> => {
      if (!ctx.flux) throw new Error('switchFlux(…) runs only on a flux target (drivers: ["flux"])');
      const startedAt = new Date();
      const t0 = performance.now();
      const target = o.to ?? ctx.target.fluxTo ?? ctx.target.flux;
      if (!target) throw new Error("switchFlux(): the target names no flux target");
      const before = ctx.flux.running();
      await ctx.flux.switchTo(target, o.featureGates ?? {});
      const after = ctx.flux.running();
      const head = `${before.version}${gatesText(before.featureGates)} stopped; ${after.version}${gatesText(after.featureGates)} running\n`;
      const argv = ["(helmdrill)", "switch", `flux ${before.target} → ${after.target}${gatesText(after.featureGates)}`];
      const requested = new Date().toISOString();
      const annotated = await ctx.runners.kubectl([
        "annotate",
        "--overwrite",
        `helmreleases.helm.toolkit.fluxcd.io/${ctx.release}`,
        `reconcile.fluxcd.io/requestedAt=${requested}`,
      ]);
      const durationMs = () => Math.round(performance.now() - t0);
      if (annotated.exitCode !== 0) {
        if (!/NotFound|not found/.test(annotated.stderr)) return { ...annotated, argv };
        const stdout = `${head}no HelmRelease/${ctx.release} to reconcile\n`;
        return { argv, exitCode: 0, stdout, stderr: "", durationMs: durationMs(), startedAt, timedOut: false };
      }
      const handled = await poll(
        () => readHelmRelease(ctx),
        (hr) =>
          hr.status?.lastHandledReconcileAt === requested
            ? undefined
            : `reconcile request ${requested} not handled yet (last handled: ${hr.status?.lastHandledReconcileAt ?? "none"})`,
        { timeoutMs: o.timeoutMs ?? 180_000, intervalMs: 1000, what: `reading HelmRelease/${ctx.release}` },
      );
      const last = handled.last;
      // Handled: the reconcile ended, and Ready says how (a failure's words are in the conditions).
      const ready = condition(last, "Ready")?.status === "True";
      const verdict = handled.ok ? (ready ? ("ready" as const) : ("stalled" as const)) : undefined;
      const unread = handled.errors
        ? `Error: ${handled.errors} read(s) of the HelmRelease failed, last: ${handled.lastError}\n`
        : "";
      const notHandled = handled.ok ? "" : `Error: ${handled.lastProblem}\n`;
      const result = reconcileResult(ctx, {
        last,
        generation: last?.metadata?.generation,
        verdict,
        unread: `${notHandled}${unread}`,
        startedAt,
        durationMs: durationMs(),
        head,
        argv,
      });
      return result;
    },
  };
}

class FluxConditionCheck extends PolledCheck<HelmReleaseObject> {
  readonly category = "custom";
  constructor(
    private readonly type: string,
    private readonly status: "True" | "False",
    private readonly reason?: string,
    private readonly message?: TextPattern,
  ) {
    super(30_000);
  }
  describe(): string {
    const reason = this.reason ? ` (${this.reason})` : "";
    const message = this.message ? ` with message ${this.message}` : "";
    return `HelmRelease condition ${this.type}=${this.status}${reason}${message}`;
  }
  override kinds(): string[] {
    return ["helmreleases.helm.toolkit.fluxcd.io"];
  }
  protected probe(ctx: CheckContext): Probe<HelmReleaseObject> {
    const judge = (o: HelmReleaseObject) => {
      const c = condition(o, this.type);
      if (!c) return `no ${this.type} condition`;
      const wrongMessage = this.message && !matchText(c.message ?? "", this.message);
      if (c.status !== this.status || (this.reason && c.reason !== this.reason) || wrongMessage) {
        return `${c.type}=${c.status} ${c.reason}: ${c.message}`;
      }
      return undefined;
    };
    return {
      what: `reading HelmRelease/${ctx.release}`,
      observe: () => readHelmRelease(ctx),
      judge,
      render: describeConditions,
    };
  }
}

/**
 * A condition of the scenario's HelmRelease, as helm-controller set it:
 *   fluxCondition("Ready", "True", "UpgradeSucceeded")
 *   fluxCondition("Stalled", "True", "RetriesExceeded", /context deadline exceeded/)
 */
export const fluxCondition = (type: string, status: "True" | "False", reason?: string, message?: TextPattern): Check =>
  new FluxConditionCheck(type, status, reason, message);
