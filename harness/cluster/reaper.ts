import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Everything one run leaves on the machine lives under one scratch root,
 * `/tmp/helmdrill-<runId>/` (temporary kubeconfigs, Helm homes, chart repositories, build
 * contexts), and every container it starts carries `io.helmdrill.run=<runId>`. The reaper
 * removes both — with the run's namespaces on an existing cluster and any process the run
 * registered — when the run ends, is interrupted (SIGINT/SIGTERM), or dies (a detached
 * watchdog, like testcontainers' Ryuk, notices the parent is gone).
 */
const REAPER = path.join(path.dirname(fileURLToPath(import.meta.url)), "reaper.sh");

export function scratchRootFor(runId: string): string {
  return path.join(os.tmpdir(), `helmdrill-${runId}`);
}

let root: string | undefined;

/** Makes `root` the parent of every scratch dir this process creates (main process and workers). */
export function useScratchRoot(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  root = dir;
}

/** A fresh private directory inside the run's scratch root (or the OS temp dir outside a run). */
export function scratchDir(label: string): string {
  if (root && !existsSync(root)) mkdirSync(root, { recursive: true, mode: 0o700 });
  return mkdtempSync(path.join(root ?? os.tmpdir(), `helmdrill-${label}-`));
}

export class RunReaper {
  private handlers: { signal: NodeJS.Signals; fn: () => void }[] = [];
  private watchdog?: number;
  private swept = false;
  released = false;

  constructor(
    readonly runId: string,
    readonly root = scratchRootFor(runId),
  ) {
    useScratchRoot(root);
  }

  /** Starts the detached watchdog that sweeps once this process is gone (crash, SIGKILL). */
  watch(): this {
    const child = spawn("bash", [REAPER, "watch", String(process.pid), this.runId, this.root], { detached: true, stdio: "ignore" });
    child.unref();
    this.watchdog = child.pid;
    return this;
  }

  /** SIGINT/SIGTERM: sweep synchronously before anything else runs, then exit 130/143. */
  onSignals(before?: (signal: NodeJS.Signals) => void): this {
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const fn = () => {
        try {
          process.stderr.write(`\nhelmdrill: interrupted (${signal}): removing this run's containers, namespaces and scratch files\n`);
          before?.(signal);
        } finally {
          this.sweepNow();
          process.exit(code);
        }
      };
      process.prependListener(signal, fn);
      this.handlers.push({ signal, fn });
    }
    return this;
  }

  /** A process the run started (a controller, a server) that must not outlive it. */
  registerProcess(pid: number): void {
    appendFileSync(path.join(this.root, "pids"), `${pid}\n`);
  }

  registerKindCluster(name: string): void {
    appendFileSync(path.join(this.root, "kind-clusters"), `${name}\n`);
  }

  /** On an existing cluster the run's namespaces (labelled with the run id) are deleted by the sweep. */
  registerExistingCluster(kubectl: string, kubeconfigPath: string): void {
    const copy = path.join(this.root, "existing-kubeconfig.yaml");
    copyFileSync(kubeconfigPath, copy);
    writeFileSync(path.join(this.root, "existing-cluster"), `${kubectl}\n${copy}\n`, { mode: 0o600 });
  }

  /** Leave the run's cluster and scratch in place (HELMDRILL_KEEP after a failure). */
  keep(): void {
    writeFileSync(path.join(this.root, "keep"), "");
  }

  kept(): boolean {
    return existsSync(path.join(this.root, "keep"));
  }

  /** Removes everything of the run now (synchronous: safe inside a signal handler). */
  sweepNow(): void {
    if (this.swept) return;
    this.swept = true;
    rmSync(path.join(this.root, "keep"), { force: true });
    try {
      execFileSync("bash", [REAPER, "sweep", this.runId, this.root], { stdio: "ignore", timeout: 60_000 });
    } catch {
      rmSync(this.root, { recursive: true, force: true });
    }
  }

  /** What a person runs to remove a kept run by hand. */
  sweepCommand(): string {
    return `${REAPER} sweep ${this.runId} ${this.root}`;
  }

  /** Normal end: signal handlers off; the scratch root goes unless the run is kept. */
  release(): void {
    this.released = true;
    for (const { signal, fn } of this.handlers) process.removeListener(signal, fn);
    this.handlers = [];
    if (!this.kept()) rmSync(this.root, { recursive: true, force: true });
  }
}

let current: RunReaper | undefined;

/**
 * The reaper of this process's run, created (watchdog + signal handlers) on first use. The CLI
 * and vitest's globalSetup share it when `helmdrill run` starts vitest in-process.
 */
export function runReaper(runId: string): RunReaper {
  if (current?.runId === runId && !current.released) return current;
  current = new RunReaper(runId).watch().onSignals();
  return current;
}
