import path from "node:path";
import { glob } from "tinyglobby";
import { importUserModule, type Project } from "../config.ts";
import { HelmdrillError } from "../errors.ts";
import type { ScenarioSpec } from "./scenario.ts";

/**
 * A project's scenarios: the files its helmdrill.config.ts names with globs, each
 * default-exporting `defineScenario(…)`. The glob is the only registration — the CLI, the
 * vitest preset and the reports all read the catalogue from here.
 */
export interface CatalogueEntry {
  spec: ScenarioSpec;
  /** Absolute path of the scenario file. */
  file: string;
}

const IGNORE = ["**/node_modules/**", "**/*.d.ts", "**/*.test.ts", "**/*.spec.ts"];

/** The files the project's scenario globs match, in glob order then name order; a glob that matches nothing is an error. */
export async function scenarioFiles(project: Pick<Project, "scenarios" | "root" | "file">): Promise<string[]> {
  const files: string[] = [];
  const empty: string[] = [];
  for (const pattern of project.scenarios) {
    const found = (await glob(pattern, { cwd: project.root, absolute: true, ignore: IGNORE })).sort();
    if (found.length === 0) empty.push(pattern);
    for (const f of found) if (!files.includes(f)) files.push(f);
  }
  if (empty.length > 0) {
    throw new HelmdrillError(
      `scenario glob${empty.length > 1 ? "s" : ""} ${empty.map((g) => `"${g}"`).join(", ")} in ${project.file} match${empty.length > 1 ? "" : "es"} no file`,
      `globs are relative to ${project.root}`,
    );
  }
  return files;
}

export function isScenarioSpec(value: unknown): value is ScenarioSpec {
  const v = value as Partial<ScenarioSpec> | undefined;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.id === "string" &&
    typeof v.title === "string" &&
    Array.isArray(v.steps)
  );
}

/** One loaded scenario file, or a clear error naming it. */
export function scenarioFromModule(file: string, exported: unknown): ScenarioSpec {
  if (!isScenarioSpec(exported)) {
    throw new HelmdrillError(
      `${file} does not default-export a scenario`,
      "write: export default defineScenario({ id, title, summary, source, release, steps })",
    );
  }
  return exported;
}

/** Two scenarios with one id are an error naming both files. */
export function checkUniqueIds(entries: readonly CatalogueEntry[], root: string): void {
  const byId = new Map<string, string[]>();
  for (const e of entries) byId.set(e.spec.id, [...(byId.get(e.spec.id) ?? []), path.relative(root, e.file)]);
  const dups = [...byId].filter(([, files]) => files.length > 1);
  if (dups.length > 0) {
    throw new HelmdrillError(
      `scenario ids must be unique: ${dups.map(([id, files]) => `"${id}" in ${files.join(" and ")}`).join("; ")}`,
      "give each scenario its own id",
    );
  }
}

/** Loads every scenario file (see importUserModule for how TypeScript is loaded). */
export async function loadCatalogue(project: Project): Promise<CatalogueEntry[]> {
  const files = await scenarioFiles(project);
  const entries: CatalogueEntry[] = [];
  const loaded = await Promise.all(files.map((file) => importUserModule(file, "scenario file")));
  for (const [i, file] of files.entries()) entries.push({ spec: scenarioFromModule(file, loaded[i]), file });
  checkUniqueIds(entries, project.root);
  return entries;
}

/** Unknown scenario names are an error, with the list of known ones. */
export function checkScenarioNames(catalogue: readonly CatalogueEntry[], names: readonly string[]): void {
  const known = catalogue.map((e) => e.spec.id);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new HelmdrillError(
      `unknown scenario${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}`,
      `known scenarios: ${known.join(", ")} (see \`helmdrill list\`)`,
    );
  }
}
