/**
 * How a test that failed on a lost cluster reaches JUnit and Allure, through the reporters a run
 * uses (preset.ts): a real vitest run of a three-test file in a scratch project — one test that
 * fails with ClusterLostError, one with ScenarioAssertionError (a behaviour failure), one passing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALLURE_SETUP, JUNIT_REPORTER_MODULE } from "../../harness/vitest/preset.ts";

const root = path.resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(path.join(os.tmpdir(), "helmdrill-junit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let junit = "";
const allure = new Map<string, string>();

beforeAll(() => {
  symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  const allureReporter = createRequire(import.meta.url).resolve("allure-vitest/reporter");
  writeFileSync(
    path.join(dir, "vitest.config.mjs"),
    `export default { test: { include: ["t.test.ts"], setupFiles: [${JSON.stringify(ALLURE_SETUP)}], reporters: [` +
      `[${JSON.stringify(JUNIT_REPORTER_MODULE)}, { outputFile: ${JSON.stringify(path.join(dir, "junit.xml"))} }], ` +
      `[${JSON.stringify(allureReporter)}, { resultsDir: ${JSON.stringify(path.join(dir, "allure"))} }]] } };\n`,
  );
  writeFileSync(
    path.join(dir, "t.test.ts"),
    [
      'import { test } from "vitest";',
      `import { ClusterLostError } from ${JSON.stringify(path.join(root, "harness/vitest/cluster-lost.ts"))};`,
      `import { ScenarioAssertionError } from ${JSON.stringify(path.join(root, "harness/vitest/replay.ts"))};`,
      'test("lost", ({ task }) => {',
      '  task.meta.helmdrill = { clusterLost: { step: 2, reason: "node container exited 137" } } as never;',
      '  throw new ClusterLostError({ reason: "node container exited 137 at step 2" });',
      "});",
      'test("drill not set up", () => { throw new ClusterLostError({ reason: "node container exited 137" }); });',
      'test("behaviour", () => { throw new ScenarioAssertionError("step 2 failed: expected release deployed"); });',
      'test("passes", () => {});',
      "",
    ].join("\n"),
  );
  const r = spawnSync(process.execPath, [path.join(root, "node_modules/vitest/vitest.mjs"), "run", "--root", dir], {
    cwd: dir,
    encoding: "utf8",
    timeout: 120_000,
  });
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
  junit = readFileSync(path.join(dir, "junit.xml"), "utf8");
  for (const f of readdirSync(path.join(dir, "allure")).filter((n) => n.endsWith("-result.json"))) {
    const result = JSON.parse(readFileSync(path.join(dir, "allure", f), "utf8")) as { name: string; status: string };
    allure.set(result.name, result.status);
  }
}, 120_000);

const testcase = (name: string) =>
  new RegExp(`<testcase [^>]*name="${name}"[^>]*>([\\s\\S]*?)</testcase>`).exec(junit)?.[1] ?? "";

describe("a test that failed on a lost cluster", () => {
  it("is a JUnit <error>, a behaviour failure a <failure>; the counts say which is which", () => {
    expect(testcase("lost")).toMatch(
      /<error message="cluster lost: node container exited 137 at step 2" type="ClusterLostError">/,
    );
    expect(testcase("lost")).not.toContain("<failure");
    expect(testcase("drill not set up")).toMatch(/<error /);
    expect(testcase("behaviour")).toMatch(
      /<failure message="step 2 failed: expected release deployed" type="ScenarioAssertionError">/,
    );
    expect(testcase("passes")).not.toMatch(/<error|<failure/);
    expect(junit).toMatch(/<testsuites [^>]*tests="4" failures="1" errors="2"/);
    expect(junit).toMatch(/<testsuite name="t.test.ts" [^>]*tests="4" failures="1" errors="2"/);
  });

  it("is broken in Allure; a behaviour failure is failed", () => {
    expect(Object.fromEntries(allure)).toEqual({
      lost: "broken",
      "drill not set up": "broken",
      behaviour: "failed",
      passes: "passed",
    });
  });
});
