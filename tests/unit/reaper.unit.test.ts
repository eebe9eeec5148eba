import { poll } from "../../harness/dsl/poll.ts";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { descendants, RunReaper, scratchDir, scratchRootFor } from "../../harness/cluster/reaper.ts";

describe("reaper", () => {
  it("finds every descendant of a process, grandchildren included", async () => {
    const child = spawn("sh", ["-c", "sleep 30 & sleep 30; wait"], { stdio: "ignore" });
    try {
      // A busy machine may take a while to fork the two sleeps: wait until both exist.
      const forked = await poll(async () => descendants(child.pid!), (g) => (g.length === 2 ? undefined : `${g.length} grandchildren`), { timeoutMs: 20_000, intervalMs: 100 });
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
    reaper.registerProcess(stray.pid!);
    const gone = new Promise((r) => stray.on("exit", r));
    reaper.sweepNow();
    await gone;
    expect(existsSync(scratchRootFor(runId))).toBe(false);
    expect(stray.exitCode ?? stray.signalCode).toBeTruthy();
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
