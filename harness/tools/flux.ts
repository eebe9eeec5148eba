import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { scratchDir, scratchRootFor } from "../cluster/reaper.ts";
import { HelmdrillError } from "../errors.ts";
import { run, tail } from "../exec.ts";
import { pins, type FluxControllerPin } from "../pins.ts";
import { goBuildInModule } from "./index.ts";
import { observedText, poll } from "../dsl/poll.ts";

/**
 * Flux's helm-controller and source-controller (the `flux` driver): built from the Go module
 * proxy (cached by version under <cache>/tools/flux/<component>/<version>/, binary + the CRDs from
 * its module), and started per scenario run on the host — watching only that run's namespace,
 * against the run's cluster — so every flux run has controllers of its own and nothing shared
 * outlives it. A failed build does not stop provisioning: flux targets are reported as not run,
 * with the reason.
 */
export type FluxComponent = "helmController" | "sourceController";
const COMPONENTS: FluxComponent[] = ["sourceController", "helmController"];
const BINARY: Record<FluxComponent, string> = { helmController: "helm-controller", sourceController: "source-controller" };

export interface FluxInstall {
  /** "helm-controller 1.4.0": the column label's part. */
  version: string;
  binaries?: Record<FluxComponent, string>;
  crdDirs?: string[];
  /** Why flux targets cannot run here (build failed, not provisioned). */
  unavailable?: string;
}

const versionOf = (pin: FluxControllerPin) => pin.version.replace(/^v/, "");
export const fluxLabel = (): string => `helm-controller ${versionOf(pins().flux.helmController)}`;

function paths(cacheDir: string, component: FluxComponent) {
  const pin = pins().flux[component];
  const root = path.join(cacheDir, "tools", "flux", BINARY[component], versionOf(pin));
  return { pin, root, binary: path.join(root, BINARY[component]), crds: path.join(root, "crds"), failed: path.join(root, "FAILED") };
}

/** Idempotent: builds the controllers that are missing. Returns a summary; a failure is recorded, not thrown. */
export async function installFlux(cacheDir: string, progress: (m: string) => void): Promise<{ outcome: "cached" | "installed" | "failed"; detail: string }> {
  const built: string[] = [];
  for (const component of COMPONENTS) {
    const p = paths(cacheDir, component);
    if (existsSync(p.binary) && existsSync(p.crds)) continue;
    const stage = scratchDir(`flux-${BINARY[component]}`);
    try {
      const src = await goBuildInModule(cacheDir, p.pin, path.join(stage, BINARY[component]), p.pin.ldflags ?? "-s -w", progress);
      cpSync(path.join(src, p.pin.crds), path.join(stage, "crds"), { recursive: true });
      rmSync(p.root, { recursive: true, force: true });
      mkdirSync(path.dirname(p.root), { recursive: true });
      renameSync(stage, p.root);
      built.push(`${BINARY[component]} ${versionOf(p.pin)}`);
    } catch (error) {
      rmSync(stage, { recursive: true, force: true });
      const message = error instanceof Error ? `${error.message}${"hint" in error && error.hint ? `\n${String(error.hint)}` : ""}` : String(error);
      const detail = `building ${BINARY[component]} ${versionOf(p.pin)} (${p.pin.module}@${p.pin.version}) failed: ${tail(message, 12)}`;
      mkdirSync(p.root, { recursive: true });
      writeFileSync(p.failed, `${detail}\n`);
      return { outcome: "failed", detail };
    }
  }
  const all = COMPONENTS.map((c) => `${BINARY[c]} ${versionOf(paths(cacheDir, c).pin)}`).join(", ");
  return built.length ? { outcome: "installed", detail: built.join(", ") } : { outcome: "cached", detail: all };
}

export function resolveFlux(cacheDir: string): FluxInstall {
  const version = fluxLabel();
  const binaries = {} as Record<FluxComponent, string>;
  const crdDirs: string[] = [];
  for (const component of COMPONENTS) {
    const p = paths(cacheDir, component);
    if (existsSync(p.failed)) return { version, unavailable: readFileSync(p.failed, "utf8").trim() };
    if (!existsSync(p.binary)) return { version, unavailable: `${BINARY[component]} ${versionOf(p.pin)} is not provisioned (run \`npm run provision\`)` };
    binaries[component] = p.binary;
    crdDirs.push(p.crds);
  }
  return { version, binaries, crdDirs };
}

// ------------------------------------------------------------------ running the controllers

async function freePort(): Promise<number> {
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
  const r = await run([kubectl, "get", ...files.flatMap((f) => ["-f", f]), "-o", "json"], { env: { KUBECONFIG: kubeconfigPath }, timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new Error(r.stderr.trim() || `kubectl get exited ${r.exitCode}`);
  return crdStates(JSON.parse(r.stdout));
}

export interface StartedFlux extends AsyncDisposable {
  /** The controllers' last log lines (for a report when a reconcile fails). */
  logs(lines?: number): string;
  stop(): Promise<void>;
}

interface Running {
  component: FluxComponent;
  child: ChildProcess;
  log: string;
  health: number;
}

/**
 * Applies the controllers' CRDs (cluster-wide, idempotent) and starts both controllers for one
 * namespace: source-controller serving artifacts on a loopback port it also advertises, then
 * helm-controller. Waits until both answer /readyz; otherwise stops them and names the component
 * with its last log lines.
 */
export async function startFlux(o: { flux: FluxInstall; kubectl: string; kubeconfigPath: string; namespace: string; runId: string }): Promise<StartedFlux> {
  if (!o.flux.binaries || !o.flux.crdDirs) throw new HelmdrillError(`flux is not available: ${o.flux.unavailable ?? "not provisioned"}`);
  for (const dir of o.flux.crdDirs) {
    const files = readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => path.join(dir, f));
    const r = await run([o.kubectl, "apply", "--server-side", "--force-conflicts", ...files.flatMap((f) => ["-f", f])], { env: { KUBECONFIG: o.kubeconfigPath }, timeoutMs: 120_000 });
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
      throw new HelmdrillError(`the Flux CRDs (${dir}) were not established in ${CRD_ESTABLISHED_TIMEOUT_MS / 1000} s: ${observedText(established, (crds) => crds.map(crdText).join("; "))}`);
    }
  }
  const storage = scratchDir("flux-storage");
  const running: Running[] = [];
  const stop = async () => {
    await Promise.all(
      running.map(
        (r) =>
          new Promise<void>((resolve) => {
            if (r.child.exitCode !== null || r.child.signalCode !== null) return resolve();
            const kill = setTimeout(() => r.child.kill("SIGKILL"), 5000);
            r.child.once("exit", () => {
              clearTimeout(kill);
              resolve();
            });
            r.child.kill("SIGTERM");
          }),
      ),
    );
    rmSync(storage, { recursive: true, force: true });
  };
  const startOne = async (component: FluxComponent, args: string[]) => {
    const [metrics, health] = [await freePort(), await freePort()];
    const child = spawn(
      o.flux.binaries![component],
      [`--metrics-addr=127.0.0.1:${metrics}`, `--health-addr=127.0.0.1:${health}`, "--enable-leader-election=false", "--watch-all-namespaces=false", "--log-encoding=console", ...args],
      { env: { ...process.env, KUBECONFIG: o.kubeconfigPath, RUNTIME_NAMESPACE: o.namespace }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const r: Running = { component, child, log: "", health };
    const append = (chunk: Buffer) => {
      r.log = (r.log + chunk.toString("utf8")).slice(-200_000);
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    running.push(r);
    // A worker that dies without its cleanup still leaves the pid to the run's sweep.
    if (child.pid) appendFileSync(path.join(scratchRootFor(o.runId), "pids"), `${child.pid}\n`);
    return r;
  };
  const ready = async (r: Running) => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (r.child.exitCode !== null) break;
      const ok = await fetch(`http://127.0.0.1:${r.health}/readyz`).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((res) => setTimeout(res, 500));
    }
    await stop();
    const why = r.child.exitCode !== null ? `exited with ${r.child.exitCode}` : "not ready after 60 s";
    // The controller's own last error line belongs in the one message a test or the CLI shows.
    const lastError = r.log.split("\n").filter((l) => /error/i.test(l)).at(-1)?.trim();
    throw new HelmdrillError(`flux ${BINARY[r.component]} could not start (${why})${lastError ? `: ${lastError.slice(0, 400)}` : ""}`, `its last log lines:\n${tail(r.log, 15)}`);
  };
  try {
    const storagePort = await freePort();
    const source = await startOne("sourceController", [
      `--storage-path=${storage}`,
      `--storage-addr=127.0.0.1:${storagePort}`,
      `--storage-adv-addr=127.0.0.1:${storagePort}`,
    ]);
    await ready(source);
    await ready(await startOne("helmController", []));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    logs: (lines = 40) => running.map((r) => `== ${BINARY[r.component]}\n${tail(r.log, lines)}`).join("\n"),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
