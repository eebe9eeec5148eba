import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { jobStatus, podStatus } from "../../probes/resources.ts";
import type { PollResult } from "../../util/poll.ts";
import {
  matchText,
  PolledCheck,
  showPattern,
  type Check,
  type CheckContext,
  type CheckOutcome,
  type Probe,
  type TextPattern,
} from "./base.ts";

// ------------------------------------------------------------------ pods

type PodJudge = (pods: V1Pod[]) => string | undefined;

class PodsCheck extends PolledCheck<V1Pod[]> {
  readonly category = "pods";
  constructor(
    private readonly selector: string,
    private readonly what: string,
    private readonly judgePods: PodJudge,
    timeoutMs = 90_000,
  ) {
    super(timeoutMs);
  }
  describe(): string {
    return `pods -l ${this.selector}: ${this.what}`;
  }
  protected probe(ctx: CheckContext): Probe<V1Pod[]> {
    const list = async () => {
      const pods = await ctx.kube.core.listNamespacedPod({ namespace: ctx.namespace, labelSelector: this.selector });
      return pods.items.filter((p) => !p.metadata?.deletionTimestamp);
    };
    const render = (pods: V1Pod[]) =>
      pods.map((p) => `${p.metadata?.name ?? "?"} ${podStatus(p)} ${podImages(p).join("+")}`).join("; ") || "no pods";
    return { what: `pods -l ${this.selector}`, observe: list, judge: this.judgePods, render };
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
  return (
    p.status?.phase === "Running" &&
    containers.length > 0 &&
    containers.every((c) => statuses.get(c.name)?.ready === true)
  );
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
      return notReady.length
        ? `not ready: ${notReady.map((p) => `${p.metadata?.name} ${podStatus(p)}`).join(", ")}`
        : undefined;
    },
  include:
    (image: string): PodJudge =>
    (pods) =>
      pods.some((p) => podImages(p).includes(image)) ? undefined : `no pod with ${image}`,
};

/**
 * Every (non-terminating) pod matching the selector is in one of these states: its phase or a
 * container's reason (e.g. ImagePullBackOff).
 */
export const podsInState = (selector: string, ...states: TextPattern[]): Check =>
  new PodsCheck(selector, `all ${states.map(showPattern).join(" or ")}`, podJudges.inState(states));

/**
 * The pods' containers run exactly these images (no other image in any container), and every pod
 * is Running with all containers ready.
 */
export const podsRunImages = (selector: string, ...images: string[]): Check =>
  new PodsCheck(selector, `running and ready with ${images.join(", ")} only`, podJudges.runImages(images));

/**
 * At least one pod matching the selector runs this image in some container, ready or not (e.g.
 * the new version while Helm waits).
 */
export const podsInclude = (selector: string, image: string): Check =>
  new PodsCheck(selector, `some pod with ${image}`, podJudges.include(image));

// ------------------------------------------------------------------ jobs

/** null: no such Job (an observation, unlike undefined: nothing observed). */
class JobCheck extends PolledCheck<V1Job | null> {
  readonly category = "jobs";
  constructor(
    private readonly name: string,
    private readonly condition: "Complete" | "Failed",
    private readonly reason?: string,
  ) {
    super(60_000);
  }
  describe(): string {
    return `job ${this.name} ${this.condition}${this.reason ? ` (${this.reason})` : ""}`;
  }
  protected probe(ctx: CheckContext): Probe<V1Job | null> {
    const observe = async () => {
      const jobs = await ctx.kube.batch.listNamespacedJob({
        namespace: ctx.namespace,
        fieldSelector: `metadata.name=${this.name}`,
      });
      return jobs.items.at(0) ?? null;
    };
    return {
      what: `job ${this.name}`,
      observe,
      judge: (j) => judgeJob(j, this.condition, this.reason),
      render: (j) => (j ? `job ${this.name} ${jobStatus(j)}` : `job ${this.name} not found`),
    };
  }
}

/** Judges a Job from its conditions: the wanted condition is True, with the reason when one is asked for. */
export function judgeJob(
  job: V1Job | null | undefined,
  condition: "Complete" | "Failed",
  reason?: string,
): string | undefined {
  if (!job) return "job not found";
  const c = (job.status?.conditions ?? []).find((x) => x.type === condition && x.status === "True");
  if (c && (!reason || c.reason === reason)) return undefined;
  return `job is ${jobStatus(job)}`;
}

export const jobFailed = (name: string, reason?: string): Check => new JobCheck(name, "Failed", reason);
export const jobComplete = (name: string): Check => new JobCheck(name, "Complete");

// ------------------------------------------------------------------ logs

class LogsCheck extends PolledCheck<string> {
  readonly category = "logs";
  constructor(
    private readonly selector: string,
    private readonly patterns: TextPattern[],
  ) {
    super(30_000);
  }
  describe(): string {
    return `kubectl logs -l ${this.selector} shows ${this.patterns.map(showPattern).join(" and ")}`;
  }
  protected probe(ctx: CheckContext): Probe<string> {
    const { namespace } = ctx;
    const observe = async () => {
      const pods = (await ctx.kube.core.listNamespacedPod({ namespace, labelSelector: this.selector })).items;
      const log = (p: V1Pod) =>
        ctx.kube.core
          .readNamespacedPodLog({ name: p.metadata!.name!, namespace })
          .catch((e: Error) => `<${e.message}>`);
      return (await Promise.all(pods.map(log))).join("\n");
    };
    const judge = (text: string) =>
      this.patterns.every((p) => matchText(text, p)) ? undefined : "pattern not in logs";
    return { what: `the logs of pods -l ${this.selector}`, observe, judge, render: (text) => text };
  }
  /** The logs themselves (or why none were read), not a summary. */
  protected override outcome(r: PollResult<string>): CheckOutcome {
    return { ok: r.ok, expected: this.describe(), observed: (r.last ?? r.lastProblem).trim().slice(0, 2000) };
  }
}

export const logsShow = (selector: string, ...patterns: TextPattern[]): Check => new LogsCheck(selector, patterns);
