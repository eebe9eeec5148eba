/**
 * Defect 6 (#21): two processes provisioning into one cache (two `helmdrill run`s, one beside
 * `npm test`) used fixed temp names and no lock. The lock is proper-lockfile's; these tests take
 * it from two real processes and check the second waits until the first lets go — ordered by
 * what each process printed, not by timing.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cacheLockPath, tempPathFor, withCacheLock } from "../../harness/cache.ts";
import { PACKAGE_ROOT } from "../../harness/pins.ts";

const scratch = mkdtempSync(path.join(os.tmpdir(), "hd-cache-lock-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A process that takes the cache lock, says "in", and lets go once `release` exists. */
function holder(
  cacheDir: string,
  name: string,
  release: string,
): {
  child: ChildProcessWithoutNullStreams;
  said: string[];
  saw: (s: string) => Promise<void>;
  done: Promise<number | null>;
} {
  const script = path.join(scratch, "holder.mts");
  writeFileSync(
    script,
    [
      `import { existsSync, rmSync, writeFileSync } from "node:fs";`,
      `import { withCacheLock } from ${JSON.stringify(path.join(PACKAGE_ROOT, "harness", "cache.ts"))};`,
      `const [cacheDir, name, release] = process.argv.slice(2);`,
      `const occupied = cacheDir + ".occupied";`,
      `await withCacheLock(cacheDir, async () => {`,
      `  // Whoever is inside marks it: finding the mark on the way in means two were inside at once.`,
      `  if (existsSync(occupied)) console.log(name + " OVERLAP");`,
      `  writeFileSync(occupied, name);`,
      `  console.log(name + " in");`,
      `  while (!existsSync(release)) await new Promise((r) => setTimeout(r, 50));`,
      `  rmSync(occupied);`,
      `  console.log(name + " out");`,
      `}, { progress: (m) => console.log(name + " progress: " + m) });`,
    ].join("\n"),
  );
  const child = spawn(process.execPath, ["--import", "tsx", script, cacheDir, name, release], { cwd: PACKAGE_ROOT });
  const said: string[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  let buffer = "";
  child.stdout.on("data", (d: Buffer) => {
    buffer += d.toString();
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    said.push(...lines);
    for (const w of [...waiters]) if (said.some((l) => l.includes(w.text))) w.resolve();
  });
  const done = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const saw = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (said.some((l) => l.includes(text))) return resolve();
      waiters.push({ text, resolve });
      void done.then(() =>
        said.some((l) => l.includes(text))
          ? resolve()
          : reject(new Error(`${name} exited without saying "${text}": ${said.join(" | ")}`)),
      );
    });
  return { child, said, saw, done };
}

describe("the cache lock", () => {
  it("a second process waits while the first holds the lock, and goes on once it lets go", async () => {
    const cache = path.join(scratch, "cache-a");
    const releaseA = path.join(scratch, "release-a");
    const releaseB = path.join(scratch, "release-b");
    const a = holder(cache, "A", releaseA);
    try {
      await a.saw("A in");
      expect(existsSync(cacheLockPath(cache))).toBe(true);
      const b = holder(cache, "B", releaseB);
      try {
        // B found the lock taken (it says so before it waits) and has not entered: A is still in.
        await b.saw("B progress: waiting for another helmdrill process");
        expect(b.said.filter((l) => l === "B in")).toEqual([]);
        writeFileSync(releaseA, "");
        await b.saw("B in");
        writeFileSync(releaseB, "");
        expect(await b.done).toBe(0);
        // Never both inside: B found no mark of A's on its way in.
        expect(b.said.filter((l) => !l.includes("progress"))).toEqual(["B in", "B out"]);
      } finally {
        b.child.kill("SIGKILL");
      }
      expect(await a.done).toBe(0);
      expect(a.said).toEqual(["A in", "A out"]);
      expect(existsSync(cacheLockPath(cache))).toBe(false);
    } finally {
      a.child.kill("SIGKILL");
    }
  });

  it("a lock left by a killed holder is taken over once stale", async () => {
    const cache = path.join(scratch, "cache-b");
    const a = holder(cache, "A", path.join(scratch, "never"));
    await a.saw("A in");
    a.child.kill("SIGKILL");
    await a.done;
    // The lock directory stays behind (SIGKILL runs no cleanup); a short stale time takes it over.
    expect(existsSync(cacheLockPath(cache))).toBe(true);
    const said: string[] = [];
    await withCacheLock(cache, async () => void said.push("in"), { staleMs: 2000, progress: (m) => said.push(m) });
    expect(said.at(-1)).toBe("in");
  });

  it("is re-entrant within one call chain (provision → installTools → build) and serializes others", async () => {
    const cache = path.join(scratch, "cache-c");
    const order: string[] = [];
    let releaseFirst!: () => void;
    const gate = new Promise<void>((r) => (releaseFirst = r));
    let entered!: () => void;
    const firstIn = new Promise<void>((r) => (entered = r));
    const first = withCacheLock(cache, async () => {
      order.push("first in");
      // Nested: runs inside the caller's lock instead of waiting for itself.
      await withCacheLock(cache, async () => void order.push("nested"));
      entered();
      await gate;
      order.push("first out");
    });
    await firstIn;
    const second = withCacheLock(cache, async () => void order.push("second in"), {
      progress: (m) => order.push(m.split(" ")[0]!),
    });
    // The second caller says it waits before it does; release the first only then.
    while (!order.includes("waiting")) await new Promise((r) => setTimeout(r, 20));
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(["first in", "nested", "waiting", "first out", "second in"]);
  });

  it("temp names are this process's own and never repeat", () => {
    const names = new Set(Array.from({ length: 100 }, () => tempPathFor("/cache/tools/helm/3.17.3/helm")));
    expect(names.size).toBe(100);
    for (const n of names)
      expect(n).toMatch(new RegExp(`^/cache/tools/helm/3\\.17\\.3/helm\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
  });
});
