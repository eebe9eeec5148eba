import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import net from "node:net";
import path from "node:path";
import { scratchDir, scratchRootFor } from "../util/scratch.ts";
import { HelmdrillError } from "../errors.ts";
import { run, tail } from "../exec.ts";
import semver from "semver";
import { fluxTargetPin, pinnedFluxTargets, type FluxControllerPin } from "../pins.ts";
import { withCacheLock } from "../cache.ts";
import { goBuildInModule } from "./build.ts";
import { observedText, poll } from "../util/poll.ts";

/**
 * Flux's helm-controller and source-controller (the `flux` driver), per flux target (pins.json
 * `flux.targets`, e.g. "1.4" and "1.6"): built from the Go module proxy (cached by version under
 * <cache>/tools/flux/<component>/<version>/, binary + the CRDs from its module), and started per
 * scenario run on the host — watching only that run's namespace, against the run's cluster — so
 * every flux run has controllers of its own and nothing shared outlives it. A failed build does
 * not stop provisioning: that target's runs are reported as not run, with the reason.
 */
export type FluxComponent = "helmController" | "sourceController";
const COMPONENTS: FluxComponent[] = ["sourceController", "helmController"];
const BINARY: Record<FluxComponent, string> = {
  helmController: "helm-controller",
  sourceController: "source-controller",
};

export interface FluxInstall {
  /** The flux target ("1.6"). */
  target: string;
  /** "helm-controller 1.6.4 + source-controller 1.9.5": what runs. */
  version: string;
  binaries?: Record<FluxComponent, string>;
  crdDirs?: string[];
  /** Why this flux target cannot run here (build failed, not provisioned). */
  unavailable?: string;
}

const versionOf = (pin: FluxControllerPin) => pin.version.replace(/^v/, "");
/** "helm-controller 1.6.4 + source-controller 1.9.5". */
export const fluxLabel = (target: string): string =>
  COMPONENTS.slice()
    .reverse()
    .map((c) => `${BINARY[c]} ${versionOf(fluxTargetPin(target)[c])}`)
    .join(" + ");

function paths(cacheDir: string, target: string, component: FluxComponent) {
  const pin = fluxTargetPin(target)[component];
  const root = path.join(cacheDir, "tools", "flux", BINARY[component], versionOf(pin));
  return {
    pin,
    root,
    binary: path.join(root, BINARY[component]),
    crds: path.join(root, "crds"),
    failed: path.join(root, "FAILED"),
  };
}

type FluxInstallOutcome = { outcome: "cached" | "installed" | "failed"; detail: string };

/**
 * Idempotent: builds the controllers of these flux targets (default: every pinned one) that are
 * missing. Returns a summary; a failure is recorded (the target is then not run), not thrown, and
 * the other targets are still built.
 */
export async function installFlux(
  cacheDir: string,
  progress: (m: string) => void,
  targets: readonly string[] = pinnedFluxTargets(),
): Promise<FluxInstallOutcome> {
  const built = (t: string, c: FluxComponent) =>
    existsSync(paths(cacheDir, t, c).binary) && existsSync(paths(cacheDir, t, c).crds);
  const all = () => targets.map((t) => `flux ${t}: ${fluxLabel(t)}`).join("; ");
  if (targets.every((t) => COMPONENTS.every((c) => built(t, c)))) return { outcome: "cached", detail: all() };
  return withCacheLock(cacheDir, () => installLocked(cacheDir, progress, targets), { progress });
}

async function installLocked(
  cacheDir: string,
  progress: (m: string) => void,
  targets: readonly string[],
): Promise<FluxInstallOutcome> {
  const built: string[] = [];
  const failed: string[] = [];
  for (const target of targets) {
    for (const component of COMPONENTS) {
      const p = paths(cacheDir, target, component);
      // Looked at again under the lock: another process (or another target) may have built it meanwhile.
      if (existsSync(p.binary) && existsSync(p.crds)) continue;
      const stage = scratchDir(`flux-${BINARY[component]}`);
      const t0 = performance.now();
      try {
        const src = await goBuildInModule(
          cacheDir,
          p.pin,
          path.join(stage, BINARY[component]),
          p.pin.ldflags ?? "-s -w",
          progress,
        );
        cpSync(path.join(src, p.pin.crds), path.join(stage, "crds"), { recursive: true });
        rmSync(p.root, { recursive: true, force: true });
        mkdirSync(path.dirname(p.root), { recursive: true });
        renameSync(stage, p.root);
        const took = Math.round((performance.now() - t0) / 1000);
        built.push(`${BINARY[component]} ${versionOf(p.pin)} (flux ${target}, ${took} s)`);
      } catch (error) {
        rmSync(stage, { recursive: true, force: true });
        const message =
          error instanceof Error
            ? `${error.message}${"hint" in error && error.hint ? `\n${String(error.hint)}` : ""}`
            : String(error);
        const detail = `building ${BINARY[component]} ${versionOf(p.pin)} (${p.pin.module}@${p.pin.version}) for flux ${target} failed: ${tail(message, 12)}`;
        mkdirSync(p.root, { recursive: true });
        writeFileSync(p.failed, `${detail}\n`);
        failed.push(detail);
        break;
      }
    }
  }
  if (failed.length) return { outcome: "failed", detail: failed.join("\n") };
  return built.length
    ? { outcome: "installed", detail: built.join(", ") }
    : { outcome: "cached", detail: targets.map((t) => `flux ${t}: ${fluxLabel(t)}`).join("; ") };
}

/** One flux target's controllers as built here, or why it cannot run. */
export function resolveFlux(cacheDir: string, target: string): FluxInstall {
  const version = fluxLabel(target);
  const binaries = {} as Record<FluxComponent, string>;
  const crdDirs: string[] = [];
  for (const component of COMPONENTS) {
    const p = paths(cacheDir, target, component);
    if (existsSync(p.failed)) return { target, version, unavailable: readFileSync(p.failed, "utf8").trim() };
    if (!existsSync(p.binary))
      return {
        target,
        version,
        unavailable: `${BINARY[component]} ${versionOf(p.pin)} (flux ${target}) is not provisioned (run \`npm run provision\`)`,
      };
    binaries[component] = p.binary;
    crdDirs.push(p.crds);
  }
  return { target, version, binaries, crdDirs };
}

/**
 * The flux target whose CRDs a run applies: CRDs are cluster-wide, so every flux run of one
 * cluster must apply the same ones — the newest selected target's that is built here (the
 * older controllers run against them, as after a Flux upgrade). Undefined when none is built.
 */
export function crdTarget(cacheDir: string, targets: readonly string[]): FluxInstall | undefined {
  const version = (t: string) => fluxTargetPin(t).helmController.version;
  return [...targets]
    .sort((a, b) => semver.compare(version(b), version(a)))
    .map((t) => resolveFlux(cacheDir, t))
    .find((f) => !f.unavailable);
}

// ------------------------------------------------------------------ running the controllers

/** A loopback port the OS had free a moment ago (another process may take it before a controller binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const CRD_ESTABLISHED_TIMEOUT_MS = 180_000;

export interface CrdState {
  name: string;
  established: boolean;
  /** Every condition as `Type=Status(Reason)`; empty while the API server has given none. */
  conditions: string[];
}

interface CrdObject {
  kind?: string;
  metadata?: { name?: string };
  status?: { conditions?: { type: string; status: string; reason?: string }[] | null } | null;
  items?: CrdObject[];
}

/**
 * The CRDs' own objects as the API server has them (kubectl's List, or the object itself when
 * one was read): whether each is Established, and why not.
 */
export function crdStates(read: CrdObject): CrdState[] {
  const items = read.kind === "List" || read.items ? (read.items ?? []) : [read];
  return items.map((item) => {
    const conditions = item.status?.conditions ?? [];
    return {
      name: item.metadata?.name ?? "(unnamed)",
      established: conditions.some((c) => c.type === "Established" && c.status === "True"),
      conditions: conditions.map((c) => `${c.type}=${c.status}${c.reason ? `(${c.reason})` : ""}`),
    };
  });
}

function crdText(c: CrdState): string {
  return `${c.name}: ${c.conditions.length ? c.conditions.join(" ") : "no conditions yet"}`;
}

async function readCrds(kubectl: string, kubeconfigPath: string, files: string[]): Promise<CrdState[]> {
  const r = await run([kubectl, "get", ...files.flatMap((f) => ["-f", f]), "-o", "json"], {
    env: { KUBECONFIG: kubeconfigPath },
    timeoutMs: 30_000,
  });
  if (r.exitCode !== 0) throw new Error(r.stderr.trim() || `kubectl get exited ${r.exitCode}`);
  return crdStates(JSON.parse(r.stdout));
}

/** helm-controller's `--feature-gates`, e.g. { UseHelm3Defaults: true }. */
export type FeatureGates = Record<string, boolean>;

/** `--feature-gates=A=true,B=false` (none: no flag), in the order given. */
export function featureGatesArgs(gates: FeatureGates | undefined): string[] {
  const entries = Object.entries(gates ?? {});
  return entries.length ? [`--feature-gates=${entries.map(([k, v]) => `${k}=${v}`).join(",")}`] : [];
}

export interface StartedFlux extends AsyncDisposable {
  /** The controllers' last log lines (for a report when a reconcile fails). */
  logs(lines?: number): string;
  /**
   * Stops both controllers and starts these in their place — what upgrading (or restarting)
   * Flux does: same namespace, same artifact storage, source-controller on the same storage
   * port when it is free again (the artifact URLs in the sources' status stay valid).
   */
  replace(o: { binaries: Record<FluxComponent, string>; featureGates?: FeatureGates }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Applies the controllers' CRDs (cluster-wide, idempotent) and starts both controllers for one
 * namespace: source-controller serving artifacts on a loopback port it also advertises, then
 * helm-controller. Waits until both answer /readyz; otherwise stops them and names the component
 * with its last log lines.
 */
export async function startFlux(o: {
  flux: FluxInstall;
  /** Whose CRDs are applied (default: `flux`'s): see crdTarget. */
  crds?: FluxInstall;
  /** helm-controller's feature gates. */
  featureGates?: FeatureGates;
  kubectl: string;
  kubeconfigPath: string;
  namespace: string;
  runId: string;
}): Promise<StartedFlux> {
  if (!o.flux.binaries || !o.flux.crdDirs)
    throw new HelmdrillError(`flux ${o.flux.target} is not available: ${o.flux.unavailable ?? "not provisioned"}`);
  for (const dir of (o.crds ?? o.flux).crdDirs ?? []) {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => path.join(dir, f));
    const r = await run(
      [o.kubectl, "apply", "--server-side", "--force-conflicts", ...files.flatMap((f) => ["-f", f])],
      { env: { KUBECONFIG: o.kubeconfigPath }, timeoutMs: 120_000 },
    );
    if (r.exitCode !== 0) throw new HelmdrillError(`the Flux CRDs (${dir}) could not be applied`, r.stderr.trim());
    // A controller that starts before its kinds are served exits at once ("no matches for kind"):
    // seen in CI when a run applied them first, under load. A read-only poll of the CRD objects,
    // not `kubectl wait`: kubectl 1.34's wait fails at once (".status.conditions accessor error:
    // <nil> is of the type <nil>") on a CRD the API server has not given conditions yet, as CI saw.
    // 180 s is a hang guard: CI once saw 60 s pass on a loaded machine.
    const established = await poll(
      () => readCrds(o.kubectl, o.kubeconfigPath, files),
      (crds) => {
        const pending = crds.filter((c) => !c.established);
        return pending.length ? `not Established: ${pending.map(crdText).join("; ")}` : undefined;
      },
      { timeoutMs: CRD_ESTABLISHED_TIMEOUT_MS, intervalMs: 1000 },
    );
    if (!established.ok) {
      throw new HelmdrillError(
        `the Flux CRDs (${dir}) were not established in ${CRD_ESTABLISHED_TIMEOUT_MS / 1000} s: ${observedText(established, (crds) => crds.map(crdText).join("; "))}`,
      );
    }
  }
  const { kubeconfigPath, namespace, runId, featureGates } = o;
  return startControllers({ binaries: o.flux.binaries, kubeconfigPath, namespace, runId, featureGates });
}

export interface ControllerOptions {
  binaries: Record<FluxComponent, string>;
  /** helm-controller's feature gates. */
  featureGates?: FeatureGates;
  kubeconfigPath: string;
  namespace: string;
  runId: string;
  /** How long one start of a controller may take to answer /readyz (a hang guard). */
  readyTimeoutMs?: number;
  /** Where the loopback ports come from (the OS's free ports). */
  pickPort?: () => Promise<number>;
}

/** What a controller prints when a port it was given was taken meanwhile (Go's net error text). */
const ADDRESS_IN_USE = /address already in use/i;
/** Starts of one controller on fresh ports when the last ones were taken between choosing and binding. */
const PORT_ATTEMPTS = 5;

interface Running {
  component: FluxComponent;
  child: ChildProcess;
  log: string;
  /** Why it ended (`exited with 1`, `killed by SIGKILL`, `could not be started: …`), once it has. */
  ended?: string;
  /** Settles when the process has exited or could not be spawned at all. */
  gone: Promise<void>;
  /** Aborted when it ended or said a port was in use: waiting for it to get ready is over. */
  stopWaiting: AbortController;
}

function spawnController(component: FluxComponent, binary: string, args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(binary, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const stopWaiting = new AbortController();
  let settle!: () => void;
  const gone = new Promise<void>((resolve) => (settle = resolve));
  const r: Running = { component, child, log: "", gone, stopWaiting };
  const end = (why: string) => {
    r.ended ??= why;
    stopWaiting.abort();
    settle();
  };
  // Without a listener a binary that cannot be spawned (ENOENT, EACCES) is an uncaught error
  // that kills the vitest worker; here it is the reason this controller could not start.
  child.on("error", (error) => {
    if (child.pid === undefined) end(`could not be started: ${error.message}`);
  });
  child.once("exit", (code, signal) => end(signal ? `killed by ${signal}` : `exited with ${code}`));
  const append = (chunk: Buffer) => {
    r.log = (r.log + chunk.toString("utf8")).slice(-200_000);
    if (ADDRESS_IN_USE.test(r.log)) stopWaiting.abort();
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  return r;
}

/** SIGTERM, SIGKILL 5 s later; resolves once the process is gone (at once if it never ran or already ended). */
async function stopController(r: Running): Promise<void> {
  if (r.ended !== undefined) return;
  const kill = setTimeout(() => r.child.kill("SIGKILL"), 5000);
  r.child.kill("SIGTERM");
  await r.gone;
  clearTimeout(kill);
}

/** One read of a loopback URL: its body, or undefined when nothing (or an error) answered in time. */
async function fetchText(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts both controllers for one namespace and waits until each is ready: source-controller
 * answers /readyz and serves a file of its storage on the storage port (so that port is its own,
 * not another process's), then helm-controller answers /readyz. A controller whose port was taken
 * between choosing and binding is started again on fresh ports; one that exits or is killed
 * stops the wait at once, with the reason and its last error line.
 */
export async function startControllers(o: ControllerOptions): Promise<StartedFlux> {
  const pickPort = o.pickPort ?? freePort;
  const readyTimeoutMs = o.readyTimeoutMs ?? 60_000;
  const storage = scratchDir("flux-storage");
  // Every start (a retried one's too), so stop() reaps them all; `ready` the ones that run.
  const running: Running[] = [];
  const ready: Running[] = [];
  const stop = async () => {
    await Promise.all(running.map(stopController));
    rmSync(storage, { recursive: true, force: true });
  };
  const env = { ...process.env, KUBECONFIG: o.kubeconfigPath, RUNTIME_NAMESPACE: o.namespace };
  let binaries = o.binaries;
  let featureGates = o.featureGates;
  /** The storage port source-controller advertised last: a replacement takes it again when it can. */
  let storagePort: number | undefined;

  /** One start on the given ports: "ready", "port in use", or why it is not ready. */
  const attempt = async (component: FluxComponent, ports: { metrics: number; health: number; storage?: number }) => {
    const args = [
      `--metrics-addr=127.0.0.1:${ports.metrics}`,
      `--health-addr=127.0.0.1:${ports.health}`,
      "--enable-leader-election=false",
      "--watch-all-namespaces=false",
      "--log-encoding=console",
      ...(component === "helmController" ? featureGatesArgs(featureGates) : []),
      ...(ports.storage === undefined
        ? []
        : [
            `--storage-path=${storage}`,
            `--storage-addr=127.0.0.1:${ports.storage}`,
            `--storage-adv-addr=127.0.0.1:${ports.storage}`,
          ]),
    ];
    const r = spawnController(component, binaries[component], args, env);
    running.push(r);
    // A worker that dies without its cleanup still leaves the pid to the run's sweep.
    if (r.child.pid) appendFileSync(path.join(scratchRootFor(o.runId), "pids"), `${r.child.pid}\n`);
    const probe = path.join(storage, `.helmdrill-probe-${randomBytes(8).toString("hex")}`);
    if (ports.storage !== undefined) writeFileSync(probe, path.basename(probe));
    const answered = await poll(
      async () => {
        if ((await fetchText(`http://127.0.0.1:${ports.health}/readyz`)) === undefined) return "no answer on /readyz";
        if (ports.storage === undefined) return "ready";
        const served = await fetchText(`http://127.0.0.1:${ports.storage}/${path.basename(probe)}`);
        return served === path.basename(probe) ? "ready" : "its storage is not served on the storage port yet";
      },
      (state) => (state === "ready" ? undefined : state),
      {
        timeoutMs: readyTimeoutMs,
        intervalMs: 500,
        signal: AbortSignal.any([r.stopWaiting.signal, AbortSignal.timeout(readyTimeoutMs)]),
      },
    );
    rmSync(probe, { force: true });
    if (answered.ok && r.ended === undefined) return { r, state: "ready" as const };
    // How it ended on its own, before helmdrill stopped it: "exited with 0" after helmdrill's own
    // SIGTERM would hide that it was simply not ready in time (seen on a loaded machine).
    const endedOnItsOwn = r.ended;
    await stopController(r);
    if (ADDRESS_IN_USE.test(r.log)) return { r, state: "port in use" as const };
    const why = endedOnItsOwn ?? `not ready after ${readyTimeoutMs / 1000} s (${answered.lastProblem})`;
    return { r, state: "failed" as const, why };
  };

  const start = async (component: FluxComponent, withStorage: boolean) => {
    for (let n = 1; ; n++) {
      const ports = {
        metrics: await pickPort(),
        health: await pickPort(),
        // A replacement's first try: the port its predecessor advertised (then fresh ones).
        storage: withStorage ? (n === 1 && storagePort !== undefined ? storagePort : await pickPort()) : undefined,
      };
      const result = await attempt(component, ports);
      if (result.state === "ready") {
        if (withStorage) storagePort = ports.storage;
        return void ready.push(result.r);
      }
      const { r } = result;
      if (result.state === "port in use" && n < PORT_ATTEMPTS) continue;
      const why = result.state === "port in use" ? `its ports were taken ${n} times over` : result.why;
      // The controller's own last error line belongs in the one message a test or the CLI shows.
      const lastError = r.log
        .split("\n")
        .filter((l) => /error/i.test(l))
        .at(-1)
        ?.trim();
      throw new HelmdrillError(
        `flux ${BINARY[component]} could not start (${why})${lastError ? `: ${lastError.slice(0, 400)}` : ""}`,
        `its last log lines:\n${tail(r.log, 15)}`,
      );
    }
  };

  const startBoth = async () => {
    try {
      await start("sourceController", true);
      await start("helmController", false);
    } catch (error) {
      await stop();
      throw error;
    }
  };
  await startBoth();
  return {
    logs: (lines = 40) => ready.map((r) => `== ${BINARY[r.component]}\n${tail(r.log, lines)}`).join("\n"),
    replace: async (next) => {
      // helm-controller first: nothing reconciles while source-controller is away.
      for (const component of ["helmController", "sourceController"] as const) {
        const r = ready.find((x) => x.component === component);
        if (r) await stopController(r);
      }
      ready.length = 0;
      binaries = next.binaries;
      featureGates = next.featureGates;
      await startBoth();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
