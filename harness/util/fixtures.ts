import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { HelmdrillError } from "../errors.ts";
import { run } from "../exec.ts";

/**
 * The fixture charts and `helm lint` over them. A module at the bottom: the CLI lints them
 * before a run and the vitest fixtures find them, without the two rooms importing each other.
 */

/** Every chart under the fixtures directory (a folder with a Chart.yaml). */
export function fixtureCharts(fixturesDir: string): string[] {
  const charts: string[] = [];
  const walk = (dir: string) => {
    if (existsSync(path.join(dir, "Chart.yaml"))) charts.push(dir);
    else for (const e of readdirSync(dir)) if (statSync(path.join(dir, e)).isDirectory()) walk(path.join(dir, e));
  };
  if (!existsSync(fixturesDir)) throw new HelmdrillError(`fixtures directory ${fixturesDir} does not exist`);
  walk(fixturesDir);
  return charts;
}

/**
 * A malformed chart or values file would surface as a confusing scenario failure minutes
 * later; `helm lint` catches it up front with Helm's own message.
 */
export async function lintFixtures(helm: string, fixturesDir: string): Promise<void> {
  await lintCharts(helm, fixtureCharts(fixturesDir), fixturesDir);
}

/** `helm lint` of each chart; every failure in one error, with Helm's own lines. */
export async function lintCharts(helm: string, charts: string[], base: string): Promise<void> {
  const problems: string[] = [];
  await Promise.all(
    charts.map(async (chart) => {
      const r = await run([helm, "lint", chart], { timeoutMs: 60_000 });
      if (r.exitCode !== 0) {
        const why = `${r.stdout}\n${r.stderr}`
          .split("\n")
          .filter((l) => /\[ERROR\]|Error:/.test(l))
          .join("\n  ");
        problems.push(`${path.relative(base, chart) || chart}: ${why || `helm lint exited ${r.exitCode}`}`);
      }
    }),
  );
  if (problems.length > 0) {
    throw new HelmdrillError(
      `malformed chart or values in ${base}:\n  ${problems.join("\n  ")}`,
      "fix the chart (helm lint <chart> shows the details)",
    );
  }
}
