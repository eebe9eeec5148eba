import { poll } from "../../harness/util/poll.ts";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { descendants, RunReaper } from "../../harness/util/reaper.ts";
import { scratchDir, scratchRootFor } from "../../harness/util/scratch.ts";

/** Is `pid` running — present in /proc and not a zombie (ended, not yet reaped)? */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("reaper", () => {
  it("finds every descendant of a process, grandchildren included", async () => {
    const child = spawn("sh", ["-c", "sleep 30 & sleep 30; wait"], { stdio: "ignore" });
    try {
      // A busy machine may take a while to fork the two sleeps: wait until both exist.
      const forked = await poll(
        async () => descendants(child.pid!),
        (g) => (g.length === 2 ? undefined : `${g.length} grandchildren`),
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      const grandchildren = forked.last ?? [];
      expect(grandchildren).toHaveLength(2);
      const found = descendants(process.pid);
      expect(found).toContain(child.pid);
      expect(found).toEqual(expect.arrayContaining(grandchildren));
    } finally {
      for (const p of descendants(child.pid!)) process.kill(p, "SIGKILL");
      child.kill("SIGKILL");
    }
  });

  it("puts scratch directories under the run's root, and a sweep removes the root and the run's processes", async () => {
    const runId = `unit${Date.now().toString(36)}`;
    const reaper = new RunReaper(runId);
    const dir = scratchDir("kubeconfig");
    expect(path.dirname(dir)).toBe(scratchRootFor(runId));
    writeFileSync(path.join(dir, "kubeconfig.yaml"), "secret");
    const stray = spawn("sleep", ["60"], { stdio: "ignore", detached: true });
    const exited = new Promise<NodeJS.Signals | null>((r) => stray.on("exit", (_code, signal) => r(signal)));
    try {
      reaper.registerProcess(stray.pid!);
      expect(alive(stray.pid!)).toBe(true);
      reaper.sweepNow();
      // sweepNow is synchronous: the process has ended by the time it returns (a zombie until
      // this process reaps it, which only the event loop does) — not merely some time later.
      expect(alive(stray.pid!)).toBe(false);
      expect(existsSync(scratchRootFor(runId))).toBe(false);
      // …and it was the sweep's SIGTERM that ended it (a sleep never exits before 60 s by itself).
      expect(await exited).toBe("SIGTERM");
    } finally {
      stray.kill("SIGKILL");
    }
  });

  it("a kept run's scratch survives release; an ordinary one does not", () => {
    const kept = new RunReaper(`unitk${Date.now().toString(36)}`);
    kept.keep();
    kept.release();
    expect(existsSync(kept.root)).toBe(true);
    kept.sweepNow();
    expect(existsSync(kept.root)).toBe(false);
    const plain = new RunReaper(`unitp${Date.now().toString(36)}`);
    mkdirSync(path.join(plain.root, "x"));
    plain.release();
    expect(existsSync(plain.root)).toBe(false);
  });
});
