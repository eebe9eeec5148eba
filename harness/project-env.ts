import type { ProjectPins } from "./pins-schema.ts";

/**
 * The loaded project travels to workers and child processes as JSON in one environment
 * variable. Its own module — with the types it carries, and no run-time imports — so that
 * pins.ts can read the project's extra pins without an import cycle with config.ts.
 */
export const PROJECT_ENV = "HELMDRILL_PROJECT";

export type ClusterKind = "k3s" | "kind" | "existing";

/** A loaded helmdrill.config.ts with every path made absolute. Travels to workers as JSON. */
export interface Project {
  file: string;
  root: string;
  /** Globs as written, relative to `root`. */
  scenarios: string[];
  chartsDir: string;
  images: { preload: string[]; build: { tag: string; context: string; dockerfile?: string }[] };
  pins?: ProjectPins;
  targets: { helm?: string[]; helmfile?: string[]; flux?: string[] };
  baseline?: string;
  reportsDir: string;
  cluster?: ClusterKind;
  kubernetes?: string[];
  disable?: string[];
}

/** Makes `project` the current one for this process and every process it starts. */
export function useProject(project: Project): Project {
  process.env[PROJECT_ENV] = JSON.stringify(project);
  return project;
}

export function projectFromEnv(env: NodeJS.ProcessEnv = process.env): Project | undefined {
  const raw = env[PROJECT_ENV];
  return raw ? (JSON.parse(raw) as Project) : undefined;
}
