/**
 * helmdrill as a team installs it: `npm pack` of this repository, installed into a project
 * outside it (examples/platform-chart copied to a temporary directory), its scenarios run on a
 * real cluster through the packed tarball — and `helmdrill init` for a chart, run unchanged.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUN_LABEL } from "../../harness/cluster/types.ts";
import { run, type CommandResult } from "../../harness/exec.ts";
import { PACKAGE_ROOT } from "../../harness/pins.ts";
import type { Matrix } from "../../harness/report/model.ts";

const EXAMPLE = path.join(PACKAGE_ROOT, "examples", "platform-chart");
const output = (r: CommandResult) => `${r.stdout}\n${r.stderr}`.slice(-3000);
const matrixOf = (project: string): Matrix =>
  JSON.parse(readFileSync(path.join(project, "reports", "conformance", "matrix.json"), "utf8")) as Matrix;
const containersOf = async (runId: string) =>
  (await run(["docker", "ps", "-aq", "--filter", `label=${RUN_LABEL}=${runId}`])).stdout.trim();

describe("helmdrill on a project outside this repository, through the packed tarball", () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "hd-own-project-"));
  const project = path.join(scratch, "platform-chart");
  let tarball = "";

  beforeAll(async () => {
    const packed = await run(["npm", "pack", "--pack-destination", scratch, "--silent"], {
      cwd: PACKAGE_ROOT,
      timeoutMs: 300_000,
    });
    expect(packed.exitCode, output(packed)).toBe(0);
    tarball = path.join(
      scratch,
      readdirSync(scratch).find((f) => f.endsWith(".tgz"))!,
    );
  }, 320_000);
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it("packs compiled JavaScript, declarations and the provisioning sources — no TypeScript to run", async () => {
    const files = (await run(["tar", "-tzf", tarball])).stdout.split("\n").filter(Boolean);
    for (const f of [
      "dist/harness/index.js",
      "dist/harness/index.d.ts",
      "dist/harness/vitest/index.js",
      "dist/harness/cli/main.js",
      "bin/helmdrill.mjs",
      "pins.json",
      "harness/cluster/reaper.sh",
      "harness/cluster/kind-docker.sh",
      "harness/provision/kind-node/helmdrill-privileges.sh",
    ]) {
      expect(files, f).toContain(`package/${f}`);
    }
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
  });

  it(
    "installs the example, type-checks its scenarios and runs them: every run passes and the matrix says so",
    { timeout: 30 * 60_000 },
    async () => {
      cpSync(EXAMPLE, project, {
        recursive: true,
        filter: (src) => !/\/(node_modules|vendor|reports)(\/|$)/.test(src.slice(EXAMPLE.length)),
      });
      mkdirSync(path.join(project, "vendor"));
      cpSync(tarball, path.join(project, "vendor", "helmdrill.tgz"));
      const install = await run(["npm", "install", "--no-audit", "--no-fund", "--prefer-offline"], {
        cwd: project,
        timeoutMs: 900_000,
      });
      expect(install.exitCode, output(install)).toBe(0);
      // The bin the package installs is the compiled one: the sources are not in the tarball.
      expect(existsSync(path.join(project, "node_modules", "helmdrill", "harness", "cli", "main.ts"))).toBe(false);

      const types = await run(["npx", "tsc", "--noEmit"], { cwd: project, timeoutMs: 300_000 });
      expect(types.exitCode, output(types)).toBe(0);

      const runId = `own${Date.now().toString(36)}`;
      const drill = await run(["npx", "helmdrill", "run"], {
        cwd: project,
        env: { HELMDRILL_RUN_ID: runId },
        timeoutMs: 25 * 60_000,
      });
      expect(drill.exitCode, output(drill)).toBe(0);
      expect(drill.stdout).toMatch(/\b9 passed, 0 failed\b/);
      const matrix = matrixOf(project);
      expect(matrix.baseline).toBe("platform team's expectation");
      expect(matrix.columns).toEqual(["helm 3.17.3", "helm 3.18.0", "helm 4.1.4"]);
      expect([...new Set(matrix.runs.map((r) => r.scenario))].sort()).toEqual([
        "migration-hook-fails",
        "selector-change-breaks-upgrade",
        "upgrade-v1-to-v2",
      ]);
      expect(matrix.runs.filter((r) => r.status !== "passed")).toEqual([]);
      expect(matrix.rows).toHaveLength(8);
      expect(await containersOf(runId)).toBe("");
    },
  );

  it(
    "`helmdrill init --chart` scaffolds a project whose scenario passes `helmdrill run` unchanged",
    { timeout: 20 * 60_000 },
    async () => {
      const fresh = path.join(scratch, "fresh");
      const init = await run(
        ["npx", "helmdrill", "init", fresh, "--chart", path.join(project, "charts", "inventory", "2.0.0")],
        { cwd: project, timeoutMs: 300_000 },
      );
      expect(init.exitCode, output(init)).toBe(0);
      expect(init.stdout).toMatch(
        /the scenario asserts 2 backup, 1 ingress, 1 poddisruptionbudget, 2 service, 1 statefulset after each step/,
      );
      for (const f of [
        "helmdrill.config.ts",
        "scenarios/inventory-lifecycle.ts",
        "charts/inventory/Chart.yaml",
        "package.json",
      ])
        expect(existsSync(path.join(fresh, f)), f).toBe(true);
      // helmdrill as that project would install it: the example's installed copy.
      symlinkSync(path.join(project, "node_modules"), path.join(fresh, "node_modules"));

      const again = await run(
        ["npx", "helmdrill", "init", fresh, "--chart", path.join(project, "charts", "inventory", "2.0.0")],
        { cwd: project },
      );
      expect(again.exitCode).toBe(2);
      expect(again.stderr).toMatch(/helmdrill\.config\.ts already exists/);

      const runId = `init${Date.now().toString(36)}`;
      const drill = await run(["npx", "helmdrill", "run", "--helm", "4.1.4"], {
        cwd: fresh,
        env: { HELMDRILL_RUN_ID: runId },
        timeoutMs: 15 * 60_000,
      });
      expect(drill.exitCode, output(drill)).toBe(0);
      const matrix = matrixOf(fresh);
      expect(matrix.runs).toEqual([
        expect.objectContaining({ scenario: "inventory-lifecycle", target: "helm 4.1.4", status: "passed" }),
      ]);
      expect(matrix.rows.map((r) => r.cells["helm 4.1.4"]!.status)).toEqual([
        "matches",
        "matches",
        "matches",
        "matches",
      ]);
      expect(await containersOf(runId)).toBe("");
    },
  );
});
