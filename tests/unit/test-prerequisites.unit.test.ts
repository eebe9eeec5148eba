import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HelmdrillError } from "../../harness/errors.ts";
import {
  ensureTestPrerequisites,
  onPath,
  TEST_PREREQUISITES,
  type TestPrerequisite,
} from "../../harness/provision/test-prerequisites.ts";

const absent = (pkg: string, neededBy: string): TestPrerequisite => ({
  pkg,
  present: () => false,
  marker: `/nonexistent/${pkg}`,
  neededBy,
});
const here = (pkg: string): TestPrerequisite => ({
  pkg,
  present: () => true,
  marker: `/bin/${pkg}`,
  neededBy: "a test",
});

describe("npm test's own prerequisites (pretest)", () => {
  it("are Debian's chromium at the path the browser test opens, tmux for the walk test, shellcheck for actionlint", () => {
    expect(TEST_PREREQUISITES.map((p) => [p.pkg, p.marker, p.neededBy])).toEqual([
      ["chromium", "/usr/bin/chromium", "tests/unit/matrix-html.browser.test.ts"],
      ["tmux", "/usr/bin/tmux", "tests/cluster/walk.tmux.test.ts"],
      [
        "shellcheck",
        "/usr/bin/shellcheck",
        "tests/cli/ci-examples.test.ts (actionlint checks the workflows' run: scripts with it)",
      ],
    ]);
  });

  it("installs nothing when everything is there, even where it could not install", async () => {
    const progress: string[] = [];
    await expect(
      ensureTestPrerequisites((m) => progress.push(m), {
        host: { root: false, aptGet: false },
        wanted: [here("chromium"), here("tmux")],
      }),
    ).resolves.toBe("already installed: chromium, tmux");
    expect(progress).toEqual([]);
  });

  it("not root: one message naming what is missing, for which test, and the command to run — before any install", async () => {
    const progress: string[] = [];
    const wanted = [absent("chromium", "tests/unit/matrix-html.browser.test.ts"), here("tmux")];
    const error = await ensureTestPrerequisites((m) => progress.push(m), {
      host: { root: false, aptGet: true },
      wanted,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HelmdrillError);
    expect((error as HelmdrillError).exitCode).toBe(2);
    expect((error as HelmdrillError).describe()).toBe(
      "npm test needs chromium (tests/unit/matrix-html.browser.test.ts), and cannot install it: installing Debian packages needs root\n" +
        "  → run as root, or install first: sudo apt-get install -y --no-install-recommends chromium",
    );
    expect(progress).toEqual([]);
  });

  it("no apt-get: says so, and names every missing package", async () => {
    const wanted = [absent("chromium", "the browser test"), absent("tmux", "the walk test")];
    const error = (await ensureTestPrerequisites(() => undefined, {
      host: { root: true, aptGet: false },
      wanted,
    }).catch((e: unknown) => e)) as HelmdrillError;
    expect(error.describe()).toBe(
      "npm test needs chromium (the browser test) and tmux (the walk test), and cannot install them: this host has no apt-get (Debian's package manager)\n" +
        "  → install chromium and tmux with your package manager (the Chromium test opens /usr/bin/chromium)",
    );
  });

  it("finds a command on PATH the way a spawned test does", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-onpath-"));
    try {
      mkdirSync(path.join(dir, "bin"));
      writeFileSync(path.join(dir, "bin", "tmux"), "");
      expect(onPath("tmux", ["/nonexistent", path.join(dir, "bin")].join(path.delimiter))).toBe(true);
      expect(onPath("tmux", "/nonexistent")).toBe(false);
      expect(onPath("tmux", "")).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
