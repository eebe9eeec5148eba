/**
 * The example GitHub Actions workflow passes actionlint (github.com/rhysd/actionlint v1.7.12,
 * built from the Go module proxy into the cache on first use — about a minute, once). With
 * shellcheck on PATH its `run:` scripts are checked too; without it the test's name says they
 * were not.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../harness/config.ts";
import { run } from "../../harness/exec.ts";
import { PACKAGE_ROOT } from "../../harness/pins.ts";
import {
  actionlint,
  actionlintBinary,
  ACTIONLINT_PIN,
  type ActionlintFinding,
} from "../../harness/tools/actionlint.ts";

const WORKFLOW = path.join(PACKAGE_ROOT, "examples", "ci", "github-nightly.yml");
const shellcheck = (await run(["sh", "-c", "command -v shellcheck"])).stdout.trim() || undefined;
const show = (f: ActionlintFinding) => `${path.basename(f.filepath)}:${f.line}:${f.column} [${f.kind}] ${f.message}`;

describe(`actionlint ${ACTIONLINT_PIN.version}`, () => {
  let binary: string;
  const scratch = mkdtempSync(path.join(os.tmpdir(), "helmdrill-actionlint-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  // A cold build takes about a minute; waiting for another process's provisioning (the cache lock) longer.
  beforeAll(async () => {
    binary = await actionlintBinary(loadConfig().cacheDir, (m) => process.stderr.write(`actionlint: ${m}\n`));
  }, 30 * 60_000);

  it("is the pinned version", async () => {
    const r = await run([binary, "-version"]);
    expect(r.stdout.split("\n")[0]).toBe(ACTIONLINT_PIN.version);
  });

  it(
    shellcheck
      ? "examples/ci/github-nightly.yml has no finding, its run: scripts checked by shellcheck"
      : "examples/ci/github-nightly.yml has no finding — shellcheck NOT installed: run: scripts NOT checked",
    async () => {
      expect((await actionlint(binary, [WORKFLOW], { shellcheck })).map(show)).toEqual([]);
    },
  );

  it("finds what is wrong in a broken copy (the lint is not blind)", async () => {
    const broken = path.join(scratch, "broken.yml");
    writeFileSync(
      broken,
      readFileSync(WORKFLOW, "utf8")
        .replace("node-version: 22", "node-versoin: 22")
        .replace("--shard ${{ matrix.shard }}/4", "--shard ${{ matrix.shards }}/4"),
    );
    const kinds = (await actionlint(binary, [broken], { shellcheck })).map((f) => f.kind);
    expect(kinds).toEqual(expect.arrayContaining(["action", "expression"]));
  });
});
