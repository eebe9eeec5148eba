/**
 * Defect 8 (#21): `helmdrill upgrade-check --config <file>` accepted the option and never loaded
 * the file: the project's pins, targets and images were silently ignored. The CLI as a real
 * process; a project that pins and targets a Helm version no cache has shows whether they were
 * read — the run stops (exit 2, before any cluster) naming that version.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run, type CommandResult } from "../../harness/exec.ts";
import { PACKAGE_ROOT } from "../../harness/pins.ts";

const CLI = path.join(PACKAGE_ROOT, "bin", "helmdrill.mjs");
const INVENTORY = path.join(PACKAGE_ROOT, "examples", "platform-chart", "charts", "inventory");
const scratch = mkdtempSync(path.join(os.tmpdir(), "hd-uc-config-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const output = (r: CommandResult) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`.slice(-3000);

const helmdrill = (args: string[], cwd: string) =>
  run(
    [
      "node",
      CLI,
      "upgrade-check",
      path.join(INVENTORY, "2.0.0"),
      "--from",
      path.join(INVENTORY, "1.0.0"),
      "--no-provision",
      ...args,
    ],
    {
      cwd,
      env: { HELMDRILL_RUN_ID: `ucconfig${Date.now().toString(36)}` },
      timeoutMs: 120_000,
    },
  );

/** A project pinning helm 9.9.9 (an npm pin nothing has provisioned) and targeting only it. */
function project(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "helmdrill.config.ts");
  writeFileSync(
    file,
    `export default ${JSON.stringify({
      scenarios: ["scenarios/*.ts"],
      pins: {
        helm: {
          "9.9.9": { source: "npm", package: "@example/helm@9.9.9", integrity: "sha512-none", sha256: "0".repeat(64) },
        },
      },
      targets: { helm: ["9.9.9"] },
    })};\n`,
  );
  return file;
}

describe("helmdrill upgrade-check reads the project's config", () => {
  it("--config <file>: its pins and targets decide the Helm versions", async () => {
    const config = project(path.join(scratch, "team"));
    const r = await helmdrill(["--config", config], scratch);
    expect(r.exitCode, output(r)).toBe(2);
    expect(r.stderr).toMatch(/^helmdrill: tools not provisioned: helm 9\.9\.9 /m);
  });

  it("without --config, the config found from the working directory upwards", async () => {
    const dir = path.join(scratch, "found");
    project(dir);
    mkdirSync(path.join(dir, "deeper"));
    const r = await helmdrill([], path.join(dir, "deeper"));
    expect(r.exitCode, output(r)).toBe(2);
    expect(r.stderr).toMatch(/^helmdrill: tools not provisioned: helm 9\.9\.9 /m);
  });

  it("a --config that does not exist is bad input, not ignored", async () => {
    const r = await helmdrill(["--config", path.join(scratch, "nowhere", "helmdrill.config.ts")], scratch);
    expect(r.exitCode, output(r)).toBe(2);
    expect(r.stderr).toMatch(/^helmdrill: config file .*nowhere\/helmdrill\.config\.ts does not exist/m);
  });
});
