/**
 * helmdrill.lock (harness/tools/lock.ts): what a project's unpinned Helm/helmfile builds are
 * pinned to. It round-trips, is written with sorted keys (the same lock is the same bytes), records
 * what it does not have yet, and a build that differs from it is one error, exit 2, saying how to re-lock.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import {
  emptyLock,
  LOCK_FILE,
  lockBuild,
  parseLock,
  readLock,
  renderLock,
  updateLock,
  writeLock,
  type BuiltTool,
  type Lock,
} from "../../harness/tools/lock.ts";
import { thrown } from "./bad-input.ts";

const SHA_A = "a".repeat(64);
const SHA_B = "b".repeat(64);
const TOOLCHAIN = "go1.26.8 linux/amd64";

const built = (over: Partial<BuiltTool> = {}): BuiltTool => ({
  tool: "helm",
  version: "3.20.2",
  module: "helm.sh/helm/v3",
  moduleVersion: "v3.20.2",
  sum: "h1:abc=",
  toolchain: TOOLCHAIN,
  sha256: SHA_A,
  path: "/cache/tools/helm/3.20.2/helm",
  ...over,
});

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "helmdrill-lock-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("helmdrill.lock on disk", () => {
  it("round-trips: what is written is what is read", () => {
    const root = tempDir();
    expect(readLock(root)).toEqual({ file: path.join(root, LOCK_FILE), lock: emptyLock(), present: false });
    const { lock } = lockBuild(emptyLock(), built(), "helmdrill.lock");
    const withHelmfile = lockBuild(
      lock,
      built({ tool: "helmfile", version: "1.2.0", module: "github.com/helmfile/helmfile", moduleVersion: "v1.2.0" }),
      "helmdrill.lock",
    ).lock;
    const file = writeLock(root, withHelmfile);
    expect(file).toBe(path.join(root, "helmdrill.lock"));
    expect(readLock(root)).toEqual({ file, lock: withHelmfile, present: true });
    expect(parseLock(renderLock(withHelmfile), file)).toEqual(withHelmfile);
  });

  it("is written with sorted keys at every level: the same lock is the same bytes, whatever the order it was built in", () => {
    const entry = (sha: Record<string, string>) => ({ sha256: sha, version: "v3.20.2", module: "helm.sh/helm/v3" });
    const one: Lock = {
      lockfileVersion: 1,
      helmfile: {},
      helm: {
        "3.20.2": entry({ "go1.26.8 linux/arm64": SHA_B, [TOOLCHAIN]: SHA_A }),
        "3.19.5": { ...entry({ [TOOLCHAIN]: SHA_A }), version: "v3.19.5" },
      },
    };
    const other: Lock = {
      helm: {
        "3.19.5": { module: "helm.sh/helm/v3", version: "v3.19.5", sha256: { [TOOLCHAIN]: SHA_A } },
        "3.20.2": {
          module: "helm.sh/helm/v3",
          sha256: { [TOOLCHAIN]: SHA_A, "go1.26.8 linux/arm64": SHA_B },
          version: "v3.20.2",
        },
      },
      helmfile: {},
      lockfileVersion: 1,
    };
    const text = renderLock(one);
    expect(renderLock(other)).toBe(text);
    expect(text.endsWith("}\n")).toBe(true);
    // Each object's keys in order: the comment first ("$" sorts before letters), then helm, helmfile, lockfileVersion.
    const keysIn = (json: string) => [...json.matchAll(/^\s*"([^"]+)":/gm)].map((m) => m[1]);
    expect(keysIn(text)).toEqual([
      "$comment",
      "helm",
      "3.19.5",
      "module",
      "sha256",
      TOOLCHAIN,
      "version",
      "3.20.2",
      "module",
      "sha256",
      TOOLCHAIN,
      "go1.26.8 linux/arm64",
      "version",
      "helmfile",
      "lockfileVersion",
    ]);
  });

  it("a malformed lock is one error naming the key path, exit 2", () => {
    const root = tempDir();
    writeFileSync(
      path.join(root, LOCK_FILE),
      JSON.stringify({
        lockfileVersion: 1,
        helm: { "3.20.2": { module: "helm.sh/helm/v3", version: "v3.20.2", sha256: { x: "nothex" } } },
        helmfile: {},
      }),
    );
    const error = thrown(() => readLock(root));
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/^malformed .*helmdrill\.lock:\n\s+helm\["3\.20\.2"\]\.sha256\.x: a hex SHA-256/);
    writeFileSync(path.join(root, LOCK_FILE), "{ not json");
    expect(thrown(() => readLock(root)).message).toMatch(/helmdrill\.lock is not valid JSON/);
  });
});

describe("updateLock: two runs recording builds at once", () => {
  it("keeps the entry another run recorded after this one first read the lock", async () => {
    const root = tempDir();
    const file = path.join(root, LOCK_FILE);
    // This run read the lock before its build (empty); meanwhile another run recorded 3.19.5.
    readLock(root);
    await updateLock(root, (lock) =>
      lockBuild(lock, built({ version: "3.19.5", moduleVersion: "v3.19.5", sha256: SHA_B }), file),
    );
    const { change } = await updateLock(root, (lock) => lockBuild(lock, built(), file));
    expect(change).toBe("new entry");
    expect(Object.keys(readLock(root).lock.helm).sort()).toEqual(["3.19.5", "3.20.2"]);
  });

  it("runs in other processes at once: every entry is there, and no lock directory is left", async () => {
    const root = tempDir();
    // Each process records three versions; its change takes 100 ms between reading and writing the
    // lock, so without the file lock one writer would put back a lock that lacks another's entry.
    const child = (n: number) => `
      import { lockBuild, updateLock } from ${JSON.stringify(path.resolve("harness/tools/lock.ts"))};
      for (const minor of [0, 1, 2]) {
        const version = "3." + minor + ".${n}";
        await updateLock(${JSON.stringify(root)}, (lock) => {
          const until = Date.now() + 100;
          while (Date.now() < until);
          return lockBuild(lock, { tool: "helm", version, module: "helm.sh/helm/v3", moduleVersion: "v" + version,
            toolchain: "go", sha256: "${SHA_A}", path: "/x" }, "helmdrill.lock");
        });
      }`;
    await Promise.all(
      [1, 2, 3, 4].map((n) => execa("node", ["--import", "tsx", "--input-type=module", "-e", child(n)])),
    );
    const expected = [1, 2, 3, 4].flatMap((n) => [0, 1, 2].map((minor) => `3.${minor}.${n}`));
    expect(Object.keys(readLock(root).lock.helm).sort()).toEqual(expected.sort());
    expect(readdirSync(root)).toEqual([LOCK_FILE]);
  });
});

describe("lockBuild: checking a build against the lock", () => {
  it("records a version the lock does not have", () => {
    const { lock, change } = lockBuild(emptyLock(), built(), "helmdrill.lock");
    expect(change).toBe("new entry");
    expect(lock.helm["3.20.2"]).toEqual({
      module: "helm.sh/helm/v3",
      version: "v3.20.2",
      sum: "h1:abc=",
      sha256: { [TOOLCHAIN]: SHA_A },
    });
  });

  it("leaves the lock as it is when the build matches it", () => {
    const { lock } = lockBuild(emptyLock(), built(), "helmdrill.lock");
    const again = lockBuild(lock, built(), "helmdrill.lock");
    expect(again.change).toBe("unchanged");
    expect(again.lock).toBe(lock);
  });

  it("adds another toolchain's sha256 beside the first instead of failing", () => {
    const { lock } = lockBuild(emptyLock(), built(), "helmdrill.lock");
    const arm = lockBuild(lock, built({ toolchain: "go1.26.8 linux/arm64", sha256: SHA_B }), "helmdrill.lock");
    expect(arm.change).toBe("new toolchain");
    expect(arm.lock.helm["3.20.2"]!.sha256).toEqual({ [TOOLCHAIN]: SHA_A, "go1.26.8 linux/arm64": SHA_B });
  });

  it("a binary whose sha256 differs from the lock's: one clear error, exit 2, with how to re-lock", () => {
    const { lock } = lockBuild(emptyLock(), built(), "/p/helmdrill.lock");
    const error = thrown(() => lockBuild(lock, built({ sha256: SHA_B }), "/p/helmdrill.lock"));
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      `helm 3.20.2 does not match /p/helmdrill.lock: its sha256 (built with ${TOOLCHAIN}) is ${SHA_B}, the lock says ${SHA_A}`,
    );
    expect(error.hint).toMatch(/delete \/cache\/tools\/helm\/3\.20\.2 and run again to rebuild it/);
    expect(error.hint).toMatch(/delete the "3\.20\.2" entry under "helm" in \/p\/helmdrill\.lock to re-lock it/);
  });

  it("a module whose go.sum hash, path or version differs is refused too", () => {
    const { lock } = lockBuild(emptyLock(), built(), "helmdrill.lock");
    expect(thrown(() => lockBuild(lock, built({ sum: "h1:other=" }), "helmdrill.lock")).message).toMatch(
      /its module's go\.sum hash is h1:other=, the lock says h1:abc=/,
    );
    expect(thrown(() => lockBuild(lock, built({ module: "example.com/helm" }), "helmdrill.lock")).message).toMatch(
      /its module is example\.com\/helm, the lock says helm\.sh\/helm\/v3/,
    );
    expect(thrown(() => lockBuild(lock, built({ moduleVersion: "v3.20.3" }), "helmdrill.lock")).message).toMatch(
      /its module version is v3\.20\.3/,
    );
  });

  it("adds the go.sum hash to an entry that had none", () => {
    const { lock } = lockBuild(emptyLock(), built({ sum: undefined }), "helmdrill.lock");
    expect(lock.helm["3.20.2"]!.sum).toBeUndefined();
    const r = lockBuild(lock, built(), "helmdrill.lock");
    expect(r.change).toBe("sum added");
    expect(r.lock.helm["3.20.2"]!.sum).toBe("h1:abc=");
  });

  it("the file a run wrote says what it is for", () => {
    const root = tempDir();
    writeLock(root, lockBuild(emptyLock(), built(), "helmdrill.lock").lock);
    const raw = JSON.parse(readFileSync(path.join(root, LOCK_FILE), "utf8")) as { $comment: string };
    expect(raw.$comment).toMatch(/Commit it/);
  });
});
