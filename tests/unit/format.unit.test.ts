/**
 * The code keeps one layout (#21): every *.ts, *.mts and *.mjs file outside .prettierignore is as
 * Prettier (printWidth 120, .prettierrc) would write it — so no line passes 120 characters by
 * hand. `npm run format` rewrites what this test names.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import * as prettier from "prettier";
import { glob } from "tinyglobby";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../harness/pins.ts";

describe("code layout", () => {
  it("every code file is formatted as `npm run format` writes it", { timeout: 180_000 }, async () => {
    const files = await glob(["**/*.{ts,mts,mjs}"], {
      cwd: PACKAGE_ROOT,
      ignore: ["**/node_modules/**", "dist/**", "reports/**"],
    });
    expect(files.length).toBeGreaterThan(100);
    const ignorePath = path.join(PACKAGE_ROOT, ".prettierignore");
    const unformatted: string[] = [];
    for (const file of files) {
      const abs = path.join(PACKAGE_ROOT, file);
      if ((await prettier.getFileInfo(abs, { ignorePath })).ignored) continue;
      const options = await prettier.resolveConfig(abs);
      if (!(await prettier.check(readFileSync(abs, "utf8"), { ...options, filepath: abs }))) unformatted.push(file);
    }
    expect(unformatted, "run `npm run format`").toEqual([]);
  });
});
