/**
 * The documentation cannot drift from the code without a failing test: docs/scenarios.md's
 * catalogue is generated from the scenario files, the architecture tree names every folder of
 * harness/, every relative link points at a file, and the README stays a front page.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../harness/pins.ts";
import {
  BEGIN,
  END,
  expectedScenarioDocs,
  renderScenarioCatalogue,
  replaceGenerated,
} from "../../harness/report/scenario-docs.ts";

const read = (rel: string) => readFileSync(path.join(PACKAGE_ROOT, rel), "utf8");
const docs = () =>
  readdirSync(path.join(PACKAGE_ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`);

describe("docs/scenarios.md", () => {
  it(
    "its catalogue is what `npm run docs:scenarios` writes from the scenario files now",
    { timeout: 60_000 },
    async () => {
      const { current, expected } = await expectedScenarioDocs(PACKAGE_ROOT);
      expect(current, "docs/scenarios.md is stale: run npm run docs:scenarios").toBe(expected);
    },
  );

  it("only the part between the markers is generated; the prose around it stays", () => {
    const page = `# Title\n\nprose before\n\n${BEGIN}\nold table\n${END}\n\nprose after\n`;
    expect(replaceGenerated(page, `${BEGIN}\nnew\n${END}`, "x.md")).toBe(
      `# Title\n\nprose before\n\n${BEGIN}\nnew\n${END}\n\nprose after\n`,
    );
    expect(() => replaceGenerated("# no markers\n", "x", "x.md")).toThrow(/x\.md has no generated part/);
  });

  it("renders id, title, drivers, step count, source, summary and step titles", () => {
    const spec = {
      id: "demo",
      title: "A | demo",
      summary: "What it shows.",
      source: { file: "000.txt", section: "Scenario 9" },
      release: "r",
      drivers: ["helm", "flux"],
      steps: [{ title: "install" }, { title: "upgrade\n  again" }],
    };
    const text = renderScenarioCatalogue(
      [{ spec: spec as never, file: path.join("/p", "scenarios", "demo.ts") }],
      "/p",
    );
    expect(text).toContain("| [`demo`](#demo) | A \\| demo | helm, flux | 2 | 000.txt: Scenario 9 |");
    expect(text).toContain(
      "### demo\n\n**A \\| demo** — [`scenarios/demo.ts`](../scenarios/demo.ts)\n\nWhat it shows.\n",
    );
    expect(text).toContain("\n1. install\n2. upgrade again\n");
  });
});

describe("the README and docs/", () => {
  it("the README starts with the two commands and stays under 250 lines", () => {
    const readme = read("README.md");
    expect(readme.split("\n").length).toBeLessThanOrEqual(250);
    expect(readme).toMatch(
      /^# helmdrill\n\n```bash\nnpm install && npm run conformance {3}# .+\nnpm install && npm test {14}# .+\n```\n/,
    );
  });

  it("every relative link in the README and docs/ points at a file that exists", () => {
    const broken: string[] = [];
    for (const file of ["README.md", ...docs()]) {
      for (const [, target] of read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        if (!existsSync(path.resolve(PACKAGE_ROOT, path.dirname(file), target!))) broken.push(`${file} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("docs/architecture.md's tree names every folder of harness/, and none that is gone", () => {
    const tree = read("docs/architecture.md").split("```")[1]!;
    const named = [...tree.matchAll(/^ {2}([a-z][a-z0-9-]*)\/ /gm)].map((m) => m[1]).sort();
    const folders = readdirSync(path.join(PACKAGE_ROOT, "harness"), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(named).toEqual(folders);
  });
});
