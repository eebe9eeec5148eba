import type { HelmdrillProjectConfig } from "./harness/index.ts";

/**
 * helmdrill's own catalogue is one project like any team's: every file matching the glob is a
 * scenario (it default-exports defineScenario); scenarios/shared/ holds their helpers.
 * (A team's config writes `export default defineConfig({...})` from "helmdrill"; this one only
 * needs the type, so loading it never loads the harness.)
 */
export default {
  scenarios: ["scenarios/*.ts"],
  charts: "fixtures",
  reports: "reports",
} satisfies HelmdrillProjectConfig;
