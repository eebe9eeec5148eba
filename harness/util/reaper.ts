import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT } from "../pins.ts";
import { scratchRootFor, useScratchRoot } from "./scratch.ts";

/**
 * Everything one run leaves on the machine lives under one scratch root,
 * `/tmp/helmdrill-<runId>/` (temporary kubeconfigs, Helm homes, chart repositories, build
 * contexts), and every container it starts carries `io.helmdrill.run=<runId>`. The reaper
 * removes both — with the run's namespaces on an existing cluster and any process the run
 * registered — when the run ends, is interrupted (SIGINT/SIGTERM), or dies (a detached
 * watchdog, like testcontainers' Ryuk, notices the parent is gone).
 */
// Shipped beside the sources (not compiled): found from the package root in both layouts. A
// module at the bottom (util/): provisioning, tools and sources use the run's scratch root and
// provision/index.ts its reaper, so it cannot live in the cluster room that imports them.
const REAPER = path.join(PACKAGE_ROOT, "harness", "cluster", "reaper.sh");

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
    const child = spawn("bash", [REAPER, "watch", String(process.pid), this.runId, this.root], {
      detached: true,
      stdio: "ignore",
    });
    child.unref();
    this.watchdog = child.pid;
    return this;
  }

  /** SIGINT/SIGTERM: sweep synchronously before anything else runs, then exit 130/143. */
  onSignals(before?: (signal: NodeJS.Signals) => void): this {
    for (const [signal, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
    ] as const) {
      const fn = () => {
        try {
          process.stderr.write(
            `\nhelmdrill: interrupted (${signal}): removing this run's containers, namespaces and scratch files\n`,
          );
          before?.(signal);
        } finally {
          this.sweepNow({ killDescendants: true });
          process.exit(code);
        }
      };
      process.prependListener(signal, fn);
      this.handlers.push({ signal, fn });
    }
    // `npm test` / `npm run …`: npm exits on a SIGTERM sent to it alone but does not pass it
    // on, orphaning its script. Losing the npm parent counts as that SIGTERM.
    if (process.env.npm_lifecycle_event) {
      const parent = process.ppid;
      const orphaned = setInterval(() => {
        if (process.ppid !== parent) {
          clearInterval(orphaned);
          this.handlers.find((h) => h.signal === "SIGTERM")?.fn();
        }
      }, 1000);
      orphaned.unref();
      this.stopOrphanWatch = () => clearInterval(orphaned);
    }
    return this;
  }

  private stopOrphanWatch = () => {};

  /** A process the run started (a controller, a server) that must not outlive it. */
  registerProcess(pid: number): void {
    appendFileSync(path.join(this.root, "pids"), `${pid}\n`);
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

  /**
   * Removes everything of the run now (synchronous: safe inside a signal handler). With
   * `killDescendants` (the interrupted process is about to exit) whatever it started goes
   * first — vitest workers, helm, builds — so nothing acts on the cluster while it is removed.
   */
  sweepNow({ killDescendants = false }: { killDescendants?: boolean } = {}): void {
    if (this.swept) return;
    this.swept = true;
    for (const pid of killDescendants ? descendants(process.pid) : []) {
      if (pid === this.watchdog) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
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
    this.stopOrphanWatch();
    for (const { signal, fn } of this.handlers) process.removeListener(signal, fn);
    this.handlers = [];
    if (!this.kept()) rmSync(this.root, { recursive: true, force: true });
  }
}

/** Every live descendant of `pid`, read from /proc (synchronously). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may contain spaces and parentheses: ppid follows the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we looked
    }
  }
  const out: number[] = [];
  const visit = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      visit(c);
    }
  };
  visit(pid);
  return out;
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
