/**
 * Defect 16 (#21): the run's scratch root — where admin kubeconfigs are written — was made with
 * a recursive mkdir, which takes whatever is already at /tmp/helmdrill-<runId>: a directory
 * another user of a shared host made first, or a symlink to one. It is now created exclusively
 * with mode 0700, and one already there is used only when it is this user's and private.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RunReaper } from "../../harness/util/reaper.ts";
import { scratchRootFor, useScratchRoot } from "../../harness/util/scratch.ts";
import { HelmdrillError } from "../../harness/errors.ts";

const scratch = mkdtempSync(path.join(os.tmpdir(), "hd-scratch-root-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the run's scratch root", () => {
  it("is created private (0700) and this user's", () => {
    const dir = path.join(scratch, "fresh");
    useScratchRoot(dir);
    const st = statSync(dir);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(process.getuid!());
    // The run's own second look (a worker, the next leg) accepts it.
    expect(() => useScratchRoot(dir)).not.toThrow();
  });

  it("refuses a directory other users may write into", () => {
    const dir = path.join(scratch, "open");
    mkdirSync(dir);
    // chmod after mkdir: mkdir's mode is narrowed by the umask.
    chmodSync(dir, 0o777);
    expect(() => useScratchRoot(dir)).toThrow(HelmdrillError);
    expect(() => useScratchRoot(dir)).toThrow(
      /refusing the scratch directory .*open: other users may use it \(mode 0777\)/,
    );
  });

  it("refuses a symlink, even to a private directory of this user's", () => {
    const target = path.join(scratch, "target");
    useScratchRoot(target);
    const link = path.join(scratch, "link");
    symlinkSync(target, link);
    expect(() => useScratchRoot(link)).toThrow(/refusing the scratch directory .*link: it is a symlink/);
    writeFileSync(path.join(scratch, "file"), "");
    expect(() => useScratchRoot(path.join(scratch, "file"))).toThrow(/it is not a directory/);
  });

  it.runIf(process.getuid?.() === 0)("refuses one another user made first (as root: chown to nobody)", () => {
    const dir = path.join(scratch, "theirs");
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    expect(() => useScratchRoot(dir)).toThrow(
      /refusing the scratch directory .*theirs: it belongs to uid 65534, not to this user \(uid 0\)/,
    );
  });

  it("a run whose root another user pre-created stops with that message instead of writing into it", () => {
    const runId = `unitpre${Date.now().toString(36)}`;
    const root = scratchRootFor(runId);
    mkdirSync(root);
    chmodSync(root, 0o777);
    try {
      expect(() => new RunReaper(runId)).toThrow(/refusing the scratch directory/);
      expect(existsSync(path.join(root, "pids"))).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
