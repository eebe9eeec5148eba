import type { Project } from "./config.ts";

/**
 * The loaded project travels to workers and child processes as JSON in one environment
 * variable. Its own module (no imports at run time) so that pins.ts can read the project's
 * extra pins without an import cycle with config.ts.
 */
export const PROJECT_ENV = "HELMDRILL_PROJECT";

/** Makes `project` the current one for this process and every process it starts. */
export function useProject(project: Project): Project {
  process.env[PROJECT_ENV] = JSON.stringify(project);
  return project;
}

export function projectFromEnv(env: NodeJS.ProcessEnv = process.env): Project | undefined {
  const raw = env[PROJECT_ENV];
  return raw ? (JSON.parse(raw) as Project) : undefined;
}
