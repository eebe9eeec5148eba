import http from "node:http";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { kubeConfigFromYaml } from "../cluster/kubeconfig.ts";
import { run } from "../exec.ts";
import { seconds } from "../util/poll.ts";
import type { ClusterLoss } from "./cluster-lost.ts";

export { ClusterLostError, isClusterLostError, type ClusterLoss } from "./cluster-lost.ts";

/**
 * A dead cluster is not a Helm verdict. Every worker watches the run's cluster while a drill is
 * open — read-only: the node containers' state (`docker container inspect`) and the API server's
 * /readyz — and when the cluster dies, every drill's signal is aborted with a ClusterLostError:
 * the running steps' commands are killed at once, and the run is reported as "cluster lost",
 * never as a behaviour failure.
 */

/** What one look at the cluster saw: healthy, or a problem — definitive (the node is gone) or not (yet). */
export type Observation = { ok: true } | { ok: false; problem: string; definitive: boolean };

/** How long the API server may stay unreachable (its node still running) before the cluster counts as lost. */
export const API_GRACE_MS = 60_000;
/** How often a worker looks. */
export const WATCH_INTERVAL_MS = 4_000;
/** One /readyz request's limit. */
export const READYZ_TIMEOUT_MS = 5_000;

/**
 * The verdict from a series of observations. A definitive problem (the node container exited)
 * loses the cluster at once; any other (an API server that does not answer, docker that does not)
 * only when it lasts `graceMs` — a loaded API server stalls for tens of seconds and recovers. A
 * loss is final.
 */
export class LossJudge {
  lost?: ClusterLoss;
  /** The latest observation was healthy (or none was made yet). */
  healthy = true;
  lastHealthyAt: number;
  private troubleSince?: number;

  constructor(
    private readonly graceMs: number,
    startedAt: number,
  ) {
    this.lastHealthyAt = startedAt;
  }

  observe(o: Observation, now: number): ClusterLoss | undefined {
    if (this.lost) return this.lost;
    if (o.ok) {
      this.healthy = true;
      this.lastHealthyAt = now;
      this.troubleSince = undefined;
      return undefined;
    }
    this.healthy = false;
    if (o.definitive) return (this.lost = { reason: o.problem, at: now, lastHealthyAt: this.lastHealthyAt });
    this.troubleSince ??= now;
    const lasted = now - this.troubleSince;
    if (lasted < this.graceMs) return undefined;
    return (this.lost = {
      reason: `${o.problem} (for ${seconds(lasted)})`,
      at: now,
      lastHealthyAt: this.lastHealthyAt,
    });
  }
}

/** `docker container inspect`'s `.State`, the fields read here. */
export interface ContainerState {
  Status?: string;
  Running?: boolean;
  Paused?: boolean;
  Restarting?: boolean;
  OOMKilled?: boolean;
  ExitCode?: number;
  Error?: string;
}

/** A node container's state as an observation; `undefined` state: docker knows no such container. */
export function containerObservation(name: string, state: ContainerState | undefined): Observation {
  if (!state) return { ok: false, problem: `node container ${name} is gone`, definitive: true };
  const oom = state.OOMKilled ? ", out of memory" : "";
  const error = state.Error ? `: ${state.Error}` : "";
  if (state.Restarting)
    return { ok: false, problem: `node container restarting (exit ${state.ExitCode}${oom})`, definitive: true };
  if (state.Paused) return { ok: false, problem: "node container paused", definitive: true };
  if (state.Running) return { ok: true };
  return {
    ok: false,
    problem: `node container ${state.Status ?? "stopped"} ${state.ExitCode ?? "?"}${oom}${error}`,
    definitive: true,
  };
}

/** Looks at one node container; a docker that does not answer is a problem, not (yet) a loss. */
export async function inspectContainer(name: string, timeoutMs = READYZ_TIMEOUT_MS): Promise<Observation> {
  const r = await run(["docker", "container", "inspect", "--format", "{{json .State}}", name], { timeoutMs });
  if (r.exitCode === 0) {
    try {
      return containerObservation(name, JSON.parse(r.stdout) as ContainerState);
    } catch {
      return { ok: false, problem: `docker container inspect ${name} printed no state`, definitive: false };
    }
  }
  if (/no such (object|container)/i.test(r.stderr)) return containerObservation(name, undefined);
  const why = r.timedOut ? `no answer within ${seconds(timeoutMs)}` : (r.spawnError ?? r.stderr.trim().split("\n")[0]);
  return { ok: false, problem: `docker container inspect ${name} failed: ${why}`, definitive: false };
}

/** The API server's /readyz, with the kubeconfig's credentials and a time limit of its own. */
export async function readyz(kc: KubeConfig, timeoutMs = READYZ_TIMEOUT_MS): Promise<Observation> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) return { ok: false, problem: "the kubeconfig names no API server", definitive: true };
  const options: https.RequestOptions = {};
  try {
    await kc.applyToHTTPSOptions(options);
  } catch (error) {
    return {
      ok: false,
      problem: `the kubeconfig's credentials: ${error instanceof Error ? error.message : String(error)}`,
      definitive: false,
    };
  }
  const url = new URL("/readyz", server);
  const signal = AbortSignal.timeout(timeoutMs);
  const get = url.protocol === "http:" ? http.get : https.get;
  return new Promise<Observation>((resolve) => {
    const soft = (problem: string) => resolve({ ok: false, problem, definitive: false });
    const req = get(url, { ...options, signal }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body = (body + chunk).slice(0, 4096)));
      res.on("error", (e) => soft(`API server /readyz: ${e.message}`));
      res.on("end", () => {
        if (res.statusCode === 200) return resolve({ ok: true });
        const failing = body
          .split("\n")
          .filter((l) => l.startsWith("[-]"))
          .slice(0, 3)
          .join("; ");
        soft(`API server /readyz answered ${res.statusCode}${failing ? `: ${failing}` : ""}`);
      });
    });
    req.on("error", (e) =>
      soft(
        signal.aborted
          ? `API server: no answer on /readyz within ${seconds(timeoutMs)}`
          : `API server unreachable: ${e.message}`,
      ),
    );
  });
}

/** One look at the whole cluster: the node containers first (a dead node is definitive), then the API server. */
export function clusterProbe(kubeconfig: string, containers: readonly string[]): () => Promise<Observation> {
  const kc = kubeConfigFromYaml(kubeconfig);
  return async () => {
    const nodes = await Promise.all(containers.map((c) => inspectContainer(c)));
    const problems = nodes.filter((o) => !o.ok);
    const definitive = problems.find((o) => o.definitive);
    if (definitive) return definitive;
    const api = await readyz(kc);
    return api.ok ? (problems[0] ?? api) : api;
  };
}

export interface WatchOptions {
  intervalMs?: number;
  graceMs?: number;
  now?: () => number;
}

/**
 * Looks at the cluster every `intervalMs` while anyone listens, and tells every listener once
 * when it is lost. `check` looks now; `confirm` gives a verdict for a run that just failed.
 */
export class ClusterWatch {
  private readonly judge: LossJudge;
  private readonly listeners = new Set<(loss: ClusterLoss) => void>();
  private readonly intervalMs: number;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<ClusterLoss | undefined>;
  private told = false;

  constructor(
    private readonly probe: () => Promise<Observation>,
    options: WatchOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? WATCH_INTERVAL_MS;
    this.now = options.now ?? Date.now;
    this.judge = new LossJudge(options.graceMs ?? API_GRACE_MS, this.now());
  }

  get lost(): ClusterLoss | undefined {
    return this.judge.lost;
  }

  /** Called once when the cluster is lost (at once, when it already is). Returns the unsubscribe. */
  subscribe(listener: (loss: ClusterLoss) => void): () => void {
    if (this.lost) {
      listener(this.lost);
      return () => undefined;
    }
    this.listeners.add(listener);
    this.schedule();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopTimer();
    };
  }

  /** One look now (shared with a look under way); the loss, if the cluster is lost. */
  check(): Promise<ClusterLoss | undefined> {
    this.inFlight ??= this.probe()
      .catch((error: unknown): Observation => ({
        ok: false,
        problem: `the cluster probe failed: ${String(error)}`,
        definitive: false,
      }))
      .then((o) => {
        this.inFlight = undefined;
        const loss = this.judge.observe(o, this.now());
        if (loss) this.tell(loss);
        return loss;
      });
    return this.inFlight;
  }

  /**
   * For a run that failed: looks again, and while the cluster looks unhealthy keeps looking until
   * it is healthy again (undefined) or lost — at most the grace period of a problem.
   */
  async confirm(): Promise<ClusterLoss | undefined> {
    for (;;) {
      const loss = await this.check();
      if (loss || this.judge.healthy) return loss;
      await new Promise((r) => setTimeout(r, this.intervalMs));
    }
  }

  private tell(loss: ClusterLoss): void {
    if (this.told) return;
    this.told = true;
    this.stopTimer();
    for (const l of [...this.listeners]) l(loss);
    this.listeners.clear();
  }

  private schedule(): void {
    if (this.timer || this.listeners.size === 0 || this.lost) return;
    const timer = setTimeout(() => {
      void this.check().finally(() => {
        // Unless it was stopped (and perhaps started anew) meanwhile: the next look.
        if (this.timer !== timer) return;
        this.timer = undefined;
        this.schedule();
      });
    }, this.intervalMs);
    timer.unref();
    this.timer = timer;
  }

  private stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

const watches = new Map<string, ClusterWatch>();

/** This process's one watch of a cluster (its drills share it). */
export function watchCluster(kubeconfig: string, containers: readonly string[]): ClusterWatch {
  const key = `${containers.join(",")}\n${kubeconfig}`;
  let watch = watches.get(key);
  if (!watch) watches.set(key, (watch = new ClusterWatch(clusterProbe(kubeconfig, containers))));
  return watch;
}
