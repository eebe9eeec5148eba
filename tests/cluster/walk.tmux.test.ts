/**
 * The training walkthrough as a trainee sees it: `helmdrill walk` in a real terminal (tmux),
 * Enter to advance (send-keys), the screen read back (capture-pane). It runs on this run's
 * cluster through the `existing` provider — which also proves the explicit opt-in path.
 */
import { describe, expect, inject, it } from "vitest";
import path from "node:path";
import { run } from "../../harness/exec.ts";
import { poll } from "../../harness/dsl/poll.ts";
import { PACKAGE_ROOT } from "../../harness/pins.ts";

const tmux = (...args: string[]) => run(["tmux", ...args], { timeoutMs: 10_000 });
const screen = async (session: string) => (await tmux("capture-pane", "-p", "-J", "-S", "-500", "-t", session)).stdout;

async function waitForScreen(session: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  const r = await poll(
    () => screen(session),
    (text) => (pattern.test(text) ? undefined : `screen does not show ${pattern}`),
    { timeoutMs, intervalMs: 1000 },
  );
  if (!r.ok)
    throw new Error(
      `${r.lastProblem}; the screen shows:\n${(r.last ?? "").trimEnd().split("\n").slice(-25).join("\n")}`,
    );
  return r.last!;
}

describe("helmdrill walk in a terminal", () => {
  it("pauses after each step until Enter, then shows the rest and cleans up", { timeout: 300_000 }, async () => {
    expect((await run(["tmux", "-V"])).exitCode, "tmux is needed: apt-get install tmux").toBe(0);
    const provided = inject("helmdrill");
    const helm = provided.config.helmVersions.at(-1)!;
    const session = `helmdrill-walk-${process.pid}`;
    const cli = path.join(PACKAGE_ROOT, "bin", "helmdrill.mjs");
    const command = [
      "node",
      cli,
      "walk",
      "atomic-upgrade-rollback",
      "--helm",
      helm,
      "--cluster",
      "existing",
      "--kubeconfig",
      provided.kubeconfigPath,
      "--context",
      "default",
      "--allow-existing-cluster",
    ].join(" ");
    await tmux(
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      "220",
      "-y",
      "60",
      `${command}; echo HELMDRILL_EXIT=$?; sleep 600`,
    );
    try {
      const first = await waitForScreen(session, /Press Enter for the next step/, 180_000);
      // What the walk runs on, as the reports say it: the opted-in context and the server's version.
      expect(first).toMatch(/Cluster: existing cluster \(context default\), Kubernetes v1\.\d+\.\d+/);
      expect(first).toContain("Step 1/2: `helm install --atomic todo-list v1`");
      expect(first).toMatch(
        /\$ helm install --atomic todo-list \.\/fixtures\/todo-list\/v1 --namespace hd-walk-atomic-upgrade-rollback-/,
      );
      expect(first).toMatch(/Release todo-list:\s+REVISION\s+STATUS\s+DESCRIPTION\s+1\s+deployed/);
      expect(first).toContain("✅ Step 1: matches the write-up");
      expect(first).not.toContain("Step 2/2");

      await tmux("send-keys", "-t", session, "Enter");
      const done = await waitForScreen(session, /HELMDRILL_EXIT=\d+/, 180_000);
      expect(done).toContain("Step 2/2");
      expect(done).toMatch(/… still running \([\d.]+ s\)/);
      expect(done).toMatch(
        /✔ \(while it ran\) pods -l app=todo-list-db: some pod with helmdrill\.local\/todo-db:11\.8/,
      );
      expect(done).toMatch(/3\s+deployed\s+Rollback to 1/);
      expect(done).toContain("Scenario passed");
      expect(done).toContain("HELMDRILL_EXIT=0");
    } finally {
      await tmux("kill-session", "-t", session);
    }
  });
});
