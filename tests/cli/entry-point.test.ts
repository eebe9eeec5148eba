/**
 * Defect 7 (#21): the entry points (cli/main.ts, provision/index.ts, report/ci-summary.ts) ran only
 * when `import.meta.url === file://${argv[1]}` — false under a path with a space (%20 in the URL)
 * or through a symlink (Node runs the target) — and then did nothing and exited 0: `npm run
 * conformance`, `npm run provision` and pretest silently passed. Run here as real processes from
 * such paths. (provision itself is not started here: it would provision; it uses the same check.)
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run, type CommandResult } from "../../harness/exec.ts";
import { PACKAGE_ROOT } from "../../harness/pins.ts";

// A directory with a space in its name, and the checkout reached through a symlink inside it.
const scratch = mkdtempSync(path.join(os.tmpdir(), "hd entry point "));
const linked = path.join(scratch, "checkout link");
symlinkSync(PACKAGE_ROOT, linked);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const TSX = path.join(PACKAGE_ROOT, "node_modules", ".bin", "tsx");
const tsx = (args: string[], cwd = scratch) => run([TSX, ...args], { cwd, timeoutMs: 90_000 });
const output = (r: CommandResult) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`;

describe("entry points run from a path with a space and through a symlink", () => {
  it("report/ci-summary.ts says the results file is missing (exit 1) instead of exiting 0 silently", async () => {
    const r = await tsx([
      path.join(linked, "harness", "report", "ci-summary.ts"),
      path.join(scratch, "missing results.json"),
    ]);
    expect(r.exitCode, output(r)).toBe(1);
    expect(r.stdout).toBe("0 passed, 1 failed\n");
    expect(r.stderr).toMatch(/missing results\.json was not written/);
  });

  it("cli/main.ts runs its command (as `npm run conformance` / `npm run helmdrill` start it)", async () => {
    const r = await tsx([path.join(linked, "harness", "cli", "main.ts"), "--help"]);
    expect(r.exitCode, output(r)).toBe(0);
    expect(r.stdout).toMatch(/^Usage: helmdrill /m);
    // As npm starts a script: a relative path, from the checkout's directory (here the symlinked one).
    const relative = await tsx(["harness/cli/main.ts", "list", "--config", "no-such.config.ts"], linked);
    expect(relative.exitCode, output(relative)).toBe(2);
    expect(relative.stderr).toMatch(/^helmdrill: config file .*no-such\.config\.ts does not exist/m);
  });

  it("the check itself: a module under a path with a space, run directly, through a symlink, imported", async () => {
    const dir = path.join(scratch, "a project dir");
    mkdirSync(dir);
    const probe = path.join(dir, "probe module.ts");
    writeFileSync(
      probe,
      `import { isEntryPoint } from ${JSON.stringify(path.join(PACKAGE_ROOT, "harness", "entry-point.ts"))};\n` +
        `export const main = isEntryPoint(import.meta.url);\nconsole.log(main ? "entry point" : "imported");\n`,
    );
    symlinkSync(probe, path.join(dir, "probe link.ts"));
    writeFileSync(path.join(dir, "importer.ts"), `import "./probe module.ts";\n`);
    expect((await tsx([probe])).stdout).toBe("entry point\n");
    expect((await tsx([path.join(dir, "probe link.ts")])).stdout).toBe("entry point\n");
    expect((await tsx([path.join(dir, "importer.ts")])).stdout).toBe("imported\n");
  });
});
